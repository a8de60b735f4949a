"""Benchmark harness: ``python -m dpc_widgets.bench [--sizes S,M,L] [--repeats 7] [--out FILE]``.

Measures the fast engine (:class:`~dpc_widgets.core.engine.PolarCache`) on real-sized cubes
against the tools users compare with, in one run on one machine, and writes a Markdown report
(``docs/benchmarks.md`` by default):

- drag updates (segment sums for N = 4 after moving a radius by 0.3 px or the rotation by 1
  degree), jump updates (any new geometry), annulus moments (pixelated CoM) drags and jumps;
- the one-time load work (building the cache): time and peak additional memory;
- baselines: py4DSTEM's tutorial formula ``[(data * mask).sum((-2, -1)) for mask in masks]``,
  a plain ``data.reshape(P, K) @ masks.reshape(N, K).T`` and one streaming copy of the cube
  (the memory-bandwidth floor), with the ratios of ours to each;
- scaling of the update time with the scan size, the detector size (fixed annulus) and the
  annulus area;
- the cases registered in :data:`DPC_CASES` (whole :class:`~dpc_widgets.core.DPC` operations).

Benchmark cubes are generated once (in chunks, as ``.npy`` files) under ``$DPC_BENCH_CACHE`` or
``~/.cache/dpc-widgets-bench`` and memory-mapped on later runs. Timings are medians after a
warm-up call; ``--smoke`` runs the S cube only, quickly, for CI (timings are not asserted).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import os
import platform
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .core import DPC
from .core.engine import PolarCache, numba_available
from .detectors import SegmentedDetector, pixel_geometry
from .io import Datacube

# Targets for the L cube (2-core machine): seconds, or ratios to one streaming copy.
TARGETS = {
    "drag_s": 5e-3,
    "drag_copy": 0.05,
    "jump_s": 30e-3,
    "jump_copy": 0.3,
    "load_s": 1.5,
    "load_memory": 1.2,
}


@dataclasses.dataclass(frozen=True)
class CubeSpec:
    """A benchmark cube: scan (Rx, Ry) x detector (Qx, Qy) in ``dtype``."""

    name: str
    shape: tuple[int, int, int, int]
    dtype: str

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize

    def label(self) -> str:
        rx, ry, qx, qy = self.shape
        return f"{self.name}: {rx}x{ry} scan x {qx}x{qy} detector, {self.dtype}"


SIZES = {
    "S": CubeSpec("S", (32, 32, 96, 96), "float32"),
    "M": CubeSpec("M", (128, 128, 128, 128), "float32"),
    "L": CubeSpec("L", (256, 256, 128, 128), "uint16"),
}


@dataclasses.dataclass(frozen=True)
class DPCCase:
    """A whole-``DPC`` benchmark: ``make(dpc, step)`` returns the call to time for sample
    ``step`` (0 is the warm-up); each call should be a fresh request (results are memoised)."""

    name: str
    make: Callable[[DPC, int], Callable[[], Any]]


# Whole-DPC operations timed on every size; extend with `dpc_case`.
DPC_CASES: list[DPCCase] = []


def dpc_case(name: str) -> Callable:
    """Register ``make(dpc, step) -> callable`` as a :class:`DPCCase` in :data:`DPC_CASES`."""

    def register(make: Callable[[DPC, int], Callable[[], Any]]):
        DPC_CASES.append(DPCCase(name, make))
        return make

    return register


def bench_detector(dpc: DPC, step: int = 0) -> SegmentedDetector:
    """The benchmark detector (annulus 0.1-0.25 of the detector width), inner radius dragged."""
    q = dpc.cube.detector_shape[0]
    return SegmentedDetector(0.1 * q + 0.3 * step, 0.25 * q, 4, 15.0)


def jump_detector(dpc: DPC, step: int) -> SegmentedDetector:
    """A new geometry anywhere (N, radii and rotation), drawn like :func:`jump_geometries`."""
    inner, outer, segments, rotation = jump_geometries(dpc.cube.detector_shape[0], 1, seed=step)[0]
    return SegmentedDetector(inner, outer, segments, math.degrees(rotation))


@dpc_case("DPC.segment_images, radius drag (incl. memo and float64 host copy)")
def _segment_images_drag(dpc: DPC, step: int) -> Callable[[], Any]:
    return lambda: dpc.segment_images(bench_detector(dpc, step))


@dpc_case("full explorer update, drag: DPC.run (segments + segmented CoM + rotation + phase)")
def _run_drag(dpc: DPC, step: int) -> Callable[[], Any]:
    return lambda: dpc.run(bench_detector(dpc, step))


@dpc_case("full explorer update, jump: DPC.run with a new geometry (N, radii, rotation)")
def _run_jump(dpc: DPC, step: int) -> Callable[[], Any]:
    return lambda: dpc.run(jump_detector(dpc, step))


@dpc_case("full explorer update, drag, monolithic CoM")
def _run_drag_monolithic(dpc: DPC, step: int) -> Callable[[], Any]:
    return lambda: dpc.run(bench_detector(dpc, step), com_source="monolithic")


@dpc_case("one-time load work: new DPC + pixelated CoM (cache, moments, descan)")
def _load_work(dpc: DPC, step: int) -> Callable[[], Any]:
    def call():
        dpc.cube = dpc.cube  # clears every cache: the next call rebuilds it
        return dpc.com()

    return call


@dpc_case("rotation solve (closed form, both transposes)")
def _rotation(dpc: DPC, step: int) -> Callable[[], Any]:
    com = np.array(dpc.com(), copy=True)
    return lambda: dpc.solve_rotation(com)


@dpc_case("phase integration, Fourier (padding 2, mirror)")
def _phase_fourier(dpc: DPC, step: int) -> Callable[[], Any]:
    com = np.array(dpc.com(), copy=True)
    return lambda: dpc.phase(com, rotation=0.0)


@dpc_case("phase integration, iterative (padding 2, <= 64 steps)")
def _phase_iterative(dpc: DPC, step: int) -> Callable[[], Any]:
    com = np.array(dpc.com(), copy=True)
    return lambda: dpc.phase(com, rotation=0.0, method="iterative")


# ---------------------------------------------------------------------------- cubes
def cache_dir() -> Path:
    """``$DPC_BENCH_CACHE`` or ``~/.cache/dpc-widgets-bench``."""
    return Path(os.environ.get("DPC_BENCH_CACHE", Path.home() / ".cache" / "dpc-widgets-bench"))


def bench_cube(spec: CubeSpec, directory: Path | None = None) -> np.ndarray:
    """The cube of ``spec`` as a read-only memory map, generated on first use.

    Patterns: a bright disk (radius 0.2 Qx) displaced by a smooth deflection field across the
    scan, plus uniform noise; written scan row by scan row (bounded memory).
    """
    directory = cache_dir() if directory is None else directory
    directory.mkdir(parents=True, exist_ok=True)
    rx, ry, qx, qy = spec.shape
    path = directory / f"{spec.name}_{rx}x{ry}x{qx}x{qy}_{spec.dtype}_v1.npy"
    if path.exists():
        data = np.load(path, mmap_mode="r")
        if data.shape == spec.shape and data.dtype == np.dtype(spec.dtype):
            return data
    partial = path.with_suffix(".partial.npy")
    out = np.lib.format.open_memmap(partial, mode="w+", dtype=spec.dtype, shape=spec.shape)
    rng = np.random.default_rng(0)
    i = np.arange(qx, dtype=np.float32)[:, None] - qx / 2
    j = np.arange(qy, dtype=np.float32)[None, :] - qy / 2
    level = 2000.0 if np.dtype(spec.dtype).kind in "ui" else 1.0
    for x in range(rx):
        shift = 0.03 * qx * np.sin(2 * np.pi * np.arange(ry) / 16.0 + x / 5.0)  # (ry,)
        radius = np.hypot(i[None] - shift[:, None, None], j[None] - 0.5 * shift[:, None, None])
        disk = (radius < 0.2 * qx) * np.float32(level)
        if np.dtype(spec.dtype).kind in "ui":
            noise = rng.integers(0, 64, size=(ry, qx, qy), dtype=np.uint16)
            out[x] = (disk + noise).astype(spec.dtype)
        else:
            out[x] = disk + rng.random((ry, qx, qy), dtype=np.float32) * 0.05
    out.flush()
    del out
    partial.replace(path)
    return np.load(path, mmap_mode="r")


# ---------------------------------------------------------------------------- measurement
@dataclasses.dataclass
class Timing:
    """Samples (seconds) of one operation."""

    samples: list[float]
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)


def time_calls(calls: list[Callable[[], Any]], warmup: int = 1) -> Timing:
    """Time each call (the first ``warmup`` ones are run but not recorded)."""
    samples = []
    for index, call in enumerate(calls):
        start = time.perf_counter()
        call()
        elapsed = time.perf_counter() - start
        if index >= warmup:
            samples.append(elapsed)
    return Timing(samples)


def _rss_anon() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakMemory:
    """Peak additional memory during a ``with`` block: tracemalloc (NumPy buffers) and the
    process's anonymous resident memory sampled every millisecond (Linux)."""

    def __enter__(self) -> PeakMemory:
        self._linux = os.path.exists("/proc/self/status")
        self._base_rss = _rss_anon() if self._linux else 0
        self._peak_rss = self._base_rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        if self._linux:
            self._thread.start()
        tracemalloc.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self._peak_rss = max(self._peak_rss, _rss_anon())

    def __exit__(self, *exc) -> None:
        _, self.traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        self._stop.set()
        if self._linux:
            self._thread.join()
            self._peak_rss = max(self._peak_rss, _rss_anon())
        self.rss = self._peak_rss - self._base_rss


# ---------------------------------------------------------------------------- engine cases
def drag_geometries(q: int, count: int) -> dict[str, list[tuple[float, float, int, float]]]:
    """Radius drags (0.3 px steps of the inner, then the outer radius, back and forth) and
    rotation drags (1 degree steps) of the N = 4 benchmark detector (radians)."""
    inner, outer, rotation = 0.1 * q, 0.25 * q, math.radians(15.0)
    radius, turn = [], []
    for step in range(count):
        phase = step % 20
        d = 0.3 * (phase if phase < 10 else 20 - phase)
        radius.append(
            (inner + d, outer, 4, rotation) if step % 40 < 20 else (inner, outer - d, 4, rotation)
        )
        turn.append((inner, outer, 4, rotation + math.radians(step)))
    return {"radius": radius, "rotation": turn}


def jump_geometries(q: int, count: int, seed: int = 1) -> list[tuple[float, float, int, float]]:
    """New geometries: N in {2..16}, inner 0.05-0.15 q, outer 0.2-0.3 q, any rotation."""
    rng = np.random.default_rng(seed)
    return [
        (
            float(rng.uniform(0.05, 0.15) * q),
            float(rng.uniform(0.2, 0.3) * q),
            int(rng.choice([2, 3, 4, 6, 8, 12, 16])),
            float(rng.uniform(0, 2 * np.pi)),
        )
        for _ in range(count)
    ]


def engine_updates(engine: PolarCache, q: int, samples: int) -> dict[str, Timing]:
    """Drag and jump timings of segment sums and annulus moments on a built engine."""
    base = (0.1 * q, 0.25 * q, 4, math.radians(15.0))
    out = {}
    for kind, geometries in drag_geometries(q, samples + 2).items():
        engine.segment_sums(*base)
        out[f"drag_{kind}"] = _time_engine(engine.segment_sums, geometries, engine, warmup=2)
    engine.segment_sums(*base)
    out["jump"] = _time_engine(engine.segment_sums, jump_geometries(q, samples + 1), engine)
    rings = [(g[0], g[1]) for g in drag_geometries(q, samples + 2)["radius"]]
    engine.annulus_moments(*base[:2])
    out["annulus_drag"] = _time_engine(engine.annulus_moments, rings, engine, warmup=2)
    jumps = [(g[0], g[1]) for g in jump_geometries(q, samples + 1, seed=2)]
    out["annulus_jump"] = _time_engine(engine.annulus_moments, jumps, engine)
    return out


def _time_engine(method, geometries, engine: PolarCache, warmup: int = 1) -> Timing:
    kinds: dict[str, int] = {}
    samples = []
    for index, geometry in enumerate(geometries):
        start = time.perf_counter()
        method(*geometry)
        elapsed = time.perf_counter() - start
        if index >= warmup:
            samples.append(elapsed)
            kinds[engine.last_update] = kinds.get(engine.last_update, 0) + 1
    return Timing(samples, ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


def annulus_pixels(q: int, spec_shape) -> int:
    """Detector pixels of the benchmark annulus (0.1 q <= r < 0.25 q around the centre)."""
    qx, qy = spec_shape[2:]
    r = np.hypot(np.arange(qx)[:, None] - qx // 2, np.arange(qy)[None, :] - qy // 2)
    return int(((r >= 0.1 * q) & (r < 0.25 * q)).sum())


# ---------------------------------------------------------------------------- baselines
def baselines(data: np.ndarray, repeats: int, budget_s: float) -> dict[str, Timing]:
    """Tutorial formula, plain matmul and one streaming copy of ``data`` (N = 4 masks)."""
    cube = Datacube(data)
    q = cube.detector_shape[0]
    masks = SegmentedDetector(0.1 * q, 0.25 * q, 4, 15.0).masks(cube)
    rx, ry, qx, qy = cube.shape
    flat = np.asarray(data).reshape(rx * ry, qx * qy)
    weights = masks.reshape(4, qx * qy).T.astype(np.float32)
    out = {"copy": _copy_timing(flat, repeats)}
    out["tutorial"] = _time_adaptive(
        lambda: [(data * mask).sum((-2, -1)) for mask in masks], repeats, budget_s
    )
    out["matmul"] = _time_adaptive(lambda: flat @ weights, repeats, budget_s)
    return out


def _copy_timing(flat: np.ndarray, repeats: int) -> Timing:
    """One streaming copy of ``flat`` into a buffer whose pages are already touched."""
    buffer = np.empty_like(flat)
    buffer.fill(0)
    return time_calls([lambda: np.copyto(buffer, flat)] * (repeats + 1))


def _time_adaptive(call: Callable[[], Any], repeats: int, budget_s: float) -> Timing:
    """Up to ``repeats`` runs (no warm-up) while the total stays within ``budget_s``."""
    samples: list[float] = []
    while len(samples) < repeats and (not samples or sum(samples) + samples[0] <= budget_s):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    note = f"{len(samples)} run{'s' if len(samples) > 1 else ''}, no warm-up"
    return Timing(samples, note)


# ---------------------------------------------------------------------------- scaling
def random_cube(shape, seed: int = 0) -> Datacube:
    """A uint16 cube of uniform noise (generated in scan rows, for the scaling series)."""
    rng = np.random.default_rng(seed)
    data = np.empty(shape, dtype=np.uint16)
    for x in range(shape[0]):
        data[x] = rng.integers(0, 1024, size=shape[1:], dtype=np.uint16)
    return Datacube(data)


def scaling_series(samples: int) -> dict[str, list[tuple[str, dict[str, Timing], int]]]:
    """Update times vs scan size, detector size (fixed annulus) and annulus area (uint16)."""
    series: dict[str, list[tuple[str, dict[str, Timing], int]]] = {}

    def measure(shape, inner, outer):
        cube = random_cube(shape)
        engine = PolarCache(cube, cube.origin)
        base = (inner, outer, 4, 0.3)
        radius = [(inner, outer + 0.3 * (k % 2), 4, 0.3) for k in range(samples + 2)]
        turn = [(inner, outer, 4, 0.3 + math.radians(k)) for k in range(samples + 2)]
        jumps = [(inner, outer, 2 + k % 7, 0.3 + k) for k in range(samples + 1)]
        out = {}
        for name, geometries, warmup in (
            ("drag_radius", radius, 2),
            ("drag_rotation", turn, 2),
            ("jump", jumps, 1),
        ):
            engine.segment_sums(*base)
            out[name] = _time_engine(engine.segment_sums, geometries, engine, warmup)
        radius_px = pixel_geometry(cube.detector_shape, cube.origin, 1.0).radius
        return out, int(((radius_px >= inner) & (radius_px < outer)).sum())

    for n in (32, 64, 128, 256):
        series.setdefault("scan", []).append((f"{n}x{n} scan", *measure((n, n, 64, 64), 6, 16)))
    for q in (64, 128, 256):
        series.setdefault("detector", []).append(
            (f"{q}x{q} detector", *measure((64, 64, q, q), 6, 16))
        )
    for outer in (8, 16, 32, 64):
        series.setdefault("annulus", []).append(
            (f"0 <= r < {outer} px", *measure((128, 128, 128, 128), 0, outer))
        )
    return series


# ---------------------------------------------------------------------------- one size
def run_size(spec: CubeSpec, repeats: int, smoke: bool) -> dict[str, Any]:
    """Every measurement on one benchmark cube."""
    data = bench_cube(spec)
    cube = Datacube(data)
    q = spec.shape[2]
    result: dict[str, Any] = {"spec": spec, "annulus_pixels": annulus_pixels(q, spec.shape)}
    _log(f"[{spec.name}] load")
    PolarCache(cube, cube.origin)  # warm-up: compiles the kernels, maps the file's pages
    with PeakMemory() as memory:
        engine = PolarCache(cube, cube.origin)
    result["memory"] = memory
    result["cache_nbytes"] = engine.nbytes
    result["path"] = "numba" if engine.use_numba else "numpy"
    del engine
    result["load"] = Timing([_load_seconds(cube) for _ in range(repeats)])
    _log(f"[{spec.name}] updates")
    engine = PolarCache(cube, cube.origin)
    result["updates"] = engine_updates(engine, q, max(repeats, 5 if smoke else 30))
    del engine
    _log(f"[{spec.name}] NumPy path")
    start = time.perf_counter()
    engine = PolarCache(cube, cube.origin, use_numba=False)
    result["numpy_load"] = time.perf_counter() - start
    result["numpy_updates"] = engine_updates(engine, q, min(repeats, 10))
    del engine
    _log(f"[{spec.name}] baselines")
    result["baselines"] = baselines(data, repeats, budget_s=5.0 if smoke else 25.0)
    result["dpc"] = {}
    if DPC_CASES:
        _log(f"[{spec.name}] DPC cases")
        dpc = DPC(cube)
        for case in DPC_CASES:
            calls = [case.make(dpc, step) for step in range(repeats + 1)]
            result["dpc"][case.name] = time_calls(calls)
    return result


def _load_seconds(cube: Datacube) -> float:
    """Seconds to build a PolarCache (the previous one is already released)."""
    start = time.perf_counter()
    engine = PolarCache(cube, cube.origin)
    elapsed = time.perf_counter() - start
    del engine
    return elapsed


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- report
def machine() -> dict[str, str]:
    """Machine and software description for the report."""
    info = {
        "CPU": platform.processor() or platform.machine(),
        "cores (usable)": str(
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        ),
    }
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    info["CPU"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
            info["RAM"] = f"{kib / 2**20:.1f} GiB"
    except OSError:
        pass
    info["Python"] = platform.python_version()
    info["NumPy"] = np.__version__
    if numba_available():
        import numba

        info["numba"] = f"{numba.__version__} ({numba.get_num_threads()} threads)"
    else:
        info["numba"] = "not installed (NumPy path)"
    info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return info


def _ms(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.1:
        return f"{seconds * 1e3:.0f} ms"
    return f"{seconds * 1e3:.2f} ms"


def _ratio(x: float) -> str:
    if x >= 0.1:
        return f"{x:.2f}x"
    if x >= 1e-3:
        return f"{x:.3f}x"
    return f"{x:.1e}x"


def _status(measured: float, limit: float) -> str:
    if measured <= limit:
        return f"met ({limit / measured:.1f}x margin)"
    return f"**missed by {measured / limit:.2f}x**"


UPDATE_ROWS = [
    ("drag_radius", "drag: a radius moved by 0.3 px (segment sums, N = 4)"),
    ("drag_rotation", "drag: rotation moved by 1 degree (segment sums, N = 4)"),
    ("jump", "jump: new geometry (N 2..16, typed radii and rotation)"),
    ("annulus_drag", "annulus moments (pixelated CoM), radius drag 0.3 px"),
    ("annulus_jump", "annulus moments, new annulus"),
]


def size_section(result: dict[str, Any]) -> list[str]:
    """Markdown for one cube size."""
    spec: CubeSpec = result["spec"]
    updates, base = result["updates"], result["baselines"]
    copy = base["copy"].median
    memory = result["memory"]
    lines = [
        f"### {spec.label()} ({spec.nbytes / 2**30:.2f} GiB)",
        "",
        f"Benchmark annulus 0.1-0.25 of the detector width: {result['annulus_pixels']} of "
        f"{spec.shape[2] * spec.shape[3]} detector pixels. Engine path: {result['path']}.",
        "",
        "| operation | median | best | samples | median / streaming copy | how answered |",
        "|---|---|---|---|---|---|",
    ]
    for key, title in UPDATE_ROWS:
        t = updates[key]
        lines.append(
            f"| {title} | {_ms(t.median)} | {_ms(t.best)} | {len(t.samples)} | "
            f"{_ratio(t.median / copy)} | {t.note} |"
        )
    load = result["load"]
    lines += [
        f"| load: build the cache (one pass) | {_ms(load.median)} | {_ms(load.best)} | "
        f"{len(load.samples)} | {_ratio(load.median / copy)} | peak additional memory "
        f"{memory.traced / 2**30:.2f} GiB = {memory.traced / spec.nbytes:.2f}x the cube "
        f"(tracemalloc; anonymous RSS +{memory.rss / 2**30:.2f} GiB); cache "
        f"{result['cache_nbytes'] / 2**30:.2f} GiB |",
        "",
        "| baseline | median | runs | ours drag (worst) / it | ours jump / it |",
        "|---|---|---|---|---|",
    ]
    drag = max(updates["drag_radius"].median, updates["drag_rotation"].median)
    jump = updates["jump"].median
    names = {
        "tutorial": "py4DSTEM tutorial `[(data * mask).sum((-2, -1)) for mask in masks]`, N = 4",
        "matmul": "plain `data.reshape(P, K) @ masks.reshape(N, K).T` (float32 masks), N = 4",
        "copy": "one streaming copy of the cube (memory-bandwidth floor)",
    }
    for key in ("tutorial", "matmul", "copy"):
        t = base[key]
        runs = t.note or f"{len(t.samples)} after a warm-up"
        lines.append(
            f"| {names[key]} | {_ms(t.median)} | {runs} | {_ratio(drag / t.median)} | "
            f"{_ratio(jump / t.median)} |"
        )
    numpy_updates = result["numpy_updates"]
    lines += [
        "",
        "| pure-NumPy path (`use_numba=False`), medians | "
        + " | ".join(key.replace("_", " ") for key, _ in UPDATE_ROWS)
        + " | load (1 run) |",
        "|---" * (len(UPDATE_ROWS) + 2) + "|",
        "| time | "
        + " | ".join(_ms(numpy_updates[key].median) for key, _ in UPDATE_ROWS)
        + f" | {_ms(result['numpy_load'])} |",
    ]
    lines += ["", *target_rows(result, drag, jump, copy)]
    if result["dpc"]:
        lines += ["", "| DPC operation | median | best | samples |", "|---|---|---|---|"]
        for name, t in result["dpc"].items():
            lines.append(f"| {name} | {_ms(t.median)} | {_ms(t.best)} | {len(t.samples)} |")
    return lines + [""]


def target_rows(result: dict[str, Any], drag: float, jump: float, copy: float) -> list[str]:
    """Target table (the targets are set for L; on S and M they are informative)."""
    spec: CubeSpec = result["spec"]
    memory = result["memory"].traced / spec.nbytes
    load = result["load"].median
    rows = [
        ("drag (worst median) <= 5 ms", drag, TARGETS["drag_s"], _ms),
        ("drag <= 0.05x streaming copy", drag / copy, TARGETS["drag_copy"], _ratio),
        ("jump <= 30 ms", jump, TARGETS["jump_s"], _ms),
        ("jump <= 0.3x streaming copy", jump / copy, TARGETS["jump_copy"], _ratio),
        ("load <= 1.5 s", load, TARGETS["load_s"], _ms),
        ("load peak additional memory <= 1.2x cube", memory, TARGETS["load_memory"], _ratio),
    ]
    kind = "targets" if spec.name == "L" else "targets (set for L; informative here)"
    lines = [f"| {kind} | measured | status |", "|---|---|---|"]
    for title, measured, limit, fmt in rows:
        lines.append(f"| {title} | {fmt(measured)} | {_status(measured, limit)} |")
    return lines


def scaling_section(series) -> list[str]:
    """Markdown for the scaling series."""
    titles = {
        "scan": "Update time vs scan size (64x64 detector, annulus 6 <= r < 16 px)",
        "detector": "Update time vs detector size at a fixed annulus (64x64 scan, 6 <= r < 16 px)",
        "annulus": "Update time vs annulus area (128x128 scan, 128x128 detector)",
    }
    lines = [
        "## Scaling (uint16 noise cubes, medians)",
        "",
        "Drags cost the changed rows times the scan positions, jumps the annulus rows times the",
        "scan positions; the detector size enters only through the memory hierarchy (the 64x64",
        "scan x 64x64 detector cube, 32 MiB, fits the last-level cache; the larger ones do not).",
        "",
    ]
    for key, rows in series.items():
        lines += [
            f"### {titles[key]}",
            "",
            "| case | annulus pixels | outer radius drag 0.3 px | rotation drag 1 deg "
            "| jump (new N) |",
            "|---|---|---|---|---|",
        ]
        for label, timings, pixels in rows:
            lines.append(
                f"| {label} | {pixels} | {_ms(timings['drag_radius'].median)} | "
                f"{_ms(timings['drag_rotation'].median)} | {_ms(timings['jump'].median)} |"
            )
        lines.append("")
    return lines


METHOD = """\
## Method

- Engine: `dpc_widgets.core.engine.PolarCache`. Its load pass copies the cube once into a
  pixel-major (K detector pixels sorted by radius) x (P scan positions) array in the data's own
  dtype and computes the per-pattern moments. Updates add/subtract only the detector rows whose
  segment changed (integer data in integers: exact), or recompute the annulus when cheaper.
- Each update row is one call returning the full (N, P) segment sums (a new array); medians over
  a drag sequence (radius: inner then outer radius moved back and forth in 0.3 px steps;
  rotation: 1 degree steps) or over random jumps, after warm-up calls.
- Load: median over fresh builds after a warm-up build (which compiles the kernels and maps the
  memory-mapped file's pages); the peak additional memory is measured on a separate build.
- Baselines run on the same memory-mapped cube in the same process. The tutorial formula and the
  matmul are run fewer times on big cubes (a time budget; no warm-up) as noted.
- The machine is shared with other jobs: timings are noisy; the best sample is shown next to the
  median. The load averages at the start and the end of the run are in the machine table.
"""


def render(results, series, info, argv, load_avg) -> str:
    """The whole Markdown report."""
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python -m dpc_widgets.bench " + " ".join(argv) + "`; do not edit by hand.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.items()),
        f"| load average (start, end) | {load_avg[0]:.2f}, {load_avg[1]:.2f} |",
        "",
        "## Results",
        "",
    ]
    for result in results:
        lines += size_section(result)
    if series:
        lines += scaling_section(series)
    lines.append(METHOD)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m dpc_widgets.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sizes", default="S,M,L", help="comma-separated subset of S,M,L")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per operation (>= 1)")
    parser.add_argument("--out", default="docs/benchmarks.md", help="Markdown report path")
    parser.add_argument("--smoke", action="store_true", help="S only, few repeats, no scaling")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling series")
    args = parser.parse_args(argv)
    names = ["S"] if args.smoke else [n.strip().upper() for n in args.sizes.split(",") if n]
    unknown = [n for n in names if n not in SIZES]
    if unknown or not names:
        parser.error(f"--sizes must be a subset of S,M,L, got {args.sizes!r}")
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    repeats = min(args.repeats, 3) if args.smoke else args.repeats
    start_load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    results = [run_size(SIZES[name], repeats, args.smoke) for name in names]
    series = None
    if not (args.smoke or args.no_scaling):
        _log("scaling series")
        series = scaling_series(max(repeats, 15))
    end_load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    argv_shown = sys.argv[1:] if argv is None else argv
    report = render(results, series, machine(), argv_shown, (start_load, end_load))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
