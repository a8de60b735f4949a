"""Detector-cache builds in a background thread, with a progress bar, for the explorer.

A re-centred detector or a radius beyond the cache needs a new cache: one pass over the data,
seconds to minutes on big data. In a Jupyter kernel (JupyterLab, Notebook, Voila: an IPython
kernel whose asyncio loop runs on the main thread) :class:`CacheBuild` runs that pass in a
thread while the kernel keeps handling the widgets: updates the current cache covers are still
answered, the others wait for the build. Its bar shows the fraction done and the time left;
when the build ends, ``on_done`` runs on the kernel's main thread. Elsewhere (a script, the
tests) builds are synchronous unless ``background=True`` (which needs a running event loop).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import ipywidgets as w

from .._kernel import in_kernel
from ..core import DPC


class CacheBuild:
    """One background build of a :class:`~dpc_widgets.core.DPC` detector cache at a time.

    Parameters
    ----------
    dpc : DPC
        The core whose cache is built (:meth:`DPC.build_cache` with ``keep_old=True``).
    on_done : callable
        Called as ``on_done(error)`` on the main thread when a build ends (``error`` is None
        or the exception it raised).
    background : bool, optional
        Build in a background thread: ``None`` (default) when running in a Jupyter kernel,
        ``True`` whenever an event loop runs on the calling thread, ``False`` never.

    Attributes
    ----------
    box : ipywidgets.HBox
        Progress bar and label; invisible when no build runs (it keeps its space, so the
        explorer's layout does not jump under a dragging pointer).
    """

    def __init__(
        self,
        dpc: DPC,
        on_done: Callable[[Exception | None], None],
        background: bool | None = None,
    ) -> None:
        self.dpc = dpc
        self._background = in_kernel() if background is None else bool(background)
        self._on_done = on_done
        self._bar = w.FloatProgress(min=0.0, max=1.0, layout=w.Layout(width="240px"))
        self._label = w.Label()
        self.box = w.HBox([self._bar, self._label], layout=w.Layout(visibility="hidden"))
        self.box.add_class("dpc-cache-progress")
        self._target: tuple | None = None
        self._thread: threading.Thread | None = None
        #: Duration (s) of the last background build that succeeded; None before one.
        self.seconds: float | None = None

    @property
    def busy(self) -> bool:
        """True while a build runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def active(self) -> bool:
        """True from :meth:`start` until the build has ended and ``on_done`` is called."""
        return self._target is not None

    def background(self) -> bool:
        """Whether builds run in the background now (allowed, and an event loop runs here)."""
        if not self._background:
            return False
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def start(self, center: tuple[float, float], reach: float) -> bool:
        """Build the cache for ``center`` / ``reach`` in the background (once per target).

        Returns False when builds cannot run in the background here (the caller computes
        synchronously); True when a build runs (started now or before) for this target.
        """
        if not self.background():
            return False
        target = (center, reach)
        if self.busy and self._target == target:
            return True
        if self.busy:  # another target: the next update asks again once this one ends
            return True
        loop = asyncio.get_running_loop()
        radius = self.dpc.plan_cache_radius(center, reach)  # on this (the main) thread
        self._target = target
        self._bar.value = 0.0
        self._label.value = "building the detector cache\u2026"
        self.box.layout.visibility = "visible"
        self._thread = threading.Thread(
            target=self._run,
            args=(loop, center, reach, radius),
            name="dpc-cache-build",
            daemon=True,
        )
        self._thread.start()
        return True

    def _run(self, loop: asyncio.AbstractEventLoop, center, reach, radius: float) -> None:
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            fraction = done / total if total else 1.0
            elapsed = time.perf_counter() - started
            left = elapsed * (1.0 - fraction) / fraction if fraction > 0 else float("nan")
            loop.call_soon_threadsafe(self._show, fraction, left)

        error: Exception | None = None
        try:
            self.dpc.build_cache(center, reach, radius=radius, keep_old=True, on_progress=progress)
        except Exception as err:  # noqa: BLE001 - reported through on_done
            error = err
        seconds = None if error else time.perf_counter() - started
        loop.call_soon_threadsafe(self._finish, error, seconds)

    def _show(self, fraction: float, seconds_left: float) -> None:
        self._bar.value = fraction
        left = f", {seconds_left:.0f} s left" if seconds_left == seconds_left else ""
        self._label.value = f"building the detector cache: {fraction:.0%}{left}"

    def _finish(self, error: Exception | None, seconds: float | None = None) -> None:
        if seconds is not None:
            self.seconds = seconds
        if self._thread is not None:
            self._thread.join()  # it has only this call left to make
            self._thread = None
        self.box.layout.visibility = "hidden"
        # Cleared first: on_done's update may start the next build (another target), whose
        # target must stay set. Nothing else runs on this thread before on_done returns.
        self._target = None
        self._on_done(error)
