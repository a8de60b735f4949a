// Small DOM helpers shared by the panels: elements, canvases, read-outs and scale bars.

import { scaleBarLength } from "./geometry.js";
import { fnv1a } from "./checksum.js";

/** Create an element with classes and attributes. */
export function h(tag, className, attrs = {}) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  return el;
}

/** Checksum of a typed array's bytes (as data-checksum). */
export function checksumOf(array) {
  return fnv1a(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
}

/** Give a canvas this bitmap size; only when it differs (resizing clears and reallocates it). */
export function resize(canvas, width, height) {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
}

const images = new WeakMap(); // canvas -> its ImageData, reused while the size stays

/**
 * Draw rows x cols pixels on a native-resolution canvas: fill(data) writes every RGBA byte into
 * the canvas's ImageData, which is then put. The ImageData is kept between draws (nothing is
 * allocated per frame) and the canvas is resized, which clears and reallocates it, only when
 * its size changes.
 */
export function drawRGBA(canvas, rows, cols, fill) {
  resize(canvas, cols, rows);
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  let image = images.get(canvas);
  if (!image || image.width !== cols || image.height !== rows) {
    image = ctx.createImageData(cols, rows);
    images.set(canvas, image);
  }
  fill(image.data);
  ctx.putImageData(image, 0, 0);
}

/** Set the CSS size of elements (canvases and stacks) in px. */
export function setSize(width, height, ...elements) {
  for (const el of elements) {
    el.style.width = `${width}px`;
    el.style.height = `${height}px`;
  }
}

/** A number for read-outs: 4 significant digits, exponent for very large or small values. */
export function fmt(value) {
  if (!Number.isFinite(value)) return String(value);
  const a = Math.abs(value);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

const BLANK = "\u00a0"; // an empty read-out keeps its line

/**
 * A panel: title, a stack for canvases, a scale bar and a hover read-out. The read-out is one
 * line of fixed height and the panel's width, ellipsised (explorer.css): no text moves
 * anything. Set it with showReadout, so that each redraw refreshes it (refreshReadout).
 */
export function makePanel(name, title) {
  const root = h("div", "dpc-panel", { "data-panel": name });
  const titleEl = h("div", "dpc-title");
  titleEl.textContent = title;
  const stack = h("div", "dpc-stack");
  const scalebar = h("div", "dpc-scalebar");
  const bar = h("div", "dpc-scalebar-bar");
  const label = h("span", "dpc-scalebar-label");
  scalebar.append(bar, label);
  const readout = h("div", "dpc-readout");
  readout.textContent = BLANK;
  root.append(titleEl, stack, scalebar, readout);
  return { root, titleEl, stack, scalebar, bar, label, readout, readoutText: null };
}

/**
 * Set an element's text only when it changes. An element holding one text node keeps it and
 * changes its data: replacing the node (textContent) would make the browser drop its layout
 * object and build a new one.
 */
export function setText(el, text) {
  const node = el.firstChild;
  if (node !== null && node.nodeType === 3 && node.nextSibling === null && text !== "") {
    if (node.data !== text) node.data = text;
  } else if (el.textContent !== text) {
    el.textContent = text;
  }
}

/** Update a scale bar for a field of nPixels pixels of pixelSize units shown at scale s. */
export function setScaleBar(panel, pixelSize, units, nPixels, s) {
  const length = scaleBarLength(pixelSize, nPixels);
  panel.scalebar.setAttribute("data-length", String(length));
  panel.bar.style.width = `${(length / pixelSize) * s}px`;
  setText(panel.label, `${fmt(length)} ${units}`);
}

/**
 * Show text() in the panel's read-out and keep text for refreshReadout: after an update the
 * read-out under a resting pointer shows the new values and units, never the old ones.
 * text() returns null when the pointer's position no longer lies on the image (a new shape).
 */
export function showReadout(panel, text) {
  panel.readoutText = text;
  refreshReadout(panel);
}

/** Recompute the read-out shown (see showReadout); blank when there is none. */
export function refreshReadout(panel) {
  const line = panel.readoutText ? panel.readoutText() : null;
  setText(panel.readout, line ?? BLANK);
  if (panel.readout.title !== (line ?? "")) panel.readout.title = line ?? "";
}

/** Blank the read-out (the pointer left the image). */
export function clearReadout(panel) {
  panel.readoutText = null;
  refreshReadout(panel);
}
