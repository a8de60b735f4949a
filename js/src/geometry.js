// Detector and image geometry: pure functions, no DOM.
//
// Axis mapping (used by every view): array element [i, j] -- i along axis 0 (x: Rx or Qx),
// j along axis 1 (y: Ry or Qy) -- is drawn at canvas row i (downwards) and column j
// (rightwards), like matplotlib's imshow. A native canvas is `cols` wide and `rows` high; at
// display scale s (CSS px per array element) the centre of element [i, j] is at
// (left, top) = ((j + 0.5) s, (i + 0.5) s).
//
// The detector view can zoom and pan: a view transform t = {s, ox, oy} puts the detector point
// (u, v) (continuous element coordinates: element [i, j] spans [i, i + 1) x [j, j + 1), its
// centre is (i + 0.5, j + 0.5)) at (left, top) = (v s + ox, u s + oy). Functions below that
// take a scale accept either a number s (the unzoomed view, ox = oy = 0) or such a transform.
// dpc_widgets/widgets/zoom.py mirrors viewTransform, fitView and zoomAt.
//
// Segments follow dpc_widgets/detectors.py exactly: pixel [i, j] has offset
// (dx, dy) = (i - cx, j - cy) from the centre (cx, cy) in pixels, radius
// sqrt(dx^2 + dy^2) * sampling in detector units, theta = (atan2(dy, dx) + rotation) mod 2pi,
// and lies in segment floor(N theta / 2pi) (clipped to N - 1) when inner <= radius < outer.

const TWO_PI = 2 * Math.PI;

/** Python's float modulo (result has the sign of m). */
export function pyMod(a, m) {
  const r = a % m;
  if (r === 0) return 0; // also for -0, like Python
  return r < 0 !== m < 0 ? r + m : r;
}

/** Segment (0..n-1) of a pixel at offset (dx, dy) pixels from the centre, or -1 outside. */
export function segmentOf(dx, dy, sampling, inner, outer, n, rotationRad) {
  const radius = Math.sqrt(dx * dx + dy * dy) * sampling;
  if (!(radius >= inner && radius < outer)) return -1;
  const theta = pyMod(Math.atan2(dy, dx) + rotationRad, TWO_PI);
  return Math.min(Math.max(Math.trunc(theta * (n / TWO_PI)), 0), n - 1);
}

/**
 * Segment labels of a whole detector, row-major (rows = Qx, cols = Qy), as an Int8Array-like
 * Int16Array: label k in 0..n-1, -1 outside the annulus.
 */
export function detectorLabels({ rows, cols, center, sampling, inner, outer, segments, rotationDeg }) {
  const out = new Int16Array(rows * cols);
  const rot = (rotationDeg * Math.PI) / 180;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      out[i * cols + j] = segmentOf(i - center[0], j - center[1], sampling, inner, outer, segments, rot);
    }
  }
  return out;
}

/** Largest zoom of the detector view (a 128 px detector then shows 2 px across). */
export const MAX_ZOOM = 64;
/** "fit disc" frames FIT_DISC_RADII disc radii either side of the centre ... */
export const FIT_DISC_RADII = 3;
/** ... and at least the outer ring times FIT_OUTER_MARGIN ... */
export const FIT_OUTER_MARGIN = 1.15;
/** ... when the disc radius is below SMALL_DISC of the detector's shorter side; else the whole. */
export const SMALL_DISC = 1 / 8;

/** A view transform {s, ox, oy} from a number s (the unzoomed view) or a transform. */
export function asView(t) {
  return typeof t === "number" ? { s: t, ox: 0, oy: 0 } : t;
}

/** Zoom clipped to [1, MAX_ZOOM] (1 for anything not a finite number). */
export function clampZoom(zoom) {
  return Number.isFinite(zoom) ? Math.min(Math.max(zoom, 1), MAX_ZOOM) : 1;
}

/**
 * Focus (u, v) (the detector point in the middle of the panel) kept so that the view at this
 * zoom stays on the detector; the detector's middle for a missing or non-finite focus.
 */
export function clampFocus(rows, cols, zoom, focus) {
  const clamp = (f, n) => {
    const half = n / (2 * zoom);
    return Number.isFinite(f) ? Math.min(Math.max(f, half), n - half) : n / 2;
  };
  return [clamp(focus?.[0], rows), clamp(focus?.[1], cols)];
}

/**
 * View transform of a rows x cols detector whose whole fits the panel at scale s0 (CSS px per
 * pixel), zoomed by zoom about focus (u, v): {s, ox, oy, zoom, focus} with zoom and focus
 * clamped (clampZoom, clampFocus). The panel is cols s0 wide and rows s0 high.
 */
export function viewTransform(rows, cols, s0, zoom, focus) {
  const z = clampZoom(zoom);
  const [fu, fv] = clampFocus(rows, cols, z, focus);
  const s = s0 * z;
  return { s, ox: (cols * s0) / 2 - fv * s, oy: (rows * s0) / 2 - fu * s, zoom: z, focus: [fu, fv] };
}

/**
 * The "fit disc" view {zoom, focus}: centred on the detector centre (pixels), half as wide as
 * max(FIT_DISC_RADII disc radii, FIT_OUTER_MARGIN x the outer radius) (both in pixels), when
 * the disc is small (radius below SMALL_DISC of the shorter side); else the whole detector.
 */
export function fitView(rows, cols, center, discPx, outerPx) {
  const n = Math.min(rows, cols);
  if (!(discPx > 0) || discPx >= n * SMALL_DISC) return { zoom: 1, focus: [rows / 2, cols / 2] };
  const outer = Number.isFinite(outerPx) ? outerPx : 0;
  const half = Math.max(FIT_DISC_RADII * discPx, FIT_OUTER_MARGIN * outer, 1);
  const zoom = clampZoom(n / (2 * half));
  return { zoom, focus: clampFocus(rows, cols, zoom, [center[0] + 0.5, center[1] + 0.5]) };
}

/**
 * The view {zoom, focus} after zooming view t (a viewTransform) by factor about the display
 * point (left, top): the detector point under it stays there (unless the clamps move it).
 */
export function zoomAt(t, rows, cols, left, top, factor) {
  const u = (top - t.oy) / t.s;
  const v = (left - t.ox) / t.s;
  const zoom = clampZoom(t.zoom * factor);
  const k = t.zoom / zoom;
  const focus = [u - (u - t.focus[0]) * k, v - (v - t.focus[1]) * k];
  return { zoom, focus: clampFocus(rows, cols, zoom, focus) };
}

/** The view {zoom, focus} after dragging view t by (dx, dy) display px (the image follows). */
export function panBy(t, rows, cols, dx, dy) {
  const focus = [t.focus[0] - dy / t.s, t.focus[1] - dx / t.s];
  return { zoom: t.zoom, focus: clampFocus(rows, cols, t.zoom, focus) };
}

/** Array element [i, j] under the display point (left, top) at scale or view t, or null outside. */
export function elementAt(left, top, t, rows, cols) {
  const { s, ox, oy } = asView(t);
  const i = Math.floor((top - oy) / s);
  const j = Math.floor((left - ox) / s);
  return i >= 0 && i < rows && j >= 0 && j < cols ? [i, j] : null;
}

/** Display point (left, top) of the detector centre (cx, cy) in pixels at scale or view t. */
export function centerOnScreen(center, t) {
  const { s, ox, oy } = asView(t);
  return [(center[1] + 0.5) * s + ox, (center[0] + 0.5) * s + oy];
}

/** Radius in detector units of the display point (left, top). */
export function radiusAt(left, top, center, t, sampling) {
  const [x0, y0] = centerOnScreen(center, t);
  return (Math.hypot(left - x0, top - y0) / asView(t).s) * sampling;
}

/**
 * Which ring a pointer at (left, top) grabs: the name of the ring (from radii, {name: radius
 * in detector units}) nearest to it within tol display px, or null.
 */
export function hitRing(left, top, center, t, sampling, radii, tol) {
  const r = radiusAt(left, top, center, t, sampling);
  const s = asView(t).s;
  let best = null;
  let bestDistance = tol;
  for (const [name, radius] of Object.entries(radii)) {
    if (!Number.isFinite(radius)) continue;
    const distance = (Math.abs(r - radius) / sampling) * s;
    if (distance <= bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Whether a pointer at (left, top) grabs the centre handle: within tol display px of it. */
export function hitCenter(left, top, center, s, tol) {
  const [x0, y0] = centerOnScreen(center, s);
  return Math.hypot(left - x0, top - y0) <= tol;
}

/**
 * Detector centre (qx, qy) in pixels after dragging the centre handle: the centre at the start
 * of the drag moved by the pointer's displacement (so grabbing the handle off its middle does
 * not make it jump), clamped into the detector [0, rows - 1] x [0, cols - 1]. Pointer positions
 * are (left, top) in display px at scale s; left moves qy (columns), top moves qx (rows).
 */
export function dragCenter(startCenter, startPointer, pointer, t, rows, cols) {
  const s = asView(t).s;
  const clamp = (v, hi) => Math.min(Math.max(v, 0), Math.max(hi, 0));
  const qx = startCenter[0] + (pointer[1] - startPointer[1]) / s;
  const qy = startCenter[1] + (pointer[0] - startPointer[0]) / s;
  return [clamp(qx, rows - 1), clamp(qy, cols - 1)];
}

/** Largest 1, 2 or 5 x 10^n not above a quarter of the field of view (n_px * pixel_size). */
export function scaleBarLength(pixelSize, nPixels) {
  const target = (pixelSize * nPixels) / 4;
  if (!(target > 0)) return 0;
  const decade = 10 ** Math.floor(Math.log10(target));
  for (const m of [5, 2, 1]) {
    if (m * decade <= target * (1 + 1e-9)) return m * decade;
  }
  return decade;
}

/**
 * Decimated quiver arrows of a field com = (2, rows * cols) flattened: the mean vector over each
 * step x step block, anchored at the block centre (in array-element units, row and col).
 * u is the x component (drawn downwards), v the y component (drawn rightwards).
 */
export function quiverArrows(com, rows, cols, step) {
  const n = rows * cols;
  const arrows = [];
  for (let i0 = 0; i0 < rows; i0 += step) {
    for (let j0 = 0; j0 < cols; j0 += step) {
      let u = 0;
      let v = 0;
      let count = 0;
      for (let i = i0; i < Math.min(i0 + step, rows); i++) {
        for (let j = j0; j < Math.min(j0 + step, cols); j++) {
          u += com[i * cols + j];
          v += com[n + i * cols + j];
          count += 1;
        }
      }
      const bi = Math.min(step, rows - i0);
      const bj = Math.min(step, cols - j0);
      arrows.push({ row: i0 + bi / 2, col: j0 + bj / 2, u: u / count, v: v / count });
    }
  }
  return arrows;
}

/** Quiver block size for a rows x cols image: about 16 arrows along the longer side. */
export function quiverStep(rows, cols) {
  return Math.max(1, Math.round(Math.max(rows, cols) / 16));
}
