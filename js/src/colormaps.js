// Colour maps of the explorer: pure functions from float data to RGBA bytes.
//
// Every formula here is mirrored exactly by dpc_widgets/widgets/render.py (the PNG export and
// the browser tests use it): change both together. A value is mapped to a byte with
// floor(255 * t + 0.5), t clipped to [0, 1]; non-finite values map to 0 (and are drawn
// transparent by the image maps: no value there, e.g. scan rows not received yet).

/** Distinct colours of detector segments 0..15 (segment k uses PALETTE[k % 16]), as [r, g, b]. */
export const PALETTE = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
  [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230],
  [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255],
  [170, 110, 40], [255, 250, 200], [128, 0, 0], [170, 255, 195],
];

const TWO_PI = 2 * Math.PI;
/** Dynamic range of the log scale: log1p(v * LOG_RANGE / vmax) / log1p(LOG_RANGE). */
export const LOG_RANGE = 1000;

/** A fraction t (any number) to a byte 0..255. */
export function toByte(t) {
  if (!(t > 0)) return 0; // also NaN
  if (t >= 1) return 255;
  return Math.floor(255 * t + 0.5);
}

/** Linear grey level of v between vmin and vmax (mid-grey when vmax <= vmin). */
export function grayLevel(v, vmin, vmax) {
  const span = vmax - vmin;
  if (!Number.isFinite(v)) return 0;
  return toByte(span > 0 ? (v - vmin) / span : 0.5);
}

/*
 * Perceptually uniform colour maps, as 33 control points (r, g, b bytes at t = k / 32) sampled
 * from Peter Kovesi's CET maps (colorcet 3.2.1 tables, CC-BY 4.0; https://colorcet.com,
 * Kovesi 2015, arXiv:1509.03700) and interpolated linearly into 256-entry tables by lutOf:
 * SEQUENTIAL is CET-L1 (linear_grey_0-100_c0, lightness linear in CIELAB L*) for intensities
 * and the phase; DIVERGING is CET-D1A (diverging_bwr_20-95_c54, blue-white-red, equal
 * lightness at equal distance from the centre) for signed quantities, drawn over a range
 * symmetric about 0 (symmetricRange) so that 0 is the centre colour DIVERGING_LUT[128].
 */
export const SEQUENTIAL = [
  [0, 0, 0], [11, 11, 11], [19, 19, 19], [26, 26, 26], [32, 32, 32], [39, 39, 39],
  [45, 45, 45], [52, 52, 52], [59, 59, 59], [66, 66, 66], [73, 73, 73], [81, 81, 81],
  [88, 88, 88], [96, 96, 96], [103, 103, 103], [111, 111, 111], [118, 118, 118],
  [126, 126, 126], [134, 134, 134], [142, 142, 142], [150, 150, 150], [159, 159, 159],
  [167, 167, 167], [175, 175, 175], [184, 184, 184], [192, 192, 192], [201, 201, 201],
  [210, 210, 210], [219, 219, 219], [227, 228, 228], [236, 236, 236], [245, 245, 245],
  [254, 255, 255],
];
export const DIVERGING = [
  [23, 41, 113], [26, 49, 137], [28, 58, 161], [31, 68, 185], [40, 78, 207], [59, 89, 221],
  [81, 100, 230], [101, 113, 237], [118, 124, 243], [135, 137, 249], [152, 150, 252],
  [168, 164, 252], [184, 179, 250], [198, 193, 248], [212, 208, 245], [226, 221, 241],
  [238, 226, 231], [245, 218, 213], [250, 201, 190], [252, 182, 168], [252, 164, 145],
  [251, 144, 124], [248, 125, 103], [241, 107, 85], [232, 90, 70], [222, 73, 54],
  [212, 53, 39], [200, 30, 25], [184, 6, 15], [164, 0, 11], [143, 3, 9], [122, 5, 6],
  [102, 7, 2],
];

/**
 * 256 x 3 bytes (Uint8Array, r g b per level) of control points interpolated linearly:
 * level i sits at x = i * (n - 1) / 255 between points floor(x) and floor(x) + 1, each channel
 * floor(a + (b - a) * f + 0.5). Mirrored operation for operation by render.lut_of.
 */
export function lutOf(points) {
  const n = points.length;
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i * (n - 1)) / 255;
    const k = Math.min(Math.floor(x), n - 2);
    const f = x - k;
    for (let c = 0; c < 3; c++) {
      const a = points[k][c];
      const b = points[k + 1][c];
      out[3 * i + c] = Math.floor(a + (b - a) * f + 0.5);
    }
  }
  return out;
}

export const SEQUENTIAL_LUT = lutOf(SEQUENTIAL);
export const DIVERGING_LUT = lutOf(DIVERGING);

/** The range [-m, m] with m = max(|vmin|, |vmax|): 0 drawn at the diverging map's centre. */
export function symmetricRange(vmin, vmax) {
  const m = Math.max(Math.abs(vmin), Math.abs(vmax));
  return Number.isFinite(m) ? [-m, m] : [0, 0];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const packed = new WeakMap(); // lut -> its 256 opaque RGBA pixels as little-endian uint32

/** The table lut (lutOf) as 256 opaque RGBA pixels packed in uint32 (little-endian order). */
function packedOf(lut) {
  let table = packed.get(lut);
  if (!table) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      table[i] = (lut[3 * i] | (lut[3 * i + 1] << 8) | (lut[3 * i + 2] << 16) | (255 << 24)) >>> 0;
    }
    packed.set(lut, table);
  }
  return table;
}

/**
 * Fill out with the colours of data[offset...] through a 256-level table lut (lutOf): level
 * grayLevel(v, vmin, vmax) (inlined: the same operations); non-finite values are transparent
 * (the panel's "no data" background shows: rows of a live scan not received yet). On a
 * little-endian machine (every browser's) with an aligned out, each pixel is one uint32 write.
 */
export function lutRGBA(data, offset, count, vmin, vmax, lut, out) {
  const span = vmax - vmin;
  const flat = !(span > 0);
  const table = packedOf(lut);
  const empty = 0; // transparent
  const whole = LITTLE_ENDIAN && out.byteOffset % 4 === 0;
  const pixels = whole ? new Uint32Array(out.buffer, out.byteOffset, count) : new Uint32Array(count);
  for (let k = 0; k < count; k++) {
    const v = data[offset + k];
    let colour = empty;
    if (v - v === 0) { // finite
      const t = flat ? 0.5 : (v - vmin) / span;
      colour = table[t > 0 ? (t >= 1 ? 255 : Math.floor(255 * t + 0.5)) : 0];
    }
    pixels[k] = colour;
  }
  if (!whole) {
    for (let k = 0; k < count; k++) {
      out[4 * k] = pixels[k] & 0xff;
      out[4 * k + 1] = (pixels[k] >>> 8) & 0xff;
      out[4 * k + 2] = (pixels[k] >>> 16) & 0xff;
      out[4 * k + 3] = pixels[k] >>> 24;
    }
  }
  return out;
}

/** A horizontal colour bar of width x 1 pixels: column c shows level floor(255 c / (width - 1) + 0.5). */
export function barRGBA(width, lut, out) {
  for (let c = 0; c < width; c++) {
    const at = 3 * toByte(width > 1 ? c / (width - 1) : 0.5);
    out[4 * c] = lut[at];
    out[4 * c + 1] = lut[at + 1];
    out[4 * c + 2] = lut[at + 2];
    out[4 * c + 3] = 255;
  }
  return out;
}

/** Fill out (Uint8ClampedArray, 4 per value) with linear grey levels of data[offset...]. */
export function grayRGBA(data, offset, count, vmin, vmax, out) {
  for (let k = 0; k < count; k++) {
    const g = grayLevel(data[offset + k], vmin, vmax);
    out[4 * k] = g;
    out[4 * k + 1] = g;
    out[4 * k + 2] = g;
    out[4 * k + 3] = 255;
  }
  return out;
}

/** Logarithmic grey level of an intensity (diffraction patterns): 0 at v <= 0, 255 at vmax. */
export function logLevel(v, vmax) {
  if (!(vmax > 0) || !Number.isFinite(v)) return 0;
  return toByte(Math.log1p(Math.max(v, 0) * (LOG_RANGE / vmax)) / Math.log1p(LOG_RANGE));
}

/** Scales of the diffraction image: "log" (logLevel), "linear" (v / vmax), "gamma" ((v / vmax)^gamma). */
export const PATTERN_SCALES = ["log", "linear", "gamma"];

/**
 * Grey level of an intensity on the diffraction scale: logLevel for "log"; else t = v / vmax
 * (0 at v <= 0), raised to gamma for "gamma" (0 < gamma; 0.5 brightens faint signal).
 */
export function patternLevel(v, vmax, scale, gamma) {
  if (scale !== "linear" && scale !== "gamma") return logLevel(v, vmax);
  if (!(vmax > 0) || !Number.isFinite(v)) return 0;
  const t = Math.max(v, 0) / vmax;
  return toByte(scale === "gamma" ? t ** gamma : t);
}

/** Fill out with grey levels of data (length count) on the diffraction scale (patternLevel). */
export function patternRGBA(data, count, vmax, scale, gamma, out) {
  for (let k = 0; k < count; k++) {
    const g = patternLevel(data[k], vmax, scale, gamma);
    out[4 * k] = g;
    out[4 * k + 1] = g;
    out[4 * k + 2] = g;
    out[4 * k + 3] = 255;
  }
  return out;
}

/** Fill out with logarithmic grey levels of data (length count). */
export function logGrayRGBA(data, count, vmax, out) {
  for (let k = 0; k < count; k++) {
    const g = logLevel(data[k], vmax);
    out[4 * k] = g;
    out[4 * k + 1] = g;
    out[4 * k + 2] = g;
    out[4 * k + 3] = 255;
  }
  return out;
}

/** Write the RGB bytes of HSV (each in [0, 1], h periodic) to out[at], out[at + 1], out[at + 2]. */
function hsvInto(h, s, v, out, at) {
  const h6 = (h - Math.floor(h)) * 6;
  const i = Math.floor(h6);
  const f = h6 - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  let r = v, g = t, b = p; // sector 0; the others below, as [[v, t, p], [q, v, p], ...]
  switch (i % 6) {
    case 1: r = q; g = v; b = p; break;
    case 2: r = p; g = v; b = t; break;
    case 3: r = p; g = q; b = v; break;
    case 4: r = t; g = p; b = v; break;
    case 5: r = v; g = p; b = q; break;
    default: break;
  }
  out[at] = toByte(r);
  out[at + 1] = toByte(g);
  out[at + 2] = toByte(b);
}

/** HSV (each in [0, 1], h periodic) to [r, g, b] bytes. */
export function hsvToRgb(h, s, v) {
  const rgb = [0, 0, 0];
  hsvInto(h, s, v, rgb, 0);
  return rgb;
}

/**
 * Write the colour-wheel colour of a vector (x, y), x along array axis 0, to out[at..at + 2]:
 * hue = direction atan2(y, x) / 2pi (red along +x), value = min(|v| / vmax, 1), full
 * saturation; black when a component is not finite (drawn transparent by complexRGBA).
 */
function vectorInto(x, y, vmax, out, at) {
  if (!Number.isFinite(x) || !Number.isFinite(y)) {
    out[at] = out[at + 1] = out[at + 2] = 0;
    return;
  }
  const mag = Math.sqrt(x * x + y * y);
  const value = vmax > 0 ? Math.min(mag / vmax, 1) : 0;
  hsvInto(Math.atan2(y, x) / TWO_PI + 1, 1, value, out, at);
}

/** Colour-wheel colour of a vector (x, y) as [r, g, b] bytes (see vectorInto). */
export function vectorColor(x, y, vmax) {
  const rgb = [0, 0, 0];
  vectorInto(x, y, vmax, rgb, 0);
  return rgb;
}

/**
 * Fill out with colour-wheel colours of the field com = (2, n) flattened (x block, then y);
 * transparent where a component is not finite (rows of a live scan not received yet).
 */
export function complexRGBA(com, count, vmax, out) {
  for (let k = 0; k < count; k++) {
    const x = com[k];
    const y = com[count + k];
    vectorInto(x, y, vmax, out, 4 * k);
    out[4 * k + 3] = x - x === 0 && y - y === 0 ? 255 : 0;
  }
  return out;
}

/** Fill out with opaque PALETTE colours of segment labels (>= 0) and transparent for -1. */
export function segmentRGBA(labels, out) {
  for (let k = 0; k < labels.length; k++) {
    const label = labels[k];
    if (label < 0) {
      out[4 * k] = out[4 * k + 1] = out[4 * k + 2] = out[4 * k + 3] = 0;
    } else {
      const [r, g, b] = PALETTE[label % PALETTE.length];
      out[4 * k] = r;
      out[4 * k + 1] = g;
      out[4 * k + 2] = b;
      out[4 * k + 3] = 255;
    }
  }
  return out;
}

/**
 * Colour-wheel legend of size x size pixels: the pixel at screen offset (sx right, sy down)
 * from the centre shows the vector (x, y) = (sy, sx) / radius, because array axis 0 (x) is
 * drawn downwards and axis 1 (y) to the right. Transparent outside the disc.
 */
export function wheelRGBA(size, out) {
  const c = (size - 1) / 2;
  const radius = size / 2;
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const k = 4 * (row * size + col);
      const x = (row - c) / radius;
      const y = (col - c) / radius;
      if (x * x + y * y > 1) {
        out[k] = out[k + 1] = out[k + 2] = out[k + 3] = 0;
        continue;
      }
      vectorInto(x, y, 1, out, k);
      out[k + 3] = 255;
    }
  }
  return out;
}
