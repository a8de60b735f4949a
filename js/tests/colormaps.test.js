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
