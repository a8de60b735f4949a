"""Time the kernel-side explorer update against ``DPC.run`` and the bare segment sums, one run.

On the benchmark L cube (256 x 256 scan x 128 x 128 detector, uint16, a bright disc of radius
0.2 x 128 px on noise, memory-mapped ``.npy``) this runs
:func:`dpc_widgets.bench.explorer_update.drag_update` (the same measurement as the benchmark
harness's rows for issue 10 item 2: segment sums, ``DPC.run``, the explorer's whole update and
its part before the images are sent, interleaved step by step) and prints medians (ms) and the
two ratios of issue 10 item 2: explorer / ``DPC.run`` (target <= 1.5) and ``DPC.run`` / segment
sums (target <= 4).

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
import os
import pstats
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package first

from dpc_widgets.bench.explorer_update import drag_update  # noqa: E402
from dpc_widgets.io import Datacube  # noqa: E402

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


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print medians and ratios."""
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
    print(f"package {sys.modules['dpc_widgets'].__file__}")
    profiler = cProfile.Profile() if args.profile else None
    times = drag_update(cube, args.drags, args.com_source, profiler)
    medians = {name: timing.median for name, timing in times.items()}
    for name, timing in times.items():
        print(
            f"{name:>16}: median {1e3 * timing.median:7.2f} ms  (min {1e3 * timing.best:.2f}, "
            f"{len(timing.samples)} drags)"
        )
    explorer_ratio = medians["explorer update"] / medians["DPC.run"]
    run_ratio = medians["DPC.run"] / medians["segment sums"]
    print(f"explorer update / DPC.run     = {explorer_ratio:.2f}  (target <= 1.5)")
    print(f"explorer images / DPC.run     = {medians['explorer images'] / medians['DPC.run']:.2f}")
    print(f"DPC.run / segment sums        = {run_ratio:.2f}  (target <= 4)")
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
