// Segment tiles: the grid that fills the segments panel, and each tile's frame and index.
// Pure layout arithmetic here is mirrored by dpc_widgets/widgets/render.py (tile_layout), which
// the kernel uses to bin drag frames to the tiles' size: change both together.

import { PALETTE } from "./colormaps.js";

/** CSS px between tiles, and the width of each tile's coloured frame. */
export const TILE_GAP = 4;
export const TILE_FRAME = 2;
/** A layout with empty cells is taken only when its tiles are this much larger. */
const EMPTY_CELL_GAIN = 1.25;

/**
 * The grid of n tiles in the segments panel, within its size x size CSS px (one column of the
 * explorer's grid, layout.js), each tile at most size / 2 (size for one tile). Among grids
 * without empty cells the one with the largest tiles (ties: fewer rows, so a shorter panel); a
 * grid with empty cells only when its tiles are EMPTY_CELL_GAIN times larger (8 segments:
 * 3 x 3 with one empty cell, tiles a third of the panel, not 4 x 2 at a quarter). tile: the CSS
 * size of a tile's image (its longer side), inside its TILE_FRAME frame.
 */
export function tileLayout(n, size) {
  const count = Math.max(1, n);
  const cap = count === 1 ? size : size / 2;
  let full = null;
  let any = null;
  for (let columns = count; columns >= 1; columns--) {
    const rows = Math.ceil(count / columns);
    const box = Math.min((size - (columns - 1) * TILE_GAP) / columns, (size - (rows - 1) * TILE_GAP) / rows, cap);
    const tile = Math.max(1, Math.floor(box) - 2 * TILE_FRAME);
    const empty = rows * columns - count;
    const layout = { columns, rows, tile, empty };
    if (empty === 0 && (full === null || tile > full.tile)) full = layout;
    if (any === null || tile > any.tile || (tile === any.tile && empty < any.empty)) any = layout;
  }
  return any.tile >= EMPTY_CELL_GAIN * full.tile ? any : full;
}

/** CSS colour of segment k (the detector overlay's colour for it). */
export function segmentColor(k) {
  const [r, g, b] = PALETTE[k % PALETTE.length];
  return `rgb(${r}, ${g}, ${b})`;
}

/** Black or white, whichever reads better on segment k's colour (sRGB luma). */
export function labelInk(k) {
  const [r, g, b] = PALETTE[k % PALETTE.length];
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#000" : "#fff";
}

/**
 * Screen offsets (right, down; in detector pixels) of each segment's index label: at the mid
 * angle theta = 2 pi (k + 1/2) / n of segment k, radius r (pixels). A pixel's theta is
 * atan2(dy, dx) + rotation with dx down and dy right (geometry.js), so the label's direction
 * is phi = theta - rotation: (right, down) = r (sin phi, cos phi).
 */
export function labelSpots(n, rotationRad, r) {
  const spots = [];
  for (let k = 0; k < n; k++) {
    const phi = (2 * Math.PI * (k + 0.5)) / n - rotationRad;
    spots.push([r * Math.sin(phi), r * Math.cos(phi)]);
  }
  return spots;
}

/** CSS px of arc a label needs (its square is 14 px). */
export const LABEL_ARC = 16;

/**
 * Radius (CSS px) of the index labels for n segments on an annulus between inner and outer CSS
 * px: the middle of the annulus where each sector's arc there has LABEL_ARC px; else a ring
 * just outside the outer edge (9 px out) where that has room; else null (no labels: too small
 * on screen, zoom in).
 */
export function labelRadius(n, inner, outer) {
  if (!(n > 0) || !(outer > inner)) return null;
  const middle = 0.5 * (inner + outer);
  if ((2 * Math.PI * middle) / n >= LABEL_ARC) return middle;
  const outside = outer + 9;
  return (2 * Math.PI * outside) / n >= LABEL_ARC ? outside : null;
}

/**
 * Draw each segment's index on the detector overlay (ctx of the rings canvas) at its sector's
 * mid angle (labelRadius), in a square of its colour: x0, y0 the centre on screen, scale CSS px per
 * detector pixel, inner and outer in detector pixels.
 */
export function drawSegmentIndices(ctx, n, rotationRad, x0, y0, scale, inner, outer) {
  const r = labelRadius(n, inner * scale, outer * scale);
  if (r === null) return;
  const font = 10;
  ctx.save();
  ctx.font = `bold ${font}px sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  const half = font * 0.7;
  labelSpots(n, rotationRad, r).forEach(([dx, dy], k) => {
    const x = x0 + dx;
    const y = y0 + dy;
    ctx.fillStyle = segmentColor(k); // a square badge like the tiles' (tiles.css)
    ctx.fillRect(x - half, y - half, 2 * half, 2 * half);
    ctx.fillStyle = labelInk(k);
    ctx.fillText(String(k), x, y + 0.5);
  });
  ctx.restore();
}
