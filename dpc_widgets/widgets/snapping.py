"""How the browser's slider snaps a value to its step, in each ipywidgets front end.

A slider value set from Python should be the value the browser's own slider would hold there
(:func:`dpc_widgets.widgets.controls.browser_value`). The two front ends snap differently:

- ipywidgets 8 draws noUiSlider 15 (:func:`nouislider_value`), which sends its snapped value
  back whenever it differs from the model's, so an unsnapped value costs an extra message;
- ipywidgets 7 (the classic Notebook, Colab) draws a jQuery UI 1.14 slider
  (:func:`jquery_ui_value`): it sends values only when the user slides, but it rounds them to
  5 decimals and aligns them to ``min + k * step`` with remainders, halves away from the
  start, so a value set from Python that way is one the user could have slid to.

Both reproduce the browser's IEEE-754 arithmetic operation for operation (pure floats, no
widget import), so their results are exact, e.g. 19.999999999999996 for noUiSlider.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal


def _js_round(x: float) -> float:
    """JavaScript's ``Math.round``: the nearest integer, halves towards +infinity."""
    low = math.floor(x)
    return float(low + 1 if x - low >= 0.5 else low)


def _js_to_fixed(x: float, digits: int) -> float:
    """``parseFloat(x.toFixed(digits))``: the exact binary value rounded to ``digits`` decimals,
    ties away from zero (ECMAScript picks the larger magnitude), read back as a float."""
    return float(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def _js_decimals(x: float) -> int:
    """Characters after the point in JavaScript's ``String(x)`` (jQuery UI's ``_precisionOf``):
    the shortest round-trip digits, written ``d.ddde-7`` (every character after the point
    counted, exponent included; none without a point) when ``|x| < 1e-6`` or ``|x| >= 1e21``."""
    if x == 0 or not math.isfinite(x):
        return 0
    _, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    if 1e-6 <= abs(x) < 1e21:
        return max(0, -exponent)
    scientific = exponent + len(digits) - 1
    suffix = f"e{'-' if scientific < 0 else '+'}{abs(scientific)}"
    return 0 if len(digits) == 1 else len(digits) - 1 + len(suffix)


def nouislider_value(low: float, high: float, step: float, value: float) -> float:
    """``value`` as ipywidgets 8's noUiSlider on ``[low, high]`` with ``step`` shows it.

    noUiSlider's ``toStepping``, ``getStep`` and ``fromStepping`` for one range, operation for
    operation (its factors ``100 / (100 - 0)`` are exactly 1 and left out): a percentage of the
    range, rounded to a whole number of step percentages, and back.
    """
    if not high > low or not step > 0:
        return float(value)
    if value >= high:
        return high
    percent = 100 * (value + abs(low) if low < 0 else value - low) / (high - low)
    step_percent = 100 * step / (high - low)
    percent = min(max(_js_round(percent / step_percent) * step_percent, 0.0), 100.0)
    if percent >= 100:
        return high
    return percent * (high - low) / 100 + low


def jquery_ui_value(low: float, high: float, step: float, value: float) -> float:
    """``value`` as ipywidgets 7's jQuery UI slider on ``[low, high]`` with ``step`` holds it.

    jQuery UI 1.14's ``_calculateNewMax`` (the largest ``low + k * step`` not above ``high``,
    rounded to the decimals of ``step`` and ``low``) and ``_trimAlignValue`` (clamp, align by
    the remainder ``(value - low) % step``, halves away from ``low``, round to 5 decimals).
    """
    if not high > low or not step > 0:
        return float(value)
    top = _js_round((high - low) / step) * step + low
    if top > high:
        top -= step
    top = _js_to_fixed(top, max(_js_decimals(step), _js_decimals(low)))
    if value <= low:
        return float(low)
    if value >= top:
        return top
    remainder = math.fmod(value - low, step)
    aligned = value - remainder
    if 2 * abs(remainder) >= step:
        aligned += step if remainder > 0 else -step
    return _js_to_fixed(aligned, 5)
