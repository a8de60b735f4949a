"""Cluster latency: the DPC engine on a local Dask cluster against one local streaming pass.

``python -m dpc_widgets.bench.cluster [--size L] [--workers 2] [--out FILE]`` measures, in one
run on one machine:

- the baseline: one streaming pass over the memory-mapped cube in this process;
- ``DPC(cube, client=client).run`` for a radius drag with the default blocks (the explorer's
  update without drawing), and the local ``DPC.run`` for the same drag;
- per block count B: the engine's segment sums for the drag (B tasks, B results), the round trip
  of B no-op tasks on the block caches (the per-update task overhead) and the gather of B arrays
  of the drag's result size (the gather cost);
- the time to build the cluster cache (workers read their own rows from the file).

It prints a Markdown report (``docs/cluster.md`` holds one) whose figures are medians, each also
as a ratio to the same run's streaming pass; :func:`projection` extrapolates from them.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..core import DPC
from ..detectors import SegmentedDetector
from ..io import load
from .baselines import streaming_pass
from .cases import drag_geometries
from .cubes import SIZES, bench_cube, default_cache_radius
from .report import machine, ms, ratio
from .timing import Timing, time_calls

BLOCK_COUNTS = (2, 4, 8, 16)


def _noop(cache: Any) -> None:
    return None


def _payload(cache: Any, shape: tuple[int, int]) -> np.ndarray:
    return np.zeros(shape, dtype=np.int64)


def _drag_detectors(q: int, count: int) -> list[SegmentedDetector]:
    return [
        SegmentedDetector(inner, outer, segments, math.degrees(rotation))
        for inner, outer, segments, rotation in drag_geometries(q, count)["radius"]
    ]


def measure(size: str, workers: int, samples: int) -> dict[str, Any]:
    """Every figure of the report (seconds), on a LocalCluster of ``workers`` processes."""
    from .._extras import import_distributed

    distributed = import_distributed("the cluster benchmark (python -m dpc_widgets.bench)")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster

    spec = SIZES[size]
    bench_cube(spec)
    cube = load(spec.path(), origin=None)
    radius = default_cache_radius(cube.detector_shape[0])
    detectors = _drag_detectors(cube.detector_shape[0], samples + 1)
    out: dict[str, Any] = {"spec": spec, "workers": workers, "samples": samples}
    out["stream"] = time_calls([lambda: streaming_pass(cube)] * 4)
    out["local_run"] = _time_runs(DPC(cube, cache_radius=radius, progress=False), detectors)
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, Client(cluster) as client:
        start = time.perf_counter()
        dpc = DPC(cube, client=client, cache_radius=radius, progress=False)
        dpc.run(detectors[0])
        out["build"] = time.perf_counter() - start
        out["default_blocks"] = len(dpc._engine.blocks)
        out["cluster_run"] = _time_runs(dpc, detectors)
        dpc = None  # its block caches leave the workers
        out["blocks"] = {
            count: _time_blocks(cube, client, radius, count, detectors) for count in BLOCK_COUNTS
        }
    return out


def _time_runs(dpc: DPC, detectors: list[SegmentedDetector]) -> Timing:
    """``dpc.run`` along the drag (the first call, which builds the cache, not recorded)."""
    return time_calls([lambda d=d: dpc.run(d) for d in detectors])


def _time_blocks(cube, client, radius: float, count: int, detectors) -> dict[str, Timing]:
    """Segment sums, no-op round trip and result gather on a cache of ``count`` blocks."""
    from ..core.distributed import ClusterCache, plan_blocks

    plan = plan_blocks(cube, 0, count)
    engine = ClusterCache(cube, cube.origin, client, cache_radius=radius, blocks=plan)
    keys = [(d.inner, d.outer, d.n_segments, d.rotation_rad, d.subsample) for d in detectors]
    per_block = (4, math.prod(cube.scan_shape) // len(plan))
    repeats = len(detectors)
    return {
        "sums": time_calls([lambda k=k: engine.segment_sums(*k) for k in keys]),
        "noop": time_calls([lambda: engine._map(_noop)] * repeats),
        "gather": time_calls([lambda: engine._map(_payload, per_block)] * repeats),
    }


def projection(result: dict[str, Any], workers: int = 16, total_bytes: float = 1e12) -> dict:
    """Update latency of a radius drag for ``workers`` workers holding ``total_bytes`` of uint16
    patterns of the measured detector, from this run's figures.

    Model: latency = task overhead(B) + block compute + gather of (4, P) int64 at the measured
    rate, with B = 2 blocks per worker; block compute scales with the positions per worker.
    The task overhead per block is the slope of the no-op round trip over block counts.
    """
    spec = result["spec"]
    pattern_bytes = math.prod(spec.shape[2:]) * np.dtype(spec.dtype).itemsize
    positions = total_bytes / pattern_bytes
    counts = sorted(result["blocks"])
    noop = [result["blocks"][b]["noop"].median for b in counts]
    slope, base = np.polyfit(counts, noop, 1)
    here_positions = math.prod(spec.shape[:2])
    big = counts[-1]
    gather_bytes = 4 * here_positions * 8
    gather_rate = gather_bytes / max(1e-9, result["blocks"][big]["gather"].median - noop[-1])
    compute_here = max(
        0.0, result["blocks"][counts[0]]["sums"].median - result["blocks"][counts[0]]["noop"].median
    )
    per_worker_positions = positions / workers
    compute = compute_here * per_worker_positions / (here_positions / result["workers"])
    blocks = 2 * workers
    gather = 4 * positions * 8 / gather_rate
    return {
        "positions": positions,
        "blocks": blocks,
        "overhead": base + slope * blocks,
        "slope": slope,
        "compute": compute,
        "gather": gather,
        "gather_rate": gather_rate,
        "total": base + slope * blocks + compute + gather,
    }


def render(result: dict[str, Any]) -> str:
    """The Markdown report of :func:`measure`."""
    spec, stream = result["spec"], result["stream"].median
    info = machine()
    lines = [
        f"## {spec.label()} on a {result['workers']}-worker LocalCluster (processes, 1 thread "
        "each)",
        "",
        f"Machine: {info['CPU']}, {info['cores (usable)']} cores, {info.get('RAM', '?')} RAM, "
        f"{info['date']}; medians of {result['samples']} updates.",
        "",
        "| measurement | median | / streaming pass | note |",
        "| --- | --- | --- | --- |",
        _row("one streaming pass over the cube (baseline, local)", result["stream"], stream),
        _row("local `DPC.run`, radius drag", result["local_run"], stream),
        _row(
            "cluster `DPC.run`, radius drag (default blocks)",
            result["cluster_run"],
            stream,
            f"{result['default_blocks']} blocks; target <= 0.25x",
        ),
        f"| cluster cache build + first run (workers read the file) | {ms(result['build'])} | "
        f"{ratio(result['build'] / stream)} | |",
    ]
    for count, row in result["blocks"].items():
        lines.append(_row(f"B = {count}: segment sums, radius drag", row["sums"], stream))
        lines.append(_row(f"B = {count}: no-op task round trip", row["noop"], stream, "overhead"))
        lines.append(_row(f"B = {count}: gather of the (4, P) int64 result", row["gather"], stream))
    guess = projection(result)
    lines += [
        "",
        f"Projection for 16 workers holding 1 TB of {spec.dtype} patterns of "
        f"{spec.shape[2]}x{spec.shape[3]} ({guess['positions']:.3g} scan positions, "
        f"{guess['blocks']} blocks): task overhead {ms(guess['overhead'])} "
        f"({1e3 * guess['slope']:.2f} ms per block), block compute {ms(guess['compute'])}, "
        f"gather {ms(guess['gather'])} at the {guess['gather_rate'] / 1e9:.2f} GB/s measured "
        f"here; total {ms(guess['total'])} per update.",
    ]
    return "\n".join(lines) + "\n"


def _row(label: str, timing: Timing, stream: float, note: str = "") -> str:
    return f"| {label} | {ms(timing.median)} | {ratio(timing.median / stream)} | {note} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="L", choices=sorted(SIZES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    text = render(measure(args.size, args.workers, args.samples))
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
