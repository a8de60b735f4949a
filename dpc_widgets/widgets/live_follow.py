"""The explorer during an acquisition: a progress line and the refresh that follows the scan.

The explorer knows a live source only as a *progress source* (duck-typed, see
:func:`is_live_source`): ``source.scan`` (the current scan: ``cube``, ``feed``,
``scan_shape``, ``rows_ready``, ``complete``, ``reason``), ``source.status`` (one line),
``source.error`` and ``source.running``. Where the frames come from (a detector, a growing
file, a replay) is not its business.

:class:`LiveFollow` looks at the source periodically: in a Jupyter kernel on the kernel's own
asyncio loop (a timer every :data:`PERIOD_S` seconds while rows arrive, every
:data:`IDLE_S` seconds while it waits for an acquisition; never a thread of its own, so an
update never races a slider's), elsewhere when :meth:`LiveFollow.poll` or
:meth:`LiveFollow.wait` is called. A look

- shows the progress line (rows, frames/s, lag; "scan complete", the early end's reason or
  the source's error), written only when its text changed;
- hands a new scan's cube to the explorer (a new acquisition: its settings are kept);
- asks the explorer for an update when ``feed.version`` changed since the last look (the
  same update a slider move makes: the newest rows, the current settings), and when the scan
  is complete shows the exact images, plots and status at once (one last update).

Nothing raises out of a look: an error is logged and shown on the progress line, and the next
look tries again.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from typing import Any

import ipywidgets as w

from .._kernel import in_kernel

logger = logging.getLogger("dpc_widgets.widgets")

#: Seconds between looks while rows arrive (at least 5 updates per second when an update
#: takes under 0.05 s: the period runs from one look's start to the next's).
PERIOD_S = 0.15
#: Seconds between looks while no scan runs (waiting for an acquisition or a new one).
IDLE_S = 0.5


def is_live_source(data: Any) -> bool:
    """Whether ``data`` is a live source (:class:`dpc_widgets.live.LiveSource` or alike)."""
    return all(hasattr(data, name) for name in ("wait_for_cube", "scan", "status"))


class LiveFollow:
    """Follows a live source for an explorer: progress line, refreshes, new scans.

    Parameters
    ----------
    source : live source
        See the module docstring.
    on_cube : callable
        ``on_cube(cube)``: a scan's first rows arrived (the first scan, or a new acquisition).
    on_rows : callable
        ``on_rows(final)``: rows arrived since the last look (``final``: the scan is complete).
    periodic : bool, optional
        Look on a timer of the running asyncio loop: ``None`` (default) in a Jupyter kernel,
        ``False`` never (:meth:`poll` / :meth:`wait` only).

    Attributes
    ----------
    line : ipywidgets.HTML
        The progress line (one line, fixed height: its text never moves the layout).
    scan : object or None
        The scan shown (``source.scan`` once its first rows arrived).
    shown_rows : list of int
        ``rows_ready`` of each update asked for, in order (for diagnostics and tests).
    """

    def __init__(self, source: Any, on_cube, on_rows, periodic: bool | None = None) -> None:
        self.source = source
        self._on_cube = on_cube
        self._on_rows = on_rows
        self._periodic = in_kernel() if periodic is None else bool(periodic)
        self.line = w.HTML(
            layout=w.Layout(height="1.6em", overflow="hidden", width="100%", flex="0 0 auto")
        )
        self.line.add_class("dpc-live-progress")
        self.scan: Any = None
        self.failure: str | None = None  # why the scan shown could not be shown, if it failed
        self._version: Any = None
        self.shown_rows: list[int] = []
        self.looks = 0  #: looks made (diagnostics)
        self._handle: asyncio.TimerHandle | None = None
        self._stopped = False
        self._show_line()

    # ------------------------------------------------------------------ the loop
    def start(self, guarded: bool = True) -> None:
        """Look now, and then on the kernel's loop while the source runs (when periodic).

        ``guarded=False``: an error of this first look raises (the explorer's constructor
        lets a bad setting raise at the door); the later looks never raise.
        """
        self._stopped = False
        self._tick(guarded)

    def stop(self) -> None:
        """Stop looking periodically (:meth:`poll` still works)."""
        self._stopped = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    @property
    def following(self) -> bool:
        """True while a periodic look is scheduled."""
        return self._handle is not None

    def _tick(self, guarded: bool = True) -> None:
        self._handle = None
        started = time.monotonic()
        if guarded:
            self.poll()
        else:
            self.looks += 1
            self._look()
        if self._stopped or not self._periodic:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop here (a script): poll() and wait() only
        if self._done():
            return  # the source stopped and its last scan is shown complete
        period = PERIOD_S if self._receiving() else IDLE_S
        delay = max(0.0, started + period - time.monotonic())
        self._handle = loop.call_later(delay, self._tick)

    def _receiving(self) -> bool:
        scan = self.source.scan
        return scan is not None and not scan.complete

    def _done(self) -> bool:
        """The source stopped for good and the last scan's final state is shown."""
        if getattr(self.source, "running", True):
            return False
        scan = self.source.scan
        return scan is None or (scan is self.scan and scan.complete and self._version_now())

    def _version_now(self) -> bool:
        return self.scan is not None and self.scan.feed.version == self._version

    # ------------------------------------------------------------------ one look
    def poll(self) -> bool:
        """Look at the source once; returns True when an update was asked for.

        Never raises: an error is logged and shown on the progress line.
        """
        self.looks += 1
        try:
            return self._look()
        except Exception as err:  # noqa: BLE001 - a timer callback: shown and logged
            logger.error("DPC explorer: following the live source failed", exc_info=err)
            self._write("error", f"following the live source failed: {type(err).__name__}: {err}")
            return False

    def _look(self) -> bool:
        scan = self.source.scan
        if scan is not None and scan is not self.scan and _has_rows(scan):
            self.scan, self._version, self.failure = scan, None, None
            try:
                self._on_cube(scan.cube)
            except Exception as err:
                self.failure = f"showing the scan failed: {type(err).__name__}: {err}"
                self._show_line()
                raise
        asked = False
        if self.scan is not None:
            version = self.scan.feed.version
            if version != self._version:
                self._version = version
                self.shown_rows.append(int(version[0]))
                self._on_rows(bool(version[1]))
                asked = True
        self._show_line()
        return asked

    def wait(self, timeout: float | None = None) -> bool:
        """Look until the current scan (the first, before any) is complete, then once more.

        For scripts, tests and notebooks run headless (a cell waiting here blocks the kernel's
        loop, so the looks happen here instead). Returns True when the scan is complete and
        shown, False after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.poll()
            scan = self.scan
            if scan is not None and scan.complete and self._version_now():
                return True
            current = self.source.scan
            if not getattr(self.source, "running", True) and (
                current is None or (current.complete and not _has_rows(current))
            ):
                return False  # stopped before any scan, or its last scan had no rows
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            pause = PERIOD_S if left is None else min(PERIOD_S, left)
            current = self.source.scan
            if current is not None:
                current.feed.wait(current.feed.rows_ready + 1, pause)
            else:
                time.sleep(pause)

    # ------------------------------------------------------------------ the line
    def _show_line(self) -> None:
        source = self.source
        scan = source.scan
        error = getattr(source, "error", None)
        if scan is None or not _has_rows(scan):
            text = f"waiting for the detector: {source.status}"
            kind = "busy"
            if error is not None:
                kind, text = "error", f"{type(error).__name__}: {error}"
            elif scan is not None and scan.complete:
                kind = "warning"
        else:
            text, kind = source.status, "busy"
            if scan.complete:
                kind = "warning" if scan.feed.reason else "ok"
            if error is not None:
                kind = "error"
                if type(error).__name__ not in text:
                    text += f" · {type(error).__name__}: {error}"
        if self.failure is not None and scan is self.scan:
            kind, text = "error", f"{text} · {self.failure}"
        self._write(kind, text)

    def _write(self, kind: str, text: str) -> None:
        escaped = html.escape(text)
        value = (
            f'<span class="dpc-status-{kind}" style="{_ONE_LINE}" title="{escaped}">'
            f"{escaped}</span>"
        )
        if self.line.value != value:
            self.line.value = value


#: The progress line's text: one line, ellipsised (inline: the explorer's CSS comes with its
#: view, which is not on the page while the line waits for the first rows alone).
_ONE_LINE = "display: block; white-space: nowrap; overflow: hidden; text-overflow: ellipsis"


def _has_rows(scan: Any) -> bool:
    """Whether the scan's cube exists and holds at least one row."""
    return getattr(scan, "cube", None) is not None and scan.rows_ready > 0


__all__ = ["IDLE_S", "PERIOD_S", "LiveFollow", "is_live_source"]
