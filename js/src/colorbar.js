// Colour bars of the scan panels: a fixed gradient (drawn once) and its tick labels. During a
// drag only the labels' text changes (setText skips equal text), so a bar costs no drawing.

import { barRGBA } from "./colormaps.js";
import { drawRGBA, fmt, h, setText } from "./dom.js";

const BAR_PIXELS = 256;

/**
 * A colour bar for a panel: the gradient of lut (256 levels) with labels low, middle (0 for a
 * diverging bar, else empty) and high, and the unit after them.
 */
export function makeColorBar(name, lut) {
  const root = h("div", "dpc-colorbar", { "data-testid": `${name}-colorbar` });
  const canvas = h("canvas", "dpc-colorbar-bar");
  drawRGBA(canvas, 1, BAR_PIXELS, (out) => barRGBA(BAR_PIXELS, lut, out));
  const ticks = h("div", "dpc-colorbar-ticks");
  const low = h("span", "dpc-colorbar-low");
  const middle = h("span", "dpc-colorbar-mid");
  const high = h("span", "dpc-colorbar-high");
  ticks.append(low, middle, high);
  root.append(canvas, ticks);
  return { root, canvas, low, middle, high };
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
