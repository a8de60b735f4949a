"""Controls that explain and guard themselves (issue 19, part 6), under ipywidgets 7 and 8:
collapsible sections, a tooltip with units on every control, centre boxes at 0.01 px, the
status line's words for the cache, the rotation's warnings on the rotation line only, and no
log text on stderr (a stale box above the widget)."""

from __future__ import annotations

import logging
import math
import warnings

import ipywidgets as w
import numpy as np
import pytest

import dpc_widgets as dw
from dpc_widgets.physics import unit_text
from dpc_widgets.widgets import compat
from dpc_widgets.widgets.compat import IPYWIDGETS_MAJOR
from dpc_widgets.widgets.controls import NAMES, ORIGIN_NAMES, SECTIONS
from dpc_widgets.widgets.explorer import _duration, reach_text


@pytest.fixture(scope="module")
def explorer():
    cube = dw.simulate(scan_shape=(8, 8), detector_shape=(32, 32)).cube
    return dw.Explorer(cube.with_origin((15.314984660986, 16.0)))


@pytest.mark.parametrize(
    ("major", "widget", "name"),
    [
        (7, w.FloatSlider(), "description_tooltip"),
        (7, w.Button(), "tooltip"),
        (8, w.FloatSlider(), "tooltip"),
        (8, w.Button(), "tooltip"),
    ],
)
def test_tooltip_trait_by_version_and_kind(major, widget, name):
    assert compat.tooltip_name(widget, major) == name


def test_a_box_has_no_tooltip_in_ipywidgets_7():
    with pytest.raises(TypeError, match="'VBox' has no tooltip in ipywidgets 7"):
        compat.tooltip_name(w.VBox(), 7)


def test_every_control_has_a_tooltip_with_its_units(explorer):
    controls = explorer.controls
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right trait for the installed ipywidgets
        texts = {name: compat.tooltip(getattr(controls, name)) for name in NAMES + ORIGIN_NAMES}
        texts["rotation_info"] = compat.tooltip(controls.rotation_info)
        for field in explorer.calibration.widgets():
            assert compat.tooltip(field)
        files = explorer.children[3].children  # load, and save / save settings
        for widget in (*files[0].children, *files[1].children):
            assert compat.tooltip(widget), widget
    assert all(len(text) > 20 for text in texts.values()), texts
    units = unit_text(explorer.dpc.cube.detector_units)
    for name in ("inner", "outer", "com_range"):
        assert f"({units})" in texts[name]
    inverse = unit_text(explorer.dpc.cube.scan_units, -1)  # e.g. Å⁻¹
    assert f"in {inverse} (0: off)" in texts["high_pass"]
    assert f"in {inverse} (0: off)" in texts["low_pass"]
    assert "(%)" in texts["clip"] and "degrees" in texts["rotation"]
    assert "curl score" in texts["rotation_info"] and "pixels" in texts["origin_qx"]
    key = "tooltip" if IPYWIDGETS_MAJOR >= 8 else "description_tooltip"
    assert controls.clip.get_state()[key] == texts["clip"]  # synced: the browser shows it


def test_recalibrated_units_reach_the_tooltips(explorer):
    explorer.recalibrate(scan_sampling=0.5, scan_units="nm")
    try:
        assert "in nm\u207b\u00b9 (0: off)" in compat.tooltip(explorer.controls.high_pass)
    finally:
        explorer.recalibrate(scan_sampling=1.0, scan_units="A")


def test_controls_collapse_into_sections_the_most_used_open(explorer):
    sections = explorer.controls.sections
    assert list(sections) == [title for title, _ in SECTIONS] + ["Calibration"]
    for title, accordion in sections.items():
        assert accordion.get_title(0) == title
    opened = {title for title, accordion in sections.items() if compat.is_open(accordion)}
    assert opened == {"Detector", "Centre of mass", "Scan rotation"}
    assert tuple(explorer.controls.box.children) == tuple(sections.values())
    inner = sections["Detector"].children[0].children
    assert explorer.inner in inner and explorer.outer in inner


@pytest.mark.parametrize("open_", [True, False])
def test_section_opens_alike_under_7_and_8(open_):
    accordion = compat.section("Phase", [w.Label("x")], open_)
    assert compat.is_open(accordion) is open_
    assert accordion.selected_index == (0 if open_ else None)


def test_centre_boxes_show_hundredths_and_keep_the_exact_centre(explorer):
    controls = explorer.controls
    assert (controls.origin_qx.value, controls.origin_qy.value) == (15.31, 16.0)
    assert controls.origin() == (15.314984660986, 16.0)  # unchanged: no re-centring
    assert explorer.dpc.origin == (15.314984660986, 16.0)
    assert "with_origin" not in explorer.code()  # the loaded centre, exactly
    controls.origin_qx.value = 15.5  # typed: taken as typed
    assert controls.origin() == (15.5, 16.0) and explorer.dpc.origin == (15.5, 16.0)
    controls.set_origin((15.314984660986, 16.0))
    assert explorer.dpc.origin == (15.314984660986, 16.0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.01, "0.1 s"), (0.34, "0.3 s"), (2.4, "2 s"), (41.6, "42 s"), (200.0, "3 min")],
)
def test_duration_in_words(seconds, text):
    assert _duration(seconds) == text


def test_reach_text_in_users_words():
    assert reach_text(30.04, "mrad", 2.1) == (
        "radii up to 30 mrad answer at once; beyond that one pass of about 2 s"
    )
    assert reach_text(30.04, "mrad", None) == "radii up to 30 mrad answer at once"
    assert reach_text(1.5, "A^-1", math.nan) == "radii up to 1.5 A^-1 answer at once"


def test_status_line_names_the_measured_pass(explorer):
    explorer.inner.value += 1.0  # needs a cache: built in one pass here (no kernel)
    status = explorer.status.value
    assert "cached radius" not in status
    radius = f"{explorer.dpc.cached_radius:.3g} {explorer.dpc.cube.detector_units}"
    assert f"radii up to {radius} answer at once; beyond that one pass of about" in status
    assert explorer._pass_seconds is not None and explorer._pass_seconds > 0


def test_logged_notes_never_reach_stderr(capsys):
    """Without the user's own logging set up, Python's last-resort handler would print the
    explorer's warnings to stderr: a box above the widget that no update clears."""
    logging.getLogger("dpc_widgets.widgets").warning("DPC explorer: a note")
    assert capsys.readouterr().err == ""


def test_rotation_warnings_only_on_the_rotation_line(caplog):
    """The weak 180-degree choice is logged and shown on the rotation line, not also in the
    status line."""
    cube = dw.simulate(scan_shape=(8, 8), detector_shape=(32, 32)).cube
    with caplog.at_level(logging.WARNING, logger="dpc_widgets.widgets"):
        explorer = dw.Explorer(cube)  # this small scan's choice is weak
    assert "180-degree choice of the scan rotation is weak" in caplog.text
    assert explorer.results.rotation.weak_half_turn
    assert "180-degree" not in explorer.status.value
    info = explorer.controls.rotation_info.value
    assert "180&deg; choice weak" in info and "dpc-status-warning" in info


@pytest.mark.parametrize(
    ("value", "error"), [(0, ValueError), (-3, ValueError), ("220", TypeError), (True, TypeError)]
)
def test_panel_size_is_checked_at_the_door(value, error):
    with pytest.raises(error, match=f"panel_size must be an integer >= 1, got {value!r}"):
        dw.Explorer(np.zeros((2, 2, 4, 4)), panel_size=value)


def test_panels_fit_the_width_unless_a_size_is_given():
    data = np.ones((4, 4, 8, 8))
    fitted = dw.Explorer(data)
    assert fitted.view.fit_width and fitted.view.panel_size == 220  # until the browser measures
    fixed = dw.Explorer(data, panel_size=300)
    assert not fixed.view.fit_width and fixed.view.panel_size == 300
