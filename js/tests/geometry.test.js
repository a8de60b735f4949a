import { describe, expect, it } from "vitest";
import ref from "./fixtures/python_reference.json";
import {
  centerOnScreen, detectorLabels, dragCenter, elementAt, hitCenter, hitRing, pyMod,
  quiverArrows, quiverStep,
  radiusAt, scaleBarLength, segmentOf,
} from "../src/geometry.js";


describe("detector geometry", () => {
  it("labels every pixel exactly as dpc_widgets.detectors.segment_labels", () => {
    for (const g of ref.geometries) {
      expect(Array.from(detectorLabels(g))).toEqual(g.labels);
    }
  });

  it("follows the formula: segment k spans theta in [2pi k/N, 2pi (k+1)/N), x along axis 0", () => {
    // dx along axis 0 (rows, drawn downwards), dy along axis 1 (columns, to the right)
    expect(segmentOf(5, 0, 1, 2, 8, 4, 0)).toBe(0); // theta 0: +x
    expect(segmentOf(0, 5, 1, 2, 8, 4, 0)).toBe(1); // theta 90 deg: +y
    expect(segmentOf(-5, 0, 1, 2, 8, 4, 0)).toBe(2);
    expect(segmentOf(0, -5, 1, 2, 8, 4, 0)).toBe(3);
    expect(segmentOf(5, 0, 1, 2, 8, 4, Math.PI / 2)).toBe(1); // rotation adds to theta
    expect(segmentOf(1, 0, 1, 2, 8, 4, 0)).toBe(-1); // inside the inner radius
    expect(segmentOf(8, 0, 1, 2, 8, 4, 0)).toBe(-1); // outer radius is exclusive
    expect(segmentOf(2, 0, 1, 2, 8, 4, 0)).toBe(0); // inner radius is inclusive
  });

  it("uses Python's modulo sign convention", () => {
    expect(pyMod(-1, 4)).toBe(3);
    expect(pyMod(5, 4)).toBe(1);
    expect(pyMod(-8, 4)).toBe(0);
  });
});

describe("screen mapping and ring hit-testing", () => {
  // a 10 x 20 detector (rows = Qx, cols = Qy) shown at 4 CSS px per pixel, centre (5, 10)
  const center = [5, 10];
  const s = 4;

  it("maps array [i, j] to row i, column j", () => {
    expect(elementAt(0, 0, s, 10, 20)).toEqual([0, 0]);
    expect(elementAt(4 * 19 + 1, 4 * 9 + 3, s, 10, 20)).toEqual([9, 19]);
    expect(elementAt(80, 0, s, 10, 20)).toBeNull();
    expect(centerOnScreen(center, s)).toEqual([42, 22]); // (left, top) of the pixel centre
  });

  it("measures radii from the centre in detector units", () => {
    expect(radiusAt(42 + 12, 22, center, s, 2)).toBeCloseTo(6); // 3 pixels of 2 mrad
    expect(radiusAt(42, 22 - 8, center, s, 0.5)).toBeCloseTo(1);
  });

  it("grabs the nearest ring within the tolerance", () => {
    const radii = { inner: 4, outer: 8 }; // sampling 1: 16 and 32 CSS px
    expect(hitRing(42 + 17, 22, center, s, 1, radii, 6)).toBe("inner");
    expect(hitRing(42, 22 + 30, center, s, 1, radii, 6)).toBe("outer");
    expect(hitRing(42 + 24, 22, center, s, 1, radii, 6)).toBeNull();
    expect(hitRing(42 + 17, 22, center, s, 1, { inner: 4, outer: 4.5 }, 6)).toBe("outer");
    expect(hitRing(42, 22, center, s, 1, { inner: NaN }, 6)).toBeNull();
  });

  it("grabs the centre handle within the tolerance", () => {
    expect(hitCenter(42, 22, center, s, 8)).toBe(true); // (left, top) of the centre
    expect(hitCenter(42 + 6, 22 - 5, center, s, 8)).toBe(true); // 7.8 px away
    expect(hitCenter(42 + 6, 22 - 6, center, s, 8)).toBe(false); // 8.5 px away
    expect(hitCenter(42 + 9, 22, center, s, 8)).toBe(false);
  });

  it("moves the centre by the pointer's displacement: left -> qy, top -> qx", () => {
    // grabbed 3 px off the handle: no jump, the displacement alone counts
    expect(dragCenter(center, [45, 22], [45, 22], s, 10, 20)).toEqual([5, 10]);
    expect(dragCenter(center, [45, 22], [45 + 8, 22], s, 10, 20)).toEqual([5, 12]);
    expect(dragCenter(center, [45, 22], [45, 22 + 6], s, 10, 20)).toEqual([6.5, 10]);
    expect(dragCenter(center, [45, 22], [45 - 2, 22 - 1], s, 10, 20)).toEqual([4.75, 9.5]);
  });

  it("keeps the dragged centre inside the detector", () => {
    expect(dragCenter(center, [42, 22], [-500, 900], s, 10, 20)).toEqual([9, 0]);
    expect(dragCenter(center, [42, 22], [900, -500], s, 10, 20)).toEqual([0, 19]);
    expect(dragCenter([0, 0], [0, 0], [-1, -1], s, 1, 1)).toEqual([0, 0]); // 1 x 1 detector
  });
});

describe("scale bars, quiver and grids", () => {
  it("picks 1, 2 or 5 x 10^n up to a quarter of the field", () => {
    expect(scaleBarLength(0.244, 32)).toBe(1); // 7.8 A field
    expect(scaleBarLength(1.07, 96)).toBe(20);
    expect(scaleBarLength(1, 32)).toBe(5);
    expect(scaleBarLength(1, 40)).toBe(10);
    expect(scaleBarLength(0, 40)).toBe(0);
  });

  it("averages the field over blocks for the quiver arrows", () => {
    // 2 x 3 field, x = row index, y = column index
    const com = Float32Array.from([0, 0, 0, 1, 1, 1, 0, 1, 2, 0, 1, 2]);
    const arrows = quiverArrows(com, 2, 3, 2);
    expect(arrows).toEqual([
      { row: 1, col: 1, u: 0.5, v: 0.5 },
      { row: 1, col: 2.5, u: 0.5, v: 2 },
    ]);
    expect(quiverStep(32, 32)).toBe(2);
    expect(quiverStep(4, 4)).toBe(1);
  });
});
