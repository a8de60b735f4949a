"""Unit typography (physics.unit_text) and the explorer plots' labels, ticks and legends."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpc_widgets import DPC, simulate
from dpc_widgets.core import solve_rotation
from dpc_widgets.physics import superscript, unit_text

pytestmark = pytest.mark.colab_env  # the labels go to ipywidgets 7's widgets too


@pytest.fixture(scope="module")
def explorer():
    from dpc_widgets.widgets import Explorer

    return Explorer(simulate().cube, com_source="pixelated")


@pytest.mark.parametrize(
    ("units", "power", "text"),
    [
        ("A", 1, "\u00c5"),
        ("A^-1", 1, "\u00c5\u207b\u00b9"),
        ("A", -1, "\u00c5\u207b\u00b9"),  # a filter cut-off in 1/scan units
        ("A^-1", 2, "\u00c5\u207b\u00b2"),
        ("nm", -1, "nm\u207b\u00b9"),
        ("nm", 2, "nm\u00b2"),
        ("mrad", 1, "mrad"),
        ("rad", 1, "rad"),
        ("px", -1, "px\u207b\u00b9"),
        ("arb.", 2, "arb."),
        ("counts", 1, "counts"),
        ("counts", -10, "counts\u207b\u00b9\u2070"),
    ],
)
def test_unit_text_writes_units_for_readers(units, power, text):
    assert unit_text(units, power) == text
    assert "^" not in unit_text(units, power)


@pytest.mark.parametrize(
    ("units", "power", "error", "match"),
    [
        (None, 1, TypeError, "units must be a string, got None"),
        ("A", True, TypeError, "power must be an integer, got True"),
        ("A", 1.0, TypeError, "power must be an integer, got 1.0"),
        ("A", 0, ValueError, "power must be nonzero, got 0"),
    ],
)
def test_unit_text_rejects_bad_arguments(units, power, error, match):
    with pytest.raises(error, match=match):
        unit_text(units, power)


def test_superscript_digits_and_sign():
    digits = "\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u2070"
    assert superscript(-1234567890) == "\u207b" + digits
    with pytest.raises(TypeError, match="got 2.5"):
        superscript(2.5)


def test_decade_labels_are_keyed_as_javascript_writes_the_numbers():
    from dpc_widgets.widgets.plots import decade_labels

    labels = decade_labels(np.array([-8, -7, -6, -3, 0, 2, 21]))
    # JavaScript: String(1e-8) = "1e-8", String(1e-6) = "0.000001", String(1e21) = "1e+21"
    assert labels == {
        "1e-8": "10\u207b\u2078",
        "1e-7": "10\u207b\u2077",
        "0.000001": "10\u207b\u2076",
        "0.001": "10\u207b\u00b3",
        "1": "1",
        "100": "10\u00b2",
        "1e+21": "10\u00b2\u00b9",
    }


def test_score_curve_is_the_curl_score_at_every_angle():
    sim = simulate(rotation=-15.0)
    rotation = solve_rotation(DPC(sim.cube).com(descan="constant"))
    angles = np.array([rotation.angle_deg, rotation.angle_deg + 90.0, -180.0, 180.0])
    for transpose in (False, True):
        cc, _, dd = rotation.curl_forms[transpose]
        score = rotation.score_curve(angles, transpose)
        np.testing.assert_allclose(score**2 * (cc + dd), rotation.curve(angles, transpose))
        assert np.all((score >= 0.0) & (score <= 1.0))
    solved = rotation.score_curve(angles[:1])[0]
    assert solved == pytest.approx(rotation.curl_score[rotation.transpose], rel=1e-6, abs=1e-12)
    # a quarter turn off, a phase gradient is all curl: the score is near its maximum of 1
    assert rotation.score_curve(angles[1:2])[0] > 0.99
    assert rotation.score_curve(angles[2])[()] == pytest.approx(rotation.score_curve(angles[3]))


def test_score_curve_of_a_uniform_field_is_zero():
    rotation = solve_rotation(np.ones((2, 8, 8)))
    assert not rotation.determined
    np.testing.assert_array_equal(rotation.score_curve(np.array([0.0, 45.0])), [0.0, 0.0])


def test_explorer_plots_write_units_and_keep_legends_off_the_axes(explorer):
    plots = explorer.plots
    assert plots.profile.axes[0].label == "radius (mrad)"
    assert explorer.results.com_units == "A^-1"
    assert plots.histogram.axes[0].label == "|CoM| (\u00c5\u207b\u00b9)"
    assert plots.curl.axes[1].label == "curl score"
    for figure in (plots.profile, plots.curl, plots.histogram):
        for axis in figure.axes:
            assert "^" not in axis.label and "1/" not in axis.label
            assert axis.tick_style == {"font-size": "11px"}
        assert figure.title_style == {"font-size": "14px"}  # the axis labels' size
        assert all(not mark.display_legend for mark in figure.marks)  # bqplot's legend box
        margin = figure.fig_margin
        assert margin["right"] >= 30 and margin["top"] >= 30  # "180", "10⁻³" not clipped
    # the profile's log axis: one label per decade, 10⁻ⁿ, looked up by JavaScript's number text
    ticks = plots.profile.axes[1].tick_values
    labels = plots.profile.axes[1].tick_labels
    assert len(labels) == len(ticks) == 5
    for tick in ticks:
        k = round(math.log10(tick))
        key = next(key for key in labels if float(key) == tick)
        assert labels[key] == ("1" if k == 0 else "10" + superscript(k))
    np.testing.assert_array_equal(plots.curl.axes[1].tick_values, [0.0, 0.25, 0.5, 0.75, 1.0])
    legends = [child.children[1].value for child in plots.box.children[:2]]
    assert "inner radius" in legends[0] and "outer" in legends[0]
    assert "no transpose" in legends[1] and "applied" in legends[1] and "dashed" in legends[1]


def test_view_units_are_display_text(explorer):
    view = explorer.view
    assert (view.detector_units, view.scan_units) == ("mrad", "\u00c5")
    assert (view.com_units, view.phase_units) == ("\u00c5\u207b\u00b9", "rad")
    labels = dict((value, label) for label, value in explorer.calibration.pixel_units.options)
    assert labels == {"mrad": "mrad", "A^-1": "\u00c5\u207b\u00b9"}
