"""Quantum Detectors Merlin: frames received from its TCP data stream as the scan runs.

The receiver is LiberTEM-live's ``libertem_qd_mpx`` (the ``[live]`` extra, MIT): a background
thread of its own reads the Merlin software's data port (``MPX,<length>,`` records: one
acquisition header when the detector is armed, then one frame header and its pixels per frame)
into shared memory in stacks of frames; :class:`MerlinSource` decodes each stack (native byte
order) and writes it into the scan's spool. The connection is passive: the Merlin software (or
whatever drives the microscope) arms and triggers; the source waits for one acquisition after
another, each a new cube, until it is closed.

Orientation: the cube equals ``dw.load`` of the ``.mib`` file of the same frames. Frames arrive
as the ``.mib`` stores them (raw row 0 first); rosettasciio, and so ``dw.load``, flips each frame
up-down, so Qx index ``i`` is raw row ``height - 1 - i``, Qy the raw column; Rx is the slow scan
axis (frames ``Rx * Ry .. Rx * Ry + Ry - 1`` are one scan row), Ry the fast one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .._extras import import_receiver
from .errors import FrameFormatError, LiveConnectionError, LiveError
from .source import LiveSource

#: Seconds between checks of :attr:`LiveSource.stopping` while waiting for the detector to arm.
ARM_POLL_S = 0.2
#: Bytes of the buffer frames are decoded into before their flipped copy goes to the spool
#: (small enough to stay in the CPU's cache between the two).
DECODE_BYTES = 8 * 2**20
#: The receiver's ways to recover from a broken stream.
RECOVERY_STRATEGIES = ("immediate_reconnect", "drain_then_reconnect")
#: What the receiver's errors say when the stream, not the connection, is at fault.
_FORMAT_WORDS = ("parse error", "decod", "unexpected value", "unknown version", "dtype")


class MerlinSource(LiveSource):
    """Scans received from a Merlin detector's data port (``dw.live.connect("merlin", ...)``).

    Parameters
    ----------
    host : str
        Host of the Merlin software's data server (the PC the detector's readout runs on).
    port : int
        Its data port (Merlin's default: 6342).
    timeout : float
        Seconds to wait for the data connection (s). Waiting for the detector to be armed has
        no limit: the source waits until :meth:`close`.
    frame_stack_size : int
        Frames the receiver gathers before handing them over (with ``bytes_per_frame`` it sizes
        one shared-memory slot: ``frame_stack_size * bytes_per_frame`` bytes; frames smaller
        than ``bytes_per_frame`` are packed, so a stack holds more of them).
    bytes_per_frame : int, optional
        Bytes reserved per frame in a slot (default: the receiver's own). Frames arrive in
        stacks of ``frame_stack_size * bytes_per_frame`` bytes: with small frames, pass their
        size for smoother updates.
    drain : bool
        Drain the socket before waiting for an acquisition (old Merlin software versions).
    recovery_strategy : {"immediate_reconnect", "drain_then_reconnect"}
        What the receiver does after a broken stream.
    huge_pages : bool
        Allocate the receiver's shared memory in huge pages (Linux, reserved beforehand).
    **options
        :class:`~dpc_widgets.live.source.LiveSource`'s: ``scan_shape=(rows, columns)`` (wins
        over the ``ScanX`` / ``ScanY`` of the acquisition header, which older Merlin software
        does not send; one of the two is needed), the calibration (Merlin reports none),
        ``origin``, ``spool_dir``, ``keep_scans``.

    Notes
    -----
    The receiver hands frames over in whole stacks: frames of a stack that is not yet full
    when the stream breaks are lost (the scan's ``reason`` says how many frames arrived).
    A scan longer than ``scan_shape`` (or a continuous acquisition, which states 0 frames)
    is cut into successive cubes of ``scan_shape``; in a continuous acquisition the frames of
    a stack not yet full wait in the receiver until more frames come. :meth:`close` during a
    stalled scan (connected, no frames coming) shuts the receiver's socket down to end its
    wait (Linux); elsewhere it waits up to :data:`~dpc_widgets.live.source.CLOSE_TIMEOUT_S`
    and leaves the receiving thread blocked until the stream moves.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6342,
        *,
        timeout: float = 10.0,
        frame_stack_size: int = 16,
        bytes_per_frame: int | None = None,
        drain: bool = False,
        recovery_strategy: str = "immediate_reconnect",
        huge_pages: bool = False,
        **options: Any,
    ) -> None:
        if not isinstance(host, str) or not host:
            raise TypeError(f"host must be a host name or address, got {host!r}")
        _check_int("port", port, 1, 65535)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        _check_int("frame_stack_size", frame_stack_size, 1)
        if bytes_per_frame is not None:
            _check_int("bytes_per_frame", bytes_per_frame, 1)
        if recovery_strategy not in RECOVERY_STRATEGIES:
            raise ValueError(
                f"recovery_strategy must be one of {RECOVERY_STRATEGIES}, got {recovery_strategy!r}"
            )
        super().__init__(**options)
        # imported here, so connect() without the [live] extra raises at once
        self._qd = import_receiver("libertem_qd_mpx", "dpc_widgets.live.connect('merlin')")
        self.host = host
        self.port = int(port)
        self.timeout = float(timeout)
        self.frame_stack_size = int(frame_stack_size)
        self.bytes_per_frame = None if bytes_per_frame is None else int(bytes_per_frame)
        self.drain = bool(drain)
        self.recovery_strategy = recovery_strategy
        self.huge_pages = bool(huge_pages)
        self.name = f"Merlin at {host}:{self.port}"
        self._conn: Any = None  # the receiver (libertem_qd_mpx.QdConnection) while connected
        self._cam: Any = None  # its decoder (CamClient)
        self._waiting_for_frames = False  # in the receiver's get_next_stack

    # ------------------------------------------------------------------ the receiving thread
    def _receive(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="dpc-merlin-"))
        try:
            self._conn = self._connect(folder)
            self._cam = self._qd.CamClient(self._conn.get_socket_path())
            while not self.stopping:
                config = self._wait_for_arm()
                if config is None:
                    return
                self._receive_acquisition(config)
        finally:
            # Dropping the receiver stops its threads and closes its socket without waiting;
            # its close() waits (holding the GIL) while it retries a lost connection.
            if self._cam is not None:
                self._cam.close()
            self._cam = self._conn = None
            shutil.rmtree(folder, ignore_errors=True)

    def _connect(self, folder: Path) -> Any:
        """The receiver, connected; or a :class:`LiveConnectionError` naming host:port."""
        conn = self._qd.QdConnection(
            data_host=self.host,
            data_port=self.port,
            frame_stack_size=self.frame_stack_size,
            shm_handle_path=str(folder / "qd-shm-socket"),
            drain=self.drain,
            recovery_strategy=self.recovery_strategy,
            huge=self.huge_pages,
            bytes_per_frame=self.bytes_per_frame,
        )
        try:
            conn.start_passive(timeout=self.timeout)
        except Exception as err:
            conn = None  # dropped: it would go on retrying
            raise LiveConnectionError(
                f"no connection to {self.name} within {self.timeout:g} s "
                f"({_why_unreachable(self.host, self.port, err)}): is the Merlin software "
                "running, with its TCP data server on that port?"
            ) from err
        return conn

    def _wait_for_arm(self) -> Any:
        """The next acquisition's configuration, or None once the source is closing."""
        while not self.stopping:
            try:
                config = self._conn.wait_for_arm(timeout=ARM_POLL_S)
            except Exception as err:
                raise _typed(err, f"{self.name}: waiting for an acquisition failed") from err
            if config is not None:
                return config
        return None

    def _receive_acquisition(self, config: Any) -> None:
        """Frames of one acquisition into one scan (several when it is longer than a scan)."""
        total = int(config.frames_in_acquisition())  # 0: continuous, until stopped
        height, width = (int(n) for n in config.detector_shape())
        nav = config.nav_shape()
        received = 0  # frames of the acquisition
        while not self.stopping and (total == 0 or received < total):
            stack = self._next_stack(1, received, total)
            if stack is None:  # the acquisition ended (the receiver counted its frames)
                return
            dtype = np.dtype(stack.get_dtype_string())
            scan = self._begin_scan((height, width), dtype, None if nav is None else tuple(nav))
            per_buffer = max(1, DECODE_BYTES // (height * width * dtype.itemsize))
            buffer = np.empty((min(scan.n_frames, per_buffer), height, width), dtype)
            written = 0
            while True:
                count = len(stack)
                self._check_stack(stack, dtype, (height, width), received)
                for f0 in range(0, count, len(buffer)):
                    f1 = min(count, f0 + len(buffer))
                    part = buffer[: f1 - f0]
                    try:
                        self._cam.decode_range_into_buffer(stack, part, f0, f1)
                    except Exception as err:
                        self._cam.done(stack)
                        raise _typed(
                            err, f"{self.name}: frame {received + f0} could not be decoded"
                        ) from err
                    # the .mib reader flips frames up-down: the cube does too
                    scan.writable(written + f0, f1 - f0)[...] = part[:, ::-1, :]
                self._cam.done(stack)
                written += count
                received += count
                scan.commit(written)
                left = scan.n_frames - written
                if total:
                    left = min(left, total - received)
                if left <= 0 or self.stopping:
                    break
                stack = self._next_stack(left, received, total)
                if stack is None:
                    break
            scan.end(None if written == scan.n_frames else self._ended_early(written, scan, total))

    def _next_stack(self, most: int, received: int, total: int) -> Any:
        """Up to ``most`` frames (a frame stack), or None at the acquisition's end."""
        self._waiting_for_frames = True  # then read stopping: close() sets it, then reads this
        if self.stopping:
            self._waiting_for_frames = False
            return None
        try:
            return self._conn.get_next_stack(max_size=min(most, 4 * self.frame_stack_size))
        except Exception as err:
            if self.stopping:  # close() cut the stream (see _close_connection)
                return None
            of = f" of {total}" if total else ""
            raise _typed(
                err, f"{self.name}: the stream broke after frame {received}{of} of the acquisition"
            ) from err
        finally:
            self._waiting_for_frames = False

    def _close_connection(self) -> None:
        """Unblock a receiving thread that waits for frames (a stalled scan): the receiver
        cannot be interrupted, so its data socket is shut down (Linux), which ends the wait
        with an error the thread takes for the close. Waiting for an acquisition needs
        nothing: the thread polls :attr:`stopping`."""
        if self._waiting_for_frames:
            _shut_down_sockets_to(self.port)

    def _check_stack(self, stack: Any, dtype: np.dtype, shape: tuple[int, int], at: int) -> None:
        got_dtype = np.dtype(stack.get_dtype_string())
        got_shape = tuple(int(n) for n in stack.get_shape())  # (width, height) in 0.3.2
        if got_dtype != dtype or sorted(got_shape) != sorted(shape):
            raise FrameFormatError(
                f"{self.name}: frames from {at} are {got_shape} {got_dtype}, the acquisition's "
                f"first were {shape} {dtype}"
            )

    def _ended_early(self, written: int, scan: Any, total: int) -> str:
        why = "the source was closed" if self.stopping else f"the acquisition had {total} frames"
        return f"the scan ended after {written} of {scan.n_frames} frames ({why})"


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value!r}")


def _typed(err: Exception, context: str) -> LiveError:
    """The receiver's error as :class:`FrameFormatError` (a garbled or truncated stream) or
    :class:`LiveConnectionError` (anything else: disconnected, reset)."""
    text = str(err)
    garbled = any(word in text.lower() for word in _FORMAT_WORDS)
    return (FrameFormatError if garbled else LiveConnectionError)(f"{context}: {text}")


def _why_unreachable(host: str, port: int, err: Exception) -> str:
    """What a plain TCP connection to host:port says (refused, timed out), asked only after
    the receiver failed (a connection made beforehand could take the detector's stream)."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            pass
    except OSError as probe:
        return probe.strerror or type(probe).__name__
    return f"the port accepts connections, but the receiver said: {err}"


def _shut_down_sockets_to(port: int) -> int:
    """Shut down this process's TCP connections to remote ``port`` (Linux: found through
    ``/proc/self/fd`` and ``/proc/self/net/tcp*``); returns how many. Elsewhere: 0."""
    try:
        inodes = {}
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/self/fd/{fd}")
                if target.startswith("socket:["):
                    inodes[target[8:-1]] = int(fd)
        found = []
        for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
            with contextlib.suppress(OSError), open(table) as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                    if remote_port == port and fields[9] in inodes:
                        found.append(inodes[fields[9]])
    except OSError:
        return 0
    for fd in found:
        with contextlib.suppress(OSError):
            duplicate = socket.socket(fileno=os.dup(fd))
            try:
                duplicate.shutdown(socket.SHUT_RDWR)
            finally:
                duplicate.close()
    return len(found)
