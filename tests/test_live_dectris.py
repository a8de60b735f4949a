"""DECTRIS live source: LiberTEM-live's DECTRIS simulator (a SIMPLON stream replayed from a dump
made here, its fake REST API) and a zmq PUSH socket of the test's own for the faults, all on
127.0.0.1. Final results equal ``dw.load`` of ARINA files holding the same compressed frames."""

from __future__ import annotations

import math
import socket
import time
import urllib.request
from contextlib import closing

import numpy as np
import pytest
from _live_checks import assert_explorer_equals_file

import dpc_widgets as dw
from dpc_widgets.live import (
    FrameFormatError,
    LiveConnectionError,
    LiveError,
    LiveTimeoutError,
    simplon,
)

pytest.importorskip("libertem_dectris")
pytestmark = pytest.mark.filterwarnings("ignore:the 180-degree choice:UserWarning")
zmq = pytest.importorskip("zmq")

SCAN = (8, 8)
FRAME = (48, 64)  # (height, width): (Qx, Qy), not square, so a transpose would show
DISC = (30.0, 22.0)  # off centre, so a flip would show
WAIT_S = 10.0


def make_frames(seed: int = 0) -> np.ndarray:
    """(Rx * Ry, Qx, Qy) uint32 counts: a bright disc whose centre moves with the position."""
    rng = np.random.default_rng(seed)
    qx, qy = np.meshgrid(np.arange(FRAME[0]), np.arange(FRAME[1]), indexing="ij")
    frames = np.empty((math.prod(SCAN), *FRAME), np.uint32)
    for i in range(len(frames)):
        rx, ry = divmod(i, SCAN[1])
        cx, cy = DISC[0] + 0.4 * math.sin(rx), DISC[1] + 0.3 * math.cos(ry + rx)
        disc = (qx - cx) ** 2 + (qy - cy) ** 2 < 8.0**2
        frames[i] = rng.poisson(np.where(disc, 50.0, 0.5))
    return frames


def write_arina(folder, frames: np.ndarray):
    """An ARINA master and data file holding ``frames`` as the DCU writes them: the stream's
    compressed frames, one chunk each."""
    import h5py

    chunks = simplon.compress_frames(frames)
    data_name = "scan_data_000001.h5"
    with h5py.File(folder / data_name, "w") as f:
        stack = f.create_dataset(
            "entry/data/data",
            shape=frames.shape,
            dtype=frames.dtype,
            chunks=(1, *frames.shape[1:]),
            compression=32008,
            compression_opts=(0, 2),
        )
        for i, chunk in enumerate(chunks):
            stack.id.write_direct_chunk((i, 0, 0), chunk)
    master = folder / "scan_master.h5"
    with h5py.File(master, "w") as f:
        f["entry/data/data_000001"] = h5py.ExternalLink(data_name, "/entry/data/data")
    return master


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def frames():
    return make_frames()


@pytest.fixture
def simulator(tmp_path, frames):
    """LiberTEM-live's DECTRIS simulator replaying ``frames`` (zmq and REST on free ports)."""
    sim_module = pytest.importorskip("libertem_live.detectors.dectris.sim")
    dump = simplon.write_dump(tmp_path / "stream.dump", frames, series=5)
    sim = sim_module.DectrisSim(path=str(dump), port=0, zmqport=0, verbose=False)
    sim.start()
    try:
        sim.wait_for_listen()
        yield sim
    finally:
        sim.stop()


def arm(sim) -> None:
    """What the microscope's software does: arm the detector (the simulator then sends)."""
    url = f"http://127.0.0.1:{sim.port}/detector/api/1.8.0/command/arm"
    request = urllib.request.Request(url, data=b"{}", method="PUT")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200


class Push:
    """A DCU double: a zmq PUSH socket on 127.0.0.1 sending SIMPLON messages."""

    def __init__(self) -> None:
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.PUSH)
        self.socket.setsockopt(zmq.SNDTIMEO, 5000)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.port = self.socket.bind_to_random_port("tcp://127.0.0.1")

    def header(self, n: int, series: int = 1, dtype=np.uint32) -> None:
        for message in simplon.header_messages(n, FRAME, dtype, series):
            self.socket.send(message)

    def frames(self, frames, start: int = 0, series: int = 1, garble=None) -> None:
        for i, data in enumerate(simplon.compress_frames(frames), start=start):
            parts = simplon.frame_messages(i, data, FRAME, frames.dtype, series)
            if garble is not None and i == garble[0]:
                parts[garble[1]] = parts[garble[1]][: len(parts[garble[1]]) // 2]
            self.socket.send_multipart(parts)

    def footer(self, series: int = 1) -> None:
        self.socket.send(simplon.footer_message(series))

    def close(self) -> None:
        self.socket.close()
        self.context.term()


@pytest.fixture
def push():
    double = Push()
    try:
        yield double
    finally:
        double.close()


class Sources(list):
    """The sources a test made; their scans are kept in ``spool_dir``."""

    spool_dir = None


@pytest.fixture
def sources(tmp_path):
    """Sources made by a test, closed after it (closing is bounded by the source)."""
    made = Sources()
    made.spool_dir = tmp_path / "spool"
    made.spool_dir.mkdir()
    yield made
    for source in made:
        source.close()


def connect(sources, port, **options):
    options.setdefault("scan_shape", SCAN)
    options.setdefault("spool_dir", sources.spool_dir)
    source = dw.live.connect("dectris", host="127.0.0.1", port=port, **options)
    sources.append(source)
    return source


def detector():
    return dw.SegmentedDetector(4, 12, segments=4, rotation=30)


def assert_same(live, offline) -> None:
    for name in ("segment_images", "com", "phase"):
        a, b = getattr(live, name), getattr(offline, name)
        assert np.array_equal(a, b, equal_nan=True), name


# --------------------------------------------------------------------------- simulator
@pytest.mark.parametrize("decoders", [1, 3])
def test_final_results_equal_offline_load_of_the_arina_files(
    simulator, sources, frames, tmp_path, decoders
):
    source = connect(sources, simulator.zmqport, api_port=simulator.port, decoders=decoders)
    arm(simulator)
    assert source.wait(WAIT_S)
    cube = source.cube
    assert source.error is None and cube.shape == (*SCAN, *FRAME) and cube.dtype == np.uint32
    assert source.scan.reason is None and source.rows_received == SCAN[0]
    assert source.bytes_per_frame == 48 * 64 * 4 // 8  # sized from the REST API's detector
    assert source.series == 5
    # frame i is (Rx, Ry) = divmod(i, Ry); each frame (Qx, Qy) = (height, width) as sent
    np.testing.assert_array_equal(np.asarray(cube.data), frames.reshape(*SCAN, *FRAME))
    master = write_arina(tmp_path, frames)
    offline_cube = dw.load(master, scan_shape=SCAN, origin=cube.origin)
    assert abs(cube.origin[0] - DISC[0]) < 1 and abs(cube.origin[1] - DISC[1]) < 1
    live = dw.DPC(source).run(detector())
    offline = dw.DPC(offline_cube).run(detector())
    assert live.rows == SCAN[0]
    assert_same(live, offline)
    # integer sums bit-identical to the explicit formula on the frames (binary masks)
    binary = dw.SegmentedDetector(4, 12, segments=4, rotation=30, weighting="binary")
    images = dw.DPC(source).segment_images(binary)
    dx = np.arange(FRAME[0])[:, None] - cube.origin[0]
    dy = np.arange(FRAME[1])[None, :] - cube.origin[1]
    theta = (np.arctan2(dy, dx) + math.radians(30)) % (2 * math.pi)
    labels = np.clip((theta * (4 / (2 * math.pi))).astype(int), 0, 3)
    labels[(np.hypot(dx, dy) < 4) | (np.hypot(dx, dy) >= 12)] = -1
    flat = frames.reshape(*SCAN, -1).astype(np.int64)
    for k in range(4):
        np.testing.assert_array_equal(images[k], flat[..., labels.ravel() == k].sum(-1))


def test_the_explorer_follows_the_simulator_and_ends_equal_to_the_files(
    simulator, sources, frames, tmp_path
):
    from dpc_widgets.widgets import Explorer

    source = connect(sources, simulator.zmqport, api_port=simulator.port)
    explorer = Explorer(source)  # returns at once: the detector is not armed yet
    arm(simulator)
    assert explorer.wait(WAIT_S)
    master = write_arina(tmp_path, frames)
    assert_explorer_equals_file(explorer, master, scan_shape=SCAN)
    explorer.close()


def test_two_acquisitions_make_two_cubes(simulator, sources, frames):
    source = connect(sources, simulator.zmqport, scan_shape=None)  # 64 frames: 8 x 8
    arm(simulator)
    assert source.wait(WAIT_S)
    first = source.cube
    arm(simulator)
    deadline = time.monotonic() + WAIT_S
    while len(source.scans) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert source.wait(WAIT_S) and len(source.scans) == 2
    second = source.cube
    assert second is not first and source.error is None
    for cube in (first, second):  # the finished one stays usable
        np.testing.assert_array_equal(np.asarray(cube.data), frames.reshape(*SCAN, *FRAME))


def test_rest_api_refused_names_host_and_port(sources):
    api = free_port()
    source = connect(sources, free_port(), api_port=api)
    with pytest.raises(LiveError, match=f"127.0.0.1:{api}"):
        source.wait_for_cube(WAIT_S)
    assert isinstance(source.error, LiveConnectionError)


def test_no_arm_within_timeout_names_host_and_port(sources):
    port = free_port()  # nothing listens: zmq cannot tell, so the arm times out
    source = connect(sources, port, arm_timeout=0.3)
    with pytest.raises(LiveError, match=f"127.0.0.1:{port}"):
        source.wait_for_cube(WAIT_S)
    assert isinstance(source.error, LiveTimeoutError)
    assert not source.running


# --------------------------------------------------------------------------- stream double
@pytest.mark.parametrize("decoders", [1, 2])
def test_rows_arrive_progressively_and_results_cover_them(push, sources, frames, decoders):
    source = connect(sources, push.port, decoders=decoders, frames_per_stack=8)
    push.header(len(frames))
    push.frames(frames[:25])  # three rows (the receiver hands over 24 once the 25th comes)
    cube = source.wait_for_cube(WAIT_S)
    assert source.scan.wait_for_rows(3, WAIT_S) and source.scan.rows_ready == 3
    partial = dw.DPC(cube).run(detector())
    assert partial.rows == 3
    assert np.isnan(partial.phase[3:]).all() and np.isfinite(partial.phase[:3]).all()
    np.testing.assert_array_equal(np.asarray(cube.data[:3]), frames[:24].reshape(3, 8, *FRAME))
    push.frames(frames[25:], start=25)
    push.footer()
    assert source.wait(WAIT_S) and source.scan.reason is None
    assert dw.DPC(cube).run(detector()).rows == SCAN[0]


def send_series(push, frames, series):
    push.header(len(frames), series=series)
    push.frames(frames, series=series)
    push.footer(series=series)


def wait_for(condition) -> bool:
    deadline = time.monotonic() + WAIT_S
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


@pytest.mark.parametrize("footer", [False, True], ids=["silent", "no-end-message"])
def test_stream_stopping_mid_scan_keeps_the_rows_and_the_next_scan_comes(
    push, sources, frames, footer
):
    source = connect(sources, push.port, frame_timeout=0.5)
    push.header(len(frames))
    if footer:  # every frame, but no dseries_end: LiberTEM-rs's receiver gives up after 1 s
        push.frames(frames)
        rows, where = 6, "after frame 48 of 64"  # its last stack (frames 48..63) is lost
    else:  # three rows and a half, then silence (the last 4 frames wait in the receiver)
        push.frames(frames[:28])
        rows, where = 3, "after frame 24 of 64"
    assert wait_for(lambda: source.error is not None)
    assert isinstance(source.error, LiveConnectionError)
    assert where in str(source.error) and "127.0.0.1" in str(source.error)
    assert source.wait(WAIT_S) and source.scan.rows_ready == rows
    assert "LiveConnectionError" in source.scan.reason
    cube = source.cube
    np.testing.assert_array_equal(
        np.asarray(cube.data[:rows]), frames[: rows * 8].reshape(rows, 8, *FRAME)
    )
    assert dw.DPC(cube).run(detector()).rows == rows
    assert source.running  # a new receiver listens: the next acquisition arrives
    send_series(push, frames, series=2)
    assert wait_for(lambda: len(source.scans) == 2)
    assert source.wait(WAIT_S) and source.scan.reason is None and source.cube is not cube
    np.testing.assert_array_equal(np.asarray(source.cube.data), frames.reshape(*SCAN, *FRAME))


def test_receiver_process_dying_is_replaced(push, sources, frames):
    source = connect(sources, push.port, decoders=2)
    assert source.ready.wait(WAIT_S)
    source._processes[-1].kill()  # the receiver's process (after its helper decoder)
    assert wait_for(lambda: source.error is not None)
    assert isinstance(source.error, LiveConnectionError) and "exit codes" in str(source.error)
    assert source.running and source.ready.wait(WAIT_S)  # a new receiver listens
    send_series(push, frames, series=1)
    assert source.wait(WAIT_S) and source.scan.reason is None
    np.testing.assert_array_equal(np.asarray(source.cube.data), frames.reshape(*SCAN, *FRAME))


@pytest.mark.parametrize(
    ("part", "decoders"), [(1, 1), (2, 1), (2, 2)], ids=["header", "frame", "frame-2-decoders"]
)
def test_garbled_message_ends_the_scan_and_the_next_one_is_received(
    push, sources, frames, part, decoders
):
    source = connect(sources, push.port, decoders=decoders)
    push.header(len(frames), series=1)
    push.frames(frames, series=1, garble=(30, part))  # frame 30 truncated
    push.footer(series=1)
    deadline = time.monotonic() + WAIT_S
    while source.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert isinstance(source.error, FrameFormatError)
    assert source.wait(WAIT_S) and source.scan.rows_ready == 3  # frames 24..29 are lost
    assert "FrameFormatError" in source.scan.reason and "series 1" in str(source.error)
    send_series(push, frames, series=2)
    while len(source.scans) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert source.wait(WAIT_S) and source.scan.reason is None
    np.testing.assert_array_equal(np.asarray(source.cube.data), frames.reshape(*SCAN, *FRAME))


def test_scan_ended_early_by_the_detector(push, sources, frames):
    source = connect(sources, push.port)
    push.header(len(frames))
    push.frames(frames[:40])
    push.footer()  # an aborted series: dseries_end after 40 of 64 frames
    assert source.wait(WAIT_S)
    # the receiver drops the stack it was filling (frames 24..39): three rows remain
    assert source.scan.rows_ready == 3 and "ended series 1 early" in source.scan.reason
    assert source.error is None and source.running


def test_back_to_back_series_with_three_decoders(push, sources, frames):
    source = connect(sources, push.port, decoders=3, frames_per_stack=8)
    for series in (1, 2, 3):
        send_series(push, frames, series=series)
    assert wait_for(lambda: len(source.scans) == 3 and source.scan.complete)
    for scan in source.scans:  # each one whole: no scan ended before its frames were decoded
        assert scan.complete and scan.reason is None
        np.testing.assert_array_equal(np.asarray(scan.cube.data), frames.reshape(*SCAN, *FRAME))


def test_16_bit_frames_stay_uint16(push, sources, frames):
    frames16 = frames.astype(np.uint16)
    source = connect(sources, push.port)
    push.header(len(frames16), dtype=np.uint16)
    push.frames(frames16)
    push.footer()
    assert source.wait(WAIT_S) and source.cube.dtype == np.uint16
    np.testing.assert_array_equal(np.asarray(source.cube.data), frames16.reshape(*SCAN, *FRAME))


def test_detector_armed_for_fewer_frames_than_the_scan(push, sources, frames):
    source = connect(sources, push.port)
    send_series(push, frames[:40], series=1)  # armed for 40 frames, the scan has 64
    assert source.wait(WAIT_S) and source.error is None
    assert source.scan.rows_ready == 5
    assert "armed for 40 frames" in source.scan.reason and "(8, 8) has 64" in source.scan.reason
    np.testing.assert_array_equal(
        np.asarray(source.cube.data[:5]), frames[:40].reshape(5, 8, *FRAME)
    )


def test_stream_messages_round_trip_through_hdf5():
    import h5py
    import hdf5plugin

    data = make_frames()[:3]
    chunks = simplon.compress_frames(data)
    assert all(len(c) < data[0].nbytes for c in chunks)  # really compressed
    with h5py.File("roundtrip.h5", "w", driver="core", backing_store=False) as f:
        stack = f.create_dataset(
            "d",
            shape=data.shape,
            dtype=data.dtype,
            chunks=(1, *FRAME),
            **hdf5plugin.Bitshuffle(cname="lz4"),
        )
        for i, chunk in enumerate(chunks):
            stack.id.write_direct_chunk((i, 0, 0), chunk)
        np.testing.assert_array_equal(stack[()], data)
    header = simplon.frame_messages(7, chunks[0], FRAME, np.uint32, series=3)
    assert b'"shape": [64, 48]' in header[1] and b'"encoding": "bs32-lz4<"' in header[1]
    with pytest.raises(ValueError, match="frames must be"):
        simplon.compress_frames(data.astype(np.float32))


def test_close_while_waiting_returns_promptly(push, sources, frames):
    source = connect(sources, push.port)
    assert source.status.endswith("starting the receiver") or source.ready.is_set()
    assert source.ready.wait(WAIT_S)  # waiting for an arm
    assert source.status.endswith("waiting for an acquisition")
    source.close()
    assert not source.running  # the thread ended within close(), not at its join's timeout
    source = connect(sources, push.port)
    push.header(len(frames))
    push.frames(frames[:25])
    source.wait_for_cube(WAIT_S)
    source.close()  # the receiver itself waits for frames that never come
    assert not source.running and source.scan.rows_ready == 3
    assert source.scan.reason == "the source was closed"


def test_bad_options_name_themselves():
    with pytest.raises(ValueError, match="port"):
        dw.live.connect("dectris", port=0)
    with pytest.raises(ValueError, match="frame_timeout"):
        dw.live.connect("dectris", frame_timeout=-1)
    with pytest.raises(TypeError, match="api_port"):
        dw.live.connect("dectris", api_port="80")
    with pytest.raises(ValueError, match="decoders"):
        dw.live.connect("dectris", decoders=0)
