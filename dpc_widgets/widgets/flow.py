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

An update sends the view's message (the images) first; what can wait for it (plots, status
line, code text, the solved rotation's controls) goes through :class:`Later`: in a Jupyter kernel
once the updates pause (or now and then during a long drag), so it neither delays the images
nor takes the kernel's and the browser's time for every frame of a drag.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .._kernel import after_cell, in_kernel


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


class Later:
    """Run ``show()`` once a burst of requests pauses for ``delay`` seconds (at the latest
    ``max_wait`` seconds after the burst's first request), where an event loop handles the
    widgets; at once elsewhere.

    Parameters
    ----------
    show : callable
        Called without arguments; it shows whatever is pending when it runs (the newest state).
    delay : float
        Seconds without a new request before the run, when deferred.
    max_wait : float
        Seconds from a burst's first request to its run at the latest (a long drag still
        shows its plots now and then).
    deferred : bool, optional
        Defer through the event loop running on the requesting thread: ``None`` (default)
        inside a Jupyter kernel, ``False`` never (every request runs ``show()`` at once).

    Notes
    -----
    Without a running event loop (a script, the tests) a request runs ``show()`` at once, so
    the explorer's state is complete when a control assignment returns. A deferred run also
    happens, at the latest, when the kernel's running cell ends
    (:func:`~dpc_widgets._kernel.after_cell`): a cell that builds or changes an explorer
    leaves it complete, so a notebook executed headless and saved with its widget state
    (nbclient, ``jupyter nbconvert --execute``, docs builders) holds its plots and status too.
    """

    def __init__(
        self,
        show: Callable[[], None],
        delay: float,
        max_wait: float,
        deferred: bool | None = None,
    ) -> None:
        self._show = show
        self._delay = delay
        self._max_wait = max_wait
        self._deferred = in_kernel() if deferred is None else bool(deferred)
        self._handle: asyncio.TimerHandle | None = None
        self._first = 0.0  # loop time of the pending burst's first request
        self._after_cell = False  # a flush is registered for the end of the kernel's cell

    @property
    def pending(self) -> bool:
        """True while a deferred run is scheduled."""
        return self._handle is not None

    @property
    def defers(self) -> bool:
        """Whether a request made now would be deferred (else it runs ``show()`` at once)."""
        return self._loop() is not None

    def _loop(self) -> asyncio.AbstractEventLoop | None:
        if not self._deferred:
            return None
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    def request(self) -> None:
        """Run ``show()`` now (not deferred), or (re)schedule its deferred run."""
        loop = self._loop()
        if loop is None:
            self._show()
            return
        now = loop.time()
        if self._handle is None:
            self._first = now
        else:
            self._handle.cancel()
        self._handle = loop.call_at(min(now + self._delay, self._first + self._max_wait), self._run)
        if not self._after_cell:
            self._after_cell = after_cell(self._cell_ran)

    def _cell_ran(self) -> None:
        self._after_cell = False
        self.flush()

    def flush(self) -> None:
        """Run a scheduled ``show()`` now (nothing when none is scheduled)."""
        if self._handle is not None:
            self._handle.cancel()
            self._run()

    def _run(self) -> None:
        self._handle = None
        self._show()
