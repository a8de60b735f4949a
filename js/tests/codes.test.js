import { describe, expect, it } from "vitest";
import ref from "./fixtures/python_reference.json";
import { decodeImages, FINITE_MAX } from "../src/codes.js";

const special = { nan: NaN, inf: Infinity, "-inf": -Infinity };
const bytesOf = (typed) => new DataView(typed.buffer, typed.byteOffset, typed.byteLength);

describe("decodeImages", () => {
  it("gives exactly the float32 values Python's encoding.decode gives", () => {
    const { codes, maps, expected } = ref.codes;
    const { values, raw } = decodeImages(bytesOf(Uint16Array.from(codes)), maps);
    expect(values).toBeInstanceOf(Float32Array);
    expect(Array.from(values)).toEqual(expected.map((v) => (typeof v === "string" ? special[v] : v)));
    expect(Array.from(raw)).toEqual(codes);
  });

  it("maps the three codes above FINITE_MAX to NaN, +inf and -inf", () => {
    const codes = Uint16Array.from([0, FINITE_MAX, FINITE_MAX + 1, FINITE_MAX + 2, FINITE_MAX + 3]);
    const { values } = decodeImages(bytesOf(codes), [[-1, 0.5]]);
    expect(Array.from(values)).toEqual([-1, -1 + 0.5 * FINITE_MAX, NaN, Infinity, -Infinity]);
  });

  it("uses each image's own map and fills a given output array", () => {
    const out = new Float32Array(4);
    const { values } = decodeImages(bytesOf(Uint16Array.from([1, 2, 1, 2])), [[0, 1], [10, 0.25]], out);
    expect(values).toBe(out);
    expect(Array.from(out)).toEqual([1, 2, 10.25, 10.5]);
  });

  it("reads float32 bytes when there are no maps, also from an odd offset", () => {
    const floats = Float32Array.from([1.5, -2, NaN]);
    const buffer = new Uint8Array(13);
    buffer.set(new Uint8Array(floats.buffer), 1);
    const { values, raw } = decodeImages(new DataView(buffer.buffer, 1, 12), []);
    expect(Array.from(values)).toEqual([1.5, -2, NaN]);
    expect(raw).toBe(values);
    expect(decodeImages(null, []).values.length).toBe(0);
  });

  it("copies codes that are not 2-byte aligned", () => {
    const buffer = new Uint8Array(5);
    buffer.set(new Uint8Array(Uint16Array.from([3, 7]).buffer), 1);
    const { values } = decodeImages(new DataView(buffer.buffer, 1, 4), [[0, 2]]);
    expect(Array.from(values)).toEqual([6, 14]);
  });
});
