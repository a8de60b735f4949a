"""The Merlin source (``dw.live.connect("merlin")``) against LiberTEM-live's Merlin simulator and a
tiny data server of our own (``tests/_merlin_wire.py``), all on 127.0.0.1 with bounded waits."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

pytest.importorskip("libertem_qd_mpx")
pytest.importorskip("libertem_live.detectors.merlin.sim")

from _live_checks import assert_explorer_equals_file
from _merlin_wire import (  # noqa: E402
    WAIT_S,
    MerlinSim,
    MpxServer,
    acquisition_header,
    disc_frames,
    frame_records,
    free_port,
    mpx,
    write_mib,
)

import dpc_widgets as dw  # noqa: E402
from dpc_widgets import DPC, SegmentedDetector  # noqa: E402
from dpc_widgets.live import (  # noqa: E402
    FrameFormatError,
    LiveConnectionError,
    LiveError,
)
from dpc_widgets.live.merlin import MerlinSource  # noqa: E402

SCAN = (8, 8)
FRAME = (32, 48)  # (height, width): not square, so a transposed frame would show
TOPS = {"U08": 250, "U16": 4095, "U32": 200_000}
DETECTOR = SegmentedDetector(3.0, 9.0, 4, 15.0)
# small random scans: the rotation's 180-degree choice is weak, and says so
pytestmark = pytest.mark.filterwarnings("ignore:the 180-degree choice")


def frame_bytes(pixel: str = "U16") -> int:
    return 384 + FRAME[0] * FRAME[1] * {"U08": 1, "U16": 2, "U32": 4}[pixel]


_SPOOLS: list = []  # the running test's tmp_path (spool files are kept after close)


@pytest.fixture(autouse=True)
def _spools_in_tmp_path(tmp_path):
    _SPOOLS[:] = [tmp_path]
    yield
    _SPOOLS.clear()


def connect(port: int, pixel: str = "U16", **options) -> MerlinSource:
    """A started source on 127.0.0.1:port, handing frames over in small stacks (3-4), its
    scans spooled under the test's tmp_path."""
    options.setdefault("scan_shape", SCAN)
    options.setdefault("spool_dir", _SPOOLS[0])
    options.setdefault("timeout", 5.0)
    return dw.live.connect(
        "merlin",
        host="127.0.0.1",
        port=port,
        frame_stack_size=4,
        bytes_per_frame=frame_bytes(pixel),
        **options,
    )


def wait_until(condition) -> bool:
    """Poll ``condition`` for up to WAIT_S seconds."""
    pause = threading.Event()
    for _ in range(int(WAIT_S / 0.02)):
        if condition():
            return True
        pause.wait(0.02)
    return condition()


@pytest.fixture
def closing():
    """Sources made in a test, closed (and their threads joined) at its end."""
    sources = []
    yield sources.append
    for source in sources:
        source.close()
        assert not source.running


def assert_same_as_file(cube, mib, detector=DETECTOR):
    """The live cube and DPC on it equal ``dw.load`` of the .mib, bit for bit."""
    offline = dw.load(mib, scan_shape=SCAN, origin=cube.origin)
    assert cube.shape == offline.shape == (*SCAN, *FRAME)
    assert cube.data.dtype == offline.data.dtype
    assert np.array_equal(np.asarray(cube.data), np.asarray(offline.data))
    live, ref = DPC(cube).run(detector), DPC(offline).run(detector)
    assert live.rows == SCAN[0]
    for name in ("segment_images", "com", "com_rotated", "phase"):
        assert np.array_equal(getattr(live, name), getattr(ref, name)), name


@pytest.mark.parametrize("pixel", ["U16", "U08", "U32"])
def test_final_results_equal_offline_load(tmp_path, pixel):
    frames = disc_frames(SCAN, FRAME, TOPS[pixel])
    mib = write_mib(tmp_path / "scan.mib", frames, pixel)
    with MerlinSim(mib, SCAN) as sim, connect(sim.port, pixel) as source:
        sim.trigger()
        assert source.wait(WAIT_S)
        scan = source.scan
        assert scan.reason is None and source.error is None
        assert scan.rows_ready == SCAN[0]
        cube = source.cube
        # raw row 0 is the cube's last Qx row: the .mib reader's up-down flip
        raw = frames.reshape(*SCAN, *FRAME)
        assert np.array_equal(np.asarray(cube.data), raw[:, :, ::-1, :])
        assert_same_as_file(cube, mib)
        assert DPC(source).cube is cube


def test_the_explorer_follows_the_simulator_and_ends_equal_to_the_file(tmp_path):
    from dpc_widgets.widgets import Explorer

    mib = write_mib(tmp_path / "scan.mib", disc_frames(SCAN, FRAME, 4095))
    with MerlinSim(mib, SCAN) as sim, connect(sim.port) as source:
        explorer = Explorer(source)  # returns at once: the detector is not armed yet
        sim.trigger()
        assert explorer.wait(WAIT_S)
        assert_explorer_equals_file(explorer, mib, scan_shape=SCAN)
        explorer.close()


def test_rows_arrive_progressively_and_results_show_the_rows_received(tmp_path):
    mib = write_mib(tmp_path / "scan.mib", disc_frames(SCAN, FRAME, 4095))
    # 8 frames a row: 0.32 s a row
    with MerlinSim(mib, SCAN, dwell_us=40_000) as sim, connect(sim.port) as source:
        sim.trigger()
        cube = source.wait_for_cube(WAIT_S)
        dpc = DPC(source)
        seen, partial = [], None
        while not source.scan.complete:
            seen.append(source.scan.rows_ready)
            result = dpc.run(DETECTOR)
            if partial is None and result.rows < SCAN[0]:
                partial = result
            source.scan.wait_for_rows(seen[-1] + 1, WAIT_S)
        assert source.wait(WAIT_S)
        assert seen == sorted(seen) and len(set(seen)) >= 3 and 0 < seen[0] < SCAN[0]
        assert partial is not None and 0 < partial.rows < SCAN[0]
        assert np.isnan(partial.segment_images[:, partial.rows :]).all()
        assert np.isfinite(partial.segment_images[:, : partial.rows]).all()
        assert np.isnan(partial.phase[partial.rows :]).all()
        assert np.isfinite(partial.phase[: partial.rows]).all()
        assert_same_as_file(cube, mib)  # and the end equals the file


def test_two_acquisitions_on_one_connection_make_two_cubes(tmp_path):
    mib = write_mib(tmp_path / "scan.mib", disc_frames(SCAN, FRAME, 4095))
    with MerlinSim(mib, SCAN) as sim, connect(sim.port, keep_scans=1) as source:
        sim.trigger()
        assert source.wait(WAIT_S)
        first = source.cube
        sim.trigger()
        assert wait_until(lambda: len(source.scans) == 2 and source.scans[1].complete)
        second = source.cube
        assert second is not first and source.scans[0].cube is first
        for cube in (first, second):
            assert_same_as_file(cube, mib)


def test_scan_shape_from_the_acquisition_header_and_a_clear_error_without_one(closing):
    frames = disc_frames((4, 16), FRAME, 4095)
    records = frame_records(frames)
    stated = [mpx(acquisition_header(64, 16, scan=(16, 4)))] + [mpx(r) for r in records]
    with MpxServer(stated) as server:
        source = connect(server.port, scan_shape=None)
        closing(source)
        assert source.wait(WAIT_S)
        assert source.cube.shape == (4, 16, *FRAME)  # ScanY rows of ScanX positions
        assert np.array_equal(np.asarray(source.cube.data).reshape(-1, *FRAME), frames[:, ::-1])
    unstated = [mpx(acquisition_header(64, 16))] + [mpx(r) for r in records]
    with MpxServer(unstated) as server:
        source = connect(server.port, scan_shape=None)
        closing(source)
        with pytest.raises(LiveError, match="scan_shape"):
            source.wait_for_cube(WAIT_S)
        assert isinstance(source.error, LiveError) and "scan_shape" in str(source.error)


def test_connection_refused_is_a_connection_error_naming_host_and_port(closing):
    port = free_port()
    source = connect(port, timeout=0.5)
    closing(source)
    with pytest.raises(LiveError, match=f"127.0.0.1:{port}"):
        source.wait_for_cube(WAIT_S)
    assert isinstance(source.error, LiveConnectionError)
    assert "refused" in str(source.error).lower()
    assert not source.running and "LiveConnectionError" in source.status


def test_simulator_stopped_mid_scan_ends_the_scan_with_a_reason_rows_kept(tmp_path):
    mib = write_mib(tmp_path / "scan.mib", disc_frames(SCAN, FRAME, 4095))
    with MerlinSim(mib, SCAN, dwell_us=40_000) as sim, connect(sim.port) as source:
        sim.trigger()
        source.wait_for_cube(WAIT_S)
        assert source.scan.wait_for_rows(2, WAIT_S)
        sim.stop()
        assert source.wait(WAIT_S)
    scan = source.scan
    assert isinstance(source.error, LiveConnectionError)
    assert (
        scan.reason and "LiveConnectionError" in scan.reason and "broke after frame" in scan.reason
    )
    rows = scan.rows_ready
    assert 2 <= rows < SCAN[0]
    result = DPC(source).run(DETECTOR)
    assert result.rows == rows
    assert np.isfinite(result.segment_images[:, :rows]).all()
    offline = dw.load(mib, scan_shape=SCAN, origin=source.cube.origin)
    kept = np.asarray(source.cube.data)[:rows]
    assert np.array_equal(kept, np.asarray(offline.data)[:rows])


def _broken_stream(frames, at: int, how: str) -> list[bytes]:
    records = [mpx(r) for r in frame_records(frames)]
    bad = bytearray(records[at])
    if how == "garbled":
        bad[15:18] = b"XQ9"  # the frame header's "MQ1"
    else:  # truncated: half the frame, then the next frame's record
        bad = bad[: len(bad) // 2]
    return [
        mpx(acquisition_header(len(frames), SCAN[1])),
        *records[:at],
        bytes(bad),
        *records[at + 1 :],
    ]


@pytest.mark.parametrize("how", ["garbled", "truncated"])
def test_garbled_or_truncated_frame_is_a_frame_format_error_rows_kept(closing, how):
    frames = disc_frames(SCAN, FRAME, 4095)
    with MpxServer(_broken_stream(frames, 36, how)) as server:
        source = connect(server.port)
        closing(source)
        assert source.wait(WAIT_S)
    assert isinstance(source.error, FrameFormatError)
    assert "after frame" in str(source.error) and "FrameFormatError" in source.scan.reason
    rows = source.scan.rows_ready
    assert 3 <= rows <= 36 // SCAN[1]  # a stack not yet handed over may be lost with the error
    kept = np.asarray(source.cube.data).reshape(-1, *FRAME)[: rows * SCAN[1]]
    assert np.array_equal(kept, frames[: rows * SCAN[1], ::-1])


def test_an_acquisition_shorter_than_the_scan_ends_it_early_and_waits_for_the_next(closing):
    frames = disc_frames(SCAN, FRAME, 4095)[:40]
    records = [mpx(acquisition_header(40, SCAN[1]))] + [mpx(r) for r in frame_records(frames)]
    with MpxServer(records) as server:
        source = connect(server.port)
        closing(source)
        assert source.wait(WAIT_S)
        scan = source.scan
        assert scan.reason == "the scan ended after 40 of 64 frames (the acquisition had 40 frames)"
        assert scan.rows_ready == 5 and source.error is None
        assert source.running  # waiting for the next acquisition
        result = DPC(source).run(DETECTOR)
        assert result.rows == 5 and np.isnan(result.phase[5:]).all()


def test_close_while_waiting_for_the_detector_to_arm_stops_the_source(closing):
    with MpxServer([]) as server:  # connects, never arms
        source = connect(server.port)
        assert not source.wait(0.3)
        assert source.running and source.scan is None
        assert source.status.endswith("waiting for an acquisition")
        source.close()
        assert not source.running and source.error is None


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"port": 0}, ValueError, "port must be between 1 and 65535, got 0"),
        ({"port": "6342"}, TypeError, "port must be an integer"),
        ({"timeout": 0}, ValueError, "timeout must be a positive"),
        ({"frame_stack_size": 0}, ValueError, "frame_stack_size must be >= 1"),
        ({"recovery_strategy": "retry"}, ValueError, "recovery_strategy must be one of"),
        ({"host": None}, TypeError, "host must be"),
    ],
)
def test_bad_options_are_typed_errors_naming_them(options, error, words):
    with pytest.raises(error, match=words):
        MerlinSource(**options)


def test_without_the_receiver_connect_names_the_extra(monkeypatch):
    from dpc_widgets._extras import LiveExtraError

    monkeypatch.setitem(sys.modules, "libertem_qd_mpx", None)  # import fails as uninstalled
    with pytest.raises(LiveExtraError, match=r'pip install "dpc-widgets\[live\]"'):
        dw.live.connect("merlin", port=free_port(), scan_shape=SCAN)


def test_a_continuous_acquisition_is_cut_into_scans_of_scan_shape(closing):
    frames = disc_frames((24, 8), FRAME, 4095)  # three 8 x 8 scans, one after the other
    records = [mpx(acquisition_header(0, 1))] + [mpx(r) for r in frame_records(frames)]
    with MpxServer(records) as server:  # "0 frames": continuous, until stopped
        source = connect(server.port)
        closing(source)
        assert wait_until(lambda: len(source.scans) == 3 and source.scans[1].complete)
        assert source.running and source.error is None
        for i, scan in enumerate(source.scans[:2]):
            assert scan.reason is None
            expected = frames[i * 64 : (i + 1) * 64, ::-1].reshape(*SCAN, *FRAME)
            assert np.array_equal(np.asarray(scan.cube.data), expected)


def test_close_during_a_stalled_scan_ends_it_and_stops_the_source():
    frames = disc_frames(SCAN, FRAME, 4095)
    records = [mpx(acquisition_header(64, SCAN[1]))] + [mpx(r) for r in frame_records(frames)]
    with MpxServer(records[:25]) as server:  # 24 frames, then silence, connection open
        source = connect(server.port)
        assert wait_until(lambda: source.rows_received >= 2)  # stacks of 3-4 frames arrive
        source.close()
        assert not source.running and source.error is None
        scan = source.scan
        got = scan.frames_received
        assert 16 <= got <= 24 and scan.complete and scan.rows_ready == got // SCAN[1]
        assert scan.reason == f"the scan ended after {got} of 64 frames (the source was closed)"
