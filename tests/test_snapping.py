"""Slider snapping as each ipywidgets front end does it (:mod:`dpc_widgets.widgets.snapping`),
and :func:`~dpc_widgets.widgets.controls.browser_value` choosing the installed one.

The noUiSlider table (ipywidgets 8) lives in ``tests/test_update_flow.py``.
"""

from __future__ import annotations

import ipywidgets as w
import pytest

from dpc_widgets.widgets.controls import IPYWIDGETS_MAJOR, browser_value
from dpc_widgets.widgets.snapping import _js_decimals, jquery_ui_value, nouislider_value

pytestmark = pytest.mark.colab_env  # browser_value's choice differs under ipywidgets 7

# What the jQuery UI 1.14.0 slider that widgetsnbextension 3.6.10 bundles (ipywidgets 7.7.1, the
# classic Notebook, Colab) holds for a value: min, max, step, [(value, held)]. Computed by node
# 20 from that bundle's _calculateNewMax, _precisionOf and _trimAlignValue, copied verbatim.
JQUERY_UI = [
    (0, 71.2, 0.1, [(20.5, 20.5), (7.04, 7), (19.96, 20), (0.05, 0.1), (0.15, 0.1), (71.2, 71.2),
                    (80, 71.2), (26.7, 26.7), (71.15, 71.2), (26.699999999999996, 26.7)]),
    (-180, 180, 0.1, [(-15.27, -15.3), (12.35, 12.3), (0.04, 0), (-179.96, -180),
                      (-15.25, -15.3), (33.0, 33), (-15.300000000000011, -15.3)]),
    (0, 10, 0.1, [(2.5, 2.5), (2.45, 2.5), (9.95, 9.9), (0.015625, 0)]),
    (0, 73.8, 0.1, [(73.8, 73.8), (73.75, 73.7), (73.7, 73.7), (73.65, 73.7)]),
    (-180, 180, 0.5, [(12.25, 12.5), (-12.25, -12), (179.9, 180), (-0.25, 0)]),
    (0.3, 2, 0.05, [(0.33, 0.35), (1.999, 2), (0.325, 0.35)]),
    (0, 1, 0.000001, [(0.1234567, 0.12346), (0.9999996, 1)]),
]  # fmt: skip


@pytest.mark.parametrize(("low", "high", "step", "pairs"), JQUERY_UI)
def test_jquery_ui_value_is_what_the_ipywidgets7_slider_holds(low, high, step, pairs):
    for value, held in pairs:
        assert jquery_ui_value(low, high, step, value) == held  # exactly, as the browser's
        assert jquery_ui_value(low, high, step, held) == held  # a held value stays


def test_the_two_front_ends_snap_differently():
    """Halves: jQuery UI aligns away from the start by the remainder, noUiSlider rounds the
    percentage up; and only noUiSlider keeps the binary noise of its arithmetic."""
    assert (jquery_ui_value(0, 71.2, 0.1, 0.15), nouislider_value(0, 71.2, 0.1, 0.15)) == (
        0.1,
        0.2,
    )
    assert (jquery_ui_value(0, 71.2, 0.1, 19.96), nouislider_value(0, 71.2, 0.1, 19.96)) == (
        20.0,
        19.999999999999996,
    )


def test_js_decimals_counts_like_javascript_string():
    """``String(x)`` in node 20: "0.1", "10", "0.000001", "1e-7", "1.5e-7", "2.5e+21"."""
    values = [0.1, 10.0, 1e-6, 1e-7, 1.5e-7, 2.5e21, 3e21, 0.015625, 123.456, 1e-5]
    assert [_js_decimals(x) for x in values] == [1, 0, 6, 0, 4, 5, 0, 6, 3, 5]


@pytest.mark.parametrize("snap", [jquery_ui_value, nouislider_value])
def test_degenerate_sliders_keep_the_value(snap):
    assert snap(5.0, 5.0, 0.1, 3.3) == 3.3  # empty range
    assert snap(0.0, 1.0, 0.0, 0.123) == 0.123  # no step


def test_browser_value_follows_the_installed_ipywidgets():
    """ipywidgets 7 (the Colab-like environment): jQuery UI's value; 8: noUiSlider's."""
    slider = w.FloatSlider(min=0, max=71.2, step=0.1)
    assert IPYWIDGETS_MAJOR == int(w.__version__.split(".")[0])
    assert browser_value(slider, 19.96) == (20.0 if IPYWIDGETS_MAJOR < 8 else 19.999999999999996)
