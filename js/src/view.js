// The explorer's canvas view: all panels of one model. Trait changes mark panels dirty and one
// microtask later each dirty panel is redrawn once, so a batch of buffers from one kernel update
// gives one redraw. After each redraw the root's data-version goes up by one.
//
// Latency measurement (tests/browser/browser_latency.py): when the page defines
// globalThis.__dpcTrace, the view calls its mark("changed") at the first trait change of a
// redraw; by default it is undefined and nothing is called.

import { DetectorPanel } from "./detector.js";
import { ComPanel, ImagePanel, SegmentsPanel, scanInfo } from "./panels.js";
import { decodeImages } from "./codes.js";
import { clearReadout, h, refreshReadout } from "./dom.js";
import { GAP, fitPanels } from "./layout.js";

const TRIGGERS = {
  size: ["panel_size", "fit_width"],
  pattern: ["pattern", "pattern_map", "pattern_vmax", "pattern_scale", "pattern_gamma", "detector_shape", "detector_sampling", "detector_units", "panel_size"],
  overlay: ["detector_shape", "center", "detector_sampling", "inner", "outer", "segments", "rotation", "com_mask", "cache_radius", "panel_size"],
  zoom: ["detector_zoom", "detector_focus"],
  segments: ["segment_images", "segment_images_map", "segment_images_bin", "segment_ranges", "scan_shape", "scan_sampling", "scan_units", "panel_size"],
  com: ["com", "com_map", "com_bin", "com_ranges", "com_vmax", "com_units", "scan_shape", "scan_sampling", "scan_units", "panel_size"],
  phase: ["phase", "phase_map", "phase_bin", "phase_range", "phase_units", "scan_shape", "scan_sampling", "scan_units", "panel_size"],
};

function trace(hop) {
  globalThis.__dpcTrace?.mark(hop);
}

export class ExplorerView {
  constructor(model, el) {
    this.model = model;
    this.root = h("div", "dpc-view", { "data-testid": "dpc-view", "data-version": 0, "data-pending": 0 });
    this.version = 0;
    // the scan geometry of a trait's images, at their binning (see resolution.py)
    const scanOf = (trait) => () => scanInfo(model, model.get("panel_size"), model.get(`${trait}_bin`) || 1);
    this.detector = new DetectorPanel(model, (g) => this.describe(g));
    this.segments = new SegmentsPanel(scanOf("segment_images"));
    this.comX = new ImagePanel("com-x", "CoM x (scan frame)", scanOf("com"), true);
    this.comY = new ImagePanel("com-y", "CoM y (scan frame)", scanOf("com"), true);
    this.comColor = new ComPanel(scanOf("com"));
    this.phase = new ImagePanel("phase", "phase", scanOf("phase"));
    // the detector view and the phase first: side by side in the first screen from two columns
    this.panels = [this.detector, this.phase, this.segments, this.comColor, this.comX, this.comY];
    for (const panel of this.panels) this.root.append(panel.panel.root);
    el.append(this.root);
    this.width = -1;
    this.fit();
    this.resizes = typeof ResizeObserver === "function" ? new ResizeObserver(() => this.fit()) : null;
    this.resizes?.observe(this.root);
    const ratio = globalThis.devicePixelRatio || 1; // the kernel bins drag frames to device pixels
    if (model.get("pixel_ratio") !== ratio) {
      model.set("pixel_ratio", ratio);
      model.save_changes();
    }
    this.decoded = {}; // trait name -> its Float32Array of values, reused between frames
    this.dirty = new Set(Object.keys(TRIGGERS));
    this.scheduled = false;
    this.handlers = [];
    for (const [group, keys] of Object.entries(TRIGGERS)) {
      for (const key of keys) this.on(`change:${key}`, () => this.mark(group));
    }
    this.on("msg:custom", (msg) => {
      if (msg?.type === "ack") {
        this.detector.answer(msg.seq);
        this.root.setAttribute("data-pending", this.detector.gate.busy ? 1 : 0);
      }
    });
    this.flush();
  }

  /**
   * Lay the panels out in the root's width (layout.js). With fit_width the panel size follows
   * the width and is saved to the model (the kernel bins drag frames to it); changes of the
   * root's height (new content) do nothing.
   */
  fit() {
    const width = this.root.clientWidth;
    const fixed = this.model.get("fit_width") === false ? this.model.get("panel_size") : 0;
    if (width === this.width && fixed === this.fixed) return;
    this.width = width;
    this.fixed = fixed;
    if (!(width > 0)) return; // not in the page yet (or hidden): the observer calls again
    const { columns, size } = fitPanels(width, fixed);
    this.root.style.gridTemplateColumns = `repeat(${columns}, ${size}px)`;
    this.root.style.gap = `${GAP}px`;
    this.root.setAttribute("data-columns", columns);
    if (!fixed && this.model.get("panel_size") !== size) {
      this.model.set("panel_size", size);
      this.model.save_changes();
    }
  }

  on(event, handler) {
    this.model.on(event, handler);
    this.handlers.push([event, handler]);
  }

  mark(group) {
    this.dirty.add(group);
    if (this.scheduled) return;
    this.scheduled = true;
    trace("changed");
    queueMicrotask(() => this.flush());
  }

  /** The decoded images of a trait: { values, raw } (see codes.js). */
  images(name) {
    const images = decodeImages(this.model.get(name), this.model.get(`${name}_map`), this.decoded[name]);
    this.decoded[name] = images.values;
    return images;
  }

  flush() {
    this.scheduled = false;
    const m = this.model;
    const size = m.get("panel_size");
    const dirty = this.dirty;
    this.dirty = new Set();
    if (dirty.has("pattern")) this.detector.drawPattern(this.images("pattern"));
    if (dirty.has("overlay")) this.detector.drawOverlay();
    else if (dirty.has("zoom")) this.detector.drawView();
    if (dirty.has("segments")) this.segments.draw(this.images("segment_images"), m.get("segment_ranges"), size);
    if (dirty.has("com")) {
      const { values, raw } = this.images("com");
      const n = values.length / 2;
      const [rx, ry] = m.get("com_ranges").length === 2 ? m.get("com_ranges") : [[0, 0], [0, 0]];
      const half = (k) => ({ values: values.subarray(k * n, (k + 1) * n), raw: raw.subarray(k * n, (k + 1) * n) });
      this.comX.draw(half(0), rx, m.get("com_units"));
      this.comY.draw(half(1), ry, m.get("com_units"));
      this.comColor.draw({ values, raw }, m.get("com_vmax"), m.get("com_units"));
    }
    if (dirty.has("phase")) this.phase.draw(this.images("phase"), m.get("phase_range"), m.get("phase_units"));
    if (dirty.has("size")) this.fit();
    for (const panel of this.panels) refreshReadout(panel.panel); // no stale values or units
    this.version += 1;
    this.root.setAttribute("data-version", this.version);
    this.root.setAttribute("data-pending", this.detector.gate.busy ? 1 : 0);
  }

  /** Write the drawn detector geometry into data attributes (for tests and styling). */
  describe(g) {
    for (const key of ["inner", "outer", "segments"]) this.root.setAttribute(`data-${key}`, String(g[key]));
    this.root.setAttribute("data-rotation", String(g.rotationDeg));
    this.root.setAttribute("data-center", g.center.join(","));
    this.root.setAttribute("data-pending", this.detector.gate.busy ? 1 : 0);
  }

  destroy() {
    this.resizes?.disconnect();
    for (const panel of this.panels) clearReadout(panel.panel);
    for (const [event, handler] of this.handlers) this.model.off(event, handler);
    this.root.remove();
  }
}
