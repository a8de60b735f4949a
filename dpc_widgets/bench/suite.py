"""Every measurement on one benchmark cube, in one process (plus the fresh-process runs)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..core import DPC
from ..core.engine import PolarCache, wait_for_numba
from ..io import Datacube
from ..io.datacube import DEFAULT_BLOCK_BYTES
from .baselines import baselines, first_touch_seconds
from .cases import DPC_CASES, annulus_pixels, engine_updates, segment_updates
from .cubes import CubeSpec, bench_cube, default_cache_radius
from .explorer_update import drag_update
from .first_image import first_image_runs
from .timing import PeakMemory, Timing, log, time_calls


def run_size(spec: CubeSpec, repeats: int, smoke: bool, first: bool = True) -> dict[str, Any]:
    """Every measurement on the cube of ``spec``; ``first``: also the fresh-process runs."""
    data = bench_cube(spec)
    cube = Datacube(data)
    q = spec.shape[2]
    bounded = default_cache_radius(q)
    result: dict[str, Any] = {
        "spec": spec,
        "annulus_pixels": annulus_pixels(q, spec.shape),
        "cache_radius": bounded,
    }
    log(f"[{spec.name}] load")
    PolarCache(cube, cube.origin)  # warm-up: starts compiling the kernels, maps the file's pages
    wait_for_numba(_cache_dtype(cube))  # every timed build below runs on the compiled kernels
    with PeakMemory() as memory:
        engine = PolarCache(cube, cube.origin)
    result["memory"] = memory
    result["cache_nbytes"] = engine.nbytes
    result["path"] = "numba" if engine.use_numba else "numpy"
    result["profile"] = load_profile(engine, repeats)
    del engine
    result["load"] = Timing([_load_seconds(cube) for _ in range(repeats)])
    result["load_bounded"] = Timing([_load_seconds(cube, bounded) for _ in range(repeats)])
    log(f"[{spec.name}] updates")
    samples = max(repeats, 5 if smoke else 30)
    engine = PolarCache(cube, cube.origin)
    result["updates"] = engine_updates(engine, q, samples)
    result["binary_updates"] = segment_updates(engine, q, samples, subsample=1)
    del engine
    engine = PolarCache(cube, cube.origin, cache_radius=bounded)
    result["bounded_nbytes"] = engine.nbytes
    result["bounded_updates"] = engine_updates(engine, q, samples)
    del engine
    log(f"[{spec.name}] NumPy path")
    start = time.perf_counter()
    engine = PolarCache(cube, cube.origin, use_numba=False)
    result["numpy_load"] = time.perf_counter() - start
    result["numpy_updates"] = engine_updates(engine, q, min(repeats, 10))
    del engine
    log(f"[{spec.name}] baselines")
    result["baselines"] = baselines(data, repeats, budget_s=5.0 if smoke else 25.0)
    result["dpc"] = {}
    if DPC_CASES:
        log(f"[{spec.name}] DPC cases")
        dpc = DPC(cube, progress=False)
        for case in DPC_CASES:
            calls = [case.make(dpc, step) for step in range(repeats + 1)]
            result["dpc"][case.name] = time_calls(calls)
        del dpc
    log(f"[{spec.name}] explorer update vs DPC.run vs segment sums (issue 10 item 2)")
    result["explorer_update"] = drag_update(cube, samples)
    result["first_image"] = None
    if first:
        log(f"[{spec.name}] first image in fresh processes")
        result["first_image"] = first_image_runs(spec.path())
    return result


def load_profile(engine: PolarCache, repeats: int) -> dict[str, Timing]:
    """Where the load pass's time goes, on a built engine.

    Keys: ``"first_touch"`` (writing zeros once into a fresh allocation of the cache's size:
    the page faults alone) and, where the engine allows it, ``"touched"`` (the load pass run
    again into the engine's own, already-touched cache: the read, transpose and moments
    alone).
    """
    out = {"first_touch": first_touch_seconds(engine._pix.nbytes, repeats)}
    reload = getattr(engine, "_load", None)  # private: no public way to refill a built cache
    if reload is not None:
        try:
            out["touched"] = time_calls(
                [lambda: reload(DEFAULT_BLOCK_BYTES, False)] * (repeats + 1)
            )
        except TypeError:  # the engine's internals changed: leave the row out
            pass
    return out


def _cache_dtype(cube: Datacube) -> np.dtype:
    """The dtype the engine stores ``cube`` in (native byte order; uint64 as int64 bits)."""
    dtype = cube.dtype.newbyteorder("=")
    return np.dtype(np.int64) if dtype == np.uint64 else dtype


def _load_seconds(cube: Datacube, cache_radius: float = float("inf")) -> float:
    """Seconds to build a PolarCache (the previous one is already released)."""
    start = time.perf_counter()
    engine = PolarCache(cube, cube.origin, cache_radius=cache_radius)
    elapsed = time.perf_counter() - start
    del engine
    return elapsed
