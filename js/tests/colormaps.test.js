import { describe, expect, it } from "vitest";
import ref from "./fixtures/python_reference.json";
import {
  PALETTE, complexRGBA, grayLevel, grayRGBA, hsvToRgb, logLevel, segmentRGBA, toByte, vectorColor, wheelRGBA,
} from "../src/colormaps.js";

// Reference values computed by dpc_widgets/widgets/render.py (tests/test_widget.py keeps the
// fixture current).

const maxDiff = (a, b) => Math.max(...Array.from(a, (v, k) => Math.abs(v - b[k])));

describe("colour maps", () => {
  it("maps fractions to bytes like floor(255 t + 0.5), clipped, NaN to 0", () => {
    expect([-1, 0, 0.5, 1, 2, NaN].map(toByte)).toEqual([0, 0, 128, 255, 255, 0]);
    expect(grayLevel(3, 1, 1)).toBe(128); // flat range: mid-grey
    expect(grayLevel(Infinity, 0, 1)).toBe(0);
  });

  it("draws grey images exactly as the Python reference", () => {
    const { values, vmin, vmax, expected } = ref.gray;
    const data = Float32Array.from(values);
    const out = grayRGBA(data, 0, data.length, vmin, vmax, new Uint8ClampedArray(4 * data.length));
    expect(Array.from(out.filter((_, k) => k % 4 === 0))).toEqual(expected);
    expect(out.filter((_, k) => k % 4 === 3).every((a) => a === 255)).toBe(true);
  });

  it("draws the log scale like the Python reference (within one level)", () => {
    const { values, vmax, expected } = ref.log;
    const levels = Float32Array.from(values).map((v) => logLevel(v, vmax));
    expect(maxDiff(levels, expected)).toBeLessThanOrEqual(1);
    expect(logLevel(0, 100)).toBe(0);
    expect(logLevel(100, 100)).toBe(255);
    expect(logLevel(5, 0)).toBe(0);
  });

  it("converts HSV primaries", () => {
    expect(hsvToRgb(0, 1, 1)).toEqual([255, 0, 0]);
    expect(hsvToRgb(1 / 3, 1, 1)).toEqual([0, 255, 0]);
    expect(hsvToRgb(2 / 3, 1, 0.5)).toEqual([0, 0, 128]);
    expect(hsvToRgb(1, 1, 1)).toEqual([255, 0, 0]); // periodic
  });

  it("colours vectors by direction (red along +x = axis 0) and magnitude", () => {
    expect(vectorColor(1, 0, 1)).toEqual([255, 0, 0]);
    expect(vectorColor(-1, 0, 1)).toEqual([0, 255, 255]);
    expect(vectorColor(0, 1, 1)).toEqual([128, 255, 0]);
    expect(vectorColor(0.5, 0, 1)).toEqual([128, 0, 0]);
    expect(vectorColor(NaN, 0, 1)).toEqual([0, 0, 0]);
  });

  it("draws the colour-wheel CoM like the Python reference (within one level)", () => {
    const { com, vmax, expected } = ref.complex;
    const data = Float32Array.from(com);
    const n = data.length / 2;
    const out = complexRGBA(data, n, vmax, new Uint8ClampedArray(4 * n));
    const rgb = Array.from(out).filter((_, k) => k % 4 !== 3);
    expect(maxDiff(rgb, expected)).toBeLessThanOrEqual(1);
  });

  it("draws the wheel legend with x downwards and y to the right", () => {
    const { size, expected } = ref.wheel;
    const out = wheelRGBA(size, new Uint8ClampedArray(4 * size * size));
    expect(maxDiff(out, expected)).toBeLessThanOrEqual(1);
    const pixel = (row, col) => Array.from(out.slice(4 * (row * size + col), 4 * (row * size + col) + 4));
    expect(pixel(size - 1, 7).slice(1, 3)).toEqual([0, 0]); // bottom: +x: red
    expect(pixel(7, size - 1)[0]).toBeGreaterThan(100); // right: +y: yellow-green
    expect(pixel(0, 0)[3]).toBe(0); // outside the disc
  });

  it("paints segments with the palette, transparent outside", () => {
    const out = segmentRGBA(Int16Array.from([-1, 0, 17]), new Uint8ClampedArray(12));
    expect(Array.from(out)).toEqual([0, 0, 0, 0, ...PALETTE[0], 255, ...PALETTE[1], 255]);
    expect(new Set(PALETTE.map(String)).size).toBe(16);
  });
});

describe("perceptual maps", () => {
  it("interpolates control points into 256 levels, ends and centre as tabulated", async () => {
    const { DIVERGING, DIVERGING_LUT, SEQUENTIAL, SEQUENTIAL_LUT, lutOf } = await import("../src/colormaps.js");
    expect(SEQUENTIAL.length).toBe(33);
    expect(DIVERGING.length).toBe(33);
    expect(Array.from(DIVERGING_LUT.slice(0, 3))).toEqual(DIVERGING[0]);
    expect(Array.from(DIVERGING_LUT.slice(765))).toEqual(DIVERGING[32]);
    expect(Array.from(SEQUENTIAL_LUT.slice(765))).toEqual(SEQUENTIAL[32]);
    // level 128 sits at x = 128 * 32 / 255 = 16.063 between points 16 and 17
    const x = (128 * 32) / 255;
    const f = x - 16;
    const centre = [0, 1, 2].map((c) => Math.floor(DIVERGING[16][c] + (DIVERGING[17][c] - DIVERGING[16][c]) * f + 0.5));
    expect(Array.from(DIVERGING_LUT.slice(384, 387))).toEqual(centre);
    expect(Array.from(lutOf([[0, 0, 0], [255, 255, 255]]).slice(3 * 100, 3 * 101))).toEqual([100, 100, 100]);
  });

  it("draws signed values over a symmetric range, 0 at the centre level, NaN transparent", async () => {
    const { DIVERGING_LUT, lutRGBA, symmetricRange, barRGBA } = await import("../src/colormaps.js");
    expect(symmetricRange(-0.5, 2)).toEqual([-2, 2]);
    expect(symmetricRange(-3, 1)).toEqual([-3, 3]);
    const out = lutRGBA([0, -3, 3, NaN], 0, 4, -3, 3, DIVERGING_LUT, new Uint8ClampedArray(16));
    expect(Array.from(out.slice(0, 3))).toEqual(Array.from(DIVERGING_LUT.slice(3 * 128, 3 * 129)));
    expect(Array.from(out.slice(4, 7))).toEqual(Array.from(DIVERGING_LUT.slice(0, 3)));
    expect(Array.from(out.slice(8, 11))).toEqual(Array.from(DIVERGING_LUT.slice(765)));
    expect(Array.from(out.slice(12, 16))).toEqual([0, 0, 0, 0]); // no value: transparent
    const bar = barRGBA(256, DIVERGING_LUT, new Uint8ClampedArray(4 * 256));
    expect(Array.from(bar.slice(4 * 200, 4 * 200 + 3))).toEqual(Array.from(DIVERGING_LUT.slice(600, 603)));
  });
});

describe("perceptual maps against render.py", () => {
  it("builds the same tables and colours as render.py", async () => {
    const m = await import("../src/colormaps.js");
    const r = ref.maps;
    expect(Array.from(m.SEQUENTIAL_LUT)).toEqual(r.sequential_lut);
    expect(Array.from(m.DIVERGING_LUT)).toEqual(r.diverging_lut);
    const rgb = (out) => Array.from(out).filter((_, k) => k % 4 !== 3);
    const n = r.values.length;
    const values = Float32Array.from(r.values);
    expect(rgb(m.lutRGBA(values, 0, n, r.vmin, r.vmax, m.SEQUENTIAL_LUT, new Uint8ClampedArray(4 * n)))).toEqual(r.sequential);
    const [lo, hi] = m.symmetricRange(r.vmin, r.vmax);
    expect(rgb(m.lutRGBA(values, 0, n, lo, hi, m.DIVERGING_LUT, new Uint8ClampedArray(4 * n)))).toEqual(r.diverging);
    expect(rgb(m.barRGBA(37, m.DIVERGING_LUT, new Uint8ClampedArray(4 * 37)))).toEqual(r.bar);
  });

  it("lays tiles out as render.tile_layout", async () => {
    const { tileLayout } = await import("../src/tiles.js");
    for (const [n, size, columns, rows, tile] of ref.tiles) {
      expect([n, size, tileLayout(n, size)]).toMatchObject([n, size, { columns, rows, tile }]);
    }
  });
});
