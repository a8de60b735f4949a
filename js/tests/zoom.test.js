import { describe, expect, it } from "vitest";
import ref from "./fixtures/zoom_reference.json";
import { patternLevel } from "../src/colormaps.js";
import {
  centerOnScreen, elementAt, fitView, hitRing, panBy, radiusAt, viewTransform, zoomAt,
} from "../src/geometry.js";

// zoom_reference.json is written by tests/test_zoom.py from dpc_widgets/widgets/zoom.py and
// render.pattern_gray (DPC_WRITE_JS_FIXTURE=1): the Python mirrors must agree with these.
const [rows, cols] = ref.shape;

describe("detector zoom", () => {
  it("transforms, zooms about the pointer and clamps like zoom.py", () => {
    for (const { zoom, focus, view, zoomAt: expected } of ref.views) {
      const t = viewTransform(rows, cols, ref.s0, zoom, focus);
      const got = [t.s, t.ox, t.oy, t.zoom, ...t.focus];
      got.forEach((v, k) => expect(v).toBeCloseTo(view[k], 9));
      const after = zoomAt(t, rows, cols, 33, 71, 1.7);
      [after.zoom, ...after.focus].forEach((v, k) => expect(v).toBeCloseTo(expected[k], 9));
    }
  });

  it("fits the disc like zoom.fit_view", () => {
    for (const { center, disc, outer, fit } of ref.fits) {
      const { zoom, focus } = fitView(rows, cols, center, disc, outer);
      [zoom, ...focus].forEach((v, k) => expect(v).toBeCloseTo(fit[k], 9));
    }
  });

  it("finds pixels, rings and the centre through the zoomed transform", () => {
    const t = viewTransform(10, 10, 12, 4, [5.5, 5.5]); // 48 CSS px per pixel, pixel 5 mid-panel
    expect(centerOnScreen([5, 5], t)).toEqual([60, 60]);
    expect(elementAt(60, 60, t, 10, 10)).toEqual([5, 5]);
    expect(elementAt(35, 60, t, 10, 10)).toEqual([5, 4]); // pixel 5 starts at 60 - 24 = 36
    expect(elementAt(36, 60, t, 10, 10)).toEqual([5, 5]);
    expect(radiusAt(60 + 24, 60, [5, 5], t, 2)).toBeCloseTo(1); // half a pixel of 2 mrad
    expect(hitRing(60 + 48 + 5, 60, [5, 5], t, 1, { inner: 1, outer: 3 }, 8)).toBe("inner");
    // a pan by 48 CSS px right moves the focus one pixel left
    expect(panBy(t, 10, 10, 48, 0).focus).toEqual([5.5, 4.5]);
  });
});

describe("diffraction scales", () => {
  it("maps linear and gamma like render.pattern_gray (within one level)", () => {
    const { values, vmax, linear, gamma } = ref.pattern;
    const data = Float32Array.from(values);
    data.forEach((v, k) => {
      expect(Math.abs(patternLevel(v, vmax, "linear", 1) - linear[k])).toBeLessThanOrEqual(1);
      expect(Math.abs(patternLevel(v, vmax, "gamma", 0.4) - gamma[k])).toBeLessThanOrEqual(1);
    });
    expect(patternLevel(-3, 10, "gamma", 0.5)).toBe(0);
    expect(patternLevel(2.5, 10, "gamma", 0.5)).toBe(128);
    expect(patternLevel(5, 0, "linear", 1)).toBe(0);
  });
});
