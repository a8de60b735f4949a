"""The explorer during an acquisition (``Explorer(source)``), without a kernel or a browser.

The detector is a test double: :class:`StepSource` writes scan rows only when the test says so
(deterministic), and :func:`dpc_widgets.live.replay` replays a cube at a pace. Without a
running event loop the explorer looks at the source when ``explorer.wait`` or
``explorer._live.poll`` is called (in a kernel a timer of the kernel's loop does it).
"""

from __future__ import annotations

import io
import json
import logging
import threading

import h5py
import numpy as np
import pytest

import dpc_widgets as dw
from dpc_widgets import Datacube
from dpc_widgets.live import LiveConnectionError, LiveSource
from dpc_widgets.widgets import Explorer, encoding, render, snapshot
from dpc_widgets.widgets.live_follow import LiveFollow

TIMEOUT = 10.0  # seconds: every wait is bounded (never reached when things work)


@pytest.fixture(scope="module")
def counts() -> np.ndarray:
    """A uint16 scan (16 x 12 positions of 48 x 48 pixels) with no calibration: integer sums
    are exact, so live and offline results are equal bit for bit."""
    sim = dw.simulate((16, 12), (48, 48), convergence=8.0, seed=1)
    return np.round(np.asarray(sim.cube.data) * 2e6).astype(np.uint16)


class StepSource(LiveSource):
    """Scans written row by row when the test calls :meth:`advance` (no clock involved)."""

    name = "step source"

    def __init__(self, data: np.ndarray, scans: int = 1, fail_after: int | None = None) -> None:
        super().__init__(scan_shape=data.shape[:2])
        self.data = data
        self.scans_to_record = scans
        self.fail_after = fail_after  # rows; then a LiveConnectionError (a disconnect)
        self._go = threading.Semaphore(0)
        self._asked = 0
        self.written = 0

    def advance(self, rows: int = 1) -> None:
        """Let the receiving thread write ``rows`` more rows (or start the next scan)."""
        self._asked += rows
        for _ in range(rows):
            self._go.release()

    def _close_connection(self) -> None:
        self._go.release()

    def _receive(self) -> None:
        rx, ry, qx, qy = self.data.shape
        flat = self.data.reshape(rx * ry, qx, qy)
        for _ in range(self.scans_to_record):
            self._go.acquire()  # one step starts the scan
            if self.stopping:
                return
            scan = self._begin_scan((qx, qy), self.data.dtype)
            for row in range(rx):
                self._go.acquire()  # one step per row
                if self.stopping:
                    return
                if self.fail_after is not None and row == self.fail_after:
                    raise LiveConnectionError("step source at 127.0.0.1:1: disconnected")
                frames = slice(row * ry, (row + 1) * ry)
                scan.writable(row * ry, ry)[...] = flat[frames]
                scan.commit((row + 1) * ry)
                self.written = row + 1
            scan.end()


@pytest.fixture
def stepped(counts):
    source = StepSource(counts).start()
    yield source
    source.close()


def rows_shown(explorer: Explorer, rows: int) -> None:
    """Look at the source until the explorer shows ``rows`` rows (bounded)."""
    explorer.source.wait_for_cube(TIMEOUT)
    scan = explorer.source.scan
    assert scan.wait_for_rows(rows, TIMEOUT)
    explorer._live.poll()
    assert explorer.results.rows == rows


def offline(cube_data, explorer: Explorer, **options) -> Explorer:
    """An explorer on data in hand with the live explorer's settings and centre."""
    cube = Datacube(cube_data, origin=explorer.dpc.origin)
    return Explorer(cube, settings=explorer.settings, **options)


pytestmark = [
    # the small simulated scan's 180-degree choice is weak (said on the rotation line)
    pytest.mark.filterwarnings("ignore:the 180-degree choice:UserWarning"),
    pytest.mark.colab_env,  # also under ipywidgets 7.7.1 (the replay needs no [live] extra)
]


# ---------------------------------------------------------------------- waiting, filling in
def test_the_explorer_appears_at_once_and_says_it_waits_for_the_detector(stepped):
    explorer = Explorer(stepped)  # no scan yet: returns at once, never blocks
    assert not explorer.ready and explorer.cube is None and explorer.results is None
    assert list(explorer.children) == [explorer._live.line]
    assert "waiting for the detector" in explorer._live.line.value
    assert explorer.wait(0.2) is False  # bounded: nothing came
    assert "waiting for a live scan" in explorer._text_line()
    stepped.advance(3)  # the scan starts and 2 rows arrive
    rows_shown(explorer, 2)
    assert explorer.ready and explorer.cube is stepped.cube
    assert explorer.children[0] is explorer._live.line  # the progress line stays on top
    assert len(explorer.children) == 6
    assert "rows 2/16" in explorer._live.line.value


def test_rows_fill_in_and_the_rows_not_received_are_empty(stepped, counts):
    stepped.advance(1 + 5)
    explorer = Explorer(stepped)
    rows_shown(explorer, 5)
    result = explorer.results
    assert np.isfinite(result.phase[:5]).all() and np.isnan(result.phase[5:]).all()
    view = explorer.view
    phase = encoding.decode(view.phase, view.phase_map, (1, 16, 12))[0]
    assert np.isnan(phase[5:]).all() and np.isfinite(phase[:5]).all()  # sent as "no value"
    # contrast limits from the rows received only (NaN never widens or empties them)
    assert view.phase_range == list(render.clip_range(result.phase[:5], explorer.settings.clip))
    segments = encoding.decode(view.segment_images, view.segment_images_map, (4, 16, 12))
    assert np.isnan(segments[:, 5:]).all()
    # the plots and status line take the rows received only (no error, no NaN counted)
    assert "dpc-status-ok" in explorer.status.value
    assert np.asarray(explorer.plots.hist_line.y).sum() == 2 * 5 * 12  # |CoM| of 60 positions
    # drawn transparent, i.e. over the "no data" hatch, never in a colour of a map
    rgba = render.sequential(result.phase, *view.phase_range)
    assert (rgba[5:, :, 3] == 0).all() and (rgba[:5, :, 3] == 255).all()
    assert (render.complex_hsv(result.com_rotated, 1.0)[5:, :, 3] == 0).all()
    from PIL import Image

    png = np.asarray(Image.open(io.BytesIO(explorer.snapshot_png())).convert("RGB"))
    top, left = snapshot.panel_origin("phase")
    scale = snapshot.PANEL / 16  # 16 scan rows fill the panel's height
    below = png[top + int(6 * scale) : top + snapshot.PANEL, left : left + int(12 * scale)]
    hatch = render.no_data(*below.shape[:2])
    assert set(np.unique(below)) <= {0xD0, 0xF4}
    assert (below[..., 0] == 0xD0).mean() == pytest.approx((hatch[..., 0] == 0xD0).mean(), 0.3)
    above = png[top : top + int(4 * scale), left : left + int(12 * scale)]
    assert not set(np.unique(above)) <= {0xD0, 0xF4}  # the rows received are drawn


def test_images_update_several_times_during_a_slow_replay(counts):
    # 16 rows of 12 frames at 400 frames/s: about 0.5 s of scan, one row per write
    source = dw.live.replay(counts, frames_per_second=400, frames_per_write=12)
    try:
        explorer = Explorer(source)
        assert explorer.wait(TIMEOUT)
        shown = explorer._live.shown_rows
        during = sorted({rows for rows in shown if rows < 16})
        assert len(during) >= 3, shown  # several partial states shown before completion
        assert shown == sorted(shown) and shown[-1] == 16
        assert explorer.results.rows == 16
        assert "scan complete: 16/16 rows" in explorer._live.line.value
        assert "solved on 16 of 16 rows" in explorer.controls.rotation_info.value
    finally:
        source.close()


def test_final_state_equals_the_offline_explorer_bit_for_bit(stepped, counts):
    stepped.advance(1 + 3)
    explorer = Explorer(stepped)
    rows_shown(explorer, 3)
    stepped.advance(16)
    assert explorer.wait(TIMEOUT)
    reference = offline(counts, explorer)
    live, done = explorer.results, reference.results
    for name in ("segment_images", "com", "com_rotated", "phase"):
        np.testing.assert_array_equal(getattr(live, name), getattr(done, name), err_msg=name)
    for trait in ("segment_images", "com", "phase", "pattern"):
        assert getattr(explorer.view, trait) == getattr(reference.view, trait), trait
    assert explorer.view.phase_range == reference.view.phase_range
    assert explorer.view.com_vmax == reference.view.com_vmax
    # and DPC on the source agrees with the core on a loaded cube
    det = explorer.settings.detector()
    np.testing.assert_array_equal(
        dw.DPC(stepped).run(det).segment_images, reference.dpc.run(det).segment_images
    )


# ---------------------------------------------------------------------- controls mid-scan
def test_controls_moved_during_the_scan_answer_on_the_rows_received(stepped, counts):
    stepped.advance(1 + 6)
    explorer = Explorer(stepped)
    rows_shown(explorer, 6)
    with explorer.hold():
        explorer.inner.value = 6.0
        explorer.outer.value = 14.0
        explorer.segments.value = 8
        explorer.rotation.value = 20.0
    result = explorer.results
    assert result.rows == 6 and result.segment_images.shape == (8, 16, 12)
    det = explorer.settings.detector()
    assert (det.inner, det.outer, det.segments) == (6.0, 14.0, 8)
    whole = dw.DPC(Datacube(counts, origin=explorer.dpc.origin)).run(det)
    np.testing.assert_array_equal(result.segment_images[:, :6], whole.segment_images[:, :6])
    assert np.isnan(result.segment_images[:, 6:]).all()
    assert "solved on 6 of 16 rows" in explorer.controls.rotation_info.value
    stepped.advance(2)  # more rows: the moved settings stay, the images extend
    rows_shown(explorer, 8)
    np.testing.assert_array_equal(
        explorer.results.segment_images[:, :8], whole.segment_images[:, :8]
    )
    assert explorer.settings.segments == 8


def test_a_new_acquisition_starts_a_new_cube_and_keeps_the_settings(counts, tmp_path):
    source = StepSource(counts, scans=2).start()
    try:
        source.advance(1 + 16)
        explorer = Explorer(source)
        assert explorer.wait(TIMEOUT)
        first = explorer.cube
        moved = (round(first.origin[0] + 0.5, 2), round(first.origin[1] - 0.25, 2))
        with explorer.hold():
            explorer.inner.value, explorer.outer.value = 5.0, 12.0
            explorer.segments.value = 6
            explorer.com_source.value = "pixelated"
            explorer.controls.set_origin(moved)
        settings = explorer.settings
        assert explorer.dpc.origin == moved
        source.advance(1 + 4)  # a second acquisition, 4 rows in
        for _ in range(int(TIMEOUT / 0.01)):
            if len(source.scans) == 2:
                break
            threading.Event().wait(0.01)
        assert source.scans[-1].wait_for_rows(4, TIMEOUT)
        explorer._live.poll()
        assert explorer.cube.feed is source.cube.feed and explorer.cube.feed is not first.feed
        solved = {"scan_rotation", "transpose"}  # automatic: solved anew on the new scan
        kept = {k: v for k, v in vars(explorer.settings).items() if k not in solved}
        assert kept == {k: v for k, v in vars(settings).items() if k not in solved}
        assert explorer.settings.auto_rotation and explorer.dpc.origin == moved
        assert explorer.results.rows == 4
        assert source.scans[0].complete  # the finished one is still there, and saves
        assert first.feed.complete and first.feed.rows_ready == 16
        explorer.save(tmp_path, formats=("h5",), scan=-2)
        expected = dw.DPC(Datacube(counts, origin=moved)).run(
            explorer.settings.detector(), **explorer.settings.run_kwargs()
        )
        with h5py.File(tmp_path / "dpc.h5") as file:
            assert (file.attrs["rows"], file.attrs["complete"]) == (16, True)
            np.testing.assert_array_equal(file["phase"][()], expected.phase)
            np.testing.assert_array_equal(file["segment_images"][()], expected.segment_images)
        with pytest.raises(ValueError, match=r"scan must index source.scans \(2 kept\)"):
            explorer.save(tmp_path, scan=2)
    finally:
        source.close()


# ---------------------------------------------------------------------- faults
def test_a_scan_that_ends_early_keeps_its_rows_and_says_why(counts):
    source = dw.live.replay(counts, stop_after=12 * 7 + 5)  # 7 whole rows and 5 frames
    try:
        explorer = Explorer(source)
        assert explorer.wait(TIMEOUT)
        assert explorer.results.rows == 7
        line = explorer._live.line.value
        assert "scan ended early: 7/16 rows" in line and "ended after 89 of 192 frames" in line
        assert "dpc-status-warning" in line
        assert np.isfinite(explorer.results.phase[:7]).all()
    finally:
        source.close()


def test_the_sources_error_is_shown_and_the_rows_are_kept(counts, caplog):
    source = StepSource(counts, fail_after=4).start()
    try:
        source.advance(1 + 4)
        explorer = Explorer(source)
        source.advance(1)  # the fifth row: the detector disconnects
        assert explorer.wait(TIMEOUT)
        line = explorer._live.line.value
        assert "dpc-status-error" in line and "LiveConnectionError" in line
        assert "127.0.0.1:1: disconnected" in line
        assert explorer.results.rows == 4 and isinstance(source.error, LiveConnectionError)
        explorer.inner.value = 7.0  # the rows received stay usable
        assert explorer.results.rows == 4 and explorer.settings.inner == 7.0
    finally:
        source.close()


def test_nothing_raises_out_of_a_look(stepped, caplog):
    stepped.advance(1 + 2)
    explorer = Explorer(stepped)
    rows_shown(explorer, 2)

    def broken(final):
        raise RuntimeError("a refresh that fails")

    explorer._live._on_rows = broken
    stepped.advance(1)
    assert stepped.scan.wait_for_rows(3, TIMEOUT)
    with caplog.at_level(logging.ERROR, logger="dpc_widgets.widgets"):
        assert explorer._live.poll() is False  # no exception
    assert "RuntimeError: a refresh that fails" in explorer._live.line.value
    assert any("following the live source failed" in r.message for r in caplog.records)


def test_a_source_that_stops_before_any_scan_is_said():
    class Refused(LiveSource):
        name = "refusing source"

        def _receive(self):
            raise LiveConnectionError("refusing source: 127.0.0.1:9 refused the connection")

    source = Refused(scan_shape=(4, 4)).start()
    try:
        explorer = Explorer(source)
        assert explorer.wait(TIMEOUT) is False
        assert "refused the connection" in explorer._live.line.value
        assert "dpc-status-error" in explorer._live.line.value
    finally:
        source.close()


# ---------------------------------------------------------------------- saving
def test_a_finished_live_scan_saves_like_a_file_and_the_cli_agrees(stepped, counts, tmp_path):
    stepped.advance(1 + 16)
    explorer = Explorer(stepped)
    assert explorer.wait(TIMEOUT)
    written = explorer.save(tmp_path / "out", frames=True)
    settings = explorer.save_settings(tmp_path / "out" / "dpc_settings.json")
    frames = tmp_path / "out" / "dpc_frames.npy"
    assert frames in written
    np.testing.assert_array_equal(np.load(frames), counts)
    with h5py.File(tmp_path / "out" / "dpc.h5") as file:
        assert (file.attrs["rows"], file.attrs["scan_rows"], file.attrs["complete"]) == (
            16,
            16,
            True,
        )
        np.testing.assert_array_equal(file["phase"][()], explorer.results.phase)
    json.loads(settings.read_text())  # the settings file is written as for a file
    from dpc_widgets import cli

    qx, qy = explorer.dpc.origin
    args = ["process", str(frames), "--out", str(tmp_path / "cli"), "--settings", str(settings)]
    assert cli.main([*args, "--origin", repr(qx), repr(qy)]) == 0
    with h5py.File(tmp_path / "cli" / "dpc_frames_dpc.h5") as file:
        for name in ("segment_images", "com", "phase"):
            np.testing.assert_array_equal(file[name][()], getattr(explorer.results, name))


def test_a_partial_scan_saves_its_rows(stepped, tmp_path):
    stepped.advance(1 + 5)
    explorer = Explorer(stepped)
    rows_shown(explorer, 5)
    explorer.save(tmp_path, formats=("h5",), frames=True)
    with h5py.File(tmp_path / "dpc.h5") as file:
        assert (file.attrs["rows"], file.attrs["complete"]) == (5, False)
        assert np.isnan(file["phase"][5:]).all()
    assert np.load(tmp_path / "dpc_frames.npy").shape == (5, 12, 48, 48)


def test_frames_are_only_saved_for_a_live_scan(counts, tmp_path):
    explorer = Explorer(Datacube(counts))
    with pytest.raises(ValueError, match="frames=True and scan= save a live scan"):
        explorer.save(tmp_path, frames=True)


def test_a_live_source_takes_no_loading_options(stepped):
    with pytest.raises(TypeError, match=r"\['energy'\] do not apply to a live source"):
        Explorer(stepped, energy=200e3)


def test_settings_are_checked_at_the_door_and_a_failed_set_up_stays_said(stepped, caplog):
    with pytest.raises(ValueError, match="segments"):
        Explorer(stepped, segments=17)  # no rows yet: checked all the same
    explorer = Explorer(stepped, inner=30.0, outer=20.0)  # a pair: needs the detector
    stepped.advance(1 + 2)
    stepped.wait_for_cube(TIMEOUT)
    with caplog.at_level(logging.ERROR, logger="dpc_widgets.widgets"):
        assert explorer.wait(0.5) is False  # never raises
    assert not explorer.ready
    line = explorer._live.line.value
    assert "dpc-status-error" in line and "showing the scan failed: ValueError" in line


def test_the_follower_looks_on_the_running_loop_and_stops_with_the_source(counts):
    import asyncio

    source = dw.live.replay(counts, frames_per_second=2000, frames_per_write=24)
    shown: list[int] = []

    async def scenario():
        follow = LiveFollow(source, lambda cube: None, shown.append, periodic=True)
        follow.start()
        for _ in range(int(TIMEOUT / 0.05)):
            await asyncio.sleep(0.05)
            if not follow.following:
                break
        return follow

    try:
        from _loops import run_in_own_loop

        follow = run_in_own_loop(scenario)
        assert not follow.following  # the scan ended and the source stopped: no more looks
        assert shown[-1] is True and follow.looks >= 2
        assert "scan complete: 16/16 rows" in follow.line.value
    finally:
        source.close()


def test_closing_the_explorer_stops_its_looks(stepped):
    import asyncio

    async def scenario():
        explorer = Explorer(stepped)
        explorer._live._periodic = True  # as in a kernel
        explorer._live.start()
        await asyncio.sleep(0.05)
        following = explorer._live.following
        explorer.close()
        return following, explorer._live.following

    from _loops import run_in_own_loop

    assert run_in_own_loop(scenario) == (True, False)  # waiting for an acquisition, then not
