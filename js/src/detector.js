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
//
// Zoom and pan (geometry.js, viewTransform): the model's detector_zoom and detector_focus
// say which part of the detector fills the panel. The image and segment canvases stay at the
// detector's native size and are placed by a CSS transform (nothing is redrawn to zoom); the
// rings, segment borders and handles are drawn in screen space at the detector's true radii
// with constant on-screen line widths. The wheel zooms about the pointer, a drag on empty image
// area pans, and the toolbar zooms in / out, fits the disc (fitView, from disc_radius) or shows
// the whole detector. A changed view is sent to the kernel at most every SAVE_MS (the radial
// profile follows it there); it never touches the ring-drag path.

import { PATTERN_SCALES, patternRGBA, segmentRGBA } from "./colormaps.js";
import {
  centerOnScreen, detectorLabels, dragCenter, elementAt, fitView, hitCenter, hitRing, panBy, radiusAt,
  viewTransform, zoomAt,
} from "./geometry.js";
import { RequestGate } from "./flow.js";
import {
  checksumOf, clearReadout, drawRGBA, fmt, h, makePanel, resize, setScaleBar, setSize, showReadout,
} from "./dom.js";
import { drawSegmentIndices } from "./tiles.js";

const RING_TOLERANCE = 8; // CSS px within which a pointer grabs a ring
const CENTER_TOLERANCE = 8; // CSS px within which a pointer grabs the centre (tested first)
const RINGS = ["inner", "outer"];
const ZOOM_STEP = 1.5; // factor of the zoom buttons
const WHEEL_STEP = 1.0015; // zoom factor per wheel deltaY pixel (about 1.16 per notch of 100)
const SAVE_MS = 120; // the view goes to the kernel at most this often while it moves
const RING_WIDTH = 1.5; // CSS px, at any zoom
const BORDER_WIDTH = 1; // CSS px: segment borders
const CACHE_WIDTH = 1; // CSS px: the cache ring, dotted amber, under the detector rings
const CACHE_COLOUR = "rgba(255, 179, 0, 0.9)";
const CACHE_DASH = [1, 3];

/** A small button of the detector toolbar. */
function button(text, name, title) {
  const el = h("button", "dpc-zoom-button", { type: "button", "data-zoom": name, title });
  el.textContent = text;
  return el;
}

export class DetectorPanel {
  /**
   * @param model  the anywidget model
   * @param onChange called after the overlay was redrawn (e.g. to update data attributes)
   */
  constructor(model, onChange) {
    this.model = model;
    this.onChange = onChange;
    this.panel = makePanel("detector", "mean diffraction and detector");
    this.toolbar = this.makeToolbar();
    this.panel.root.insertBefore(this.toolbar, this.panel.stack);
    this.legend = h("div", "dpc-cache-legend", {
      "data-testid": "cache-legend",
      title: "the detector cache covers radii inside the dotted amber ring",
    });
    const swatch = h("span", "dpc-cache-swatch");
    const text = h("span", "");
    text.textContent = "cache: answers at once inside";
    this.legend.append(swatch, text);
    this.panel.scalebar.after(this.legend);
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
    this.dragStart = null; // {center, pointer} at the start of a drag, {view, pointer} for a pan
    this.saveTimer = null;
    this.placed = null; // the view last placed (placeView)
    this.gate = new RequestGate((value, seq) => model.send({ seq, ...value }));
    this.listen();
  }

  /** The geometry to draw: the model's, with radii being dragged on top. */
  geometry() {
    const m = this.model;
    const [rows, cols] = m.get("detector_shape");
    const size = m.get("panel_size");
    const s0 = size / Math.max(rows, cols, 1);
    return {
      rows,
      cols,
      s0,
      s: s0, // CSS px per pixel of the whole detector
      view: viewTransform(rows, cols, s0, m.get("detector_zoom"), m.get("detector_focus")),
      center: m.get("center"),
      sampling: m.get("detector_sampling"),
      units: m.get("detector_units"),
      inner: m.get("inner"),
      outer: m.get("outer"),
      segments: m.get("segments"),
      rotationDeg: m.get("rotation"),
      comMask: m.get("com_mask"),
      cacheRadius: m.get("cache_radius"),
      discRadius: m.get("disc_radius"),
      ...this.local,
    };
  }

  /** Draw the mean pattern { values, raw } (see codes.js) on the chosen scale (patternLevel). */
  drawPattern({ values: data, raw }) {
    const g = this.geometry();
    const m = this.model;
    this.pattern = data;
    const vmax = m.get("pattern_vmax");
    const scale = m.get("pattern_scale");
    const gamma = m.get("pattern_gamma");
    const n = g.rows * g.cols;
    drawRGBA(this.image, g.rows, g.cols, (out) => patternRGBA(data, n, vmax, scale, gamma, out));
    this.image.setAttribute("data-checksum", checksumOf(raw));
    this.image.setAttribute("data-vmax", String(vmax));
    this.image.setAttribute("data-scale", scale);
    this.scaleSelect.value = scale;
    if (document.activeElement !== this.gammaInput) this.gammaInput.value = String(gamma);
    this.gammaInput.style.visibility = scale === "gamma" ? "visible" : "hidden";
    setSize(g.cols * g.s0, g.rows * g.s0, this.panel.stack, this.image, this.labels, this.rings);
    this.placeView(g);
  }

  /** Place the native-size canvases and the scale bar for the current zoom and focus. */
  placeView(g = this.geometry()) {
    const { s, ox, oy, zoom, focus } = g.view;
    const key = [s, ox, oy, g.cols, g.sampling, g.units].join(" ");
    if (key === this.placed) return; // nothing moved: no style writes on a ring drag's frames
    this.placed = key;
    const transform = `translate(${ox}px, ${oy}px) scale(${zoom})`;
    for (const canvas of [this.image, this.labels]) {
      canvas.style.transformOrigin = "0 0";
      canvas.style.transform = transform;
    }
    setScaleBar(this.panel, g.sampling, g.units, g.cols / zoom, s);
    const stack = this.panel.stack;
    stack.setAttribute("data-zoom", String(zoom));
    stack.setAttribute("data-focus", focus.join(","));
    stack.setAttribute("data-scale", String(s)); // CSS px per detector pixel
    stack.setAttribute("data-offset", `${ox},${oy}`);
  }

  /** Set the view {zoom, focus} locally at once and send it to the kernel soon. */
  setView({ zoom, focus }) {
    this.model.set("detector_zoom", zoom);
    this.model.set("detector_focus", focus);
    if (this.saveTimer === null) {
      this.saveTimer = setTimeout(() => {
        this.saveTimer = null;
        this.model.save_changes();
      }, SAVE_MS);
    }
  }

  makeToolbar() {
    const bar = h("div", "dpc-zoom-bar", { "data-testid": "detector-toolbar" });
    const zoomBy = (factor) => () => {
      const g = this.geometry();
      const [w, hgt] = [g.cols * g.s0, g.rows * g.s0];
      this.setView(zoomAt(g.view, g.rows, g.cols, w / 2, hgt / 2, factor));
    };
    const buttons = [
      [button("+", "in", "zoom in (or turn the mouse wheel over the image)"), zoomBy(ZOOM_STEP)],
      [button("−", "out", "zoom out"), zoomBy(1 / ZOOM_STEP)],
      [button("fit disc", "fit", "frame the bright-field disc and the detector rings"), () => {
        const g = this.geometry();
        const outerPx = g.outer / g.sampling;
        this.setView(fitView(g.rows, g.cols, g.center, g.discRadius, outerPx));
      }],
      [button("whole", "whole", "show the whole detector"), () => {
        const g = this.geometry();
        this.setView({ zoom: 1, focus: [g.rows / 2, g.cols / 2] });
      }],
    ];
    for (const [el, action] of buttons) {
      el.addEventListener("click", action);
      bar.append(el);
    }
    this.scaleSelect = h("select", "dpc-scale-select", {
      "data-testid": "pattern-scale",
      title: "intensity scale of the diffraction image: log, linear or gamma (v/vmax)^γ",
    });
    for (const name of PATTERN_SCALES) {
      const option = h("option", "", { value: name });
      option.textContent = name === "gamma" ? "γ" : name;
      this.scaleSelect.append(option);
    }
    this.gammaInput = h("input", "dpc-gamma-input", {
      type: "number", min: 0.05, max: 5, step: 0.05, "data-testid": "pattern-gamma",
      title: "γ of the gamma scale (below 1 brightens faint signal)",
    });
    this.scaleSelect.addEventListener("change", () => {
      this.model.set("pattern_scale", this.scaleSelect.value);
      this.model.save_changes();
    });
    this.gammaInput.addEventListener("change", () => {
      const gamma = Number(this.gammaInput.value);
      if (!(gamma > 0 && Number.isFinite(gamma))) return;
      this.model.set("pattern_gamma", gamma);
      this.model.save_changes();
    });
    // the scale's choice sits at the right of the scale bar's row (one toolbar row at 220 px)
    const scale = h("span", "dpc-scale-choice");
    scale.append(this.scaleSelect, this.gammaInput);
    this.panel.scalebar.append(scale);
    return bar;
  }

  drawOverlay() {
    const g = this.geometry();
    const labels = detectorLabels(g);
    drawRGBA(this.labels, g.rows, g.cols, (out) => segmentRGBA(labels, out));
    this.placeView(g);
    this.drawRings(g);
    this.onChange(g);
  }

  /** Redraw what the zoom and focus move: the canvases' placement, rings and handles. */
  drawView() {
    const g = this.geometry();
    this.placeView(g);
    this.drawRings(g);
  }

  drawRings(g) {
    const width = Math.round(g.cols * g.s0);
    const height = Math.round(g.rows * g.s0);
    // the bitmap has device pixels (sharp lines on high-DPI screens); drawing is in CSS px
    const ratio = globalThis.devicePixelRatio || 1;
    resize(this.rings, Math.round(width * ratio), Math.round(height * ratio));
    const t = g.view;
    const [x0, y0] = centerOnScreen(g.center, t);
    const toScreen = (r) => (r / g.sampling) * t.s;
    for (const name of RINGS) {
      const style = this.handles[name].style;
      style.left = `${x0 + toScreen(g[name])}px`;
      style.top = `${y0}px`;
    }
    this.centerHandle.style.left = `${x0}px`;
    this.centerHandle.style.top = `${y0}px`;
    this.legend.style.visibility = g.cacheRadius > 0 ? "visible" : "hidden";
    const ctx = this.rings.getContext("2d");
    if (!ctx) return;
    ctx.setTransform?.(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const circle = (r, colour, dash, lineWidth = RING_WIDTH) => {
      if (!Number.isFinite(r)) return;
      ctx.beginPath();
      ctx.setLineDash(dash);
      ctx.strokeStyle = colour;
      ctx.lineWidth = lineWidth;
      ctx.arc(x0, y0, toScreen(r), 0, 2 * Math.PI);
      ctx.stroke();
    };
    if (g.cacheRadius > 0) circle(g.cacheRadius, CACHE_COLOUR, CACHE_DASH, CACHE_WIDTH);
    if (g.segments > 1 && g.outer > g.inner) {
      // segment k starts where atan2(dy, dx) + rotation = 2 pi k / N (dx down, dy right)
      ctx.setLineDash([]);
      ctx.strokeStyle = "rgba(255, 255, 255, 0.7)";
      ctx.lineWidth = BORDER_WIDTH;
      ctx.beginPath();
      const rotation = (g.rotationDeg * Math.PI) / 180;
      for (let k = 0; k < g.segments; k++) {
        const angle = (2 * Math.PI * k) / g.segments - rotation;
        const [down, right] = [Math.cos(angle), Math.sin(angle)];
        ctx.moveTo(x0 + right * toScreen(g.inner), y0 + down * toScreen(g.inner));
        ctx.lineTo(x0 + right * toScreen(g.outer), y0 + down * toScreen(g.outer));
      }
      ctx.stroke();
    }
    circle(g.inner, "rgba(255, 255, 255, 0.95)", []);
    circle(g.outer, "rgba(255, 255, 255, 0.95)", []);
    if (g.comMask && g.comMask.length === 2) {
      circle(g.comMask[0], "rgba(0, 255, 255, 0.9)", [4, 3]);
      circle(g.comMask[1], "rgba(0, 255, 255, 0.9)", [4, 3]);
    }
    ctx.setLineDash([]);
    // indices at a constant on-screen size, on the zoomed ring (t.s: CSS px per pixel in view)
    drawSegmentIndices(ctx, g.segments, (g.rotationDeg * Math.PI) / 180, x0, y0, t.s, g.inner / g.sampling, g.outer / g.sampling);
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
        (hitCenter(left, top, g.center, g.view, CENTER_TOLERANCE) ? "center" : null) ??
        hitRing(left, top, g.center, g.view, g.sampling, { inner: g.inner, outer: g.outer }, RING_TOLERANCE);
      if (!name) {
        // empty image area: pan (when zoomed in)
        this.dragging = "pan";
        this.dragStart = { view: g.view, pointer: [left, top] };
        this.rings.style.cursor = "grabbing";
        event.target.setPointerCapture?.(event.pointerId);
        event.preventDefault();
        return;
      }
      this.dragging = name;
      this.local = { inner: g.inner, outer: g.outer, center: g.center };
      this.dragStart = { center: g.center, pointer: [left, top] };
      event.target.setPointerCapture?.(event.pointerId);
      event.preventDefault();
    });
    stack.addEventListener("pointermove", (event) => {
      const g = this.geometry();
      const [left, top] = this.position(event);
      if (this.dragging === "pan") {
        const { view, pointer } = this.dragStart;
        this.setView(panBy(view, g.rows, g.cols, left - pointer[0], top - pointer[1]));
        return;
      }
      if (this.dragging === "center") {
        const { center, pointer } = this.dragStart;
        const [qx, qy] = dragCenter(center, pointer, [left, top], g.view, g.rows, g.cols);
        this.local = { ...this.local, center: [qx, qy] };
        this.drawOverlay();
        this.gate.request({ type: "center", qx, qy }, 1); // each one rebuilds the cache
        return;
      }
      if (this.dragging !== null) {
        this.local = { ...this.local, [this.dragging]: radiusAt(left, top, g.center, g.view, g.sampling) };
        this.drawOverlay();
        this.gate.request({ type: "geometry", inner: this.local.inner, outer: this.local.outer });
        return;
      }
      const onCenter = hitCenter(left, top, g.center, g.view, CENTER_TOLERANCE);
      const near = hitRing(left, top, g.center, g.view, g.sampling, { inner: g.inner, outer: g.outer }, RING_TOLERANCE);
      this.rings.style.cursor = onCenter ? "move" : near ? "ew-resize" : g.view.zoom > 1 ? "grab" : "crosshair";
      showReadout(this.panel, () => {
        const now = this.geometry(); // at each redraw: the current centre, units, pattern and view
        const element = elementAt(left, top, now.view, now.rows, now.cols);
        if (element) this.panel.readout.setAttribute("data-pixel", element.join(","));
        else this.panel.readout.removeAttribute("data-pixel");
        return element ? this.readout(now, ...element) : null;
      });
    });
    stack.addEventListener("pointerleave", () => {
      clearReadout(this.panel);
      this.panel.readout.removeAttribute("data-pixel");
    });
    stack.addEventListener("wheel", (event) => {
      const g = this.geometry();
      const [left, top] = this.position(event);
      const step = event.deltaMode === 1 ? 40 : event.deltaMode === 2 ? 800 : 1; // lines, pages
      const next = zoomAt(g.view, g.rows, g.cols, left, top, WHEEL_STEP ** (-event.deltaY * step));
      // at the end of the zoom range the wheel scrolls the notebook as usual
      if (next.zoom === g.view.zoom && next.focus.every((f, k) => f === g.view.focus[k])) return;
      this.setView(next);
      event.preventDefault(); // else the notebook does not scroll under the detector view
    }, { passive: false });
    const end = (event) => {
      if (this.dragging === null) return;
      if (this.dragging === "pan") {
        // the release point ends the pan (a last coalesced pointermove may not have come)
        if (event.type === "pointerup") {
          const { view, pointer } = this.dragStart;
          const [left, top] = this.position(event);
          const g = this.geometry();
          this.setView(panBy(view, g.rows, g.cols, left - pointer[0], top - pointer[1]));
        }
        this.dragging = null;
        this.dragStart = null;
        return;
      }
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
    const u = g.units;
    const r = Math.sqrt(dx * dx + dy * dy) * g.sampling;
    // short enough for one line of a 200 px panel: "q 1.2, -3.4 mrad, r 3.6: 0.0123"
    return `q ${fmt(dx * g.sampling)}, ${fmt(dy * g.sampling)} ${u}, r ${fmt(r)}: ` +
      `${fmt(this.pattern[i * g.cols + j])}`;
  }
}
