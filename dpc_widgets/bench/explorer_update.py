"""The explorer's kernel-side update for a radius drag against ``DPC.run`` for the same drag and
against the bare segment sums (issue 10 item 2), interleaved in one run on one cube.

Each drag step sets a new inner radius, alternating between two neighbourhoods (the explorer's
default radius and 2 detector units above it, each moving by one slider step per visit), so
every step is a real incremental update: neither core holds the detector memoised before the
call (checked). Per step, in turn:

- ``segment sums``: ``engine.segment_sums`` of a third core (its detector cache goes through
  the same geometry changes): the engine's work alone;
- ``DPC.run``: the full core update (segments, CoM, rotation, phase) on a second core;
- ``explorer update``: ``explorer.inner.value = r`` (controls -> settings -> ``DPC.run`` ->
  contrast limits -> view buffers, then the plots, status line and code text, which run at
  once outside a Jupyter kernel), timed around the assignment;
- ``explorer images``: the part of that update before the view's message is sent (what a
  drag's next frame waits for; in a kernel the rest follows later), from the explorer's
  :class:`~dpc_widgets.widgets.trace.UpdateTrace` (``replied - received``).

``DPC.run`` and the explorer take turns going first, so neither always finds the caches warmer.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

from ..core import DPC
from ..detectors import SegmentedDetector
from ..io import Datacube
from .timing import Timing

NAMES = ("segment sums", "DPC.run", "explorer update", "explorer images")


def memoised(dpc: DPC, detector: SegmentedDetector) -> bool:
    """Whether ``dpc`` already holds any result for ``detector`` (a memo hit would follow)."""
    return any(isinstance(key, tuple) and detector in key for key in dpc._memo)


def drag_update(
    cube: Datacube,
    drags: int = 30,
    com_source: str = "segmented",
    profiler: Any = None,
) -> dict[str, Timing]:
    """Time ``drags`` radius-drag steps of the explorer, ``DPC.run`` and the segment sums.

    Parameters
    ----------
    cube : Datacube
        The data (three cores are built on it, each with its own detector cache).
    drags : int
        Timed drag steps (after two warm-up steps).
    com_source : str
        The explorer's and ``DPC.run``'s CoM source.
    profiler : cProfile.Profile, optional
        Enabled around each explorer update only.

    Returns
    -------
    dict of str to Timing
        Keyed by :data:`NAMES`; samples in seconds.

    Raises
    ------
    RuntimeError
        If a step would be a memo hit or the explorer did not compute the step's radius.
    """
    from ..widgets import Explorer  # the widgets are an optional part of the benchmarks

    log = logging.getLogger("dpc_widgets.widgets")
    level = log.level
    log.setLevel(logging.ERROR)  # e.g. a weak 180-degree choice on a symmetric cube
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _drag_update(Explorer, cube, drags, com_source, profiler)
    finally:
        log.setLevel(level)


def _drag_update(explorer_type, cube, drags, com_source, profiler) -> dict[str, Timing]:
    explorer = explorer_type(cube, com_source=com_source, background=False)
    explorer.trace.enabled = True
    dpc = DPC(cube, progress=False)
    bare = DPC(cube, progress=False)
    settings = explorer.settings
    step = explorer.inner.step
    base = round(settings.inner / step) * step

    def radius(k: int) -> float:
        """Drag step ``k``: alternate between two neighbourhoods, one slider step per visit."""
        return round(base + (2.0 if k % 2 else 0.0) + (k // 2 + 1) * step, 12)

    def detector(r: float) -> SegmentedDetector:
        return SegmentedDetector(r, settings.outer, settings.segments, rotation=settings.rotation)

    for k in (-2, -1):  # warm-up: caches built, numba compiled, FFT plans made
        r = radius(k) - 0.5 * step
        dpc.run(detector(r), com_source=com_source)
        bare.segment_images(detector(r))
        explorer.inner.value = round(r, 12)
    engine = bare._engine
    times: dict[str, list[float]] = {name: [] for name in NAMES}
    for k in range(drags):
        r = radius(k)
        det = detector(r)
        if memoised(dpc, det) or memoised(explorer.dpc, det):
            raise RuntimeError(f"drag {k} (inner {r}) would be a memo hit")
        start = time.perf_counter()
        engine.segment_sums(det.inner, det.outer, det.n_segments, det.rotation_rad, det.subsample)
        times["segment sums"].append(time.perf_counter() - start)
        for name in ("DPC.run", "explorer update")[:: 1 if k % 4 < 2 else -1]:
            start = time.perf_counter()
            if name == "DPC.run":
                dpc.run(det, com_source=com_source)
            else:
                if profiler is not None:
                    profiler.enable()
                explorer.inner.value = r
                if profiler is not None:
                    profiler.disable()
            times[name].append(time.perf_counter() - start)
        if explorer.results is None or explorer.results.detector != det:
            raise RuntimeError(
                f"drag {k}: the explorer did not compute inner {r}: {explorer.status.value}"
            )
        record = explorer.trace.records[-1]
        times["explorer images"].append(1e-3 * (record["replied"] - record["received"]))
    note = f"{drags} radius-drag steps, interleaved"
    return {name: Timing(samples, note) for name, samples in times.items()}
