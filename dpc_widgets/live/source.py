"""A source of live scans: the receiving thread, the scans it makes, and where they stand.

:class:`LiveSource` is the one thing the compute core and the widgets see of a detector (or a
file still being written): ``source.cube`` (the current scan's cube, rows filling in),
``wait``, ``rows_received``, ``frames_per_second``, ``lag_s`` and a one-line ``status``.
Subclasses (:mod:`~dpc_widgets.live.merlin`, :mod:`~dpc_widgets.live.dectris`,
:mod:`~dpc_widgets.live.growing_file`, :mod:`~dpc_widgets.live.playback`) implement
:meth:`_receive`, run in a thread of the source's own: it calls :meth:`_begin_scan` for each
acquisition, writes frames into the scan it returns, and ends it. An exception there ends the
current scan with the error as its reason (its rows stay usable) and is kept in :attr:`error`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..io import Datacube
from ..physics import check_detector_units, check_scan_units
from .errors import LiveError, LiveTimeoutError
from .scan import LiveScan

#: Seconds :meth:`LiveSource.close` waits for the receiving thread.
CLOSE_TIMEOUT_S = 10.0
_CALIBRATION = ("energy", "scan_sampling", "scan_units", "detector_sampling", "detector_units")


class LiveSource:
    """Scans arriving from a detector or a growing file (base class).

    Parameters
    ----------
    scan_shape : (int, int), optional
        (Rx, Ry): scan rows (slow axis) and positions per row (fast axis). Needed unless the
        detector states it.
    energy, scan_sampling, scan_units, detector_sampling, detector_units
        The calibration, as :class:`~dpc_widgets.io.Datacube` takes it (nothing is guessed).
    origin : (float, float) or str, optional
        Detector origin (pixels), or ``"disc"`` (default: found on the first rows),
        ``"geometric"``.
    spool_dir : str or Path, optional
        Where each scan's frames are kept on disk: given, every scan's raw frames stay there
        (a folder `dpc-live-*` each); default: the temporary directory, each file removed
        with its scan.
    keep_scans : int
        Finished scans kept (with their files) besides the current one.

    Attributes
    ----------
    scans : list of LiveScan
        The scans kept, oldest first; the last is the current one.
    error : Exception or None
        The fault that stopped the receiving thread (a :class:`~dpc_widgets.live.LiveError`).
    """

    #: What the source is, for messages ("Merlin at 127.0.0.1:6342").
    name = "live source"

    def __init__(
        self,
        *,
        scan_shape: tuple[int, int] | None = None,
        origin: Any = None,
        spool_dir: str | Path | None = None,
        keep_scans: int = 2,
        **calibration: Any,
    ) -> None:
        unknown = sorted(set(calibration) - set(_CALIBRATION))
        if unknown:
            raise TypeError(f"unknown keyword(s) {unknown}; calibration keywords: {_CALIBRATION}")
        if "scan_units" in calibration:
            check_scan_units(calibration["scan_units"])
        if "detector_units" in calibration:
            check_detector_units(calibration["detector_units"])
        self.scan_shape = None if scan_shape is None else _scan_shape(scan_shape)
        self.calibration = calibration
        self.origin = origin
        self.spool_dir = spool_dir
        self.keep_scans = int(keep_scans)
        self.scans: list[LiveScan] = []
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life
    def start(self) -> LiveSource:
        """Start receiving (in a thread of its own); returns the source."""
        if self._thread is None:
            name = f"dpc-live {self.name}"
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._receive()
        except Exception as err:
            self.error = err
            scan = self.scan
            if scan is not None:
                scan.end(f"{type(err).__name__}: {err}")
        finally:
            scan = self.scan
            if scan is not None and not scan.ended:
                scan.end("the source was closed" if self._stop.is_set() else None)
            with self._changed:
                self._changed.notify_all()

    def _receive(self) -> None:  # pragma: no cover - abstract
        """Receive scans until :attr:`stopping`; see the module docstring."""
        raise NotImplementedError

    @property
    def stopping(self) -> bool:
        """True once :meth:`close` was called (receivers check it between frames)."""
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        """True while the receiving thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop receiving: the current scan ends with the rows it has (kept, usable)."""
        self._stop.set()
        self._close_connection()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(CLOSE_TIMEOUT_S)

    def _close_connection(self) -> None:
        """Unblock the receiving thread (subclasses close their socket or file here)."""

    def __enter__(self) -> LiveSource:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ scans
    def _begin_scan(
        self, frame_shape: tuple[int, int], dtype: Any, scan_shape: tuple[int, int] | None = None
    ) -> LiveScan:
        """A new scan (the receiving thread calls this when an acquisition starts).

        ``scan_shape`` is what the detector states; the one given to the source wins.

        Raises
        ------
        LiveError
            When neither states the scan shape.
        """
        shape = self.scan_shape or (None if scan_shape is None else _scan_shape(scan_shape))
        if shape is None:
            raise LiveError(
                f"{self.name} does not state the scan shape: pass scan_shape=(rows, columns)"
            )
        previous = self.scan
        if previous is not None and not previous.ended:
            previous.end("a new acquisition started")
        scan = LiveScan(
            shape,
            frame_shape,
            np.dtype(dtype),
            calibration=self.calibration,
            origin=self.origin,
            spool_dir=self.spool_dir,
        )
        with self._changed:
            self.scans.append(scan)
            for old in self.scans[: -1 - self.keep_scans]:
                if not old.spool.kept:  # frames in a folder of the user's stay there
                    old.spool.delete()
            del self.scans[: -1 - self.keep_scans]
            self._changed.notify_all()
        return scan

    @property
    def scan(self) -> LiveScan | None:
        """The current (newest) scan, or None before the first acquisition."""
        return self.scans[-1] if self.scans else None

    @property
    def cube(self) -> Datacube | None:
        """The current scan's cube (None until its first row arrived)."""
        scan = self.scan
        return None if scan is None else scan.cube

    def wait_for_cube(self, timeout: float | None = None) -> Datacube:
        """The current scan's cube, waiting for an acquisition and its first row.

        Raises
        ------
        LiveTimeoutError
            After ``timeout`` seconds without one.
        LiveError
            When the source stopped first (its fault, or it was closed).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            scan = self.scan
            if scan is not None and scan.cube is not None and scan.rows_ready > 0:
                return scan.cube
            if scan is not None and scan.complete:
                raise LiveError(f"{self.name}: the scan ended before its first row ({scan.reason})")
            if not self.running and self._thread is not None:
                raise LiveError(f"{self.name} stopped before a scan arrived: {self.error}")
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise LiveTimeoutError(
                    f"{self.name}: no scan rows arrived within {timeout} s ({self.status})"
                )
            if scan is not None:
                scan.wait_for_rows(1, min(0.1, left) if left is not None else 0.1)
            else:
                with self._changed:
                    self._changed.wait(min(0.1, left) if left is not None else 0.1)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the current scan (the next one, before any) is complete.

        Returns
        -------
        bool
            True when it is (ended and every row processed; :attr:`LiveScan.reason` says why
            when it ended early), False after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            scan = self.scan
            left = None if deadline is None else deadline - time.monotonic()
            if scan is not None:
                return scan.feed.wait(None, left)
            if not self.running:
                return False
            if left is not None and left <= 0:
                return False
            with self._changed:
                self._changed.wait(min(0.1, left) if left is not None else 0.1)

    # ------------------------------------------------------------------ where it stands
    @property
    def rows_received(self) -> int:
        """Whole scan rows of the current scan received (0 before one)."""
        scan = self.scan
        return 0 if scan is None else scan.rows_received

    @property
    def frames_per_second(self) -> float:
        """Frames per second arriving in the current scan (0 before one)."""
        scan = self.scan
        return 0.0 if scan is None else scan.frames_per_second

    @property
    def lag_s(self) -> float:
        """Seconds processing is behind the detector (0 when it has every row)."""
        scan = self.scan
        return 0.0 if scan is None else scan.lag_s

    @property
    def status(self) -> str:
        """One line: the scan's rows, frame rate and lag, "scan complete", "scan ended early"
        with the reason, or what the source waits for."""
        scan = self.scan
        if scan is None:
            if self.error is not None:
                return f"{self.name}: {type(self.error).__name__}: {self.error}"
            return f"{self.name}: waiting for an acquisition"
        rows = scan.scan_shape[0]
        text = (
            f"rows {scan.rows_ready}/{rows} · {scan.frames_per_second:,.0f} frames/s"
            f" · lag {scan.lag_s:.1f} s"
        )
        if scan.complete and scan.feed.reason:
            text = f"scan ended early: {scan.rows_ready}/{rows} rows ({scan.feed.reason})"
        elif scan.complete:
            text = f"scan complete: {scan.rows_ready}/{rows} rows"
        elif scan.ended:
            text += " · receiving ended, processing the last rows"
        return text


def _scan_shape(shape: Any) -> tuple[int, int]:
    """(Rx, Ry) as two positive ints, or a TypeError / ValueError naming the value."""
    try:
        rx, ry = shape
    except (TypeError, ValueError):
        raise TypeError(f"scan_shape must be (rows, columns), got {shape!r}") from None
    for n in (rx, ry):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"scan_shape must be two integers, got {shape!r}")
        if n < 1:
            raise ValueError(f"scan_shape must be positive, got {shape!r}")
    return int(rx), int(ry)
