"""A scan still being recorded, below any receiver: the feed, the growing cache, DPC on the
rows received, the scan's pace and its faults (``dpc_widgets.live`` with ``ReplaySource`` or a
``LiveScan`` written by the test)."""

from __future__ import annotations

import math
import shutil
import threading
import warnings

import numpy as np
import pytest
from _numba_paths import use_numba  # noqa: F401  (fixture)

import dpc_widgets as dw
from dpc_widgets import DPC, Datacube, SegmentedDetector
from dpc_widgets.core.engine import PolarCache
from dpc_widgets.core.growing import GrowingCache
from dpc_widgets.io.feed import RowFeed
from dpc_widgets.live import LiveError, LiveScan, LiveSpaceError, LiveTimeoutError
from dpc_widgets.live import spool as spool_module
from dpc_widgets.live.source import LiveSource

WAIT = 20.0  # seconds any wait in these tests may take at most (a bound, never asserted)


@pytest.fixture(scope="module")
def sim():
    """A simulated scan with a known rotation, counts as uint16, disc off the pixel grid."""
    return dw.simulate(
        (16, 12), (48, 48), convergence=8, dose=3000, seed=3, dtype=np.uint16, rotation=20
    )


def detector() -> SegmentedDetector:
    return SegmentedDetector(1.5, 6.5, 4, 10.0)


def written_scan(cube: Datacube, tmp_path, origin=None) -> LiveScan:
    """An empty LiveScan with ``cube``'s shape and calibration (the test writes its frames)."""
    return LiveScan(
        cube.scan_shape,
        cube.detector_shape,
        cube.dtype,
        calibration=cube.calibration,
        origin=cube.origin if origin is None else origin,
        spool_dir=tmp_path,
    )


def write_rows(scan: LiveScan, cube: Datacube, r0: int, r1: int) -> None:
    """Write scan rows ``r0:r1`` of ``cube`` and wait until they are processed."""
    ry = cube.scan_shape[1]
    frames = np.asarray(cube.data).reshape(-1, *cube.detector_shape)
    scan.writable(r0 * ry, (r1 - r0) * ry)[...] = frames[r0 * ry : r1 * ry]
    scan.commit(r1 * ry)
    assert scan.wait_for_rows(r1, WAIT)


def assert_same_result(live, offline) -> None:
    for field in ("segment_images", "com", "com_rotated", "phase"):
        assert np.array_equal(getattr(live, field), getattr(offline, field)), field
    assert live.angle_deg == offline.angle_deg
    assert live.transpose == offline.transpose


def test_replayed_scan_ends_bit_identical_to_the_offline_results(sim):
    cube = sim.cube
    with dw.live.replay(cube, frames_per_second=3000, frames_per_write=7) as source:
        live = DPC(source)
        while not source.scan.complete:  # results during the scan, on the rows received
            assert live.run(detector()).rows <= source.scan.rows_ready
            source.scan.wait_for_rows(source.scan.rows_ready + 1, WAIT)
        assert source.wait(WAIT)
        offline = DPC(cube.with_origin(live.origin))
        for com_source in ("segmented", "monolithic", "pixelated"):
            result = live.run(detector(), com_source=com_source)
            assert result.rows == cube.scan_shape[0]
            assert_same_result(result, offline.run(detector(), com_source=com_source))
        assert np.array_equal(live.com(inner=2.0, outer=9.0), offline.com(inner=2.0, outer=9.0))
        assert np.array_equal(live.mean_pattern(), offline.mean_pattern())
    assert source.scan.reason is None
    # the simulator's rotation, solved on the live data
    assert abs(result.rotation.angle_deg - 20.0) < 3 * result.rotation.uncertainty_deg


def test_results_mid_scan_are_those_of_the_rows_received(sim, tmp_path):
    cube = sim.cube
    scan = written_scan(cube, tmp_path)
    write_rows(scan, cube, 0, 5)
    live = DPC(scan.cube)
    early = live.run(detector())
    write_rows(scan, cube, 5, 9)
    result = live.run(detector())  # new rows: the memo is not reused
    assert (early.rows, result.rows) == (5, 9)
    part = Datacube(np.asarray(cube.data)[:9], origin=cube.origin, **cube.calibration)
    offline = DPC(part).run(detector())
    for field in ("segment_images", "com", "com_rotated", "phase"):
        shown = getattr(result, field)
        assert np.array_equal(shown[..., :9, :], getattr(offline, field)), field
        assert np.isnan(shown[..., 9:, :]).all(), field
    assert result.angle_deg == offline.angle_deg
    scan.end("stopped by the test")
    assert scan.wait_for_rows(cube.scan_shape[0], WAIT)  # the feed finishes
    assert scan.complete and "stopped by the test" in scan.feed.reason
    assert scan.cube.feed.rows_ready == 9  # the rows received stay usable
    assert live.run(detector()).rows == 9


def test_a_drag_between_arrivals_is_incremental_and_exact(sim, tmp_path, use_numba):  # noqa: F811
    cube = sim.cube
    scan = written_scan(cube, tmp_path)
    write_rows(scan, cube, 0, 4)
    cache = GrowingCache(scan.cube, cube.origin, cache_radius=12.0, use_numba=use_numba)
    first = cache.segment_sums(1.5, 6.5, 4, 0.3, 8)
    write_rows(scan, cube, 4, 11)  # arrive after the sums were computed: extended
    assert cache.rows_filled == 11
    moved = cache.segment_sums(1.6, 6.5, 4, 0.3, 8)
    assert cache.last_update == "incremental"
    annulus = cache.annulus_moments(2.0, 7.0)
    write_rows(scan, cube, 11, 16)
    full = PolarCache(cube, cube.origin, cache_radius=12.0, use_numba=False)
    assert np.array_equal(
        cache.segment_sums(1.6, 6.5, 4, 0.3, 8), full.segment_sums(1.6, 6.5, 4, 0.3, 8)
    )
    assert np.array_equal(cache.annulus_moments(2.0, 7.0), full.annulus_moments(2.0, 7.0))
    assert np.array_equal(cache.moments, full.moments)
    n = 11 * cube.scan_shape[1]
    assert np.array_equal(moved[:, :n], full.segment_sums(1.6, 6.5, 4, 0.3, 8)[:, :n])
    assert np.array_equal(annulus[:, :n], full.annulus_moments(2.0, 7.0)[:, :n])
    assert not first[:, 4 * cube.scan_shape[1] :].any()  # nothing before the rows arrived


def test_float_data_with_nan_pixels_ends_bit_identical(tmp_path):
    rng = np.random.default_rng(5)
    data = (rng.random((9, 8, 20, 20)) * 50).astype(np.float32)
    data[:, :, 7:13, 7:13] += 400
    data[3, 2, 0, 0] = np.nan
    cube = Datacube(data, origin=(9.6, 10.2))
    scan = written_scan(cube, tmp_path)
    write_rows(scan, cube, 0, 1)
    live = DPC(scan.cube)
    for r0, r1 in ((1, 2), (2, 6), (6, 9)):
        write_rows(scan, cube, r0, r1)
        live.run(SegmentedDetector(2, 6, 4, 0))
    scan.end()
    assert scan.cube.feed.wait(None, WAIT)
    offline = DPC(cube)
    for com_source in ("segmented", "pixelated"):
        assert_same_result(
            live.run(SegmentedDetector(2, 6, 4, 0), com_source=com_source),
            offline.run(SegmentedDetector(2, 6, 4, 0), com_source=com_source),
        )
    assert np.array_equal(live.mean_pattern(), offline.mean_pattern())
    assert live.nonfinite_pixels == offline.nonfinite_pixels == 1


def test_origin_disc_is_found_on_the_first_rows(sim, tmp_path):
    cube = sim.cube
    scan = written_scan(cube, tmp_path, origin="disc")
    write_rows(scan, cube, 0, 3)
    disc = dw.find_disc(np.asarray(cube.data)[:1].mean(axis=(0, 1)))
    assert scan.cube.origin == pytest.approx(disc.center)
    assert scan.origin_note is None


def test_a_scan_that_ends_early_keeps_its_rows_and_says_so(sim):
    cube = sim.cube
    ry = cube.scan_shape[1]
    with dw.live.replay(cube, stop_after=6 * ry + 5) as source:
        assert source.wait(WAIT)
        scan = source.scan
        assert scan.rows_ready == 6
        assert f"{6 * ry + 5} of {cube.scan_shape[0] * ry} frames" in scan.reason
        assert "scan ended early: 6/16 rows (the scan ended after" in source.status
        result = DPC(source).run(detector())
    assert result.rows == 6 and np.isfinite(result.phase[:6]).all()


class _Failing(LiveSource):
    """Two rows, then the connection breaks."""

    name = "test detector"

    def __init__(self, cube: Datacube, **options) -> None:
        super().__init__(scan_shape=cube.scan_shape, **options)
        self.data = cube

    def _receive(self) -> None:
        cube = self.data
        scan = self._begin_scan(cube.detector_shape, cube.dtype)
        ry = cube.scan_shape[1]
        frames = np.asarray(cube.data).reshape(-1, *cube.detector_shape)
        scan.writable(0, 2 * ry)[...] = frames[: 2 * ry]
        scan.commit(2 * ry)
        raise dw.live.LiveConnectionError("test detector at 127.0.0.1:1 disconnected")


def test_a_receiver_fault_ends_the_scan_with_its_reason_and_keeps_the_rows(sim, tmp_path):
    source = _Failing(sim.cube, origin=sim.cube.origin, spool_dir=tmp_path).start()
    try:
        assert source.wait(WAIT)
        assert isinstance(source.error, dw.live.LiveConnectionError)
        assert "disconnected" in source.scan.reason
        assert source.scan.rows_ready == 2
        assert DPC(source).run(detector()).rows == 2
    finally:
        source.close()


class _Silent(LiveSource):
    """Never arms: waits until closed."""

    name = "silent detector"

    def _receive(self) -> None:
        self._stop.wait(WAIT)


def test_waiting_for_a_scan_times_out_and_close_returns_promptly():
    source = _Silent(scan_shape=(4, 4)).start()
    try:
        with pytest.raises(LiveTimeoutError, match="silent detector: no scan rows arrived"):
            source.wait_for_cube(timeout=0.2)
        assert source.wait(timeout=0.1) is False
        assert "waiting for an acquisition" in source.status
    finally:
        source.close()
    assert not source.running
    with pytest.raises(LiveError, match="stopped before a scan arrived"):
        source.wait_for_cube(timeout=1.0)


def test_new_acquisitions_make_new_cubes_and_old_spools_are_removed(sim, tmp_path):
    with dw.live.replay(sim.cube, repeat=4, keep_scans=1, spool_dir=tmp_path) as source:
        source._thread.join(WAIT)
        assert all(scan.wait_for_rows(16, WAIT) for scan in source.scans)  # cubes made
        assert len(source.scans) == 2  # the current one and one finished
        cubes = {id(scan.cube) for scan in source.scans}
        assert len(cubes) == 2
        assert len(list(tmp_path.glob("dpc-live-*/frames.raw"))) == 4  # spool_dir: all kept


def test_temporary_spool_files_go_with_their_scans():
    import gc

    spool = spool_module.Spool(4, (8, 8), np.uint16)
    spool.writable(0, 4)[...] = 7
    folder = spool.folder
    assert (folder / "frames.raw").stat().st_size == 4 * 8 * 8 * 2
    del spool
    gc.collect()
    assert not folder.exists()


def test_a_scan_larger_than_the_free_disk_is_refused_naming_both_sizes(monkeypatch, tmp_path):
    usage = shutil.disk_usage(tmp_path)._replace(free=2**31)
    monkeypatch.setattr(spool_module.shutil, "disk_usage", lambda path: usage)
    with pytest.raises(LiveSpaceError, match=r"need 2\.00 GiB, but .* has 2\.00 GiB free"):
        LiveScan((1024, 1024), (32, 32), np.uint16, spool_dir=tmp_path)


@pytest.mark.parametrize(
    ("shape", "error"),
    [((4,), TypeError), ((4, 0), ValueError), ((4.0, 3), TypeError), ((True, 3), TypeError)],
)
def test_bad_scan_shapes_are_refused_by_name(shape, error):
    with pytest.raises(error, match="scan_shape"):
        _Silent(scan_shape=shape)


def test_unknown_keywords_and_detectors_are_refused():
    with pytest.raises(TypeError, match="unknown keyword"):
        _Silent(scan_shape=(2, 2), energy_kev=200)
    with pytest.raises(ValueError, match="detector must be one of"):
        dw.live.connect("medipix")


def test_feed_checks_row_order_and_hands_each_row_once():
    feed = RowFeed(4)
    seen: list[tuple[int, int]] = []

    class Taker:
        def take(self, r0, r1, block):
            seen.append((r0, r1))

    taker = Taker()
    feed.publish(0, 1, None)
    assert feed.subscribe(taker.take, load=lambda ready: seen.append((0, ready))) == 1
    feed.publish(1, 3, None)
    with pytest.raises(ValueError, match="rows 2:4 do not follow the 3 rows ready"):
        feed.publish(2, 4, None)
    feed.unsubscribe(taker)
    feed.publish(3, 4, None)
    assert seen == [(0, 1), (1, 3)]
    feed.finish()
    assert feed.complete and feed.reason is None


def test_a_dask_client_is_refused_for_a_scan_being_recorded(sim, tmp_path):
    scan = written_scan(sim.cube, tmp_path)
    write_rows(scan, sim.cube, 0, 1)
    with pytest.raises(ValueError, match="scan still being recorded"):
        DPC(scan.cube, client=object())


def test_rows_arrive_while_results_are_computed(sim):
    """Results computed in one thread while rows arrive in another never mix rows: every
    result's rows are finite and the rows after them NaN."""
    cube = sim.cube
    errors: list[BaseException] = []
    with dw.live.replay(cube, frames_per_second=2000, frames_per_write=5) as source:
        live = DPC(source)

        def drag() -> None:
            try:
                for step in range(40):
                    result = live.run(SegmentedDetector(1.5 + 0.05 * (step % 7), 6.5, 4, 0))
                    rows = result.rows
                    assert np.isfinite(result.segment_images[:, :rows]).all()
                    assert np.isnan(result.segment_images[:, rows:]).all()
            except BaseException as err:  # reported below
                errors.append(err)

        worker = threading.Thread(target=drag)
        worker.start()
        worker.join(WAIT * 3)
        assert source.wait(WAIT)
    assert not errors, errors
    assert not math.isnan(live.run(detector()).angle_deg)


def test_a_live_cache_over_the_budget_shrinks_to_fit_or_says_what_it_needs(sim, tmp_path):
    cube = sim.cube
    scan = written_scan(cube, tmp_path)
    write_rows(scan, cube, 0, 16)
    per_pixel = 16 * 12 * 2  # bytes of one detector pixel over the scan (uint16)
    live = DPC(scan.cube, memory_budget=400 * per_pixel, cache_radius=math.inf)
    result = live.run(SegmentedDetector(1.0, 4.0, 4, 0))  # the reach fits in 400 pixels
    assert live.cached_radius < 48 and np.isfinite(result.phase).all()
    with pytest.raises(MemoryError, match="scan being recorded needs .* to reach"):
        live.run(SegmentedDetector(1.0, 14.0, 4, 0))


def test_no_disc_on_the_first_rows_falls_back_without_a_warning_from_the_thread(tmp_path):
    data = np.zeros((4, 3, 16, 16), dtype=np.uint16)  # dark first rows: no disc to find
    cube = Datacube(data)
    scan = written_scan(cube, tmp_path, origin="disc")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the processor thread must warn nothing
        write_rows(scan, cube, 0, 2)
    assert scan.cube.origin == (8.0, 8.0)  # the geometric centre
    assert scan.cube.disc is not None and not scan.cube.disc.found
    assert scan.origin_note and scan.origin_note == scan.cube.disc.message
