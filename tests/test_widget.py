"""The DPC explorer widget without a kernel: controls -> core -> view buffers, flow, errors, export.

ipywidgets models work without a kernel (their comm is a DummyComm); messages the view would
send are captured by replacing its ``_send``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pathlib

import h5py
import numpy as np
import pytest
from _png import read_png

import dpc_widgets
from dpc_widgets import Datacube, SegmentedDetector
from dpc_widgets.detectors import pixel_geometry, segment_labels
from dpc_widgets.widgets import Explorer, Settings, encoding, render
from dpc_widgets.widgets.controls import NAMES, browser_value
from dpc_widgets.widgets.export import png_bytes
from dpc_widgets.widgets.flow import LatestWins
from dpc_widgets.widgets.plots import nice_ticks
from dpc_widgets.widgets.settings import segment_area_text as render_area_text

FIXTURE = pathlib.Path(__file__).parents[1] / "js" / "tests" / "fixtures" / "python_reference.json"


@pytest.fixture(scope="module")
def sim_cube() -> Datacube:
    return dpc_widgets.simulate().cube


@pytest.fixture
def explorer(sim_cube) -> Explorer:
    return Explorer(sim_cube)


def f32(array) -> bytes:
    return np.ascontiguousarray(array, dtype="<f4").tobytes()


def record_messages(view) -> list[tuple[dict, list]]:
    """Capture the comm messages (state updates and custom messages) the view sends."""
    sent: list[tuple[dict, list]] = []
    view._send = lambda msg, buffers=None: sent.append((msg, list(buffers or [])))
    return sent


def state_updates(sent) -> list[dict]:
    return [msg["state"] for msg, _ in sent if msg.get("method") == "update"]


def count_runs(ex: Explorer, monkeypatch) -> list:
    """Record the detector of every DPC.run call the explorer makes."""
    calls: list = []
    run = ex.dpc.run

    def counting_run(detector, **kwargs):
        calls.append(detector)
        return run(detector, **kwargs)

    monkeypatch.setattr(ex.dpc, "run", counting_run)
    return calls


def expected_result(ex: Explorer):
    settings = ex.settings
    return ex.dpc.run(settings.detector(), **settings.run_kwargs())


def assert_view_matches(ex: Explorer) -> None:
    """Every buffer of the view equals the core's result for the controls' settings."""
    result = expected_result(ex)
    assert ex.results is result
    view, clip = ex.view, ex.settings.clip
    gray = encoding.gray_resolution
    wheel = encoding.wheel_resolution(view.com_vmax)
    expected = {  # the codes at each image's display resolution (see encoding)
        "segment_images": (result.segment_images, [gray(*r) for r in view.segment_ranges]),
        "com": (result.com_rotated, [min(gray(*r), wheel) for r in view.com_ranges]),
        "phase": (result.phase[None], gray(*view.phase_range)),
        "pattern": (ex.dpc.mean_pattern()[None], 0.0),
    }
    for name, (images, steps) in expected.items():
        data, maps = encoding.encode(images, np.array(steps))
        assert (getattr(view, name), getattr(view, f"{name}_map")) == (data, maps), name
    assert view.segment_images_map and view.com_map and view.phase_map  # codes, not float32
    assert view.pattern == f32(ex.dpc.mean_pattern())  # sent once: exact
    assert view.segment_ranges == [
        list(render.clip_range(im, clip)) for im in result.segment_images
    ]
    assert view.phase_range == list(render.clip_range(result.phase, clip))
    assert view.com_vmax == render.magnitude_max(result.com_rotated, clip)
    # the view has the settings (floats tidied to 10 decimals, see Controls.settings)
    assert (view.inner, view.outer) == pytest.approx((ex.inner.value, ex.outer.value), abs=1e-9)
    assert (view.segments, view.rotation) == (ex.segments.value, ex.rotation.value)


# ---------------------------------------------------------------------- construction
def test_explorer_wraps_datacube_array_and_path(sim_cube, tmp_path):
    ex = Explorer(sim_cube)
    assert ex.dpc.cube is sim_cube
    assert "dpc-explorer" in ex._dom_classes
    assert_view_matches(ex)
    assert len(ex.view.segment_images) == 4 * 32 * 32 * 2  # uint16 codes, N x Rx x Ry
    assert ex.view.detector_shape == [96, 96] and ex.view.scan_shape == [32, 32]
    array = np.asarray(sim_cube.data)
    before = array.copy()
    wrapped = Explorer(array, energy=200e3, detector_sampling=1.07, detector_units="mrad")
    assert wrapped.dpc.cube.detector_units == "mrad"
    assert "mrad" in wrapped.inner.description
    path = tmp_path / "cube.npy"
    np.save(path, array)
    loaded = Explorer(path, inner=5.0, outer=12.0)
    assert loaded.results.segment_images.shape == (4, 32, 32)
    assert f"load({str(path)!r})" in loaded.code()
    np.testing.assert_array_equal(array, before)  # input never modified


def test_controls_are_attributes_with_css_classes(explorer):
    for name in NAMES:
        control = getattr(explorer, name)
        assert control is getattr(explorer.controls, name)
        assert f"dpc-ctl-{name}" in control._dom_classes
    assert explorer.inner.description == "inner (mrad)"
    assert explorer.high_pass.description == "high-pass (\u00c5\u207b\u00b9)"
    # default annulus around the bright-field disc (20 mrad probe): 0.5x and 1.25x its radius
    assert 8 < explorer.inner.value < 12 and 22 < explorer.outer.value < 28


@pytest.mark.parametrize(
    ("data", "options", "error", "match"),
    [
        (object(), {}, TypeError, "Datacube, a file path or a 4D array, got object"),
        ("cube", {"energy": 1.0}, TypeError, r"options \['energy'\] only apply"),
        ("cube", {"inner": 30.0, "outer": 10.0}, ValueError, "inner radius 30.0 must be smaller"),
        ("cube", {"com_source": "magic"}, ValueError, "com_source must be one of .* 'magic'"),
        ("cube", {"segments": 1}, ValueError, "at least 2 segments, got 1"),
        ("/no/such/file.h5", {}, FileNotFoundError, "no/such/file.h5"),
    ],
)
def test_bad_construction_raises(sim_cube, data, options, error, match):
    with pytest.raises(error, match=match):
        Explorer(sim_cube if data == "cube" else data, **options)


# ---------------------------------------------------------------------- controls -> views
CHANGES = [
    # (control values to set, image traits that must be resent)
    ({"inner": 6.0}, {"segment_images", "com", "phase"}),
    ({"outer": 20.0}, {"segment_images", "com", "phase"}),
    ({"segments": 8}, {"segment_images", "com", "phase"}),
    ({"rotation": 30.0}, {"segment_images", "com", "phase"}),
    ({"com_source": "monolithic"}, {"com", "phase"}),
    ({"com_source": "pixelated"}, {"com", "phase"}),
    ({"com_source": "pixelated", "com_mask": True, "com_range": (5.0, 15.0)}, {"com", "phase"}),
    ({"com_source": "pixelated", "descan": "plane"}, {"com", "phase"}),
    ({"auto_rotation": False, "scan_rotation": 10.0}, {"com", "phase"}),
    ({"auto_rotation": False, "transpose": True}, {"com", "phase"}),
    ({"method": "iterative"}, {"phase"}),
    ({"padding": 1}, {"phase"}),
    ({"high_pass": 0.05}, {"phase"}),
    ({"low_pass": 0.5}, {"phase"}),
    ({"clip": 5.0}, set()),
]


@pytest.mark.parametrize(("values", "resent"), CHANGES)
def test_control_updates_the_right_buffers(explorer, values, resent):
    ex = explorer

    def shown(name):  # an image's codes and maps (a scaled CoM keeps its codes)
        return getattr(ex.view, name), getattr(ex.view, f"{name}_map")

    before = {name: shown(name) for name in ("segment_images", "com", "phase")}
    sent = record_messages(ex.view)
    with ex.hold():
        for name, value in values.items():
            getattr(ex, name).value = value
    assert_view_matches(ex)
    updates = state_updates(sent)
    assert len(updates) <= 1  # one update = one message
    changed = {k for k in ("segment_images", "com", "phase") if shown(k) != before[k]}
    assert changed == resent
    buffers = [b for _, bufs in sent for b in bufs]
    # only images whose codes changed travel as binary buffers (new maps alone are JSON)
    assert len(buffers) == len({k for k in resent if getattr(ex.view, k) != before[k][0]})
    if "segments" in values:
        assert len(ex.view.segment_ranges) == values["segments"]
        assert len(ex.view.segment_images) == values["segments"] * 32 * 32 * 2
    if values.get("com_mask"):
        assert ex.view.com_mask == [5.0, 15.0]
    if "clip" in values:
        assert updates and "phase_range" in updates[0] and "phase" not in updates[0]


def test_auto_rotation_shows_solved_angle_and_manual_override(explorer):
    ex = explorer
    solved = ex.results.rotation
    assert ex.results.angle_deg == solved.angle_deg
    assert f"{solved.angle_deg:.1f}" in ex.controls.rotation_info.value
    assert f"&plusmn; {solved.uncertainty_deg:.1f}&deg;" in ex.controls.rotation_info.value
    assert ("180&deg; choice weak" in ex.controls.rotation_info.value) is solved.weak_half_turn
    assert ex.scan_rotation.value == pytest.approx(solved.angle_deg, abs=0.05)
    assert ex.scan_rotation.disabled and ex.transpose.disabled
    ex.controls.show_rotation(12.0, False, 0.1, 2.5, weak_half_turn=True)
    assert "solved: 12.0&deg; &plusmn; 2.5&deg;" in ex.controls.rotation_info.value
    assert "180&deg; choice weak" in ex.controls.rotation_info.value
    ex.auto_rotation.value = False
    assert not ex.scan_rotation.disabled
    ex.scan_rotation.value = -20.0
    assert ex.results.angle_deg == -20.0 and ex.results.transpose is False
    assert_view_matches(ex)


def test_unchanged_settings_do_not_recompute_or_resend(explorer, monkeypatch):
    ex = explorer
    sent = record_messages(ex.view)
    calls = count_runs(ex, monkeypatch)
    ex.inner.value = ex.inner.value  # no change: no observer call
    ex.scan_rotation.value = 0.0  # ignored while the rotation is automatic
    assert calls == []
    assert not any(bufs for _, bufs in sent)
    assert not any(k in u for u in state_updates(sent) for k in ("com", "phase"))


# ---------------------------------------------------------------------- flow control
def test_latest_wins_coalesces_a_burst_while_busy():
    state = {"value": 0}
    computed = []

    def update():
        computed.append(state["value"])
        if len(computed) == 1:  # requests arriving while the first update runs
            for value in range(1, 21):
                state["value"] = value
                flow.request()

    flow = LatestWins(update)
    flow.request()
    assert computed == [0, 20]  # the burst of 20 collapsed into one run with the latest value
    with flow.hold():
        for value in range(30, 40):
            state["value"] = value
            flow.request()
        assert computed == [0, 20]
    assert computed == [0, 20, 39]
    assert not flow.busy and flow.runs == 3


def test_explorer_computes_only_the_latest_of_a_burst(explorer, monkeypatch):
    ex = explorer
    calls = []
    bursts = [np.arange(2.0, 9.0, 0.5)]
    run = ex.dpc.run

    def counting_run(detector, **kwargs):
        calls.append(detector.inner)
        for value in bursts.pop() if bursts else ():  # slider values arriving while busy
            ex.inner.value = float(value)
        return run(detector, **kwargs)

    monkeypatch.setattr(ex.dpc, "run", counting_run)
    ex.inner.value = 1.0
    assert calls == [1.0, 8.5]
    assert ex.results.detector.inner == 8.5 and ex.view.inner == 8.5
    calls.clear()
    with ex.hold():
        for value in (3.0, 4.0, 5.0):
            ex.inner.value = value
        ex.outer.value = 21.0
    assert calls == [5.0]


def test_ring_drag_request_updates_sliders_and_is_answered(explorer, monkeypatch):
    ex = explorer
    sent = record_messages(ex.view)
    calls = count_runs(ex, monkeypatch)
    ex.view._on_custom_msg(
        ex.view, {"type": "geometry", "seq": 7, "inner": 7.04, "outer": 19.96}, []
    )
    # snapped to the slider step as the browser's slider does it (not echoed back)
    assert (ex.inner.value, ex.outer.value) == pytest.approx((7.0, 20.0), abs=1e-12)
    assert ex.inner.value == browser_value(ex.inner, 7.0)
    assert len(calls) == 1  # both radii in one update
    assert_view_matches(ex)
    custom = [msg["content"] for msg, _ in sent if msg.get("method") == "custom"]
    assert custom == [{"type": "ack", "seq": 7}]
    kinds = [msg.get("method") for msg, _ in sent]
    assert kinds.index("custom") > kinds.index("update")  # images arrive before the answer
    ex.view._on_custom_msg(
        ex.view, {"type": "geometry", "seq": 8, "inner": 30.0, "outer": 20.0}, []
    )
    # the inner ring dragged past the outer one pushes it a step beyond (as the sliders do)
    assert ex.inner.value == browser_value(ex.inner, 30.0)
    assert ex.outer.value == browser_value(ex.outer, ex.inner.value + ex.outer.step)
    assert "dpc-status-ok" in ex.status.value and ex.results.detector.outer == ex.settings.outer
    assert sent[-1][0]["content"] == {"type": "ack", "seq": 8}


# ---------------------------------------------------------------------- errors
def test_inner_never_reaches_outer(explorer):
    """A radius moved past the other pushes it one slider step along: the controls, the
    settings (and so the code box and settings JSON) and the view always have inner < outer."""
    ex = explorer
    step = ex.outer.step
    ex.inner.value = 40.0  # beyond outer (25): outer follows
    assert (ex.inner.value, ex.outer.value) == (40.0, browser_value(ex.outer, 40.0 + step))
    assert "dpc-status-ok" in ex.status.value
    ex.outer.value = 12.0  # below inner: inner follows
    assert (ex.inner.value, ex.outer.value) == (browser_value(ex.inner, 12.0 - step), 12.0)
    settings = ex.settings
    assert settings.inner < settings.outer and ex.view.inner < ex.view.outer
    assert f"inner={settings.inner!r}, outer={settings.outer!r}" in ex.code()
    ex.outer.value = 0.0  # no room below: outer goes back to one step beyond inner
    assert ex.outer.value == browser_value(ex.outer, ex.inner.value + step)
    assert ex.results.detector.inner < ex.results.detector.outer
    assert_view_matches(ex)


def test_bad_geometry_shows_error_and_recovers(explorer, caplog):
    ex = explorer
    good = ex.results
    with caplog.at_level(logging.WARNING, logger="dpc_widgets.widgets"):
        ex.segments.value = 1
    assert "dpc-status-error" in ex.status.value
    assert "segmented DPC needs at least 2 segments, got 1" in caplog.text
    assert ex.results is good  # last good images stay
    assert ex.view.segments == 1  # the overlay shows what was asked for
    ex.segments.value = 4
    assert "dpc-status-ok" in ex.status.value
    assert_view_matches(ex)
    ex.segments.value = 1
    assert "segmented DPC needs at least 2 segments, got 1" in ex.status.value
    ex.com_source.value = "pixelated"  # needs no segments: recovers
    assert "dpc-status-ok" in ex.status.value
    assert ex.results.segment_images.shape == (1, 32, 32)


def test_warning_goes_to_status(explorer, caplog):
    with caplog.at_level(logging.WARNING, logger="dpc_widgets.widgets"):
        explorer.outer.value = 70.0  # beyond the detector edge at 51 mrad
    assert "dpc-status-warning" in explorer.status.value
    assert "reaches beyond the detector edge" in explorer.status.value
    assert "beyond the detector edge" in caplog.text


def test_failed_load_keeps_the_widget_usable(explorer, tmp_path):
    ex = explorer
    good = ex.results
    ex._load_path.value = str(tmp_path / "missing.h5")
    ex._guarded("load", ex.load, ex._load_path.value)
    assert "load failed: FileNotFoundError" in ex.status.value
    assert "missing.h5" in ex.status.value
    assert ex.results is good
    ex.inner.value = 6.0
    assert "dpc-status-ok" in ex.status.value


def test_load_replaces_the_data(explorer, sim_cube, tmp_path):
    ex = explorer
    small = np.asarray(sim_cube.data)[:16, :12]
    path = tmp_path / "small.npy"
    np.save(path, small)
    ex.load(path)
    assert ex.view.scan_shape == [16, 12]
    assert ex.results.phase.shape == (16, 12)
    assert ex.inner.description == "inner (px)"
    assert_view_matches(ex)


# ---------------------------------------------------------------------- detector centre
def disc_cube(center=(40.3, 55.7), radius=14.0, shape=(12, 10, 96, 96)) -> np.ndarray:
    """Random counts with a bright disc off the detector centre (what ``load`` should find)."""
    i, j = np.indices(shape[2:])
    disc = np.hypot(i - center[0], j - center[1]) <= radius
    rng = np.random.default_rng(3)
    return (rng.random(shape) * 20 + 500 * disc).astype(np.float32)


def test_default_radii_use_the_disc_radius(explorer):
    ex = explorer
    radius = dpc_widgets.find_disc(ex.dpc.mean_pattern()).radius * ex.dpc.cube.detector_sampling
    step = ex.inner.step
    assert ex.inner.value == pytest.approx(round(0.5 * radius / step) * step)
    assert ex.outer.value == pytest.approx(round(1.25 * radius / step) * step)


def test_origin_controls_start_at_the_cube_origin(explorer):
    ex = explorer
    assert ex.controls.origin() == ex.dpc.origin == (48.0, 48.0)
    for name in ("origin_qx", "origin_qy", "find_disc", "geometric"):
        assert getattr(ex, name) is getattr(ex.controls, name)
        assert f"dpc-ctl-{name}" in getattr(ex, name)._dom_classes
    assert ex.view.center == [48.0, 48.0]


def test_loaded_file_is_centred_on_its_disc(tmp_path):
    path = tmp_path / "off_centre.npy"
    np.save(path, disc_cube())
    ex = Explorer(path)
    assert np.hypot(ex.dpc.origin[0] - 40.3, ex.dpc.origin[1] - 55.7) < 0.1
    assert ex.view.center == list(ex.dpc.origin) and ex.controls.origin() == ex.dpc.origin
    assert 6.5 < ex.inner.value < 7.5 and 17 < ex.outer.value < 18.5  # 0.5 and 1.25 x 14 px


def test_centre_drag_recentres_detector_and_images(explorer, monkeypatch):
    ex = explorer
    before = ex.results
    mean = ex.dpc.mean_pattern()
    sent = record_messages(ex.view)
    calls = count_runs(ex, monkeypatch)
    statuses: list[str] = []
    ex.status.observe(lambda change: statuses.append(change["new"]), "value")
    ex.view._on_custom_msg(ex.view, {"type": "center", "seq": 4, "qx": 45.504, "qy": 50.2}, [])
    assert ex.dpc.origin == (45.5, 50.2)  # rounded to 0.01 px
    assert ex.controls.origin() == (45.5, 50.2) and ex.view.center == [45.5, 50.2]
    assert len(calls) == 1
    assert_view_matches(ex)
    assert not np.array_equal(ex.results.segment_images, before.segment_images)
    assert ex.dpc.mean_pattern() is mean  # re-centring keeps the mean pattern
    assert "re-centring: rebuilding the cache" in statuses[0]  # busy first ...
    assert "dpc-status-busy" in statuses[0] and "dpc-status-ok" in statuses[-1]  # ... then done
    custom = [msg["content"] for msg, _ in sent if msg.get("method") == "custom"]
    assert custom == [{"type": "ack", "seq": 4}]
    assert "cube = cube.with_origin((45.5, 50.2))" in ex.code()
    namespace = {"cube": Datacube(np.asarray(ex.dpc.cube.data), **calibration(ex.dpc.cube))}
    exec(ex.code(), namespace)
    np.testing.assert_array_equal(namespace["result"].phase, ex.results.phase)


def calibration(cube: Datacube) -> dict:
    keys = ("energy", "scan_sampling", "scan_units", "detector_sampling", "detector_units")
    return {key: getattr(cube, key) for key in keys}


def test_setting_the_view_centre_moves_the_origin_inside_the_detector(explorer):
    ex = explorer
    ex.view.center = [40.0, 52.25]
    assert ex.dpc.origin == (40.0, 52.25)
    assert_view_matches(ex)
    ex.view.center = [-3.0, 500.0]  # dragged off the detector: clamped to its edge pixels
    assert ex.dpc.origin == (0.0, 95.0) and ex.view.center == [0.0, 95.0]
    assert "dpc-status-error" not in ex.status.value


def test_typed_origin_outside_the_detector_goes_to_the_status_line(explorer, caplog):
    ex = explorer
    good = ex.results
    with caplog.at_level(logging.WARNING, logger="dpc_widgets.widgets"):
        ex.origin_qx.value = 120.0
    assert "dpc-status-error" in ex.status.value
    assert "origin (120.0, 48.0) lies outside the detector of shape (96, 96)" in ex.status.value
    assert "lies outside the detector" in caplog.text
    assert ex.dpc.origin == (48.0, 48.0) and ex.results is good and ex.view.center == [48.0, 48.0]
    ex.origin_qy.value = float("nan")
    assert "lies outside the detector" in ex.status.value
    with ex.hold():
        ex.origin_qx.value, ex.origin_qy.value = 47.0, 49.0
    assert "dpc-status-ok" in ex.status.value and ex.dpc.origin == (47.0, 49.0)
    assert_view_matches(ex)


def test_origin_buttons(explorer):
    ex = explorer
    ex.view.center = [41.0, 53.0]
    assert ex.dpc.origin == (41.0, 53.0)
    ex.find_disc.click()  # the simulator's disc is centred on (48, 48)
    assert ex.dpc.origin == pytest.approx((48.0, 48.0), abs=1e-6)
    ex.view.center = [41.0, 53.0]
    ex.geometric.click()
    assert ex.dpc.origin == (48.0, 48.0)
    assert_view_matches(ex)


def test_find_disc_without_a_disc_keeps_the_centre():
    noise = np.random.default_rng(0).random((4, 4, 16, 16)).astype(np.float32)  # no disc
    ex = Explorer(noise, inner=2.0, outer=5.0)
    ex.view.center = [7.0, 9.0]
    ex.find_disc.click()
    assert "dpc-status-warning" in ex.status.value and "no bright-field disc" in ex.status.value
    assert ex.dpc.origin == (7.0, 9.0)


def test_centre_burst_computes_only_the_latest(explorer, monkeypatch):
    ex = explorer
    calls = count_runs(ex, monkeypatch)
    with ex.hold():
        for qx in (40.0, 41.0, 42.0, 43.0):
            ex.view.center = [qx, 47.0]
    assert len(calls) == 1 and ex.dpc.origin == (43.0, 47.0)


# ---------------------------------------------------------------------- export
def test_export_writes_rereadable_files(explorer, tmp_path):
    ex = explorer
    ex.segments.value = 6
    written = ex.save(tmp_path / "out", prefix="run1")
    names = {p.name for p in written}
    assert {"run1_phase.npy", "run1.h5", "run1_phase.png", "run1_com_color.png"} <= names
    assert all(p.exists() for p in written)
    r = ex.results
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "run1_phase.npy"), r.phase)
    with h5py.File(tmp_path / "out" / "run1.h5", "r") as f:
        np.testing.assert_array_equal(f["segment_images"][()], r.segment_images)
        np.testing.assert_array_equal(f["com_rotated"][()], r.com_rotated)
        assert json.loads(f.attrs["settings"])["segments"] == 6
        assert f.attrs["code"] == ex.code()
    phase_png = read_png((tmp_path / "out" / "run1_phase.png").read_bytes())
    np.testing.assert_array_equal(phase_png, render.sequential(r.phase, *ex.view.phase_range))
    segments_png = read_png((tmp_path / "out" / "run1_segments.png").read_bytes())
    assert segments_png.shape == (2 * 32 + 2, 3 * 32 + 4, 4)  # 6 images in a 3-column grid
    with pytest.raises(ValueError, match=r"unknown export format\(s\) \['tif'\]"):
        ex.save(tmp_path, formats=("tif",))


def test_export_button_reports_in_status(explorer, tmp_path):
    ex = explorer
    ex._export_dir.value = str(tmp_path / "button")
    ex._guarded("save", ex._save_clicked, ex._export_dir.value, "x")
    assert "saved 12 files" in ex.status.value
    ex._guarded("save", ex._save_clicked, str(tmp_path), "a/b")
    assert "save failed: ValueError: prefix must be a non-empty file name part" in ex.status.value


def test_png_encoder_rejects_bad_input():
    with pytest.raises(ValueError, match=r"uint8 of shape \(rows, cols, 4\), got float64"):
        png_bytes(np.zeros((2, 2, 4)))


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"segments": 8, "rotation": 22.5, "method": "iterative", "padding": 1},
        {
            "com_source": "pixelated",
            "com_mask": True,
            "com_range": (4.0, 30.0),
            "descan": None,
            "auto_rotation": False,
            "scan_rotation": 12.5,
            "transpose": True,
            "low_pass": 1.0,
            "high_pass": 0.02,
        },
    ],
)
def test_copy_as_code_reproduces_the_arrays(explorer, values):
    ex = explorer
    with ex.hold():
        for name, value in values.items():
            getattr(ex, name).value = value
    code = ex.code()
    assert ex.code_text.value == code
    namespace = {"cube": ex.dpc.cube}
    exec(code, namespace)
    result = namespace["result"]
    for name in ("segment_images", "com", "com_rotated", "phase"):
        np.testing.assert_array_equal(getattr(result, name), getattr(ex.results, name))
    assert result.angle_deg == ex.results.angle_deg


# ---------------------------------------------------------------------- plots
def test_plots_follow_the_results(explorer):
    ex = explorer
    ex.inner.value, ex.outer.value = 8.0, 24.0
    marks = ex.plots.radius_marks.x
    np.testing.assert_array_equal(marks, [[8.0, 8.0], [24.0, 24.0]])
    radii, _ = ex.dpc.radial_profile()
    np.testing.assert_array_equal(ex.plots.profile_line.x, radii)
    rotation = ex.results.rotation
    np.testing.assert_allclose(
        ex.plots.curl_lines.y[1], rotation.score_curve(np.arange(-180, 181), True)
    )
    assert ex.plots.angle_mark.x[0] == ex.results.angle_deg
    counts = ex.plots.hist_line.y[1:-1:2]  # the step outline's heights, one per bin
    np.testing.assert_array_equal(ex.plots.hist_line.y[2:-1:2], counts)
    assert counts.sum() == 32 * 32
    for name in ("profile", "curl", "hist"):
        figure = {"hist": ex.plots.histogram}.get(name) or getattr(ex.plots, name)
        assert f"dpc-plot-{name}" in figure._dom_classes


# ---------------------------------------------------------------------- colour maps (render)
def test_render_matches_documented_formulas():
    np.testing.assert_array_equal(
        render.gray(np.array([[-1.0, 0.0, 0.5, 1.0, np.nan, 2.0]]), 0.0, 1.0)[0, :, 0],
        [0, 0, 128, 255, 0, 255],
    )
    assert render.gray(np.ones((1, 1)), 1.0, 1.0)[0, 0, 0] == 128  # flat image: mid-grey
    assert render.log_gray(np.array([[0.0, 1000.0]]), 1000.0)[0, :, 0].tolist() == [0, 255]
    # hue: red along +x (axis 0, drawn downwards), value = magnitude / vmax
    com = np.array([[[1.0, 0.0, -1.0, 0.5]], [[0.0, 1.0, 0.0, 0.0]]])
    rgb = render.complex_hsv(com, 1.0)[0, :, :3]
    assert rgb[0].tolist() == [255, 0, 0]
    assert rgb[1].tolist() == [128, 255, 0]  # +y: hue 1/4
    assert rgb[2].tolist() == [0, 255, 255]  # -x: cyan
    assert rgb[3].tolist() == [128, 0, 0]
    wheel = render.wheel(9)
    assert wheel[8, 4, :3].tolist() == [227, 0, 0]  # below the centre: +x: red, |v| = 8/9
    assert wheel[0, 0, 3] == 0  # corner outside the disc
    labels = np.array([[-1, 0, 17]])
    rgba = render.segment_rgba(labels)
    assert rgba[0, 0].tolist() == [0, 0, 0, 0]
    assert rgba[0, 2].tolist() == [*render.PALETTE[1], 255]
    assert render.fnv1a(b"") == "811c9dc5" and render.fnv1a(b"a") == "e40c292c"


def reference_data() -> dict:
    """Python results that the JS unit tests compare against (js/tests/fixtures)."""
    geometries = [
        {
            "rows": 24,
            "cols": 20,
            "center": [12.0, 10.0],
            "sampling": 1.0,
            "inner": 3.0,
            "outer": 9.0,
            "segments": 4,
            "rotationDeg": 0.0,
        },
        {
            "rows": 24,
            "cols": 24,
            "center": [11.3, 12.7],
            "sampling": 1.0595,
            "inner": 2.5,
            "outer": 10.0,
            "segments": 7,
            "rotationDeg": 60.0,
        },
        {
            "rows": 16,
            "cols": 16,
            "center": [8.0, 8.0],
            "sampling": 1.0,
            "inner": 0.0,
            "outer": 8.0,
            "segments": 1,
            "rotationDeg": 0.0,
        },
        {
            "rows": 20,
            "cols": 20,
            "center": [10.0, 10.0],
            "sampling": 0.5,
            "inner": 1.0,
            "outer": 5.0,
            "segments": 16,
            "rotationDeg": -30.0,
        },
        {
            "rows": 18,
            "cols": 18,
            "center": [9.0, 9.0],
            "sampling": 1.0,
            "inner": 2.0,
            "outer": 9.0,
            "segments": 8,
            "rotationDeg": 45.0,
        },
    ]
    for g in geometries:
        geometry = pixel_geometry((g["rows"], g["cols"]), tuple(g["center"]), g["sampling"])
        labels = segment_labels(
            geometry.radius,
            geometry.angle,
            g["inner"],
            g["outer"],
            g["segments"],
            math.radians(g["rotationDeg"]),
        )
        g["labels"] = labels.ravel().tolist()
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(size=40), [0.0, 1.0, -3.0, 2.5]]).astype(np.float32)
    intensities = (rng.random(40) * 1000).astype(np.float32)
    com = rng.normal(size=(2, 1, 40)).astype(np.float32)
    return {
        "gray": {
            "values": values.tolist(),
            "vmin": -1.2,
            "vmax": 1.7,
            "expected": render.gray(values[None], -1.2, 1.7)[0, :, 0].tolist(),
        },
        "log": {
            "values": intensities.tolist(),
            "vmax": 900.0,
            "expected": render.log_gray(intensities[None], 900.0)[0, :, 0].tolist(),
        },
        "complex": {
            "com": com.ravel().tolist(),
            "vmax": 1.5,
            "expected": render.complex_hsv(com, 1.5)[0, :, :3].ravel().tolist(),
        },
        "wheel": {"size": 15, "expected": render.wheel(15).ravel().tolist()},
        "maps": {
            "values": values.tolist(),
            "vmin": -1.2,
            "vmax": 1.7,
            "sequential_lut": render.SEQUENTIAL_LUT.ravel().tolist(),
            "diverging_lut": render.DIVERGING_LUT.ravel().tolist(),
            "sequential": render.sequential(values[None], -1.2, 1.7)[0, :, :3].ravel().tolist(),
            "diverging": render.diverging(values[None], -1.2, 1.7)[0, :, :3].ravel().tolist(),
            "bar": render.bar(37, render.DIVERGING_LUT)[0, :, :3].ravel().tolist(),
        },
        "tiles": [
            [n, size, *render.tile_layout(n, size)]
            for n in range(1, 17)
            for size in (120, 220, 301)
        ],
        "geometries": geometries,
        "codes": codes_reference(rng),
    }


def codes_reference(rng: np.random.Generator) -> dict:
    """Encoded images (three of 12 values: noise with NaN and infinities, a ramp, a constant)
    and the float32 values :func:`encoding.decode` gives (non-finite ones as strings)."""
    stack = np.stack(
        [rng.normal(size=12) * 1e3, np.linspace(-1.0, 2.0, 12), np.full(12, 7.25)]
    ).astype(np.float32)
    stack[0, [1, 4, 7]] = [np.nan, np.inf, -np.inf]
    data, maps = encoding.encode(stack, np.inf)
    decoded = encoding.decode(data, maps, stack.shape).ravel()
    return {
        "codes": np.frombuffer(data, dtype="<u2").tolist(),
        "maps": maps,
        "expected": [float(v) if np.isfinite(v) else str(v) for v in decoded],
    }


def test_js_reference_fixture_is_current():
    """The JS tests compare with this fixture; regenerate with DPC_WRITE_JS_FIXTURE=1."""
    data = reference_data()
    if os.environ.get("DPC_WRITE_JS_FIXTURE") == "1":
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    assert json.loads(FIXTURE.read_text()) == data


def test_view_geometry_uses_detector_formula(explorer):
    """The view gets exactly the numbers that define SegmentedDetector's masks."""
    ex = explorer
    ex.rotation.value = 15.0
    detector = SegmentedDetector(
        ex.view.inner,
        ex.view.outer,
        ex.view.segments,
        rotation=ex.view.rotation,
        center=tuple(ex.view.center),
    )
    cube = ex.dpc.cube
    np.testing.assert_array_equal(detector.labels(cube), ex.results.detector.labels(cube))
    assert ex.view.detector_sampling == cube.detector_sampling
    assert Settings(inner=1.0, outer=2.0).run_kwargs()["rotation"] is None


def test_static_bundle_is_shipped():
    """The anywidget ES module and CSS built from js/src are in the package (no node needed)."""
    from dpc_widgets.widgets.views import STATIC, ExplorerView

    bundle = (STATIC / "explorer.js").read_text()
    for module in ("colormaps", "geometry", "flow", "detector", "panels", "view", "explorer"):
        assert f"// src/{module}.js" in bundle
    assert "export {" in bundle and "explorer_default as default" in bundle
    assert ".dpc-status-error" in (STATIC / "explorer.css").read_text()
    assert "RequestGate" in str(ExplorerView._esm)


@pytest.mark.parametrize(
    ("low", "high", "count", "expected"),
    [
        (0.246, 72.5, 5, [0, 20, 40, 60, 80]),
        (-181.0, 181.0, 5, [-200, -100, 0, 100, 200]),
        (0.0, 4.3e-4, 6, [0, 1e-4, 2e-4, 3e-4, 4e-4, 5e-4]),
        (-0.000311, 0.0806, 5, [-0.05, 0, 0.05, 0.1]),
        (0.0, 7.0, 4, [0, 2.5, 5, 7.5]),
        (3.0, 3.0, 5, [3, 4, 5, 6]),
    ],
)
def test_nice_ticks_are_round_and_cover_the_range(low, high, count, expected):
    ticks = nice_ticks(low, high, count)
    np.testing.assert_array_equal(ticks, expected)
    assert len(ticks) <= count and ticks[0] <= low and ticks[-1] >= high


@pytest.mark.parametrize(
    ("low", "high", "count", "match"),
    [(1.0, 0.0, 5, "low=1.0, high=0.0"), (0.0, np.nan, 5, "high=nan"), (0.0, 1.0, 1, "count=1")],
)
def test_nice_ticks_rejects_bad_input(low, high, count, match):
    with pytest.raises(ValueError, match=match):
        nice_ticks(low, high, count)


def test_plot_axes_use_nice_ticks_from_zero(explorer):
    plots = explorer.plots
    for figure in (plots.curl, plots.histogram):
        y = figure.axes[1]
        assert y.scale.min == 0.0 == y.tick_values[0]
        assert y.scale.max == y.tick_values[-1]
    np.testing.assert_array_equal(plots.curl.axes[0].tick_values, [-180, -90, 0, 90, 180])
    assert max(max(curve) for curve in plots.curl_lines.y) <= plots.curl.axes[1].scale.max
    assert plots.hist_line.x.max() <= plots.histogram.axes[0].scale.max
    assert plots.profile.axes[0].tick_values[0] == 0.0
    decades = np.log10(plots.profile.axes[1].tick_values)
    np.testing.assert_allclose(decades, np.arange(-4, 1) + decades[-1])
    assert decades[-1] == math.ceil(math.log10(plots.profile_line.y.max()))
    assert plots.profile_line.y.min() == plots.profile.axes[1].scale.min


# ---------------------------------------------------------------------- lean update
def test_one_update_per_drag_with_automatic_rotation(explorer):
    ex = explorer
    runs = ex._flow.runs
    ex.inner.value = ex.inner.value + 1.0
    # the solved rotation moves the manual controls, which must not cause a second update
    assert ex._flow.runs == runs + 1
    assert_view_matches(ex)
    ex.auto_rotation.value = False
    ex.scan_rotation.value = 33.0  # manual: now an input of the computation
    assert ex.results.angle_deg == 33.0
    assert_view_matches(ex)


def test_histogram_counts_the_magnitudes(explorer):
    from dpc_widgets.widgets.plots import HIST_BINS, magnitude_histogram

    com = explorer.results.com
    magnitude = np.hypot(com[0], com[1])
    counts, edges = magnitude_histogram(com, HIST_BINS)
    expected, expected_edges = np.histogram(magnitude, bins=HIST_BINS)
    np.testing.assert_allclose(edges, expected_edges, rtol=1e-12)
    assert counts.sum() == magnitude.size
    assert np.abs(counts - expected).sum() <= 2  # only values within rounding of an edge move
    shared = magnitude_histogram(com, HIST_BINS, magnitude)
    np.testing.assert_array_equal(shared[0], counts)
    with_nan = np.array(com)
    with_nan[:, 0, 0] = np.nan
    assert magnitude_histogram(with_nan, HIST_BINS)[0].sum() == magnitude.size - 1
    assert magnitude_histogram(np.ones((2, 3, 3)), 4)[0].sum() == 9


def test_radius_update_is_one_message_of_16_bit_codes(explorer):
    """A radius change sends (N + 3) images of 2 bytes per scan pixel, plus small JSON."""
    ex = explorer
    sent = record_messages(ex.view)
    ex.inner.value = ex.inner.value + 1.0
    assert len(state_updates(sent)) == 1
    ((state, buffers),) = [
        (msg["state"], bufs) for msg, bufs in sent if msg.get("method") == "update"
    ]
    rows, cols = ex.dpc.cube.scan_shape
    images = ex.segments.value + 3  # segments, CoM x and y, phase
    assert sum(len(b) for b in buffers) == 2 * images * rows * cols
    assert len(state["segment_images_map"]) == ex.segments.value and len(state["com_map"]) == 2
    text = json.dumps(
        {k: v for k, v in state.items() if k not in ("segment_images", "com", "phase")}
    )
    assert len(text) < 1500  # maps, ranges, geometry: no image data in the JSON


def test_set_image_resends_only_changed_arrays():
    from dpc_widgets.widgets.views import ExplorerView

    view = ExplorerView()
    image = np.arange(64 * 64, dtype=np.float64).reshape(1, 64, 64)
    assert view.set_image("phase", image)
    assert not view.set_image("phase", image.copy())  # equal values: not resent
    changed = image.copy()
    changed[0, 3, 5] += 1.0  # off the probed elements: found by the full comparison
    assert view.set_image("phase", changed)
    assert view.phase == f32(changed)  # resolution 0 (default): float32, exact
    assert view.set_image("phase", changed[:, :32])  # other shape


def test_unchanged_images_keep_their_contrast_limits(explorer, monkeypatch):
    ex = explorer
    ex.com_source.value = "pixelated"
    assert_view_matches(ex)
    limited = []
    nested = []

    def counting(name):
        real = getattr(render, name)

        def limits(image, clip, *extremes):
            if not nested:  # clip_ranges may call clip_range per image: count the outer call
                limited.append(np.shape(image))
            nested.append(name)
            try:
                return real(image, clip, *extremes)
            finally:
                nested.pop()

        return limits

    for name in ("clip_range", "clip_ranges"):
        monkeypatch.setattr(render, name, counting(name))
    ex.inner.value = ex.inner.value + 1.0  # new segment images; the pixelated CoM is unchanged
    assert limited == [ex.results.segment_images.shape]
    assert_view_matches(ex)
    limited.clear()
    ex.clip.value = 2.0  # a new clip: every image gets new limits
    assert len(limited) == 3
    assert_view_matches(ex)


def test_status_names_the_segment_areas_and_warns_when_they_differ(sim_cube):
    """Area weights at an off-grid centre: equal areas, said as information; binary masks
    there: a warning naming the spread (the segmented CoM's offset)."""
    off_grid = sim_cube.with_origin((48.0036, 48.0010))
    ex = Explorer(off_grid, inner=10.0, outer=25.0)
    areas = ex.results.segment_areas
    assert "segment areas " in ex.status.value and "area-weighted" in ex.status.value
    assert f"{areas.mean():.1f} px each" in ex.status.value
    assert "dpc-status-ok" in ex.status.value
    binary = SegmentedDetector(10.0, 25.0, 4, 0.0, weighting="binary").areas(off_grid)
    assert (binary.max() - binary.min()) / binary.mean() > 0.01
    text, unequal = render_area_text(binary, "binary")
    assert unequal and text.startswith("segment areas differ by")
    assert f"{binary.min():.1f}-{binary.max():.1f} px, binary masks" in text
    assert not render_area_text(areas, "area")[1]
    # a large spread reads as a whole percentage, not in exponent notation
    wide, _ = render_area_text(np.array([10.0, 40.0, 10.0, 40.0]), "binary")
    assert wide.startswith("segment areas differ by 120 % (10.0-40.0 px")
    ex.com_source.value = "pixelated"
    assert "segment areas" not in ex.status.value


def test_the_status_line_says_sub_millisecond_updates_with_a_decimal():
    from dpc_widgets.widgets.explorer import _milliseconds

    assert _milliseconds(0.00021) == "0.2 ms"  # a memoised answer: not "0 ms"
    assert _milliseconds(0.0049) == "4.9 ms"
    assert _milliseconds(0.0123) == "12 ms"
