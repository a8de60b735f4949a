"""Scan rows that arrive over time: the data side of a live acquisition.

A :class:`~dpc_widgets.io.Datacube` whose ``feed`` is a :class:`RowFeed` holds a scan that is
still being recorded: its array has the whole scan's shape, rows ``0 .. rows_ready - 1`` hold
the patterns received so far and the rows after them are zeros. Whatever keeps sums of the
cube (the detector cache of :mod:`dpc_widgets.core.growing`) subscribes to the feed and is
handed each new block of rows once, as it arrives, so nothing rereads the rows it has.

The feed knows nothing about detectors or networks (:mod:`dpc_widgets.live` publishes to it).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

#: ``consumer(r0, r1, block)``: scan rows ``r0:r1`` arrived; ``block`` holds their patterns,
#: shape ``((r1 - r0) * Ry, Qx, Qy)`` (read-only: copy it to keep it).
Consumer = Callable[[int, int, Any], None]


class RowFeed:
    """Rows of a scan in the order they arrive, handed once to each subscriber.

    Parameters
    ----------
    scan_rows : int
        Rows (along Rx) of the whole scan.

    Attributes
    ----------
    rows_ready : int
        Rows every subscriber has been handed (the rows a result may show).
    complete : bool
        True once no more rows will come (:meth:`finish`).
    reason : str or None
        Why the scan ended before its last row (``None`` when it ended complete or runs).

    Notes
    -----
    :meth:`publish` calls every subscriber under the feed's lock, and :meth:`subscribe` takes
    the same lock, so a subscriber that loads the rows already there (``0 .. rows_ready``)
    inside its subscription misses no row and gets none twice. Subscribers are held weakly
    (a bound method's object may be collected; it is then dropped).
    """

    def __init__(self, scan_rows: int) -> None:
        self.scan_rows = int(scan_rows)
        self.rows_ready = 0
        self.complete = False
        self.reason: str | None = None
        self._lock = threading.Condition(threading.RLock())
        self._consumers: list[weakref.WeakMethod] = []
        self._finishers: list[weakref.WeakMethod] = []

    @property
    def version(self) -> tuple[int, bool]:
        """``(rows_ready, complete)``: changes whenever a result may change."""
        return self.rows_ready, self.complete

    def subscribe(
        self,
        consumer: Consumer,
        load: Callable[[int], None] | None = None,
        on_finish: Callable[[], None] | None = None,
    ) -> int:
        """Hand ``consumer`` every block of rows published from now on.

        Parameters
        ----------
        consumer : callable
            A bound method ``consumer(r0, r1, block)`` (held weakly).
        load : callable, optional
            Called as ``load(rows_ready)`` under the lock before subscribing, to take the rows
            already there (no row is published meanwhile).
        on_finish : callable, optional
            A bound method called once when the feed finishes (at once if it has).

        Returns
        -------
        int
            ``rows_ready`` at the subscription: the consumer gets every row from there on.
        """
        with self._lock:
            ready = self.rows_ready
            if load is not None:
                load(ready)
            self._consumers.append(weakref.WeakMethod(consumer))
            if on_finish is not None:
                if self.complete:
                    on_finish()
                else:
                    self._finishers.append(weakref.WeakMethod(on_finish))
            return ready

    def unsubscribe(self, owner: Any) -> None:
        """Stop handing rows to (and finishing) the bound methods of ``owner``."""
        with self._lock:
            self._consumers = _others(self._consumers, owner)
            self._finishers = _others(self._finishers, owner)

    def publish(self, r0: int, r1: int, block: Any) -> None:
        """Hand scan rows ``r0:r1`` to every subscriber, then count them ready.

        Raises
        ------
        ValueError
            If the rows do not follow the rows ready, or lie beyond the scan.
        """
        with self._lock:
            if r0 != self.rows_ready or not r0 < r1 <= self.scan_rows:
                raise ValueError(
                    f"rows {r0}:{r1} do not follow the {self.rows_ready} rows ready of a "
                    f"{self.scan_rows}-row scan"
                )
            for ref in list(self._consumers):
                consumer = ref()
                if consumer is None:
                    self._consumers.remove(ref)
                else:
                    consumer(r0, r1, block)
            self.rows_ready = r1
            self._lock.notify_all()

    def finish(self, reason: str | None = None) -> None:
        """No more rows: ``reason`` says why when the scan ended before its last row."""
        with self._lock:
            if self.complete:
                return
            self.complete = True
            if self.rows_ready < self.scan_rows:
                self.reason = reason or (
                    f"the scan ended after {self.rows_ready} of {self.scan_rows} rows"
                )
            for ref in self._finishers:
                finisher = ref()
                if finisher is not None:
                    finisher()
            self._finishers = []
            self._lock.notify_all()

    def wait(self, rows: int | None = None, timeout: float | None = None) -> bool:
        """Wait until ``rows`` rows are ready (default: until the feed finishes).

        Returns
        -------
        bool
            True when they are (or the feed finished), False after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout

        def done() -> bool:
            return self.complete or (rows is not None and self.rows_ready >= rows)

        with self._lock:
            while not done():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._lock.wait(left)
            return True


def _others(refs: list[weakref.WeakMethod], owner: Any) -> list[weakref.WeakMethod]:
    """The live bound methods of ``refs`` whose object is not ``owner``."""
    return [ref for ref in refs if (method := ref()) is not None and method.__self__ is not owner]
