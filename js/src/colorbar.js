// Colour bars of the scan panels: a fixed gradient and its tick labels. During a drag only the
// labels' text changes (setText skips equal text), so a bar costs no drawing.
//
// The gradient is a CSS background of a plain element, not a canvas: browsers give every canvas
// a compositor layer of its own, and each layer adds to the work of every frame of the page
// (layerisation and commit), whereas a background is painted with the text around it.

import { barRGBA } from "./colormaps.js";
import { fmt, h, setText } from "./dom.js";

const BAR_PIXELS = 256;
const gradients = new Map(); // lut -> its CSS gradient

/**
 * The CSS linear-gradient of lut's BAR_PIXELS bar colours (barRGBA), equally spaced from end to
 * end (colour c at c / (BAR_PIXELS - 1) of the width, the lut level barRGBA gives pixel c),
 * written as #rrggbb.
 */
export function barGradient(lut) {
  let css = gradients.get(lut);
  if (css === undefined) {
    const rgba = barRGBA(BAR_PIXELS, lut, new Uint8ClampedArray(4 * BAR_PIXELS));
    const hex = (v) => v.toString(16).padStart(2, "0");
    const stops = [];
    for (let c = 0; c < BAR_PIXELS; c++) {
      stops.push(`#${hex(rgba[4 * c])}${hex(rgba[4 * c + 1])}${hex(rgba[4 * c + 2])}`);
    }
    css = `linear-gradient(to right, ${stops.join(", ")})`;
    gradients.set(lut, css);
  }
  return css;
}

/**
 * A colour bar for a panel: the gradient of lut (256 levels) with labels low, middle (0 for a
 * diverging bar, else empty) and high, and the unit after them.
 */
export function makeColorBar(name, lut) {
  const root = h("div", "dpc-colorbar", { "data-testid": `${name}-colorbar` });
  const gradient = h("div", "dpc-colorbar-bar", { "data-testid": `${name}-colorbar-gradient` });
  gradient.style.backgroundImage = barGradient(lut);
  const ticks = h("div", "dpc-colorbar-ticks");
  const low = h("span", "dpc-colorbar-low");
  const middle = h("span", "dpc-colorbar-mid");
  const high = h("span", "dpc-colorbar-high");
  ticks.append(low, middle, high);
  root.append(gradient, ticks);
  return { root, gradient, low, middle, high };
}

/** A unit for people: "arb." stays, "" (none given) reads "arb.", "A" is Å, "A^-1" Å⁻¹. */
export function barUnit(units) {
  return units || "arb.";
}

/**
 * Set the labels of bar: low and high ends in units (the unit follows the high label); middle
 * is written as given ("0" for a diverging bar, "" for none). width: the bar's CSS width.
 */
export function setColorBar(bar, low, high, units, middle, width) {
  setText(bar.low, typeof low === "number" ? fmt(low) : low);
  setText(bar.middle, middle);
  setText(bar.high, `${typeof high === "number" ? fmt(high) : high} ${barUnit(units)}`);
  const css = `${width}px`;
  if (bar.root.style.width !== css) bar.root.style.width = css;
  bar.root.setAttribute("data-units", barUnit(units));
}
