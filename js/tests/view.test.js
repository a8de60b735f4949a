import { beforeEach, describe, expect, it } from "vitest";
import widget from "../src/explorer.js";
import { fnv1a } from "../src/checksum.js";
import { DIVERGING_LUT, PALETTE, SEQUENTIAL_LUT, barRGBA } from "../src/colormaps.js";
import { barGradient } from "../src/colorbar.js";
import { setText } from "../src/dom.js";

// jsdom has no 2D canvas: a mock context keeps the last image put on each canvas.
const drawn = new WeakMap();
beforeEach(() => {
  HTMLCanvasElement.prototype.getContext = function getContext() {
    const canvas = this;
    return {
      createImageData: (w, h) => ({ width: w, height: h, data: new Uint8ClampedArray(4 * w * h) }),
      putImageData: (image) => drawn.set(canvas, image),
      clearRect() {}, beginPath() {}, moveTo() {}, lineTo() {}, arc() {}, stroke() {}, setLineDash() {},
      save() {}, restore() {}, fillRect() {}, fillText() {},
    };
  };
});

const f32 = (values) => new DataView(Float32Array.from(values).buffer);
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function fakeModel(overrides = {}) {
  const rows = 3;
  const cols = 4;
  const n = rows * cols;
  const state = {
    panel_size: 120,
    pattern: f32(Array.from({ length: 100 }, (_, k) => k)),
    pattern_vmax: 99,
    detector_shape: [10, 10],
    center: [5, 5],
    detector_sampling: 1,
    detector_units: "mrad",
    inner: 1,
    outer: 4,
    segments: 4,
    rotation: 0,
    com_mask: [],
    scan_shape: [rows, cols],
    scan_sampling: 0.5,
    scan_units: "\u00c5", // display text, as the kernel sends it (physics.unit_text)
    segment_images: f32(Array.from({ length: 4 * n }, (_, k) => k)),
    segment_ranges: [[0, 11], [12, 23], [24, 35], [36, 47]],
    com: f32(Array.from({ length: 2 * n }, (_, k) => (k % 5) - 2)),
    com_ranges: [[-2, 2], [-2, 2]],
    com_vmax: 2,
    com_units: "\u00c5\u207b\u00b9",
    phase: f32(Array.from({ length: n }, (_, k) => k / 10)),
    phase_range: [0, 1.1],
    phase_units: "rad",
    ...overrides,
  };
  const handlers = {};
  return {
    sent: [],
    get: (key) => state[key],
    set: (key, value) => { // like a Backbone model: change events when the value changes
      const changed = state[key] !== value;
      state[key] = value;
      if (changed) for (const h of handlers[`change:${key}`] ?? []) h();
    },
    save_changes() {
      this.saved.push({ pixel_ratio: state.pixel_ratio });
    },
    saved: [],
    on: (event, handler) => (handlers[event] ??= []).push(handler),
    off: (event, handler) => {
      handlers[event] = (handlers[event] ?? []).filter((h) => h !== handler);
    },
    send(msg) {
      this.sent.push(msg);
    },
    /** Set traits like a kernel state message: change events for every key. */
    update(values) {
      Object.assign(state, values);
      for (const key of Object.keys(values)) for (const h of handlers[`change:${key}`] ?? []) h();
    },
    emit: (event, ...args) => (handlers[event] ?? []).forEach((h) => h(...args)),
  };
}

function renderView(model) {
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = widget.render({ model, el });
  return { el, cleanup, root: el.querySelector('[data-testid="dpc-view"]') };
}

const pointer = (type, target, clientX, clientY) =>
  target.dispatchEvent(new PointerEvent(type, { clientX, clientY, bubbles: true, pointerId: 1 }));

describe("explorer view", () => {
  it("builds the documented panels and canvases", () => {
    const { root } = renderView(fakeModel());
    const panels = [...root.querySelectorAll(".dpc-panel")].map((p) => p.dataset.panel);
    // the detector view and the phase first: side by side in the first row of the grid
    expect(panels).toEqual(["detector", "phase", "segments", "com-color", "com-x", "com-y"]);
    const detector = root.querySelector('[data-panel="detector"]');
    for (const cls of ["dpc-image", "dpc-segments", "dpc-rings"]) {
      expect(detector.querySelector(`canvas.${cls}`)).not.toBeNull();
    }
    expect([...detector.querySelectorAll(".dpc-handle")].map((h) => h.dataset.ring)).toEqual(["inner", "outer", "center"]);
    expect(root.querySelectorAll('[data-panel="segments"] canvas.dpc-image').length).toBe(4);
    expect(root.querySelector("canvas.dpc-quiver")).not.toBeNull();
    expect(root.querySelector("canvas.dpc-wheel")).not.toBeNull();
    expect(root.dataset.version).toBe("1");
    expect([root.dataset.inner, root.dataset.outer, root.dataset.segments]).toEqual(["1", "4", "4"]);
  });

  it("draws native-resolution images with checksums of the data", () => {
    const model = fakeModel();
    const { root } = renderView(model);
    const phase = root.querySelector('[data-panel="phase"] canvas.dpc-image');
    expect([phase.width, phase.height]).toEqual([4, 3]); // cols x rows
    const bytes = new Uint8Array(model.get("phase").buffer);
    expect(phase.dataset.checksum).toBe(fnv1a(bytes));
    const pixels = drawn.get(phase).data;
    // sequential map: 0 -> its first level (black), 1.1 -> its last (CET-L1's near-white)
    expect([pixels[0], pixels[4 * 11]]).toEqual([SEQUENTIAL_LUT[0], SEQUENTIAL_LUT[3 * 255]]);
    const segment2 = root.querySelector('[data-panel="segments"] canvas[data-index="2"]');
    expect(segment2.dataset.checksum).toBe(fnv1a(new Uint8Array(model.get("segment_images").buffer, 2 * 48, 48)));
    // 2 x 2 tiles of (120 - 4) / 2 px less 2 px frames: 54 px; the longer side (4 columns) fills one
    expect([segment2.style.width, segment2.style.height]).toEqual(["54px", "40.5px"]);
  });

  it("draws 16-bit coded images decoded with their maps, checksums of the codes", async () => {
    const model = fakeModel();
    const { root } = renderView(model);
    const n = 12;
    const codes = Uint16Array.from({ length: 2 * n }, (_, k) => (k < n ? k : 65533)); // y: NaN
    model.update({ com: new DataView(codes.buffer), com_map: [[-2, 4 / 11], [0, 1]] });
    await tick();
    const comX = root.querySelector('[data-testid="com-x-image"]');
    expect(comX.dataset.checksum).toBe(fnv1a(new Uint8Array(codes.buffer, 0, 2 * n)));
    const pixels = drawn.get(comX).data; // range [-2, 2]: code 0 -> -2, 11 -> 2: the map's ends
    expect(Array.from(pixels.slice(0, 3))).toEqual(Array.from(DIVERGING_LUT.slice(0, 3)));
    expect(Array.from(pixels.slice(44, 47))).toEqual(Array.from(DIVERGING_LUT.slice(765, 768)));
    const colour = drawn.get(root.querySelector('[data-testid="com-color-image"]')).data;
    expect(Array.from(colour.slice(0, 4))).toEqual([0, 0, 0, 0]); // y NaN: transparent
    expect(root.querySelector('[data-testid="com-color-image"]').dataset.checksum).toBe(fnv1a(new Uint8Array(codes.buffer)));
  });

  it("paints the segment overlay from the geometry", () => {
    const { root } = renderView(fakeModel());
    const overlay = drawn.get(root.querySelector("canvas.dpc-segments")).data;
    const at = (i, j) => Array.from(overlay.slice(4 * (i * 10 + j), 4 * (i * 10 + j) + 4));
    expect(at(7, 5)).toEqual([...PALETTE[0], 255]); // 2 rows below the centre: +x: segment 0
    expect(at(5, 7)).toEqual([...PALETTE[1], 255]); // to the right: +y: segment 1
    expect(at(5, 5)[3]).toBe(0); // centre: inside the inner radius
  });

  it("redraws once per batch of trait changes and follows N", async () => {
    const model = fakeModel();
    const { root } = renderView(model);
    const n = 12;
    model.update({
      segment_images: f32(Array.from({ length: 9 * n }, (_, k) => k)),
      segment_ranges: Array.from({ length: 9 }, () => [0, 100]),
      segments: 9,
      phase: f32(Array(n).fill(0.5)),
    });
    expect(root.dataset.version).toBe("1");
    await tick();
    expect(root.dataset.version).toBe("2");
    expect(root.querySelectorAll('[data-panel="segments"] canvas.dpc-image').length).toBe(9);
    expect(root.dataset.segments).toBe("9");
  });

  it("drags a ring with at most two requests in flight, latest value wins", () => {
    const model = fakeModel(); // 10 px detector at 12 CSS px per pixel, centre (5, 5)
    const { root } = renderView(model);
    const rings = root.querySelector("canvas.dpc-rings");
    const x0 = 66; // (5 + 0.5) * 12
    pointer("pointerdown", rings, x0 + 48, x0); // on the outer ring (4 px = 48 CSS px)
    for (const r of [4.5, 5, 5.5, 6]) pointer("pointermove", rings, x0 + r * 12, x0);
    expect(model.sent).toEqual([
      { type: "geometry", seq: 1, inner: 1, outer: 4.5 },
      { type: "geometry", seq: 2, inner: 1, outer: 5 },
    ]);
    expect(root.dataset.outer).toBe("6"); // drawn locally at once
    expect(root.dataset.pending).toBe("1");
    model.emit("msg:custom", { type: "ack", seq: 1 });
    expect(model.sent.at(-1)).toEqual({ type: "geometry", seq: 3, inner: 1, outer: 6 });
    pointer("pointerup", rings, x0 + 72, x0);
    model.update({ outer: 6 });
    model.emit("msg:custom", { type: "ack", seq: 2 });
    expect(root.dataset.pending).toBe("1"); // seq 3 still on its way
    model.emit("msg:custom", { type: "ack", seq: 3 });
    expect(model.sent.length).toBe(3);
    expect(root.dataset.pending).toBe("0");
    expect(root.querySelector('.dpc-handle[data-ring="outer"]').style.left).toBe(`${x0 + 72}px`);
  });

  it("drags the centre (grabbed first, before the inner ring), latest value wins", () => {
    const model = fakeModel({ inner: 0.5 }); // inner ring 6 CSS px from the centre
    const { root } = renderView(model);
    const rings = root.querySelector("canvas.dpc-rings");
    const handle = root.querySelector('[data-testid="center-handle"]');
    const x0 = 66; // (5 + 0.5) * 12: centre (5, 5)
    expect([handle.style.left, handle.style.top]).toEqual([`${x0}px`, `${x0}px`]);
    pointer("pointerdown", rings, x0 + 5, x0 - 3); // within 8 px of the centre and the ring
    pointer("pointermove", rings, x0 + 5 + 24, x0 - 3); // 2 px along qy (right)
    pointer("pointermove", rings, x0 + 5 + 24, x0 - 3 + 18); // then 1.5 px along qx (down)
    expect(model.sent).toEqual([{ type: "center", seq: 1, qx: 5, qy: 7 }]);
    expect(root.dataset.center).toBe("6.5,7"); // drawn locally at once
    expect(root.dataset.inner).toBe("0.5"); // the ring was not grabbed
    expect(handle.style.left).toBe(`${x0 + 24}px`);
    model.emit("msg:custom", { type: "ack", seq: 1 });
    expect(model.sent.at(-1)).toEqual({ type: "center", seq: 2, qx: 6.5, qy: 7 });
    pointer("pointermove", rings, 1000, -1000); // off the detector: clamped to its edge
    model.emit("msg:custom", { type: "ack", seq: 2 });
    expect(model.sent.at(-1)).toEqual({ type: "center", seq: 3, qx: 0, qy: 9 });
    pointer("pointerup", rings, 1000, -1000);
    model.update({ center: [0, 9] });
    model.emit("msg:custom", { type: "ack", seq: 3 });
    expect(model.sent.length).toBe(3);
    expect(root.dataset.pending).toBe("0");
    expect(root.dataset.center).toBe("0,9"); // the kernel's centre once answered
  });

  it("draws binned scan images over the same area, says so in the read-out", async () => {
    const model = fakeModel({ scan_shape: [6, 8] }); // binned 2 x 2: 3 x 4 blocks
    const { root } = renderView(model);
    model.update({ phase_bin: 2, segment_images_bin: 2, com_bin: 2 });
    await tick();
    const phase = root.querySelector('[data-panel="phase"]');
    const canvas = phase.querySelector("canvas");
    expect([canvas.width, canvas.height, canvas.dataset.bin]).toEqual([4, 3, "2"]);
    expect([canvas.style.width, canvas.style.height]).toEqual(["120px", "90px"]); // as 8 x 6 would
    const event = new MouseEvent("pointermove", { bubbles: true });
    Object.defineProperties(event, { offsetX: { value: 35 }, offsetY: { value: 65 } }); // s = 30
    canvas.dispatchEvent(event);
    expect(phase.querySelector(".dpc-readout").textContent).toBe("x 2 \u00c5, y 1 \u00c5 (2\u00d72 mean): 0.9 rad");
    expect(phase.querySelector(".dpc-scalebar").dataset.length).toBeDefined();
    const tile = root.querySelector('[data-panel="segments"] canvas[data-index="0"]');
    expect([tile.width, tile.height, tile.dataset.bin]).toEqual([4, 3, "2"]);
    expect(root.querySelector('[data-testid="com-color-image"]').dataset.bin).toBe("2");
  });

  it("tells the kernel its device pixel ratio once", () => {
    globalThis.devicePixelRatio = 2;
    const model = fakeModel();
    renderView(model);
    expect(model.get("pixel_ratio")).toBe(2);
    expect(model.saved).toEqual([{ pixel_ratio: 2 }]);
    renderView(model); // already known: nothing sent
    expect(model.saved.length).toBe(1);
    delete globalThis.devicePixelRatio;
  });

  it("shows a read-out on hover and a scale bar", () => {
    const { root } = renderView(fakeModel());
    const phase = root.querySelector('[data-panel="phase"]');
    const canvas = phase.querySelector("canvas");
    const event = new MouseEvent("pointermove", { bubbles: true });
    Object.defineProperties(event, { offsetX: { value: 35 }, offsetY: { value: 65 } }); // s = 30
    canvas.dispatchEvent(event);
    expect(phase.querySelector(".dpc-readout").textContent).toBe("x 1 \u00c5, y 0.5 \u00c5: 0.9 rad");
    expect(phase.querySelector(".dpc-scalebar").dataset.length).toBe("0.5");
  });

  it("refreshes a resting pointer's read-out on every update, blanks it on leaving", async () => {
    const model = fakeModel();
    const { root } = renderView(model);
    const phase = root.querySelector('[data-panel="phase"]');
    const canvas = phase.querySelector("canvas");
    const readout = phase.querySelector(".dpc-readout");
    const event = new MouseEvent("pointermove", { bubbles: true });
    Object.defineProperties(event, { offsetX: { value: 35 }, offsetY: { value: 65 } }); // s = 30
    canvas.dispatchEvent(event);
    expect(readout.textContent).toBe("x 1 \u00c5, y 0.5 \u00c5: 0.9 rad");
    // new values and units from the kernel: the read-out under the pointer follows at once
    model.update({ phase: f32(Array(12).fill(0.25)), phase_units: "arb." });
    await tick();
    expect(readout.textContent).toBe("x 1 \u00c5, y 0.5 \u00c5: 0.25 arb.");
    expect(readout.title).toBe(readout.textContent); // the whole line when ellipsised
    // a smaller scan: the pointer's position is off the image now, nothing old stays
    model.update({ scan_shape: [1, 4], phase: f32([0.5, 0.5, 0.5, 0.5]) }); // rows of 30 px
    await tick();
    expect(readout.textContent).toBe("\u00a0");
    canvas.dispatchEvent(new MouseEvent("pointerleave"));
    expect(readout.textContent).toBe("\u00a0");
  });

  it("refreshes the detector read-out when the centre moves", async () => {
    const model = fakeModel();
    const { root } = renderView(model);
    const detector = root.querySelector('[data-panel="detector"]');
    const stack = detector.querySelector(".dpc-stack");
    const readout = detector.querySelector(".dpc-readout");
    pointer("pointermove", stack, 12 * 7.5, 12 * 5.5); // element [5, 7] at 12 CSS px per px
    expect(readout.textContent).toBe("q 0, 2 mrad, r 2: 57");
    model.update({ center: [4, 5] });
    await tick();
    expect(readout.textContent).toBe("q 1, 2 mrad, r 2.236: 57");
    stack.dispatchEvent(new MouseEvent("pointerleave"));
    expect(readout.textContent).toBe("\u00a0");
  });

  it("sizes its panels to its own width and tells the kernel", () => {
    const width = Object.getOwnPropertyDescriptor(Element.prototype, "clientWidth");
    Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 500 });
    try {
      const model = fakeModel({ pixel_ratio: 1 });
      const { root } = renderView(model);
      expect(root.style.gridTemplateColumns).toBe("repeat(2, 244px)");
      expect(model.get("panel_size")).toBe(244);
      expect(model.saved.length).toBe(1);
      const fixed = fakeModel({ fit_width: false, panel_size: 150, pixel_ratio: 1 }); // Explorer(panel_size=150)
      const other = renderView(fixed).root;
      expect(other.style.gridTemplateColumns).toBe("repeat(3, 150px)");
      expect(fixed.get("panel_size")).toBe(150);
      expect(fixed.saved.length).toBe(0);
    } finally {
      delete HTMLElement.prototype.clientWidth;
      if (width) Object.defineProperty(Element.prototype, "clientWidth", width);
    }
  });

  it("draws the cache radius as a dotted ring under the detector rings, and none without a bounded cache", async () => {
    const arcs = []; // [radius in CSS px, dash] of each circle on the rings canvas
    let dash = [];
    HTMLCanvasElement.prototype.getContext = function getContext() {
      return {
        createImageData: (w, h) => ({ width: w, height: h, data: new Uint8ClampedArray(4 * w * h) }),
        putImageData() {}, clearRect() {}, beginPath() {}, moveTo() {}, lineTo() {}, stroke() {},
        save() {}, restore() {}, fillRect() {}, fillText() {},
        setLineDash: (d) => { dash = d; },
        arc: (x, y, r) => arcs.push([r, dash]),
      };
    };
    const model = fakeModel({ cache_radius: 0 });
    const { el } = renderView(model);
    expect(el.querySelector("[data-testid='cache-legend']").style.visibility).toBe("hidden");
    expect(arcs.map(([r]) => r)).toEqual([12, 48]); // inner 1 and outer 4 at 12 CSS px per px
    arcs.length = 0;
    model.update({ cache_radius: 6 });
    await tick(); // redrawn one microtask later
    expect(arcs).toEqual([[72, [1, 3]], [12, []], [48, []]]);
    const legend = el.querySelector("[data-testid='cache-legend']");
    expect(legend.style.visibility).toBe("visible");
    expect(legend.textContent).toBe("cache: answers at once inside");
  });

  it("zooms: rings at the detector's radii, constant line width, canvases placed by a transform", async () => {
    const arcs = []; // [x, y, radius, lineWidth] of each circle on the rings canvas
    let ctx = null;
    HTMLCanvasElement.prototype.getContext = function getContext() {
      ctx ??= {
        lineWidth: 0,
        createImageData: (w, h) => ({ width: w, height: h, data: new Uint8ClampedArray(4 * w * h) }),
        putImageData() {}, clearRect() {}, beginPath() {}, moveTo() {}, lineTo() {}, stroke() {},
        setLineDash() {}, save() {}, restore() {}, fillRect() {}, fillText() {},
        arc(x, y, r) { arcs.push([x, y, r, this.lineWidth]); },
      };
      return ctx;
    };
    const model = fakeModel(); // 10 x 10 detector at 12 CSS px per pixel, centre (5, 5)
    const { el } = renderView(model);
    arcs.length = 0;
    model.update({ detector_zoom: 4, detector_focus: [5.5, 5.5] });
    await tick();
    // centre pixel (5, 5) spans [5, 6): its middle 5.5 is the focus, drawn mid-panel (60, 60)
    expect(arcs).toEqual([[60, 60, 48, 1.5], [60, 60, 192, 1.5]]); // radii 1, 4 px at 48 px/px
    const image = el.querySelector("canvas.dpc-image");
    expect(image.style.transform).toBe("translate(-204px, -204px) scale(4)"); // 60 - 5.5 * 48
    const stack = el.querySelector('[data-panel="detector"] .dpc-stack');
    expect(stack.dataset.scale).toBe("48");
    expect(el.querySelector('[data-panel="detector"] .dpc-scalebar').dataset.length).toBe("0.5");
    // "+" and "−" zoom by 1.5 about the panel's middle: the focus stays
    el.querySelector("[data-zoom='in']").click();
    expect(model.get("detector_zoom")).toBeCloseTo(6, 12);
    expect(model.get("detector_focus")).toEqual([5.5, 5.5]);
    el.querySelector("[data-zoom='out']").click();
    expect(model.get("detector_zoom")).toBeCloseTo(4, 12);
    // the "whole" button sets zoom 1 locally at once and sends it to the kernel soon after
    el.querySelector("[data-zoom='whole']").click();
    expect(model.get("detector_zoom")).toBe(1);
    expect(model.get("detector_focus")).toEqual([5, 5]);
  });

  it("zooms with the wheel about the pointer; at the whole detector the wheel scrolls the page", () => {
    const model = fakeModel(); // 10 x 10 detector at 12 CSS px per pixel
    const { el } = renderView(model);
    const stack = el.querySelector('[data-panel="detector"] .dpc-stack');
    const wheel = (deltaY) => {
      const event = new WheelEvent("wheel", { deltaY, clientX: 30, clientY: 90, bubbles: true, cancelable: true });
      stack.dispatchEvent(event);
      return event.defaultPrevented;
    };
    expect(wheel(100)).toBe(false); // zoom out at zoom 1: nothing to do, the page scrolls
    expect(model.get("detector_zoom")).toBeUndefined();
    expect(wheel(-200)).toBe(true);
    const zoom = model.get("detector_zoom");
    expect(zoom).toBeCloseTo(1.0015 ** 200, 12);
    // the detector point under the pointer, (7.5, 2.5) pixels, stays under it
    const [fu, fv] = model.get("detector_focus");
    const s = 12 * zoom;
    expect(5 * 12 + (7.5 - fu) * s).toBeCloseTo(90, 9);
    expect(5 * 12 + (2.5 - fv) * s).toBeCloseTo(30, 9);
  });

  it("pans on empty image area (not on a ring), ending at the release point", async () => {
    const model = fakeModel({ detector_zoom: 4, detector_focus: [5.5, 5.5] }); // 48 CSS px/px
    const { root } = renderView(model);
    const rings = root.querySelector("canvas.dpc-rings");
    pointer("pointerdown", rings, 5, 5); // a corner: far from the centre and both rings
    pointer("pointermove", rings, 17, 5);
    pointer("pointerup", rings, 29, 29); // 24 CSS px right and down: half a pixel each way
    expect(model.get("detector_focus")).toEqual([5, 5]);
    expect(model.sent).toEqual([]); // no geometry request: the rings stay
    await tick();
    expect(root.querySelector('[data-panel="detector"] .dpc-stack').dataset.focus).toBe("5,5");
  });

  it("fit disc frames three disc radii either side of the centre", () => {
    const model = fakeModel({ detector_shape: [96, 96], center: [40, 50], disc_radius: 2, inner: 0, outer: 1 });
    const { el } = renderView(model);
    el.querySelector("[data-zoom='fit']").click();
    expect(model.get("detector_zoom")).toBe(96 / 12);
    expect(model.get("detector_focus")).toEqual([40.5, 50.5]);
  });

  it("redraws the pattern on the chosen scale", async () => {
    const model = fakeModel();
    const { el } = renderView(model);
    const select = el.querySelector("[data-testid='pattern-scale']");
    expect([...select.options].map((o) => o.value)).toEqual(["log", "linear", "gamma"]);
    select.value = "gamma";
    select.dispatchEvent(new Event("change"));
    await tick();
    expect(model.get("pattern_scale")).toBe("gamma");
    expect(el.querySelector("canvas.dpc-image").dataset.scale).toBe("gamma");
    expect(el.querySelector("[data-testid='pattern-gamma']").style.visibility).toBe("visible");
  });

  it("removes its DOM and listeners on cleanup", () => {
    const model = fakeModel();
    const { el, cleanup } = renderView(model);
    cleanup();
    expect(el.children.length).toBe(0);
    model.update({ phase: f32(Array(12).fill(1)) });
  });
});

describe("colour bars and segment tiles", () => {
  const bar = (root, name) => root.querySelector(`[data-testid="${name}-colorbar"]`);

  it("labels every scan panel's colour bar with its range and unit", async () => {
    const model = fakeModel({ com_ranges: [[-0.5, 2], [-3, 1]] });
    const { root } = renderView(model);
    // signed panels: symmetric about 0, the middle label is 0
    expect(bar(root, "com-x").textContent).toBe("-202 \u00c5\u207b\u00b9");
    expect(bar(root, "com-y").textContent).toBe("-303 \u00c5\u207b\u00b9");
    const comX = root.querySelector('[data-testid="com-x-image"]');
    expect([comX.dataset.vmin, comX.dataset.vmax]).toEqual(["-2", "2"]);
    expect(bar(root, "phase").textContent).toBe("01.1 rad");
    expect(root.querySelector('[data-panel="phase"] .dpc-title').textContent).toBe("phase (rad)");
    expect(bar(root, "segments").dataset.units).toBe("counts");
    expect(root.querySelector('[data-testid="com-saturation"]').textContent).toBe(
      "full colour at |CoM| \u2265 2 \u00c5\u207b\u00b9",
    );
    model.update({ com_units: "arb.", phase_units: "arb." }); // uncalibrated
    await tick();
    expect(bar(root, "com-x").dataset.units).toBe("arb.");
    expect(root.querySelector('[data-panel="phase"] .dpc-title').textContent).toBe("phase (arb.)");
  });

  it("frames each tile in its segment's overlay colour with its index", async () => {
    const model = fakeModel();
    const { root } = renderView(model);
    const tiles = [...root.querySelectorAll('[data-panel="segments"] .dpc-tile')];
    expect(tiles.length).toBe(4);
    tiles.forEach((tile, k) => {
      const [r, g, b] = PALETTE[k];
      expect(tile.style.borderColor).toBe(`rgb(${r}, ${g}, ${b})`);
      expect(tile.querySelector(".dpc-tile-index").textContent).toBe(String(k));
    });
    const n = 12;
    model.update({
      segments: 8,
      segment_images: f32(Array.from({ length: 8 * n }, (_, k) => k)),
      segment_ranges: Array.from({ length: 8 }, (_, k) => [k * n, k * n + n - 1]),
    });
    await tick();
    const grid = root.querySelector(".dpc-grid");
    expect(grid.dataset.columns).toBe("3"); // 3 x 3: tiles a third of the panel, one empty cell
    expect(root.querySelectorAll(".dpc-tile").length).toBe(8);
  });
});

// What each frame costs the page (see docs/browser-latency.md, "Issue 19's front end and the
// frame"): colour bars without canvases, labels changed in place.
describe("per-frame economy", () => {
  const bar = (root, name) => root.querySelector(`[data-testid="${name}-colorbar"]`);

  it("paints each colour bar's gradient as a CSS background of its map's 256 colours, no canvas", () => {
    const { root } = renderView(fakeModel());
    for (const [name, lut] of [["com-x", DIVERGING_LUT], ["phase", SEQUENTIAL_LUT], ["segments", SEQUENTIAL_LUT]]) {
      expect(bar(root, name).querySelector("canvas")).toBeNull();
      const css = barGradient(lut);
      const stops = css.match(/#[0-9a-f]{6}/g);
      expect(stops.length).toBe(256);
      expect(css).toBe(`linear-gradient(to right, ${stops.join(", ")})`);
      // stop c is the bar's pixel c (barRGBA), equally spaced from end to end
      const rgba = barRGBA(256, lut, new Uint8ClampedArray(4 * 256));
      for (const c of [0, 100, 255]) {
        const rgb = [0, 1, 2].map((i) => parseInt(stops[c].slice(1 + 2 * i, 3 + 2 * i), 16));
        expect(rgb).toEqual([rgba[4 * c], rgba[4 * c + 1], rgba[4 * c + 2]]);
      }
      const gradient = root.querySelector(`[data-testid="${name}-colorbar-gradient"]`);
      expect(gradient.tagName).toBe("DIV");
      // jsdom keeps colours as rgb(): compare the first and the last stop
      const shown = gradient.style.backgroundImage;
      expect(shown.startsWith("linear-gradient(to right, rgb(")).toBe(true);
      const [r0, g0, b0] = rgba;
      expect(shown.startsWith(`linear-gradient(to right, rgb(${r0}, ${g0}, ${b0}), `)).toBe(true);
      expect(shown.endsWith(`rgb(${rgba[1020]}, ${rgba[1021]}, ${rgba[1022]}))`)).toBe(true);
      expect(shown.match(/rgb\(/g).length).toBe(256);
    }
    expect(barGradient(DIVERGING_LUT)).not.toBe(barGradient(SEQUENTIAL_LUT));
  });

  it("changes a colour bar's label in place: the same text node, new text", async () => {
    const model = fakeModel();
    const { root } = renderView(model);
    const high = bar(root, "phase").querySelector(".dpc-colorbar-high");
    const node = high.firstChild;
    expect(high.textContent).toBe("1.1 rad");
    model.update({ phase_range: [0, 2.5] });
    await tick();
    expect(high.textContent).toBe("2.5 rad");
    expect(high.firstChild).toBe(node);
  });

  it("setText: keeps a lone text node, empties and refills an element", () => {
    const el = document.createElement("span");
    setText(el, "a");
    const node = el.firstChild;
    setText(el, "b");
    expect([el.textContent, el.firstChild]).toEqual(["b", node]);
    setText(el, "");
    expect(el.childNodes.length).toBe(0);
    setText(el, "c");
    expect(el.textContent).toBe("c");
    el.append(document.createElement("b")); // more than one child: replaced whole
    setText(el, "d");
    expect([el.textContent, el.childNodes.length]).toEqual(["d", 1]);
  });
});
