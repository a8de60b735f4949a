// Scan-space panels: an image in a sequential or diverging map with its colour bar, the grid
// of segment images (framed in their segments' colours) and the colour-wheel CoM.
// Each draws on a native-resolution canvas (see geometry.js for the axis mapping).

import { DIVERGING_LUT, SEQUENTIAL_LUT, complexRGBA, lutRGBA, symmetricRange, wheelRGBA } from "./colormaps.js";
import { quiverArrows, quiverStep } from "./geometry.js";
import {
  checksumOf, clearReadout, drawRGBA, fmt, h, makePanel, resize, setScaleBar, setSize, showReadout,
} from "./dom.js";
import { setText } from "./dom.js";
import { barUnit, makeColorBar, setColorBar } from "./colorbar.js";
import { TILE_FRAME, TILE_GAP, labelInk, segmentColor, tileLayout } from "./tiles.js";

const WHEEL_SIZE = 64;

/**
 * Scan geometry of images binned by `bin` (means of bin x bin blocks of scan positions; 1: none):
 * their rows, cols, screen pixels per element s, element size and read-out of a position.
 * A binned image covers the same screen area as the full one.
 */
export function scanInfo(model, size, bin = 1) {
  const [scanRows, scanCols] = model.get("scan_shape");
  const rows = Math.floor(scanRows / bin);
  const cols = Math.floor(scanCols / bin);
  const s = (size / Math.max(scanRows, scanCols, 1)) * bin;
  const pixel = model.get("scan_sampling") * bin;
  const units = model.get("scan_units");
  const block = bin > 1 ? ` (${bin}\u00d7${bin} mean)` : "";
  const where = (i, j) => `x ${fmt(i * pixel)} ${units}, y ${fmt(j * pixel)} ${units}${block}`;
  return { rows, cols, s, pixel, units, where, bin };
}

/**
 * Hook pointer read-out on target: at(i, j) returns the text for element [i, j]. The pointer's
 * position is kept, not the element: each redraw recomputes the element under it with the
 * current scale and binning (showReadout), and leaving the image blanks the read-out.
 */
function hover(target, panel, getScan, at) {
  target.addEventListener("pointermove", (event) => {
    const { offsetX, offsetY } = event;
    showReadout(panel, () => {
      const { rows, cols, s } = getScan();
      const i = Math.floor(offsetY / s);
      const j = Math.floor(offsetX / s);
      return i >= 0 && i < rows && j >= 0 && j < cols ? at(i, j) : null;
    });
  });
  target.addEventListener("pointerleave", () => clearReadout(panel));
}

/**
 * One image with its colour bar: CoM x, CoM y (signed: the diverging map over a range
 * symmetric about 0) or the phase (the sequential map; its title names the unit).
 */
export class ImagePanel {
  constructor(name, title, getScan, signed = false) {
    this.panel = makePanel(name, title);
    this.title = title;
    this.signed = signed;
    this.lut = signed ? DIVERGING_LUT : SEQUENTIAL_LUT;
    this.canvas = h("canvas", "dpc-image", { "data-testid": `${name}-image`, "data-map": signed ? "diverging" : "sequential" });
    this.panel.stack.append(this.canvas);
    this.bar = makeColorBar(name, this.lut);
    this.panel.root.insertBefore(this.bar.root, this.panel.scalebar);
    this.data = new Float32Array(0);
    this.units = "";
    this.getScan = getScan;
    hover(this.canvas, this.panel, getScan, (i, j) => {
      const { cols, where } = getScan();
      return `${where(i, j)}: ${fmt(this.data[i * cols + j])} ${this.units}`;
    });
  }

  /**
   * Draw images { values, raw } (see codes.js) between range[0] and range[1] (a signed panel:
   * between -m and m, m the larger magnitude of the two), and label the colour bar in units.
   */
  draw({ values, raw }, range, units) {
    const scan = this.getScan();
    const { rows, cols, s } = scan;
    this.data = values;
    this.units = units;
    const [vmin, vmax] = this.signed ? symmetricRange(range[0], range[1]) : range;
    drawRGBA(this.canvas, rows, cols, (out) => lutRGBA(values, 0, rows * cols, vmin, vmax, this.lut, out));
    this.canvas.setAttribute("data-checksum", checksumOf(raw));
    this.canvas.setAttribute("data-bin", String(scan.bin));
    this.canvas.setAttribute("data-vmin", String(vmin));
    this.canvas.setAttribute("data-vmax", String(vmax));
    setSize(cols * s, rows * s, this.panel.stack, this.canvas);
    setColorBar(this.bar, vmin, vmax, units, this.signed ? "0" : "", cols * s);
    if (!this.signed) setText(this.panel.titleEl, `${this.title} (${barUnit(units)})`);
    setScaleBar(this.panel, scan.pixel, scan.units, cols, s);
  }
}

/**
 * The N segment images in a grid that fills the panel (tiles.js), each framed in its
 * segment's overlay colour with its index, in the sequential map between its own limits.
 */
export class SegmentsPanel {
  constructor(getScan) {
    this.panel = makePanel("segments", "segment images");
    this.grid = h("div", "dpc-grid");
    this.panel.stack.append(this.grid);
    this.bar = makeColorBar("segments", SEQUENTIAL_LUT);
    this.panel.root.insertBefore(this.bar.root, this.panel.scalebar);
    this.getScan = getScan;
    this.canvases = [];
    this.data = new Float32Array(0);
    this.scale = 1;
  }

  /** A tile: its segment's colour as a frame, the index in a badge, the image canvas. */
  makeTile(k) {
    const tile = h("div", "dpc-tile", { "data-testid": `segment-tile-${k}`, "data-index": k });
    tile.style.borderColor = segmentColor(k);
    const badge = h("span", "dpc-tile-index", { "data-testid": `segment-index-${k}` });
    badge.textContent = String(k);
    badge.style.background = segmentColor(k);
    badge.style.color = labelInk(k);
    const canvas = h("canvas", "dpc-image", { "data-index": k, "data-testid": `segment-image-${k}`, "data-map": "sequential" });
    hover(canvas, this.panel, () => ({ ...this.getScan(), s: this.scale }), (i, j) => {
      const scan = this.getScan();
      const value = this.data[(k * scan.rows + i) * scan.cols + j];
      return `segment ${k}, ${scan.where(i, j)}: ${fmt(value)}`;
    });
    tile.append(canvas, badge);
    return { tile, canvas };
  }

  /** Draw the N images { values, raw } (see codes.js), image k between ranges[k]. */
  draw({ values: data, raw }, ranges, size) {
    const { rows, cols, pixel, units, bin } = this.getScan();
    this.data = data;
    const n = rows * cols > 0 ? Math.floor(data.length / (rows * cols)) : 0;
    const layout = tileLayout(n, size);
    const s = layout.tile / Math.max(rows, cols, 1);
    if (this.canvases.length !== n) {
      this.grid.replaceChildren();
      this.canvases = [];
      for (let k = 0; k < n; k++) {
        const { tile, canvas } = this.makeTile(k);
        this.grid.append(tile);
        this.canvases.push(canvas);
      }
    }
    this.scale = s;
    this.grid.style.gridTemplateColumns = `repeat(${layout.columns}, min-content)`;
    this.grid.style.gap = `${TILE_GAP}px`;
    this.grid.setAttribute("data-columns", String(layout.columns));
    this.canvases.forEach((canvas, k) => {
      const [vmin, vmax] = ranges[k] ?? [0, 0];
      const image = data.subarray(k * rows * cols, (k + 1) * rows * cols);
      drawRGBA(canvas, rows, cols, (out) => lutRGBA(image, 0, rows * cols, vmin, vmax, SEQUENTIAL_LUT, out));
      canvas.setAttribute("data-checksum", checksumOf(raw.subarray(k * rows * cols, (k + 1) * rows * cols)));
      canvas.setAttribute("data-bin", String(bin));
      canvas.setAttribute("data-vmin", String(vmin));
      canvas.setAttribute("data-vmax", String(vmax));
      setSize(cols * s, rows * s, canvas);
    });
    const gridWidth = layout.columns * (cols * s + 2 * TILE_FRAME) + (layout.columns - 1) * TILE_GAP;
    setColorBar(this.bar, "tile min", "tile max", "counts", "", gridWidth);
    // the bar's length from half a tile's field (twice the usual quarter): readable on tiles
    setScaleBar(this.panel, pixel, units, 2 * cols, s);
  }
}

/** The CoM as a colour-wheel image with a decimated quiver overlay and a wheel legend. */
export class ComPanel {
  constructor(getScan) {
    this.panel = makePanel("com-color", "CoM (colour wheel)");
    this.canvas = h("canvas", "dpc-image", { "data-testid": "com-color-image" });
    this.quiver = h("canvas", "dpc-quiver", { "data-testid": "com-quiver" });
    this.wheel = h("canvas", "dpc-wheel", { "data-testid": "com-wheel" });
    this.panel.stack.append(this.canvas, this.quiver);
    const legend = h("div", "dpc-legend");
    const axes = h("span", "dpc-legend-axes");
    axes.textContent = "x \u2193  y \u2192";
    this.saturation = h("span", "dpc-legend-saturation", { "data-testid": "com-saturation" });
    const words = h("div", "dpc-legend-words");
    words.append(axes, this.saturation);
    legend.append(this.wheel, words);
    this.panel.root.insertBefore(legend, this.panel.scalebar);
    drawRGBA(this.wheel, WHEEL_SIZE, WHEEL_SIZE, (out) => wheelRGBA(WHEEL_SIZE, out));
    this.getScan = getScan;
    this.data = new Float32Array(0);
    this.units = "";
    hover(this.canvas, this.panel, getScan, (i, j) => {
      const { rows, cols, where } = getScan();
      const x = this.data[i * cols + j];
      const y = this.data[rows * cols + i * cols + j];
      const angle = (Math.atan2(y, x) * 180) / Math.PI;
      return `${where(i, j)}: |CoM| ${fmt(Math.hypot(x, y))} ${this.units}, ${fmt(angle)}\u00b0`;
    });
  }

  /** Draw the field { values, raw } (see codes.js; x block, then y) saturating at vmax. */
  draw({ values: data, raw }, vmax, units) {
    const scan = this.getScan();
    const { rows, cols, s } = scan;
    const n = rows * cols;
    this.data = data;
    this.units = units;
    drawRGBA(this.canvas, rows, cols, (out) => complexRGBA(data, n, vmax, out));
    this.canvas.setAttribute("data-checksum", checksumOf(raw));
    this.canvas.setAttribute("data-bin", String(scan.bin));
    this.canvas.setAttribute("data-vmax", String(vmax));
    setSize(cols * s, rows * s, this.panel.stack, this.canvas, this.quiver);
    this.drawQuiver(data, rows, cols, s, vmax);
    setText(this.saturation, `full colour at |CoM| \u2265 ${fmt(vmax)} ${barUnit(units)}`);
    setScaleBar(this.panel, scan.pixel, scan.units, cols, s);
  }

  drawQuiver(data, rows, cols, s, vmax) {
    const width = Math.round(cols * s);
    const height = Math.round(rows * s);
    resize(this.quiver, width, height);
    const ctx = this.quiver.getContext("2d");
    if (!ctx) return;
    ctx.clearRect(0, 0, width, height);
    if (!(vmax > 0)) return;
    const step = quiverStep(rows, cols);
    const arrows = quiverArrows(data, rows, cols, step);
    const scale = (0.9 * step * s) / vmax; // an arrow of magnitude vmax spans 0.9 blocks
    ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
    ctx.lineWidth = 1;
    this.quiver.setAttribute("data-arrows", String(arrows.length));
    for (const { row, col, u, v } of arrows) {
      const x0 = col * s;
      const y0 = row * s;
      const x1 = x0 + v * scale; // y component to the right
      const y1 = y0 + u * scale; // x component downwards
      const a = Math.atan2(y1 - y0, x1 - x0);
      const head = Math.min(4, 0.3 * Math.hypot(x1 - x0, y1 - y0));
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.lineTo(x1 - head * Math.cos(a - 0.5), y1 - head * Math.sin(a - 0.5));
      ctx.moveTo(x1, y1);
      ctx.lineTo(x1 - head * Math.cos(a + 0.5), y1 - head * Math.sin(a + 0.5));
      ctx.stroke();
    }
  }
}
