// Detector and image geometry: pure functions, no DOM.
//
// Axis mapping (used by every view): array element [i, j] -- i along axis 0 (x: Rx or Qx),
// j along axis 1 (y: Ry or Qy) -- is drawn at canvas row i (downwards) and column j
// (rightwards), like matplotlib's imshow. A native canvas is `cols` wide and `rows` high; at
// display scale s (CSS px per array element) the centre of element [i, j] is at
// (left, top) = ((j + 0.5) s, (i + 0.5) s).
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

/** Array element [i, j] under the display point (left, top) at scale s, or null outside. */
export function elementAt(left, top, s, rows, cols) {
  const i = Math.floor(top / s);
  const j = Math.floor(left / s);
  return i >= 0 && i < rows && j >= 0 && j < cols ? [i, j] : null;
}

/** Display point (left, top) of the detector centre (cx, cy) in pixels at scale s. */
export function centerOnScreen(center, s) {
  return [(center[1] + 0.5) * s, (center[0] + 0.5) * s];
}

/** Radius in detector units of the display point (left, top). */
export function radiusAt(left, top, center, s, sampling) {
  const [x0, y0] = centerOnScreen(center, s);
  return (Math.hypot(left - x0, top - y0) / s) * sampling;
}

/**
 * Which ring a pointer at (left, top) grabs: the name of the ring (from radii, {name: radius
 * in detector units}) nearest to it within tol display px, or null.
 */
export function hitRing(left, top, center, s, sampling, radii, tol) {
  const r = radiusAt(left, top, center, s, sampling);
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
export function dragCenter(startCenter, startPointer, pointer, s, rows, cols) {
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
