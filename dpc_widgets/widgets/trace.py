"""Opt-in wall-clock timestamps of the explorer's update hops, for the latency measurement.

``tests/browser/browser_latency.py`` (and ``scripts/measure_latency.py``) set
``explorer.trace.enabled = True`` and read :attr:`UpdateTrace.records` after each move, to put
the kernel's hops between the browser's (key press, message sent, message arrived, drawn).
Off by default: :meth:`UpdateTrace.mark` then returns after one attribute test.

Times are milliseconds since the Unix epoch (``time.time()``), the clock the browser's
``performance.timeOrigin + performance.now()`` also follows on the same machine.
"""

from __future__ import annotations

import collections
import time

#: The hops of one update, in order: a control's observer ran (the browser's message arrived),
#: the results were computed (view traits set, not yet sent), the view's message was sent.
HOPS = ("received", "computed", "replied")


class UpdateTrace:
    """Timestamps of the last ``size`` explorer updates that computed something.

    Parameters
    ----------
    size : int
        How many updates to keep (the oldest are dropped).

    Attributes
    ----------
    enabled : bool
        Record (default False: every call returns at once).
    records : collections.deque of dict
        One dict per update: hop name (see :data:`HOPS`) -> ms since the epoch.
    """

    def __init__(self, size: int = 256) -> None:
        self.enabled = False
        self.records: collections.deque[dict[str, float]] = collections.deque(maxlen=size)
        self._open: dict[str, float] = {}

    def mark(self, hop: str) -> None:
        """Note the first time ``hop`` is reached in the update being traced."""
        if self.enabled and hop not in self._open:
            self._open[hop] = 1e3 * time.time()

    def close(self, keep: bool) -> None:
        """End the traced update: keep its record (it computed and sent something) or drop it."""
        if not self.enabled:
            return
        if keep:
            self.records.append(self._open)
        self._open = {}
