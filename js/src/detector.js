// The detector panel: log mean diffraction pattern, the segment overlay (computed here from the
// geometry with the formula of geometry.js), the inner/outer rings and the detector centre, all draggable.
//
// Dragging a ring or the centre handle redraws locally at once and asks the kernel for the new
// radii / centre through a RequestGate (custom messages {type: "geometry", seq, inner, outer}
// and {type: "center", seq, qx, qy} in pixels; the kernel answers {type: "ack", seq} after its
// update, which for a new centre includes rebuilding its pixel cache): at most two radius
// requests are in flight (the next travels while the kernel computes), a centre request waits
// until none is, and the newest value always wins. Until the answer to the last request arrives
// the dragged values are drawn instead of the model's. The pointer grabs the centre first
// (within CENTER_TOLERANCE), then the nearest ring.

import { logGrayRGBA, segmentRGBA } from "./colormaps.js";
import {
  centerOnScreen, detectorLabels, dragCenter, elementAt, hitCenter, hitRing, radiusAt,
} from "./geometry.js";
import { RequestGate } from "./flow.js";
import {
  checksumOf, clearReadout, drawRGBA, fmt, h, makePanel, resize, setScaleBar, setSize, showReadout,
  unitLabel,
} from "./dom.js";
import { drawSegmentIndices } from "./tiles.js";

const RING_TOLERANCE = 8; // CSS px within which a pointer grabs a ring
const CENTER_TOLERANCE = 8; // CSS px within which a pointer grabs the centre (tested first)
const RINGS = ["inner", "outer"];

export class DetectorPanel {
  /**
   * @param model  the anywidget model
   * @param onChange called after the overlay was redrawn (e.g. to update data attributes)
   */
  constructor(model, onChange) {
    this.model = model;
    this.onChange = onChange;
    this.panel = makePanel("detector", "mean diffraction (log) and detector");
    this.image = h("canvas", "dpc-image", { "data-testid": "detector-image" });
    this.labels = h("canvas", "dpc-segments", { "data-testid": "detector-segments" });
    this.rings = h("canvas", "dpc-rings", { "data-testid": "detector-rings" });
    this.handles = {};
    for (const name of RINGS) {
      this.handles[name] = h("div", "dpc-handle", {
        "data-ring": name,
        "data-testid": `ring-handle-${name}`,
        title: `drag to change the ${name} radius`,
      });
    }
    this.centerHandle = h("div", "dpc-handle dpc-center-handle", {
      "data-ring": "center",
      "data-testid": "center-handle",
      title: "drag to move the detector centre",
    });
    this.panel.stack.append(
      this.image, this.labels, this.rings, ...Object.values(this.handles), this.centerHandle,
    );
    this.pattern = new Float32Array(0);
    this.local = null; // radii or centre being dragged, drawn until the kernel has answered
    this.dragging = null; // "inner", "outer", "center" or null
    this.dragStart = null; // {center, pointer} at the start of a drag
    this.gate = new RequestGate((value, seq) => model.send({ seq, ...value }));
    this.listen();
  }

  /** The geometry to draw: the model's, with radii being dragged on top. */
  geometry() {
    const m = this.model;
    const [rows, cols] = m.get("detector_shape");
    const size = m.get("panel_size");
    return {
      rows,
      cols,
      s: size / Math.max(rows, cols, 1),
      center: m.get("center"),
      sampling: m.get("detector_sampling"),
      units: m.get("detector_units"),
      inner: m.get("inner"),
      outer: m.get("outer"),
      segments: m.get("segments"),
      rotationDeg: m.get("rotation"),
      comMask: m.get("com_mask"),
      cacheRadius: m.get("cache_radius"),
      ...this.local,
    };
  }

  /** Draw the mean pattern { values, raw } (see codes.js) on the log scale. */
  drawPattern({ values: data, raw }) {
    const g = this.geometry();
    this.pattern = data;
    const vmax = this.model.get("pattern_vmax");
    const n = g.rows * g.cols;
    drawRGBA(this.image, g.rows, g.cols, (out) => logGrayRGBA(data, n, vmax, out));
    this.image.setAttribute("data-checksum", checksumOf(raw));
    this.image.setAttribute("data-vmax", String(vmax));
    setSize(g.cols * g.s, g.rows * g.s, this.panel.stack, this.image, this.labels, this.rings);
    setScaleBar(this.panel, g.sampling, g.units, g.cols, g.s);
  }

  drawOverlay() {
    const g = this.geometry();
    const labels = detectorLabels(g);
    drawRGBA(this.labels, g.rows, g.cols, (out) => segmentRGBA(labels, out));
    this.drawRings(g);
    this.onChange(g);
  }

  drawRings(g) {
    const width = Math.round(g.cols * g.s);
    const height = Math.round(g.rows * g.s);
    resize(this.rings, width, height);
    const [x0, y0] = centerOnScreen(g.center, g.s);
    const toScreen = (r) => (r / g.sampling) * g.s;
    for (const name of RINGS) {
      const style = this.handles[name].style;
      style.left = `${x0 + toScreen(g[name])}px`;
      style.top = `${y0}px`;
    }
    this.centerHandle.style.left = `${x0}px`;
    this.centerHandle.style.top = `${y0}px`;
    const ctx = this.rings.getContext("2d");
    if (!ctx) return;
    ctx.clearRect(0, 0, width, height);
    const circle = (r, colour, dash) => {
      if (!Number.isFinite(r)) return;
      ctx.beginPath();
      ctx.setLineDash(dash);
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.arc(x0, y0, toScreen(r), 0, 2 * Math.PI);
      ctx.stroke();
    };
    circle(g.inner, "rgba(255, 255, 255, 0.95)", []);
    circle(g.outer, "rgba(255, 255, 255, 0.95)", []);
    if (g.comMask && g.comMask.length === 2) {
      circle(g.comMask[0], "rgba(0, 255, 255, 0.9)", [4, 3]);
      circle(g.comMask[1], "rgba(0, 255, 255, 0.9)", [4, 3]);
    }
    if (g.cacheRadius > 0) circle(g.cacheRadius, "rgba(255, 190, 0, 0.85)", [2, 4]);
    ctx.setLineDash([]);
    drawSegmentIndices(ctx, g.segments, (g.rotationDeg * Math.PI) / 180, x0, y0, g.s, g.inner / g.sampling, g.outer / g.sampling);
  }

  /** The kernel answered request seq. */
  answer(seq) {
    this.gate.answer(seq);
    this.settle();
  }

  /** Drop the dragged radii once the drag has ended and every request was answered. */
  settle() {
    if (this.dragging === null && !this.gate.busy && this.local !== null) {
      this.local = null;
      this.drawOverlay();
    }
  }

  /** Pointer position in CSS px relative to the top-left of the image. */
  position(event) {
    const rect = this.panel.stack.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  listen() {
    const stack = this.panel.stack;
    stack.addEventListener("pointerdown", (event) => {
      const g = this.geometry();
      const [left, top] = this.position(event);
      const name = event.target.dataset?.ring ??
        (hitCenter(left, top, g.center, g.s, CENTER_TOLERANCE) ? "center" : null) ??
        hitRing(left, top, g.center, g.s, g.sampling, { inner: g.inner, outer: g.outer }, RING_TOLERANCE);
      if (!name) return;
      this.dragging = name;
      this.local = { inner: g.inner, outer: g.outer, center: g.center };
      this.dragStart = { center: g.center, pointer: [left, top] };
      event.target.setPointerCapture?.(event.pointerId);
      event.preventDefault();
    });
    stack.addEventListener("pointermove", (event) => {
      const g = this.geometry();
      const [left, top] = this.position(event);
      if (this.dragging === "center") {
        const { center, pointer } = this.dragStart;
        const [qx, qy] = dragCenter(center, pointer, [left, top], g.s, g.rows, g.cols);
        this.local = { ...this.local, center: [qx, qy] };
        this.drawOverlay();
        this.gate.request({ type: "center", qx, qy }, 1); // each one rebuilds the cache
        return;
      }
      if (this.dragging !== null) {
        this.local = { ...this.local, [this.dragging]: radiusAt(left, top, g.center, g.s, g.sampling) };
        this.drawOverlay();
        this.gate.request({ type: "geometry", inner: this.local.inner, outer: this.local.outer });
        return;
      }
      const onCenter = hitCenter(left, top, g.center, g.s, CENTER_TOLERANCE);
      const near = hitRing(left, top, g.center, g.s, g.sampling, { inner: g.inner, outer: g.outer }, RING_TOLERANCE);
      this.rings.style.cursor = onCenter ? "move" : near ? "ew-resize" : "crosshair";
      showReadout(this.panel, () => {
        const now = this.geometry(); // at each redraw: the current centre, units and pattern
        const element = elementAt(left, top, now.s, now.rows, now.cols);
        return element ? this.readout(now, ...element) : null;
      });
    });
    stack.addEventListener("pointerleave", () => clearReadout(this.panel));
    const end = () => {
      if (this.dragging === null) return;
      this.dragging = null;
      this.dragStart = null;
      this.settle();
    };
    stack.addEventListener("pointerup", end);
    stack.addEventListener("pointercancel", end);
  }

  readout(g, i, j) {
    const dx = i - g.center[0];
    const dy = j - g.center[1];
    const u = unitLabel(g.units);
    const r = Math.sqrt(dx * dx + dy * dy) * g.sampling;
    // short enough for one line of a 200 px panel: "q 1.2, -3.4 mrad, r 3.6: 0.0123"
    return `q ${fmt(dx * g.sampling)}, ${fmt(dy * g.sampling)} ${u}, r ${fmt(r)}: ` +
      `${fmt(this.pattern[i * g.cols + j])}`;
  }
}
