// Colour maps of the explorer: pure functions from float data to RGBA bytes.
//
// Every formula here is mirrored exactly by dpc_widgets/widgets/render.py (the PNG export and
// the browser tests use it): change both together. A value is mapped to a byte with
// floor(255 * t + 0.5), t clipped to [0, 1]; non-finite values map to 0.

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
 * saturation; black when a component is not finite.
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

/** Fill out with colour-wheel colours of the field com = (2, n) flattened (x block, then y). */
export function complexRGBA(com, count, vmax, out) {
  for (let k = 0; k < count; k++) {
    vectorInto(com[k], com[count + k], vmax, out, 4 * k);
    out[4 * k + 3] = 255;
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
