"""The first image in a fresh process, against one streaming pass in another fresh process.

:func:`first_image` launches ``python -m dpc_widgets.bench.first_image`` (this module) as a
subprocess. In the subprocess the work is what a new user does: open the memory-mapped ``.npy``
with :func:`dpc_widgets.load`, build :class:`~dpc_widgets.core.DPC` and compute one full
``DPC.run(detector)`` (segment sums, segmented CoM, rotation, phase): with ``DPC``'s default
``stream_first`` (mode ``"first"``) one streaming pass answers it, with ``stream_first=False``
(mode ``"load"``) the detector cache's load pass. Then two radius drags: the first builds the
cache after a streamed first view, the second runs on it. Mode ``"explorer"`` times what a user
of the widget waits for: ``Explorer(path)`` with its defaults until its first view (the widget
modules are imported before the clock starts), then two drags. The same module in ``"stream"`` mode
times one :func:`~.baselines.streaming_pass` over the file in a fresh process (paying the same
first mapping of the file's pages). Each prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import dpc_widgets
from dpc_widgets.core import DPC, warmup
from dpc_widgets.core.engine import cache_dtype
from dpc_widgets.detectors import SegmentedDetector
from dpc_widgets.io import Datacube

from .baselines import streaming_pass
from .timing import RssSampler

#: Worker modes (see :func:`first_image`).
MODES = ("first", "load", "explorer", "ahead", "stream")
#: Seconds between ``import dpc_widgets`` in a kernel and the next cell, in mode ``"ahead"``.
THINK_S = 3.0


def first_image(
    path: Path,
    *,
    mode: str = "first",
    cache_radius: float | None = None,
    memory_budget: int | None = None,
    numba_cache_dir: str | os.PathLike | None = None,
    timeout_s: float = 1800.0,
) -> dict[str, Any]:
    """Run the worker on the ``.npy`` file ``path`` in a fresh Python process.

    Parameters
    ----------
    path : Path
        A memory-mappable ``.npy`` cube (Rx, Ry, Qx, Qy).
    mode : {"first", "load", "explorer", "stream"}
        ``"first"``: open, ``DPC``, first ``run`` and two radius drags; ``"load"``: the same
        with ``DPC(stream_first=False)``; ``"explorer"``: ``Explorer(path)`` with its defaults
        until its first view and two inner-radius drags (the widget modules imported before
        the clock starts); ``"ahead"``: as ``"first"``, :data:`THINK_S` seconds after
        :func:`~dpc_widgets.core.warmup.warm_up_ahead` (what ``import dpc_widgets`` starts in a
        Jupyter kernel; the wait is not timed); ``"stream"``: one streaming pass over the file.
    cache_radius : float, optional
        ``DPC(cache_radius=...)`` in detector units (``None``: the DPC default).
    memory_budget : int, optional
        ``DPC(memory_budget=...)`` in bytes (``None``: the DPC default).
    numba_cache_dir : path, optional
        ``NUMBA_CACHE_DIR`` of the subprocess (an empty directory: numba compiles from
        scratch); ``None`` keeps numba's default cache.
    timeout_s : float
        Seconds before the subprocess is killed.

    Returns
    -------
    dict
        The worker's JSON record: ``import_s`` (process launch to the worker's first line:
        interpreter and imports, s), ``work_s`` (s), ``peak_rss_anon`` and ``base_rss_anon``
        (bytes), and per mode ``open_s`` (``load`` and ``DPC``, s), ``next_s`` (the first
        drag: it builds the cache after a streamed first view), ``drag_s`` (a drag on the
        cache), ``cache_radius``, ``binning``, ``cache_nbytes``, ``numba`` (the cache's path
        at the end), ``stream_numba`` (whether the streaming kernel was ready at the first
        image), ``stream_ready_s`` (s from the start of the work until the streaming kernel was
        ready; NaN if it was not by the end), ``kernels`` (how each kernel group became ready)
        or ``bytes``.
    """
    env = dict(os.environ)
    package_root = str(Path(dpc_widgets.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([package_root, env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    if numba_cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache_dir)
    command = [sys.executable, "-m", "dpc_widgets.bench.first_image", str(path), "--mode", mode]
    if cache_radius is not None:
        command += ["--cache-radius", repr(float(cache_radius))]
    if memory_budget is not None:
        command += ["--memory-budget", str(int(memory_budget))]
    command += ["--launched", repr(time.time())]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"first-image worker failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def first_image_runs(path: Path, cache_radius: float | None = None) -> dict[str, dict[str, Any]]:
    """Streaming pass, first image (numba's cache warm, then empty), the same via the load
    pass (``DPC(stream_first=False)``, cache warm) and the explorer's first view (its default
    geometry and cache radius, cache warm), each in a fresh process.

    The warm cases follow an untimed run that fills numba's disk cache; the streaming pass is
    timed once before and once after them (the record keeps the median of the two).
    """
    out = {"stream": first_image(path, mode="stream")}
    first_image(path, cache_radius=cache_radius)  # fills numba's disk cache
    out["warm"] = first_image(path, cache_radius=cache_radius)
    out["load"] = first_image(path, mode="load", cache_radius=cache_radius)
    out["explorer"] = first_image(path, mode="explorer")
    out["ahead"] = first_image(path, mode="ahead", cache_radius=cache_radius)
    with tempfile.TemporaryDirectory(prefix="dpc-bench-numba-") as empty:
        out["cold"] = first_image(path, cache_radius=cache_radius, numba_cache_dir=empty)
    with tempfile.TemporaryDirectory(prefix="dpc-bench-numba-") as empty:
        out["ahead_cold"] = first_image(
            path, mode="ahead", cache_radius=cache_radius, numba_cache_dir=empty
        )
    again = first_image(path, mode="stream")
    out["stream"]["work_s"] = (out["stream"]["work_s"] + again["work_s"]) / 2
    return out


def _worker(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m dpc_widgets.bench.first_image")
    parser.add_argument("path")
    parser.add_argument("--mode", choices=MODES, default="first")
    parser.add_argument("--cache-radius", type=float, default=None)
    parser.add_argument("--memory-budget", type=int, default=None)
    parser.add_argument("--launched", type=float, default=None, help="time.time() at launch")
    args = parser.parse_args(argv)
    if args.mode == "explorer":
        from dpc_widgets.widgets import Explorer  # noqa: F401 - an import, counted as one
    record: dict[str, Any] = {
        "import_s": time.time() - args.launched if args.launched is not None else float("nan")
    }
    if args.mode == "ahead":  # the import in a kernel, then the user writes the next cell
        warmup.warm_up_ahead()
        time.sleep(THINK_S)
    with RssSampler(interval=0.002) as memory:
        start = time.perf_counter()
        if args.mode == "stream":
            record["bytes"] = streaming_pass(Datacube(np.load(args.path, mmap_mode="r")))
            record["work_s"] = time.perf_counter() - start
        elif args.mode == "explorer":
            record.update(_explorer_record(args, start))
        else:
            record.update(_dpc_record(args, start))
    record["peak_rss_anon"] = memory.peak
    record["base_rss_anon"] = memory.base
    return record


def _dpc_record(args: argparse.Namespace, start: float) -> dict[str, Any]:
    """Open, ``DPC``, the first ``run`` of the benchmark detector and two radius drags."""
    cube = dpc_widgets.load(args.path)
    dpc = DPC(
        cube,
        cache_radius=args.cache_radius,
        memory_budget=args.memory_budget,
        progress=False,
        stream_first=args.mode != "load",
    )
    record: dict[str, Any] = {"open_s": time.perf_counter() - start}
    q = cube.detector_shape[0]
    dpc.run(SegmentedDetector(0.1 * q, 0.25 * q, 4, 15.0))
    record["work_s"] = time.perf_counter() - start
    record.update(_kernel_record(cube, start))
    for key, step in (("next_s", 0.3), ("drag_s", 0.6)):
        drag = time.perf_counter()
        dpc.run(SegmentedDetector(0.1 * q + step, 0.25 * q, 4, 15.0))
        record[key] = time.perf_counter() - drag
    return {**record, **_cache_record(dpc)}


def _explorer_record(args: argparse.Namespace, start: float) -> dict[str, Any]:
    """``Explorer(path)`` with its defaults until its first view, then two inner-radius drags
    (outside a kernel the cache builds synchronously: the first drag builds it)."""
    from dpc_widgets.widgets import Explorer
    from dpc_widgets.widgets.settings import radius_range

    explorer = Explorer(args.path, memory_budget=args.memory_budget)
    record: dict[str, Any] = {"work_s": time.perf_counter() - start}
    if explorer.results is None:
        raise RuntimeError(f"the explorer shows no first view: {explorer.status.value}")
    record.update(_kernel_record(explorer.dpc.cube, start))
    _, step = radius_range(explorer.dpc.cube)
    for key in ("next_s", "drag_s"):
        drag = time.perf_counter()
        explorer.inner.value = explorer.inner.value + step
        record[key] = time.perf_counter() - drag
    return {**record, **_cache_record(explorer.dpc)}


def _kernel_record(cube: Datacube, start: float) -> dict[str, Any]:
    """Whether and when (s after ``start``) the streaming kernel was ready."""
    dtype = cache_dtype(cube.dtype)
    ready = warmup.ready_at.get(("stream", dtype.str))
    return {
        "stream_numba": warmup.kernels_ready("stream", dtype),
        "stream_ready_s": float("nan") if ready is None else ready - start,
    }


def _cache_record(dpc: DPC) -> dict[str, Any]:
    """The cache the DPC chose: radius, binning, bytes, numba path, kernels' provenance."""
    engine = dpc._engine  # no public accessor for the cache's size and path
    cube = dpc.cube
    return {
        "cache_radius": dpc.cached_radius,
        "binning": dpc.binning,
        "cache_nbytes": engine.nbytes,
        "numba": engine.use_numba,
        "kernels": {group: how for (group, _), how in warmup.ready_how.items()},
        "cube_nbytes": int(np.prod(cube.shape)) * cube.dtype.itemsize,
    }


if __name__ == "__main__":
    print(json.dumps(_worker()), flush=True)
