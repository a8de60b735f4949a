// Scan-space panels: a grey image, the grid of segment images and the colour-wheel CoM.
// Each draws on a native-resolution canvas (see geometry.js for the axis mapping).

import { complexRGBA, grayRGBA, wheelRGBA } from "./colormaps.js";
import { gridColumns, quiverArrows, quiverStep } from "./geometry.js";
import {
  checksumOf, clearReadout, drawRGBA, fmt, h, makePanel, resize, setScaleBar, setSize, showReadout,
  unitLabel,
} from "./dom.js";

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
  const where = (i, j) => `x ${fmt(i * pixel)} ${unitLabel(units)}, y ${fmt(j * pixel)} ${unitLabel(units)}${block}`;
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

/** One grey image (CoM x, CoM y or the phase). */
export class ImagePanel {
  constructor(name, title, getScan) {
    this.panel = makePanel(name, title);
    this.canvas = h("canvas", "dpc-image", { "data-testid": `${name}-image` });
    this.panel.stack.append(this.canvas);
    this.data = new Float32Array(0);
    this.units = "";
    this.getScan = getScan;
    hover(this.canvas, this.panel, getScan, (i, j) => {
      const { cols, where } = getScan();
      return `${where(i, j)}: ${fmt(this.data[i * cols + j])} ${unitLabel(this.units)}`;
    });
  }

  /** Draw images { values, raw } (see codes.js) between range[0] and range[1]. */
  draw({ values, raw }, range, units) {
    const scan = this.getScan();
    const { rows, cols, s } = scan;
    this.data = values;
    this.units = units;
    drawRGBA(this.canvas, rows, cols, (out) => grayRGBA(values, 0, rows * cols, range[0], range[1], out));
    this.canvas.setAttribute("data-checksum", checksumOf(raw));
    this.canvas.setAttribute("data-bin", String(scan.bin));
    this.canvas.setAttribute("data-vmin", String(range[0]));
    this.canvas.setAttribute("data-vmax", String(range[1]));
    setSize(cols * s, rows * s, this.panel.stack, this.canvas);
    setScaleBar(this.panel, scan.pixel, scan.units, cols, s);
  }
}

/** The N segment images in a grid (columns = ceil(sqrt(N))). */
export class SegmentsPanel {
  constructor(getScan) {
    this.panel = makePanel("segments", "segment images");
    this.grid = h("div", "dpc-grid");
    this.panel.stack.append(this.grid);
    this.getScan = getScan;
    this.canvases = [];
    this.data = new Float32Array(0);
    this.scale = 1;
  }

  /** Draw the N images { values, raw } (see codes.js), image k between ranges[k]. */
  draw({ values: data, raw }, ranges, size) {
    const { rows, cols, pixel, units, bin } = this.getScan();
    this.data = data;
    const n = rows * cols > 0 ? Math.floor(data.length / (rows * cols)) : 0;
    const columns = gridColumns(n);
    const tile = Math.floor(size / columns) - 2;
    const s = tile / Math.max(rows, cols, 1);
    if (this.canvases.length !== n) {
      this.grid.replaceChildren();
      this.canvases = [];
      for (let k = 0; k < n; k++) {
        const canvas = h("canvas", "dpc-image", { "data-index": k, "data-testid": `segment-image-${k}` });
        hover(canvas, this.panel, () => ({ ...this.getScan(), s: this.scale }), (i, j) => {
          const scan = this.getScan();
          const value = this.data[(k * scan.rows + i) * scan.cols + j];
          return `segment ${k}, ${scan.where(i, j)}: ${fmt(value)}`;
        });
        this.grid.append(canvas);
        this.canvases.push(canvas);
      }
    }
    this.scale = s;
    this.grid.style.gridTemplateColumns = `repeat(${columns}, ${cols * s}px)`;
    this.canvases.forEach((canvas, k) => {
      const [vmin, vmax] = ranges[k] ?? [0, 0];
      const image = data.subarray(k * rows * cols, (k + 1) * rows * cols);
      drawRGBA(canvas, rows, cols, (out) => grayRGBA(image, 0, rows * cols, vmin, vmax, out));
      canvas.setAttribute("data-checksum", checksumOf(raw.subarray(k * rows * cols, (k + 1) * rows * cols)));
      canvas.setAttribute("data-bin", String(bin));
      canvas.setAttribute("data-vmin", String(vmin));
      canvas.setAttribute("data-vmax", String(vmax));
      setSize(cols * s, rows * s, canvas);
    });
    setScaleBar(this.panel, pixel, units, cols, s);
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
    legend.append(this.wheel, axes);
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
      return `${where(i, j)}: |CoM| ${fmt(Math.hypot(x, y))} ${unitLabel(this.units)}, ${fmt(angle)}\u00b0`;
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
