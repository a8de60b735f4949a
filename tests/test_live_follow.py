"""dw.live.follow: a Merlin .mib (and a raw file) followed while a writer thread appends to it.

The writer writes the file's bytes in pieces that split frames and headers; every wait is
bounded (a few seconds) and every writer thread is joined. Final results are checked against
``dw.load`` of the finished file, bit for bit, with the live cube's origin.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "io"))
from _camera_files import mib_header  # noqa: E402
from _live_checks import assert_explorer_equals_file

import dpc_widgets as dw  # noqa: E402
from dpc_widgets import DPC, SegmentedDetector  # noqa: E402
from dpc_widgets.live import FrameFormatError, LiveError, LiveTimeoutError  # noqa: E402
from dpc_widgets.live.growing_file import FollowSource  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:the 180-degree choice")

SCAN = (8, 8)
FRAME = (64, 64)
WAIT_S = 10.0  # bound of every wait (the tests finish far sooner)
DETECTOR = SegmentedDetector(3, 14, 4, rotation=10)


def patterns(scan=SCAN, frame=FRAME, seed=3) -> np.ndarray:
    """Frames (n, rows, columns) as stored: a bright disc off centre (so an up-down flip
    shows), shifted with the scan position (a CoM signal), Poisson noise; uint16."""
    rng = np.random.default_rng(seed)
    rx, ry = scan
    i, j = np.meshgrid(np.arange(frame[0]), np.arange(frame[1]), indexing="ij")
    out = np.empty((rx * ry, *frame), np.uint16)
    for k in range(rx * ry):
        x, y = divmod(k, ry)
        ci = 0.4 * frame[0] + 1.5 * np.sin(2 * np.pi * x / rx)
        cj = 0.56 * frame[1] + 1.5 * np.cos(2 * np.pi * y / ry)
        disc = 800.0 * (np.hypot(i - ci, j - cj) < frame[0] / 7) + 20.0 * (i > 0.8 * frame[0])
        out[k] = rng.poisson(disc + 5)
    return out


def mib_bytes(frames: np.ndarray, pixel: str = "U16", quad: bool = False) -> bytes:
    """A .mib file's bytes: each frame's header, then its big-endian pixels."""
    n, height, width = frames.shape
    dtype = {"U08": ">u1", "U16": ">u2", "U32": ">u4"}[pixel]
    return b"".join(
        mib_header(k + 1, height, width, pixel, 0.001 * k, quad) + frames[k].astype(dtype).tobytes()
        for k in range(n)
    )


class Writer:
    """Appends ``data`` to ``path`` in pieces of varying size (splitting frames and headers)
    from a thread; holds at byte ``hold_at`` until :meth:`release`; joined on exit."""

    def __init__(self, path: Path, data: bytes, *, hold_at: int | None = None, delay_s=0.0):
        self.path, self.data, self.hold_at, self.delay_s = path, data, hold_at, delay_s
        self.released = threading.Event()
        self.held = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._write, daemon=True)

    def _write(self) -> None:
        if self.stop.wait(self.delay_s):
            return
        sizes = [997, 5003, 131, 65537, 384, 20011]  # primes and header/frame-ish sizes
        with open(self.path, "ab", buffering=0) as file:
            pos, k = 0, 0
            while pos < len(self.data) and not self.stop.is_set():
                end = min(len(self.data), pos + sizes[k % len(sizes)])
                if self.hold_at is not None and pos < self.hold_at <= end:
                    end = self.hold_at
                file.write(self.data[pos:end])
                pos, k = end, k + 1
                if pos == self.hold_at:
                    self.held.set()
                    self.released.wait(WAIT_S)
                self.stop.wait(0.0005)

    def release(self) -> None:
        self.released.set()

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.released.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive()


@pytest.fixture
def follow(tmp_path):
    """``dw.live.follow`` with short timeouts, its spool in tmp_path; closed after the test."""
    sources = []

    def start(path, **options):
        options = {"poll_s": 0.005, "idle_timeout_s": 2.0, "start_timeout_s": 5.0, **options}
        source = dw.live.follow(path, spool_dir=tmp_path, **options)
        sources.append(source)
        return source

    yield start
    for source in sources:
        source.close()
        assert not source.running


def offline(path: Path, source, detector=DETECTOR):
    """DPC.run on ``dw.load`` of the finished file, with the live cube's origin."""
    cube = dw.load(path, scan_shape=SCAN, origin=source.cube.origin)
    return cube, DPC(cube).run(detector)


def assert_same(live, file) -> None:
    for name in ("segment_images", "com", "com_rotated", "phase"):
        assert np.array_equal(getattr(live, name), getattr(file, name), equal_nan=True), name
    assert live.angle_deg == file.angle_deg


# --------------------------------------------------------------------------- a growing .mib
def test_growing_mib_equals_the_finished_file_and_rows_progress(tmp_path, follow):
    frames = patterns()
    data = mib_bytes(frames)
    frame_bytes = len(data) // len(frames)
    half = 4 * SCAN[1] * frame_bytes + 1000  # 4 rows and part of a header of the fifth
    path = tmp_path / "scan.mib"
    with Writer(path, data, hold_at=half) as writer:
        source = follow(path, scan_shape=SCAN)
        assert writer.held.wait(WAIT_S)
        source.wait_for_cube(WAIT_S)
        assert source.scan.wait_for_rows(4, WAIT_S)
        assert source.rows_received == 4 and not source.scan.ended  # the 5th waits for bytes
        dpc = DPC(source)
        early = dpc.run(DETECTOR)
        assert early.rows == 4 and np.isnan(early.phase[4:]).all()
        writer.release()
        assert source.wait(WAIT_S)
    assert source.error is None and source.scan.reason is None
    assert source.rows_received == SCAN[0]
    cube, expected = offline(path, source)
    # the cube itself: frames flipped up-down as rsciio reads them, scan rows along Rx
    assert cube.dtype == np.uint16 and source.cube.dtype == np.uint16
    assert np.array_equal(np.asarray(source.cube.data), np.asarray(cube.data))
    assert np.array_equal(source.cube.data[1, 2], frames[1 * SCAN[1] + 2][::-1])
    final = dpc.run(DETECTOR)
    assert final.rows == SCAN[0]
    assert_same(final, expected)
    assert np.array_equal(early.segment_images[:, :4], expected.segment_images[:, :4])


def test_the_explorer_follows_a_growing_mib_and_ends_equal_to_the_file(tmp_path, follow):
    from dpc_widgets.widgets import Explorer

    path = tmp_path / "scan.mib"
    data = mib_bytes(patterns())
    frame_bytes = len(data) // (SCAN[0] * SCAN[1])
    with Writer(path, data, hold_at=3 * SCAN[1] * frame_bytes) as writer:
        source = follow(path, scan_shape=SCAN)
        explorer = Explorer(source)  # at once, before the file has its first frame maybe
        assert writer.held.wait(WAIT_S)
        writer.release()
        assert explorer.wait(WAIT_S)
    assert_explorer_equals_file(explorer, path, scan_shape=SCAN)
    explorer.close()


@pytest.mark.parametrize(("pixel", "quad"), [("U08", False), ("U32", False), ("U16", True)])
def test_pixel_depths_and_quad_headers_read_as_load_does(tmp_path, follow, pixel, quad):
    frames = patterns(frame=(16, 12)) // (8 if pixel == "U08" else 1)
    frames = frames.astype(np.uint32) * (1000 if pixel == "U32" else 1)
    path = tmp_path / "depth.mib"
    with Writer(path, mib_bytes(frames, pixel, quad)):
        source = follow(path, scan_shape=SCAN)
        assert source.wait(WAIT_S)
    assert source.error is None and source.scan.reason is None
    file = dw.load(path, scan_shape=SCAN, origin="geometric")
    assert (
        source.cube.dtype == file.dtype == {"U08": np.uint8, "U16": np.uint16}.get(pixel, np.uint32)
    )
    assert np.array_equal(np.asarray(source.cube.data), np.asarray(file.data))
    assert callable(dw.live.follow) and callable(dw.live.replay)  # not shadowed by the modules


def test_file_appearing_late(tmp_path, follow):
    path = tmp_path / "late.mib"
    data = mib_bytes(patterns())
    source = follow(path, scan_shape=SCAN)
    assert source.rows_received == 0 and source.scan is None
    with Writer(path, data, delay_s=0.2):
        assert source.wait(WAIT_S)
    assert source.error is None and source.rows_received == SCAN[0]
    assert_same(DPC(source).run(DETECTOR), offline(path, source)[1])


def test_file_never_appearing_is_a_timeout_naming_the_path(tmp_path, follow):
    path = tmp_path / "never.mib"
    source = follow(path, scan_shape=SCAN, start_timeout_s=0.2)
    source._thread.join(WAIT_S)
    assert isinstance(source.error, LiveTimeoutError)
    assert str(path) in str(source.error) and "start_timeout_s" in str(source.error)
    with pytest.raises(LiveError, match="never.mib"):
        source.wait_for_cube(WAIT_S)


def test_close_while_waiting_for_the_file_and_for_growth(tmp_path, follow):
    source = follow(tmp_path / "absent.mib", scan_shape=SCAN, start_timeout_s=60)
    source.close()  # joins the thread (bounded): a wait on the file does not block close
    assert not source.running and source.error is None
    path = tmp_path / "part.mib"
    frames = patterns()
    path.write_bytes(mib_bytes(frames[: 2 * SCAN[1] + 3]))
    source = follow(path, scan_shape=SCAN, idle_timeout_s=60)
    source.wait_for_cube(WAIT_S)
    assert source.scan.wait_for_rows(2, WAIT_S)
    source.close()
    assert not source.running and source.error is None
    assert source.scan.reason == "the source was closed"
    assert source.wait(WAIT_S) and source.scan.rows_ready == 2


@pytest.mark.parametrize("fault", ["garbled", "other size"])
def test_bad_header_mid_file_keeps_the_rows_before(tmp_path, follow, fault):
    frames = patterns()
    bad = 3 * SCAN[1] + 5  # frame 29: rows 0-2 are whole before it
    good = mib_bytes(frames[:bad])
    if fault == "garbled":
        header = b"XQ1" + mib_header(bad + 1, *FRAME)[3:]
    else:
        header = mib_header(bad + 1, FRAME[0], FRAME[1] // 2)
    path = tmp_path / "bad.mib"
    with Writer(path, good + header + frames[bad].astype(">u2").tobytes()):
        source = follow(path, scan_shape=SCAN)
        source.wait(WAIT_S)
    assert isinstance(source.error, FrameFormatError)
    message = str(source.error)
    assert str(path) in message and f"frame {bad} " in message
    assert f"byte offset {len(good)}" in message
    assert ("MQ1" in message) if fault == "garbled" else ("64x32" in message)
    assert source.scan.reason.startswith("FrameFormatError")
    assert source.scan.rows_ready == 3 and source.scan.complete
    result = DPC(source).run(DETECTOR)
    assert result.rows == 3 and np.isnan(result.segment_images[:, 3:]).all()
    stored = frames[: 3 * SCAN[1]].reshape(3, SCAN[1], *FRAME)
    assert np.array_equal(source.cube.data[:3], stored[..., ::-1, :])  # flipped up-down


def test_garbled_first_header(tmp_path, follow):
    path = tmp_path / "junk.mib"
    path.write_bytes(b"not a merlin file" * 100)
    source = follow(path, scan_shape=SCAN)
    source._thread.join(WAIT_S)
    assert isinstance(source.error, FrameFormatError)
    assert str(path) in str(source.error) and "frame 0 at byte offset 0" in str(source.error)


def test_truncated_last_frame_ends_after_the_idle_timeout(tmp_path, follow):
    frames = patterns()
    data = mib_bytes(frames)
    path = tmp_path / "cut.mib"
    path.write_bytes(data[:-100])
    source = follow(path, scan_shape=SCAN, idle_timeout_s=0.3)
    assert source.wait(WAIT_S)
    n = SCAN[0] * SCAN[1]
    assert source.error is None
    reason = source.scan.reason
    assert "stopped growing" in reason and f"after {n - 1} of {n} frames" in reason
    assert f"{len(data) // n - 100} bytes of frame {n - 1}" in reason
    assert source.scan.rows_ready == SCAN[0] - 1
    assert source.scan.frames_received == n - 1


def test_scan_ending_early_keeps_its_rows_equal_to_the_file(tmp_path, follow):
    frames = patterns()
    path = tmp_path / "early.mib"
    with Writer(path, mib_bytes(frames[: 5 * SCAN[1]])):
        source = follow(path, scan_shape=SCAN, idle_timeout_s=0.3)
        assert source.wait(WAIT_S)
    assert source.error is None and "after 40 of 64 frames" in source.scan.reason
    live = DPC(source).run(DETECTOR)
    assert live.rows == 5
    file = dw.load(path, scan_shape=(5, 8), origin=source.cube.origin)
    assert np.array_equal(np.asarray(source.cube.data[:5]), np.asarray(file.data))
    ref = DPC(file).run(DETECTOR)
    assert np.array_equal(live.segment_images[:, :5], ref.segment_images)
    assert np.isnan(live.segment_images[:, 5:]).all()


@pytest.mark.parametrize("fault", ["shrinks", "replaced", "removed"])
def test_file_shrinking_or_replaced_is_a_clear_error(tmp_path, follow, fault):
    frames = patterns()
    path = tmp_path / "moving.mib"
    data = mib_bytes(frames[: 2 * SCAN[1] + 1])
    path.write_bytes(data)
    source = follow(path, scan_shape=SCAN, idle_timeout_s=60)
    source.wait_for_cube(WAIT_S)
    assert source.scan.wait_for_rows(2, WAIT_S)
    if fault == "shrinks":
        os.truncate(path, len(data) // 2)
    elif fault == "replaced":
        other = tmp_path / "other.mib"
        other.write_bytes(data)
        os.replace(other, path)
    else:
        path.unlink()
    assert source.wait(WAIT_S)
    assert isinstance(source.error, LiveError) and str(path) in str(source.error)
    word = {"shrinks": "shrank", "replaced": "replaced", "removed": "removed"}[fault]
    assert word in str(source.error)
    assert source.scan.rows_ready == 2


# --------------------------------------------------------------------------- a raw file
def test_raw_file_with_header_and_gaps(tmp_path, follow):
    frames = patterns(frame=(24, 20)).astype(np.float32) / 7
    head, gap = b"H" * 13, b"gap!" * 2
    data = head + b"".join(gap + f.astype(">f4").tobytes() for f in frames)
    path = tmp_path / "scan.raw"
    with Writer(path, data):
        source = follow(path, scan_shape=SCAN, frame_shape=(24, 20), dtype=">f4", offset=13, gap=8)
        assert source.wait(WAIT_S)
    assert source.error is None and source.rows_received == SCAN[0]
    cube = source.cube
    assert cube.dtype == np.float32 and cube.dtype.isnative
    expected = frames.reshape(*SCAN, 24, 20)  # raw frames: as stored, no flip
    assert np.array_equal(np.asarray(cube.data), expected)
    detector = SegmentedDetector(1, 6, 4)
    live = DPC(source).run(detector)
    ref = DPC(dw.Datacube(expected, origin=cube.origin)).run(detector)
    assert_same(live, ref)


# --------------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({}, TypeError, "scan_shape"),
        ({"scan_shape": SCAN, "frame_shape": (4, 4)}, ValueError, "frame_shape"),
        ({"scan_shape": SCAN, "poll_s": 0}, ValueError, "poll_s"),
        ({"scan_shape": SCAN, "idle_timeout_s": float("nan")}, ValueError, "idle_timeout_s"),
    ],
)
def test_mib_parameter_checks(tmp_path, options, error, words):
    with pytest.raises(error, match=words):
        FollowSource(tmp_path / "a.mib", **options)
    assert FollowSource(tmp_path / "a.hdr", scan_shape=SCAN).path == tmp_path / "a.mib"


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"dtype": "u2"}, TypeError, "frame_shape"),
        ({"frame_shape": (4, 0), "dtype": "u2"}, ValueError, "frame_shape"),
        ({"frame_shape": (4, 4), "dtype": "U8"}, ValueError, "dtype"),
        ({"frame_shape": (4, 4), "dtype": "u2", "offset": -1}, ValueError, "offset"),
        ({"frame_shape": (4, 4), "dtype": "u2", "gap": 1.5}, ValueError, "gap"),
    ],
)
def test_raw_parameter_checks(tmp_path, options, error, words):
    with pytest.raises(error, match=words):
        FollowSource(tmp_path / "a.raw", scan_shape=SCAN, **options)
