// Decoding of the view's image buffers (mirror of dpc_widgets/widgets/encoding.py: change both
// together). With maps (one [offset, scale] per image) the bytes are little-endian uint16
// codes: q <= FINITE_MAX is the value offset + scale * q (computed in double, stored as
// float32), the three codes above it NaN, +Infinity and -Infinity. Without maps they are
// float32 values.

export const FINITE_MAX = 65532;
const SPECIAL = [NaN, Infinity, -Infinity]; // codes FINITE_MAX + 1, + 2, + 3

/**
 * A Type (Float32Array, Uint16Array) over the bytes of a synced binary trait (DataView or
 * ArrayBuffer); copied when its offset is not a multiple of the element size.
 */
function typedView(value, Type) {
  const buffer = value.buffer ?? value;
  const offset = value.byteOffset ?? 0;
  const length = value.byteLength ?? buffer.byteLength;
  const size = Type.BYTES_PER_ELEMENT;
  if (offset % size === 0) return new Type(buffer, offset, Math.floor(length / size));
  return new Type(buffer.slice(offset, offset + length));
}

/**
 * Decode an image trait (DataView, ArrayBuffer or null) with its maps: { values, raw }, the
 * float32 values and the array received (the codes, or the values themselves), whose bytes the
 * canvases' data-checksum hashes. out, when given and of the right length, receives the values
 * (no allocation per frame).
 */
export function decodeImages(value, maps, out = null) {
  if (!value) return { values: new Float32Array(0), raw: new Float32Array(0) };
  if (!maps || maps.length === 0) {
    const values = typedView(value, Float32Array);
    return { values, raw: values };
  }
  const codes = typedView(value, Uint16Array);
  const result = out && out.length === codes.length ? out : new Float32Array(codes.length);
  const n = Math.floor(codes.length / maps.length);
  for (let k = 0; k < maps.length; k++) {
    const [offset, scale] = maps[k];
    for (let i = k * n; i < (k + 1) * n; i++) {
      const q = codes[i];
      result[i] = q <= FINITE_MAX ? offset + scale * q : SPECIAL[q - FINITE_MAX - 1];
    }
  }
  return { values: result, raw: codes };
}
