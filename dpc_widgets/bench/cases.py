"""What is timed: detector geometries, engine update sequences, scaling series, DPC cases."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import DPC
from ..core.engine import PolarCache
from ..detectors import SUBSAMPLE, SegmentedDetector, pixel_geometry
from .cubes import random_cube
from .timing import Timing


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


# ---------------------------------------------------------------------------- engine updates
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
    """New geometries: N in {2..16}, inner 0.05-0.15 q, outer 0.2 q to 0.3 q - 1 px (area
    weights reach up to 0.71 px beyond the outer radius: inside the bounded cache's 0.3 q), any
    rotation."""
    rng = np.random.default_rng(seed)
    return [
        (
            float(rng.uniform(0.05, 0.15) * q),
            float(rng.uniform(0.2 * q, 0.3 * q - 1.0)),
            int(rng.choice([2, 3, 4, 6, 8, 12, 16])),
            float(rng.uniform(0, 2 * np.pi)),
        )
        for _ in range(count)
    ]


def segment_updates(
    engine: PolarCache, q: int, samples: int, subsample: int = SUBSAMPLE
) -> dict[str, Timing]:
    """Drag and jump timings of segment sums on a built engine: ``drag_radius``,
    ``drag_rotation`` and ``jump``, with ``subsample`` sub-samples per pixel side (the default:
    area weights, what ``DPC.run`` and the explorer use; 1: the tutorial's binary masks)."""
    base = (0.1 * q, 0.25 * q, 4, math.radians(15.0), subsample)
    out = {}
    for kind, geometries in drag_geometries(q, samples + 2).items():
        engine.segment_sums(*base)
        weighted = [(*g, subsample) for g in geometries]
        out[f"drag_{kind}"] = time_engine(engine.segment_sums, weighted, engine, warmup=2)
    engine.segment_sums(*base)
    jumps = [(*g, subsample) for g in jump_geometries(q, samples + 1)]
    out["jump"] = time_engine(engine.segment_sums, jumps, engine)
    return out


def engine_updates(engine: PolarCache, q: int, samples: int) -> dict[str, Timing]:
    """Drag and jump timings of segment sums (area weights: :func:`segment_updates`) and
    annulus moments on a built engine.

    Every geometry stays within 0.3 ``q`` of the centre (outer radii, and the pixels their area
    weights reach, below 0.3 ``q``), so a bounded cache of radius 0.3 ``q`` answers all of them.
    """
    base = (0.1 * q, 0.25 * q, 4, math.radians(15.0))
    out = segment_updates(engine, q, samples)
    rings = [(g[0], g[1]) for g in drag_geometries(q, samples + 2)["radius"]]
    engine.annulus_moments(*base[:2])
    out["annulus_drag"] = time_engine(engine.annulus_moments, rings, engine, warmup=2)
    jumps = [(g[0], g[1]) for g in jump_geometries(q, samples + 1, seed=2)]
    out["annulus_jump"] = time_engine(engine.annulus_moments, jumps, engine)
    return out


def time_engine(
    method: Callable[..., Any], geometries: list[tuple], engine: PolarCache, warmup: int = 1
) -> Timing:
    """Time ``method(*geometry)`` for each geometry; the note counts how each was answered."""
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


def annulus_pixels(q: int, spec_shape: tuple[int, int, int, int]) -> int:
    """Detector pixels of the benchmark annulus (0.1 q <= r < 0.25 q around the centre)."""
    qx, qy = spec_shape[2:]
    r = np.hypot(np.arange(qx)[:, None] - qx // 2, np.arange(qy)[None, :] - qy // 2)
    return int(((r >= 0.1 * q) & (r < 0.25 * q)).sum())


# ---------------------------------------------------------------------------- scaling
def scaling_series(samples: int) -> dict[str, list[tuple[str, dict[str, Timing], int]]]:
    """Update times vs scan size, detector size (fixed annulus) and annulus area (uint16)."""
    series: dict[str, list[tuple[str, dict[str, Timing], int]]] = {}

    def measure(shape, inner, outer):
        cube = random_cube(shape)
        engine = PolarCache(cube, cube.origin)
        w = SUBSAMPLE  # area weights, as the explorer uses
        base = (inner, outer, 4, 0.3, w)
        radius = [(inner, outer + 0.3 * (k % 2), 4, 0.3, w) for k in range(samples + 2)]
        turn = [(inner, outer, 4, 0.3 + math.radians(k), w) for k in range(samples + 2)]
        jumps = [(inner, outer, 2 + k % 7, 0.3 + k, w) for k in range(samples + 1)]
        out = {}
        for name, geometries, warmup in (
            ("drag_radius", radius, 2),
            ("drag_rotation", turn, 2),
            ("jump", jumps, 1),
        ):
            engine.segment_sums(*base)
            out[name] = time_engine(engine.segment_sums, geometries, engine, warmup)
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
