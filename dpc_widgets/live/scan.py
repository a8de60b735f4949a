"""One scan being recorded: its frames on disk, its rows handed to the compute core, its pace.

A receiver (:mod:`dpc_widgets.live.source`) writes frames into :meth:`LiveScan.writable` and
counts them with :meth:`LiveScan.commit`; it never waits for processing. A thread of the scan's
own (the processor) hands each new block of whole rows to the cube's
:class:`~dpc_widgets.io.feed.RowFeed`, whose subscribers (the growing detector cache) take it
once. If processing falls behind, frames wait in the file and :attr:`LiveScan.lag_s` says by how
much; it catches up with larger blocks.
"""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..io import Datacube
from ..io.feed import RowFeed
from .spool import Spool

#: Seconds of arrivals the frame rate is measured over.
RATE_WINDOW_S = 1.0
#: Bytes of one block handed to the cache (more rows wait for the next block).
BLOCK_BYTES = 64 * 2**20


class LiveScan:
    """One acquisition: scan shape, frames received, rows processed, and the cube over them.

    Parameters
    ----------
    scan_shape : (int, int)
        (Rx, Ry): rows of the scan (slow axis) and positions per row (fast axis).
    frame_shape : (int, int)
        (Qx, Qy) detector pixels, in the cube's orientation.
    dtype : numpy dtype
        Pixel type.
    calibration : dict
        Keywords of :class:`~dpc_widgets.io.Datacube` (``energy``, ``scan_sampling``,
        ``scan_units``, ``detector_sampling``, ``detector_units``).
    origin : (float, float), str or None
        The detector origin; ``None`` means ``"disc"`` (found on the first rows, as ``load``
        does on a file).
    spool_dir : str or Path, optional
        Where the frames are kept (:class:`~dpc_widgets.live.spool.Spool`).

    Attributes
    ----------
    cube : Datacube or None
        The scan as a cube (with ``feed``), made when its first row arrives.
    error : Exception or None
        What stopped the processing (the rows before it stay usable).
    """

    def __init__(
        self,
        scan_shape: tuple[int, int],
        frame_shape: tuple[int, int],
        dtype: Any,
        *,
        calibration: dict[str, Any] | None = None,
        origin: Any = None,
        spool_dir: str | Path | None = None,
    ) -> None:
        self.scan_shape = (int(scan_shape[0]), int(scan_shape[1]))
        self.frame_shape = (int(frame_shape[0]), int(frame_shape[1]))
        self.n_frames = self.scan_shape[0] * self.scan_shape[1]
        self.spool = Spool(self.n_frames, self.frame_shape, dtype, spool_dir)
        self.feed = RowFeed(self.scan_shape[0])
        self.calibration = dict(calibration or {})
        self.origin = "disc" if origin is None else origin
        self.cube: Datacube | None = None
        self.origin_note: str | None = None  # why origin="disc" fell back, if it did
        self.error: Exception | None = None
        self.frames_received = 0
        self.ended = False
        self.reason: str | None = None
        self.started = time.monotonic()
        self.finished_at: float | None = None
        self._arrivals: collections.deque[tuple[float, int]] = collections.deque()
        self._changed = threading.Condition()
        self._processor = threading.Thread(target=self._process, name="dpc-live-rows", daemon=True)
        self._processor.start()

    # ------------------------------------------------------------------ the receiver's side
    def writable(self, start: int, count: int) -> np.ndarray:
        """Frames ``start:start + count`` (flat scan order) to write pixels into."""
        return self.spool.writable(start, count)

    def commit(self, frames: int) -> None:
        """Frames ``0:frames`` are written (a count only grows)."""
        now = time.monotonic()
        with self._changed:
            if frames <= self.frames_received:
                return
            self.frames_received = min(int(frames), self.n_frames)
            self._arrivals.append((now, self.frames_received))
            while len(self._arrivals) > 2 and now - self._arrivals[1][0] > RATE_WINDOW_S:
                self._arrivals.popleft()
            self._changed.notify_all()

    def end(self, reason: str | None = None) -> None:
        """No more frames; ``reason`` says why when the scan ended before its last frame."""
        with self._changed:
            if self.ended:
                return
            self.ended = True
            self.finished_at = time.monotonic()
            if self.frames_received < self.n_frames:
                self.reason = reason or (
                    f"the scan ended after {self.frames_received} of {self.n_frames} frames"
                )
            self._changed.notify_all()

    # ------------------------------------------------------------------ where it stands
    @property
    def rows_received(self) -> int:
        """Whole scan rows received."""
        return self.frames_received // self.scan_shape[1]

    @property
    def rows_ready(self) -> int:
        """Rows handed to the compute core (what results show)."""
        return self.feed.rows_ready

    @property
    def complete(self) -> bool:
        """True once the scan ended and every whole row received was processed."""
        return self.feed.complete

    @property
    def frames_per_second(self) -> float:
        """Frames received per second over the last :data:`RATE_WINDOW_S` (the whole scan
        once it ended); 0 before two arrivals."""
        with self._changed:
            if self.ended and self.finished_at is not None and self.frames_received:
                span = self.finished_at - self.started
                return self.frames_received / span if span > 0 else 0.0
            if len(self._arrivals) < 2:
                return 0.0
            (t0, f0), (t1, f1) = self._arrivals[0], self._arrivals[-1]
            return (f1 - f0) / (t1 - t0) if t1 > t0 else 0.0

    @property
    def lag_s(self) -> float:
        """Seconds since the oldest whole row received but not processed arrived (0 when
        processing has every row)."""
        ry = self.scan_shape[1]
        waiting = self.feed.rows_ready * ry
        with self._changed:
            if self.rows_received <= self.feed.rows_ready:
                return 0.0
            for when, frames in self._arrivals:
                if frames > waiting:
                    return max(0.0, time.monotonic() - when)
            return max(0.0, time.monotonic() - self.started)

    def wait_for_rows(self, rows: int = 1, timeout: float | None = None) -> bool:
        """Wait until ``rows`` rows are processed or the scan is complete; False on timeout."""
        return self.feed.wait(rows, timeout)

    # ------------------------------------------------------------------ the processor
    def _process(self) -> None:
        """Hand whole rows to the feed as they arrive; finish it when the scan ends."""
        ry = self.scan_shape[1]
        row_bytes = ry * self.frame_shape[0] * self.frame_shape[1] * self.spool.array.itemsize
        step = max(1, BLOCK_BYTES // row_bytes)
        reason = None
        try:
            while True:
                with self._changed:
                    while self.rows_received <= self.feed.rows_ready and not self.ended:
                        self._changed.wait()
                    available = self.rows_received
                    ended = self.ended
                r0 = self.feed.rows_ready
                if available <= r0:
                    if ended:
                        break
                    continue
                r1 = min(available, r0 + step)
                if self.cube is None:
                    self.cube = self._make_cube()
                self.feed.publish(r0, r1, self.cube._rows(r0, r1))
        except Exception as err:  # a consumer failed: keep the rows, say why
            self.error = err
            reason = (
                f"processing stopped at row {self.feed.rows_ready}: {type(err).__name__}: {err}"
            )
        finally:
            self.feed.finish(reason or self.reason)

    def _make_cube(self) -> Datacube:
        """The cube over the spool; ``origin="disc"`` is found on the rows received (without a
        warning from this thread: a fallback's reason is kept in :attr:`origin_note`)."""
        data = self.spool.read_only().reshape(*self.scan_shape, *self.frame_shape)
        disc = isinstance(self.origin, str) and self.origin == "disc"
        origin = "geometric" if disc else self.origin
        cube = Datacube(data, origin=origin, feed=self.feed, **self.calibration)
        if disc:
            cube, self.origin_note = cube.with_disc_origin()
        return cube
