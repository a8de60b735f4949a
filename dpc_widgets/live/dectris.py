"""DECTRIS ARINA / QUADRO (SIMPLON zmq stream) as a live source, on LiberTEM-live's receiver
``libertem_dectris`` (the ``[live]`` extra).

Passive mode: the microscope's software arms and triggers the detector; the source waits for
each arm (the stream's ``dheader-1.0``) and records one scan per acquisition. The receiver runs
in a process of its own (:mod:`~dpc_widgets.live.dectris_receiver`): it decodes each stack of
compressed frames (bitshuffle-LZ4 or LZ4, with the receiver's decoder) straight into the scan's
spool file and says how many frames are written; the source's thread only counts them
(``LiveScan.commit``), so receiving and decoding never wait for the compute core, take no GIL
of the kernel's, and a silent detector or ``close()`` ends the process instead of hanging a
thread. The receiver hands frames over in stacks of 24: during a scan the newest (up to 23)
frames wait for the next ones (23 ms at a 1 ms dwell); the end of the series hands over the
rest.

Orientation, the same as ``dw.load`` of the ARINA master and data files of the same frames
(:mod:`dpc_widgets.io.formats.arina`): frame ``i`` of the series (acquisition order) is scan
position ``(Rx, Ry) = (i // Ry, i % Ry)`` (fast scan axis last), and a frame of ``shape``
``[width, height]`` is ``(Qx, Qy) = (height, width)``, rows as sent; no flips.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import multiprocessing.connection
import os
import shutil
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from .._extras import import_receiver
from . import dectris_receiver
from .dectris_receiver import FRAME_STACK_SIZE
from .errors import FrameFormatError, LiveConnectionError, LiveError, LiveTimeoutError
from .scan import LiveScan
from .source import LiveSource

#: Seconds between looks at whether the source closes (and at the timeouts).
POLL_S = 0.1
#: Seconds to wait for the receiver's process to end when asked.
PROCESS_JOIN_S = 2.0
#: Seconds a REST request to the detector control unit may take.
API_TIMEOUT_S = 3.0
#: Most decoding processes chosen by default (ARINA's full rate needs about this many here).
MAX_DECODERS = 8


class DectrisSource(LiveSource):
    """Scans from a DECTRIS detector's zmq stream, one per acquisition.

    Parameters
    ----------
    host : str
        The detector control unit (DCU).
    port : int
        Its zmq data port (the SIMPLON stream; 9999 by default on a DCU).
    api_port : int, optional
        Its SIMPLON REST API port (80 on a DCU): when given, the detector's size and bit depth
        are read from it first (a refused or silent API is a :class:`LiveConnectionError`),
        and the receive buffer is sized from them. Nothing is changed on the detector.
    arm_timeout : float, optional
        Seconds to wait for the first acquisition before giving up with a
        :class:`LiveTimeoutError` (``None``: wait until closed). A zmq stream cannot tell a
        refused connection from a detector not yet armed: this says which host and port.
    frame_timeout : float
        Seconds without a frame during an acquisition after which the detector counts as gone:
        the scan ends with the rows received, :attr:`error` is a :class:`LiveConnectionError`,
        and a new receiver listens for the next arm (as after the receiver's own failures).
    frames_per_stack : int
        Frames decoded at a time (a stack of the receiver).
    buffer_mib : float
        Shared memory of the receiver for compressed frames not yet decoded (MiB; touched
        only as it fills; LiberTEM-live's default). It holds ``buffer_mib * 2**20 /
        (24 * bytes_per_frame)`` stacks of up to 24 frames. When decoding falls this far
        behind, the acquisition ends with a :class:`LiveConnectionError` ("shm buffer is
        full"), never silently.
    bytes_per_frame : int, optional
        Room reserved per compressed frame in that buffer (default: from the REST API, else
        :data:`DEFAULT_BYTES_PER_FRAME`). A stack holds 24 times this: one compressed frame
        larger than that ends the acquisition with an error naming both sizes (give
        ``api_port`` or a larger value for detectors larger than ARINA).
    decoders : int, optional
        Processes decoding frames (the receiver's and ``decoders - 1`` helpers, taking stacks
        in turn; default: one fewer than the CPUs, 1 to :data:`MAX_DECODERS`). Decoding
        bitshuffle-LZ4 is the bound of the ingest rate (``docs/live.md``).
    **options
        :class:`~dpc_widgets.live.source.LiveSource`'s: ``scan_shape`` (default: square, for a
        square frame count), calibration, ``origin``, ``spool_dir``, ``keep_scans``.

    Attributes
    ----------
    ready : threading.Event
        Set while a receiver process listens for arms.
    series : int or None
        The current acquisition's series id (the DCU's count of arms).
    bytes_per_frame : int
        The room per compressed frame in use (once receiving started).
    """

    name = "DECTRIS"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 9999,
        api_port: int | None = None,
        arm_timeout: float | None = None,
        frame_timeout: float = 10.0,
        frames_per_stack: int = 128,
        buffer_mib: float = 2048.0,
        bytes_per_frame: int | None = None,
        decoders: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        if not isinstance(host, str) or not host:
            raise TypeError(f"host must be a non-empty string, got {host!r}")
        self.host = host
        self.port = _port(port, "port")
        self.api_port = None if api_port is None else _port(api_port, "api_port")
        self.arm_timeout = None if arm_timeout is None else _seconds(arm_timeout, "arm_timeout")
        self.frame_timeout = _seconds(frame_timeout, "frame_timeout")
        self.frames_per_stack = _positive_int(frames_per_stack, "frames_per_stack")
        self.buffer_bytes = int(_seconds(buffer_mib, "buffer_mib") * 2**20)
        self.bytes_per_frame = (
            None if bytes_per_frame is None else _positive_int(bytes_per_frame, "bytes_per_frame")
        )
        if decoders is None:
            decoders = max(1, min(MAX_DECODERS, (os.cpu_count() or 2) - 1))
        self.decoders = _positive_int(decoders, "decoders")
        self.name = f"DECTRIS at {host}:{self.port}"
        self.series: int | None = None  # the current acquisition's series id
        #: Set while a receiver process listens (it starts within about a second).
        self.ready = threading.Event()
        self._processes: list = []
        self._pipes: list = []
        self._started = time.monotonic()

    # ------------------------------------------------------------------ the receiving thread
    def _receive(self) -> None:
        import_receiver("libertem_dectris", "dpc_widgets.live.connect('dectris')")
        bytes_per_frame = self.bytes_per_frame = self.bytes_per_frame or self._api_bytes_per_frame()
        self._started = time.monotonic()
        while not self.stopping:
            try:
                self._run_receiver(bytes_per_frame)
            except _Restart as restart:  # the acquisition ends; a new receiver listens
                self.error = restart.error
                scan = self.scan
                if scan is not None and not scan.ended:
                    scan.end(f"{type(restart.error).__name__}: {restart.error}")

    def _run_receiver(self, bytes_per_frame: int) -> None:
        """One receiver process (and its helper decoders), followed until the source closes
        (or :class:`_Restart`)."""
        slots = max(4, self.buffer_bytes // (bytes_per_frame * FRAME_STACK_SIZE))
        handle_dir = Path(tempfile.mkdtemp(prefix="dpc-dectris-"))
        context = multiprocessing.get_context("spawn")
        self._processes, self._pipes, unused = [], [], []
        jobs = []
        for _ in range(self.decoders - 1):
            job_out, job_in = context.Pipe(duplex=False)
            result_out, result_in = context.Pipe(duplex=False)
            self._start(context, dectris_receiver.decode_worker, (job_out, result_in))
            self._pipes.append(result_out)
            jobs.append(job_in)
            unused += [job_out, result_in]
        pipe, child = context.Pipe(duplex=True)
        uri = f"tcp://{self.host}:{self.port}"
        args = (uri, str(handle_dir / "shm"), slots, bytes_per_frame, self.frames_per_stack)
        self._start(context, dectris_receiver.run, (*args, child, tuple(jobs)))
        self._pipes.insert(0, pipe)
        for end in (*unused, *jobs, child):
            end.close()
        try:
            try:
                kind, item = self._next(None)
            except _Restart as restart:
                raise restart.error from None  # it did not start: no second try
            if kind == "ready":
                self.ready.set()
                self._consume(pipe)
            elif kind != "idle":  # idle: closed while it started
                raise LiveConnectionError(f"{self.name}: the receiver did not start: {item}")
        finally:
            self.ready.clear()
            self._end_processes()
            for end in self._pipes:
                end.close()
            shutil.rmtree(handle_dir, ignore_errors=True)

    def _start(self, context: Any, target: Any, args: tuple) -> None:
        process = context.Process(target=target, args=args, name="dpc-live dectris", daemon=True)
        process.start()
        self._processes.append(process)

    def _next(self, timeout: float | None) -> tuple[str, Any]:
        """The next message of the receiver or a decoder; ``("idle", None)`` after
        ``timeout`` s or on closing."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.stopping:
            left = POLL_S if deadline is None else min(POLL_S, deadline - time.monotonic())
            try:
                for end in multiprocessing.connection.wait(self._pipes, max(0.0, left)):
                    return end.recv()
            except (EOFError, OSError):
                codes = []
                for process in self._processes:
                    process.join(PROCESS_JOIN_S if not codes else 0.1)
                    codes.append(process.exitcode)
                raise _Restart(
                    LiveConnectionError(
                        f"{self.name}: the receiver's processes ended (exit codes {codes})"
                    )
                ) from None
            if deadline is not None and time.monotonic() >= deadline:
                break
        return ("idle", None)

    def _end_processes(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join(PROCESS_JOIN_S)
            if process.is_alive():
                process.kill()
                process.join(PROCESS_JOIN_S)

    def _consume(self, pipe: Any) -> None:
        """Follow the receiver's acquisitions until the source closes or fails."""
        last = time.monotonic()
        scan: LiveScan | None = None
        nimages = 0
        tracks: dict[str, _Track] = {}  # scans whose frames are being decoded, by spool path
        while not self.stopping:
            kind, item = self._next(POLL_S)
            now = time.monotonic()
            if kind == "idle":
                if scan is None and not self.scans and self.arm_timeout is not None:
                    if now - self._started > self.arm_timeout:
                        raise LiveTimeoutError(
                            f"{self.name}: no acquisition was armed within {self.arm_timeout:g} s"
                            f" (is the detector's zmq stream at tcp://{self.host}:{self.port} "
                            "enabled, and the microscope's software arming it?)"
                        )
                if (nimages or tracks) and now - last > self.frame_timeout:
                    track = tracks.get(str(scan.spool.path)) if scan is not None else None
                    raise _Restart(
                        LiveConnectionError(
                            f"{self.name}: no frame for {self.frame_timeout:g} s after frame "
                            f"{track.prefix if track else 0} of {nimages} (series "
                            f"{self.series}): the detector stopped sending or disconnected"
                        )
                    )
                continue
            last = now
            if kind == "arm":
                nimages, self.series = item
                scan = None
            elif kind == "frames?":
                self._settle(tracks)  # the scans before end first (the receiver waits)
                scan = self._scan_for(*item, nimages) if nimages else None
                if scan is None:
                    pipe.send(("skip", None))
                else:
                    tracks[str(scan.spool.path)] = _Track(scan, nimages)
                    pipe.send(("spool", self._spool_of(scan)))
            elif kind == "decoded":
                path, start, take = item
                if path in tracks and tracks[path].decoded(start, take):
                    self._finish(tracks.pop(path))
            elif kind == "end":
                path = str(scan.spool.path) if scan is not None else None
                if path in tracks and tracks[path].ends_at(item):
                    self._finish(tracks.pop(path))
                scan, nimages = None, 0
            else:
                track = tracks.get(str(scan.spool.path)) if scan is not None else None
                error = _typed(item, self.name, self.series, track.prefix if track else 0, nimages)
                if kind == "fatal":
                    raise _Restart(error)
                failed = scan or (list(tracks.values())[-1].scan if tracks else None)
                self._fail(failed, error)
                if failed is not None:
                    tracks.pop(str(failed.spool.path), None)
                scan, nimages = None, 0

    def _settle(self, tracks: dict[str, _Track]) -> None:
        """Wait (at most ``frame_timeout`` s) for the decoders to finish the scans before."""
        deadline = time.monotonic() + self.frame_timeout
        while tracks and time.monotonic() < deadline and not self.stopping:
            kind, item = self._next(POLL_S)
            if kind == "decoded" and item[0] in tracks:
                if tracks[item[0]].decoded(*item[1:]):
                    self._finish(tracks.pop(item[0]))
            elif kind in ("fault", "fatal"):
                track = tracks.popitem()[1]
                self._fail(track.scan, _typed(item, self.name, self.series, track.prefix, 0))
        for track in tracks.values():  # what never came
            self._fail(track.scan, LiveConnectionError(f"{self.name}: frames were not decoded"))
        tracks.clear()

    def _finish(self, track: _Track) -> None:
        """Every frame handed out is decoded: the scan ends."""
        track.scan.end(self._short_reason(track.scan, track.nimages))

    def _fail(self, scan: LiveScan | None, error: LiveError) -> None:
        """End the acquisition with ``error`` (its rows kept); the next one is received."""
        if not isinstance(error, _EndedEarly):
            self.error = error
        if scan is not None:
            scan.end(
                str(error) if isinstance(error, _EndedEarly) else f"{type(error).__name__}: {error}"
            )

    def _scan_for(self, height: int, width: int, dtype: str, nimages: int) -> LiveScan:
        """A new scan of the first frames' shape and type and the scan shape."""
        shape = self.scan_shape
        if shape is None and math.isqrt(nimages) ** 2 == nimages:
            shape = (math.isqrt(nimages),) * 2
        return self._begin_scan((height, width), np.dtype(dtype).newbyteorder("="), shape)

    @staticmethod
    def _spool_of(scan: LiveScan) -> tuple[str, int]:
        """Where the receiver writes the scan's frames: the spool file and its frame count."""
        scan.spool.array.flush()
        return str(scan.spool.path), scan.n_frames

    def _short_reason(self, scan: LiveScan, nimages: int) -> str | None:
        if nimages == scan.n_frames or scan.frames_received >= scan.n_frames:
            return None
        return (
            f"the detector was armed for {nimages} frames, the scan {scan.scan_shape} has "
            f"{scan.n_frames}; {scan.frames_received} received"
        )

    @property
    def status(self) -> str:
        """One line: the scan's rows, frame rate and lag, or what the source waits for."""
        if self.scan is None and self.error is None and self.running and not self.ready.is_set():
            return f"{self.name}: starting the receiver"
        return super().status

    # ------------------------------------------------------------------ the REST API
    def _api_bytes_per_frame(self) -> int:
        """An eighth of a frame's uncompressed bytes, from the REST API (as LiberTEM-live
        guesses the compressed size); the default without one."""
        if self.api_port is None:
            return DEFAULT_BYTES_PER_FRAME
        version = self._api_value("version/")
        width, height, bits = (
            self._api_value(f"{version}/config/{name}")
            for name in ("x_pixels_in_detector", "y_pixels_in_detector", "bit_depth_image")
        )
        return max(1024, int(width) * int(height) * max(1, int(bits) // 8) // 8)

    def _api_value(self, parameter: str) -> Any:
        """``value`` of ``/detector/api/<parameter>`` (SIMPLON REST, read only)."""
        url = f"http://{self.host}:{self.api_port}/detector/api/{parameter}"
        try:
            with urllib.request.urlopen(url, timeout=API_TIMEOUT_S) as answer:
                return json.load(answer)["value"]
        except (OSError, ValueError, KeyError) as err:
            raise LiveConnectionError(
                f"{self.name}: the SIMPLON REST API at {self.host}:{self.api_port} did not "
                f"answer {parameter}: {err}"
            ) from err


#: Room per compressed frame without the REST API: an eighth of an ARINA frame (192 x 192
#: uint32), LiberTEM-live's guess of the compressed size from the uncompressed one.
DEFAULT_BYTES_PER_FRAME = 192 * 192 * 4 // 8


class _Track:
    """Frames of one scan decoded so far, in whatever order the decoders finish: the scan
    is committed up to the first gap."""

    def __init__(self, scan: LiveScan, nimages: int) -> None:
        self.scan, self.nimages = scan, nimages
        self.prefix = 0
        self.pending: dict[int, int] = {}
        self.end: int | None = None

    def decoded(self, start: int, count: int) -> bool:
        """Frames ``start:start + count`` are decoded; True once every frame handed out is."""
        self.pending[start] = count
        while self.prefix in self.pending:
            self.prefix += self.pending.pop(self.prefix)
        self.scan.commit(self.prefix)
        return self.end is not None and self.prefix >= self.end

    def ends_at(self, handed_out: int) -> bool:
        """The series is over after ``handed_out`` frames; True when they are all decoded."""
        self.end = handed_out
        return self.prefix >= self.end


class _Restart(Exception):
    """The receiver's process failed or the detector went silent: end the acquisition with
    ``error`` and start a new receiver."""

    def __init__(self, error: LiveError) -> None:
        super().__init__(str(error))
        self.error = error


class _EndedEarly(LiveError):
    """The detector ended the series before its last frame (``dseries_end`` came early: an
    aborted acquisition); not a fault of the stream."""


def _typed(
    err: Exception | str, name: str, series: int | None, frame: int, nimages: int
) -> LiveError:
    """The receiver's fault as a :class:`LiveError`: an early ``dseries_end`` is a scan that
    ended early, other garbled messages are :class:`FrameFormatError`, the rest
    :class:`LiveConnectionError`."""
    if isinstance(err, LiveError):
        return err
    text = str(err)
    if "dseries_end" in text:
        return _EndedEarly(
            f"the detector ended series {series} early (aborted?): {frame} of {nimages} frames "
            "received"
        )
    where = f"{name}: series {series}, after frame {frame}"
    if "background thread is dead" in text:
        text += (
            " (libertem-dectris's receiver stops when a series' dseries_end does not follow its"
            " last frame within 1 s, dropping the frames of its last stack)"
        )
    if "slot too small" in text:
        text += " (pass a larger bytes_per_frame=, or api_port= to size it from the detector)"
    if any(word in text for word in ("deserializ", "mismatch", "decode", "parsing")):
        return FrameFormatError(f"{where}: a garbled or truncated message: {text}")
    return LiveConnectionError(f"{where}: the receiver failed: {text}")


def _port(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not 0 < value < 65536:
        raise ValueError(f"{name} must be in 1..65535, got {value!r}")
    return int(value)


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return float(value)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return int(value)
