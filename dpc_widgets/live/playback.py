"""A scan replayed from data in hand, at a detector's pace: for demonstrations, teaching and
tests of everything downstream of a receiver (no network, no detector)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..io import Datacube
from .source import LiveSource


class ReplaySource(LiveSource):
    """Frames of ``data`` written into a live scan at ``frames_per_second``.

    Parameters
    ----------
    data : Datacube or array (Rx, Ry, Qx, Qy)
        What the "detector" records. A Datacube's calibration is used unless given.
    frames_per_second : float, optional
        Pace of the frames (``None``: as fast as they can be copied).
    frames_per_write : int
        Frames written (and counted) at a time, as a receiver hands over a frame stack.
    repeat : int
        Scans recorded one after the other (each a new cube).
    stop_after : int, optional
        End each scan after this many frames (a scan that ends early).
    **options
        :class:`~dpc_widgets.live.source.LiveSource`'s (calibration, origin, spool_dir).
    """

    name = "replay"

    def __init__(
        self,
        data: Any,
        *,
        frames_per_second: float | None = None,
        frames_per_write: int = 64,
        repeat: int = 1,
        stop_after: int | None = None,
        **options: Any,
    ) -> None:
        if isinstance(data, Datacube):
            for key, value in data.calibration.items():
                options.setdefault(key, value)
            data = data.data
        if len(getattr(data, "shape", ())) != 4:
            raise ValueError(f"data must be 4D (Rx, Ry, Qx, Qy), got shape {np.shape(data)}")
        if frames_per_second is not None and not frames_per_second > 0:
            raise ValueError(f"frames_per_second must be positive, got {frames_per_second!r}")
        options.setdefault("scan_shape", tuple(int(n) for n in data.shape[:2]))
        super().__init__(**options)
        self.data = data
        self.frames_per_second_asked = frames_per_second
        self.frames_per_write = max(1, int(frames_per_write))
        self.repeat = int(repeat)
        self.stop_after = stop_after

    def _receive(self) -> None:
        rx, ry, qx, qy = (int(n) for n in self.data.shape)
        flat = self.data.reshape(rx * ry, qx, qy)
        for _ in range(self.repeat):
            scan = self._begin_scan((qx, qy), self.data.dtype, (rx, ry))
            total = scan.n_frames
            if self.stop_after is not None:
                total = min(total, self.stop_after)
            start = time.monotonic()
            for f0 in range(0, total, self.frames_per_write):
                if self.stopping:
                    return
                f1 = min(total, f0 + self.frames_per_write)
                scan.writable(f0, f1 - f0)[...] = flat[f0:f1]
                if self.frames_per_second_asked:
                    due = start + f1 / self.frames_per_second_asked
                    time.sleep(max(0.0, due - time.monotonic()))
                scan.commit(f1)
            scan.end()
