// How the explorer's panels fill the width they are given: pure functions, no DOM.
//
// The view measures its own element (a ResizeObserver, not the window: a notebook's output
// area, a Voila page or a side panel are all narrower than the window) and lays its panels out
// in a grid of `columns` equal columns of `size` CSS px; every image panel draws its canvases
// (native resolution, scaled by CSS) within size x size.

/** Gap between panels in CSS px (also the grid's gap in explorer.css). */
export const GAP = 12;
/** Below this width a column would be too narrow for its read-out line: fewer columns instead. */
export const MIN_SIZE = 230;
/** The smallest panel drawn at all (a very narrow output area scrolls sideways). */
export const FLOOR_SIZE = 120;
/** Wider panels add nothing at the scan sizes shown (bigger screens get more columns). */
export const MAX_SIZE = 420;
/** At most this many columns: the six panels then take two rows. */
export const MAX_COLUMNS = 3;

/**
 * Columns and panel size (CSS px, whole) for an element `width` CSS px wide.
 *
 * With `fixedSize` (a panel size chosen in Python), only the columns follow the width.
 * Otherwise the most columns (up to MAX_COLUMNS) that are each at least MIN_SIZE wide, their
 * size filling the width, at most MAX_SIZE, at least FLOOR_SIZE.
 */
export function fitPanels(width, fixedSize = 0) {
  const w = Number.isFinite(width) && width > 0 ? width : 0;
  if (fixedSize > 0) {
    const columns = Math.min(MAX_COLUMNS * 2, Math.max(1, Math.floor((w + GAP) / (fixedSize + GAP))));
    return { columns, size: Math.round(fixedSize) };
  }
  const columns = Math.min(MAX_COLUMNS, Math.max(1, Math.floor((w + GAP) / (MIN_SIZE + GAP))));
  const fill = Math.floor((w - (columns - 1) * GAP) / columns);
  return { columns, size: Math.min(MAX_SIZE, Math.max(FLOOR_SIZE, fill)) };
}
