"""Time the kernel-side explorer update against ``DPC.run`` and the bare segment sums, one run.

On the benchmark L cube (256 x 256 scan x 128 x 128 detector, uint16, a bright disc of radius
0.2 x 128 px on noise, memory-mapped ``.npy``) this times, interleaved step by step so
that machine noise hits all three alike (``DPC.run`` and the explorer take turns going first):

- ``segment sums``: ``dpc._engine.segment_sums`` for the drag's detector (the engine's work,
  on a core of its own whose detector cache goes through the same geometry changes);
- ``DPC.run``: the full core update (segments, CoM, rotation, phase) for the same drag;
- ``explorer update``: setting ``explorer.inner.value`` (controls -> settings -> ``DPC.run`` ->
  contrast limits -> view buffers, plots, status and code text), measured around the assignment.

Each drag step sets a new inner radius, alternating between two neighbourhoods (``base`` and
``base + 2`` px, each moving by one slider step per visit), so every step is a real incremental
update: the script checks that neither core had the detector memoised before the call. It prints
medians (ms) and the two ratios of issue 10 item 2: explorer / ``DPC.run`` (target <= 1.5) and
``DPC.run`` / segment sums (target <= 4).

Usage::

    python scripts/profile_update.py [--cube PATH.npy] [--drags 40] [--profile]
        [--com-source segmented|monolithic|pixelated]

Without ``--cube`` the cube is ``$DPC_BENCH_CACHE``'s (or ``~/.cache/dpc-widgets-bench``'s) L cube
(uniform noise) when present, else one built once in ``/tmp/dpc_profile_L_uint16.npy`` (Poisson
noise, 2 GiB, about a minute; see :func:`build_cube`).
``--profile`` also prints the top of a cProfile of the explorer updates.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package first

from dpc_widgets import SegmentedDetector  # noqa: E402
from dpc_widgets.core import DPC  # noqa: E402
from dpc_widgets.io import Datacube  # noqa: E402
from dpc_widgets.widgets import Explorer  # noqa: E402

SHAPE = (256, 256, 128, 128)
BENCH_NAME = "L_256x256x128x128_uint16_v1.npy"
BUILT = Path("/tmp/dpc_profile_L_uint16.npy")


def build_cube(path: Path) -> np.ndarray:
    """Write the L cube to ``path`` (scan row by scan row) and return it memory-mapped.

    Patterns: a disc of radius ``0.2 * 128`` px and mean 2000 counts per pixel, displaced by a
    smooth deflection field (up to 0.03 x 128 px) across the scan, on a background of 8 counts;
    Poisson noise (``np.random.default_rng(0)``).
    """
    rx, ry, qx, qy = SHAPE
    partial = path.with_suffix(".partial.npy")
    out = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint16, shape=SHAPE)
    rng = np.random.default_rng(0)
    i = np.arange(qx, dtype=np.float32)[:, None] - qx / 2
    j = np.arange(qy, dtype=np.float32)[None, :] - qy / 2
    for x in range(rx):
        shift = 0.03 * qx * np.sin(2 * np.pi * np.arange(ry) / 16.0 + x / 5.0)
        radius = np.hypot(i[None] - shift[:, None, None], j[None] - 0.5 * shift[:, None, None])
        mean = np.where(radius < 0.2 * qx, 2000.0, 8.0)
        out[x] = np.minimum(rng.poisson(mean), 65535).astype(np.uint16)
    out.flush()
    del out
    partial.replace(path)
    return np.load(path, mmap_mode="r")


def find_cube(path: str | None) -> np.ndarray:
    """The cube at ``path``, else the benchmark cache's L cube, else one built in /tmp."""
    if path is not None:
        return np.load(path, mmap_mode="r")
    cache = Path(os.environ.get("DPC_BENCH_CACHE", Path.home() / ".cache" / "dpc-widgets-bench"))
    for candidate in (cache / BENCH_NAME, BUILT):
        if candidate.exists():
            return np.load(candidate, mmap_mode="r")
    print(f"building {BUILT} (2 GiB) ...", flush=True)
    return build_cube(BUILT)


def memoised(dpc: DPC, detector: SegmentedDetector) -> bool:
    """Whether ``dpc`` already holds any result for ``detector`` (a memo hit would follow)."""
    return any(isinstance(key, tuple) and detector in key for key in dpc._memo)


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print medians and ratios (warnings and logs muted meanwhile)."""
    log = logging.getLogger("dpc_widgets.widgets")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a weak 180-degree choice on a symmetric cube
            return _measure(argv)
    finally:
        log.setLevel(level)


def _measure(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cube", help="a 4D .npy file (Rx, Ry, Qx, Qy)")
    parser.add_argument("--drags", type=int, default=40, help="timed drag steps (>= 30)")
    parser.add_argument("--profile", action="store_true", help="cProfile the explorer updates")
    parser.add_argument(
        "--com-source", default="segmented", help="segmented (default), monolithic or pixelated"
    )
    args = parser.parse_args(argv)

    data = find_cube(args.cube)
    cube = Datacube(data)
    print(f"cube {data.shape} {data.dtype}, origin {cube.origin}", flush=True)
    start = time.perf_counter()
    explorer = Explorer(cube, com_source=args.com_source)
    print(f"package {sys.modules['dpc_widgets'].__file__}")
    dpc = DPC(cube, progress=False)
    bare = DPC(cube, progress=False)  # its engine sees the same geometry changes as the others
    settings = explorer.settings
    print(
        f"explorer built in {time.perf_counter() - start:.1f} s: {settings.inner=}, "
        f"{settings.outer=}, step {explorer.inner.step}",
        flush=True,
    )

    step = explorer.inner.step
    base = round(settings.inner / step) * step
    n = settings.segments
    rot = settings.rotation

    def radius(k: int) -> float:
        """Drag step ``k``: alternate between two neighbourhoods, one slider step per visit."""
        return round(base + (2.0 if k % 2 else 0.0) + (k // 2 + 1) * step, 12)

    def detector(r: float) -> SegmentedDetector:
        return SegmentedDetector(r, settings.outer, n, rotation=rot)

    # warm-up: caches built, numba compiled, FFT plans made
    for k in (-2, -1):
        r = radius(k) - 0.5 * step
        dpc.run(detector(r), com_source=args.com_source)
        bare.segment_images(detector(r))
        explorer.inner.value = round(r, 12)
    engine = bare._engine
    times: dict[str, list[float]] = {"segment sums": [], "DPC.run": [], "explorer update": []}
    profiler = cProfile.Profile() if args.profile else None
    for k in range(args.drags):
        r = radius(k)
        det = detector(r)
        if memoised(dpc, det) or memoised(explorer.dpc, det):
            raise RuntimeError(f"drag {k} (inner {r}) would be a memo hit")
        t0 = time.perf_counter()
        engine.segment_sums(det.inner, det.outer, det.n_segments, det.rotation_rad)
        seconds = {"segment sums": time.perf_counter() - t0}
        # alternate which of the two comes first: neither always finds the caches warmer
        for name in ("DPC.run", "explorer update")[:: 1 if k % 4 < 2 else -1]:
            t0 = time.perf_counter()
            if name == "DPC.run":
                dpc.run(det, com_source=args.com_source)
            else:
                if profiler is not None:
                    profiler.enable()
                explorer.inner.value = r
                if profiler is not None:
                    profiler.disable()
            seconds[name] = time.perf_counter() - t0
        if explorer.results is None or explorer.results.detector != det:
            raise RuntimeError(
                f"drag {k}: the explorer did not compute inner {r}: {explorer.status.value}"
            )
        for name, value in seconds.items():
            times[name].append(value)

    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(
            f"{name:>16}: median {1e3 * value:7.2f} ms  (min {1e3 * min(times[name]):.2f}, "
            f"{len(times[name])} drags)"
        )
    explorer_ratio = medians["explorer update"] / medians["DPC.run"]
    run_ratio = medians["DPC.run"] / medians["segment sums"]
    print(f"explorer update / DPC.run     = {explorer_ratio:.2f}  (target <= 1.5)")
    print(f"DPC.run / segment sums        = {run_ratio:.2f}  (target <= 4)")
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
