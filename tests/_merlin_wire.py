"""Merlin test doubles on 127.0.0.1: ``.mib`` files LiberTEM-live's simulator serves, the
simulator itself (started and stopped by its handle), and a tiny server of our own speaking the
Merlin data protocol, for streams the simulator cannot send (garbled, truncated, short).

Wire format (``libertem_live.detectors.merlin.sim``): every record is ``MPX,<length>,`` (the
length in 10 digits, counting the record's bytes plus one) followed by the record: first the
acquisition header (``HDR,`` ... ``End``), then each frame as the ``.mib`` stores it (its frame
header, then the pixels, big-endian).
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import threading
from pathlib import Path

import numpy as np

_spec = importlib.util.spec_from_file_location(
    "_camera_files", Path(__file__).parent / "io" / "_camera_files.py"
)
_camera_files = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_camera_files)
MIB_DTYPES = _camera_files.MIB_DTYPES

#: Seconds a test waits for anything (every wait is bounded).
WAIT_S = 20.0


def frame_header(seq: int, height: int, width: int, pixel: str) -> bytes:
    """A 384-byte frame header padded with NUL bytes, as the Merlin software pads it (LiberTEM's
    reader, which the simulator uses, needs the NULs; rosettasciio reads either)."""
    text = _camera_files.mib_header(seq, height, width, pixel, when=seq * 0.001)
    return text.rstrip(b" ").ljust(len(text), b"\x00")


def frame_records(frames: np.ndarray, pixel: str = "U16") -> list[bytes]:
    """Each frame (n, height, width) as one ``.mib`` frame: header and big-endian pixels."""
    n, height, width = frames.shape
    return [
        frame_header(i + 1, height, width, pixel) + frames[i].astype(MIB_DTYPES[pixel]).tobytes()
        for i in range(n)
    ]


def write_mib(path: Path, frames: np.ndarray, pixel: str = "U16") -> Path:
    """Frames (n, height, width) as a ``.mib`` file the simulator and ``dw.load`` both read."""
    path.write_bytes(b"".join(frame_records(frames, pixel)))
    return path


def mpx(record: bytes) -> bytes:
    """One record of the data stream."""
    return b"MPX,%010d," % (len(record) + 1) + record


def acquisition_header(frames: int, per_trigger: int, depth: int = 12, scan=None) -> bytes:
    """The acquisition header sent when the detector is armed (``scan``: (ScanX, ScanY))."""
    lines = [
        "HDR,",
        f"Frames in Acquisition (Number):\t{frames}",
        f"Frames per Trigger (Number):\t{per_trigger}",
        f"Counter Depth (number):\t{depth}",
    ]
    if scan is not None:
        lines += [f"ScanX:\t{scan[0]}", f"ScanY:\t{scan[1]}"]
    return ("\n".join(lines) + "\nEnd\t").encode("latin1")


def disc_frames(scan: tuple[int, int], shape: tuple[int, int], top: int, seed: int = 0):
    """Patterns (Rx * Ry, Qx, Qy) in raw .mib orientation: a bright disc well off-centre (an
    up-down flip moves it by rows), shifted by a smooth field over the scan, Poisson counts."""
    rng = np.random.default_rng(seed)
    rx, ry = scan
    height, width = shape
    y, x = np.mgrid[:height, :width]
    out = np.empty((rx * ry, height, width), np.float64)
    for i in range(rx * ry):
        r, c = divmod(i, ry)
        cy = 0.3 * height + 1.5 * np.sin(r / 2.0)
        cx = 0.55 * width + 1.5 * np.cos(c / 3.0)
        inside = (y - cy) ** 2 + (x - cx) ** 2 < (0.18 * min(height, width)) ** 2
        out[i] = np.where(inside, 0.6 * top, 0.02 * top)
    return np.minimum(rng.poisson(out), top)


class MpxServer:
    """A data port on 127.0.0.1 that sends ``records`` to the first client, then keeps the
    connection open (``hold``) or closes it; started and stopped by its handle."""

    def __init__(self, records: list[bytes], hold: bool = True) -> None:
        self.records = records
        self.hold = hold
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(1)
        self._socket.settimeout(0.1)
        self.port = self._socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="mpx-server", daemon=True)

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    conn, _ = self._socket.accept()
                except TimeoutError:
                    continue
                with conn:
                    with contextlib.suppress(OSError):
                        conn.sendall(b"".join(self.records))
                    while self.hold and not self._stop.wait(0.05):
                        pass
                return
        finally:
            self._socket.close()

    def __enter__(self) -> MpxServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(WAIT_S)


class MerlinSim:
    """LiberTEM-live's Merlin simulator (``CameraSim``) serving a ``.mib`` on free ports of
    127.0.0.1, waiting for ``trigger()`` before each acquisition."""

    def __init__(self, mib: Path, nav_shape: tuple[int, int], dwell_us: int | None = None):
        from libertem_live.detectors.merlin.sim import CameraSim

        self.sim = CameraSim(
            path=str(mib),
            nav_shape=tuple(nav_shape),
            host="127.0.0.1",
            data_port=0,
            control_port=0,
            trigger_port=0,
            wait_trigger=True,
            dwelltime=dwell_us,
        )

    @property
    def port(self) -> int:
        return self.sim.server_t.port

    def trigger(self) -> None:
        """Arm (the acquisition header goes out) and trigger (the frames follow)."""
        self.sim.acquisition_event.set()
        self.sim.trigger_event.set()

    def stop(self) -> None:
        """Stop serving (mid-scan: the data connection closes after the current frame)."""
        from libertem_live.detectors.common import UndeadException

        with contextlib.suppress(UndeadException):
            self.sim.stop()
        for thread in (self.sim.server_t, self.sim.control_t, self.sim.trigger_t):
            thread.join(WAIT_S)

    def __enter__(self) -> MerlinSim:
        self.sim.start()
        for server in (self.sim.server_t, self.sim.control_t, self.sim.trigger_t):
            server.wait_for_listen(timeout=WAIT_S)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
