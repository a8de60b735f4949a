"""Latest-value-wins scheduling of explorer updates on the kernel side.

The explorer never works through a backlog of stale slider values. Three layers make sure:

1. Sliders and other ipywidgets: the widget manager in the browser keeps at most one state
   message per widget model in flight; while the kernel is busy it keeps only the newest state
   and sends it when the kernel reports idle (``_pending_msgs`` / ``_msg_buffer`` in
   ``@jupyter-widgets/base``). So a dragged slider reaches the kernel as a short sequence of
   recent values, each handled synchronously.
2. Ring drags in the canvas view: the view's ``RequestGate`` (``js/src/flow.js``) sends one
   ``{"type": "geometry", "seq": n, ...}`` message and waits for the kernel's
   ``{"type": "ack", "seq": n}``; meanwhile only the newest radii are kept.
3. In the kernel, :class:`LatestWins` (below): a change only *requests* an update; the update
   reads the controls when it runs, so any number of requests made while one is running, or
   while :meth:`LatestWins.hold` is active (several programmatic changes at once), collapse into
   one more run with the newest values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


class LatestWins:
    """Run ``update()`` once for any burst of requests; requests never queue up.

    Parameters
    ----------
    update : callable
        Called without arguments; it reads the current state itself, so the newest state is what
        gets computed.

    Notes
    -----
    A request made while ``update`` runs (re-entrant, e.g. from an observer of a value that the
    update itself sets, or from another thread) only marks the state dirty: one more run follows
    when the current one returns. Not thread-parallel: runs never overlap.
    """

    def __init__(self, update: Callable[[], None]) -> None:
        self._update = update
        self._running = False
        self._held = 0
        self._dirty = False
        self.runs = 0  #: number of completed runs of ``update`` (for diagnostics and tests)

    @property
    def busy(self) -> bool:
        """True while ``update`` runs or requests are held."""
        return self._running or self._held > 0

    def request(self) -> None:
        """Ask for an update: run now if idle, else once after the current run or hold."""
        self._dirty = True
        if not self.busy:
            self._drain()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Collect the requests made inside the block into one update at its end."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
        if not self.busy and self._dirty:
            self._drain()

    def _drain(self) -> None:
        self._running = True
        try:
            while self._dirty:
                self._dirty = False
                self._update()
                self.runs += 1
        finally:
            self._running = False
