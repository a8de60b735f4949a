"""Benchmark harness: ``python -m dpc_widgets.bench [--sizes S,M,L] [--repeats 7] [--out FILE]``.

Measures the fast engine (:class:`~dpc_widgets.core.engine.PolarCache`) on real-sized cubes
against the tools users compare with, in one run on one machine, and writes a Markdown report
(``docs/benchmarks.md`` by default):

- drag updates (segment sums for N = 4 after moving a radius by 0.3 px or the rotation by 1
  degree), jump updates (any new geometry), annulus moments (pixelated CoM) drags and jumps, on
  the full cache and on the default bounded cache (1.5 bright-field disc radii);
- the one-time load work (building the cache): time and peak additional memory, as ratios to
  one streaming pass and to one copy into fresh memory; the bounded cache's memory;
- the first image in a fresh process (numba's cache warm and empty) against one streaming pass
  over the file in a fresh process, with the import time and the peak anonymous memory;
- baselines: py4DSTEM's tutorial formula ``[(data * mask).sum((-2, -1)) for mask in masks]``,
  a plain ``data.reshape(P, K) @ masks.reshape(N, K).T`` and one streaming copy of the cube
  (the memory-bandwidth floor), with the ratios of ours to each;
- scaling of the update time with the scan size, the detector size (fixed annulus) and the
  annulus area;
- the cases registered in :data:`~dpc_widgets.bench.cases.DPC_CASES` (whole
  :class:`~dpc_widgets.core.DPC` operations);
- the explorer's kernel-side update for a radius drag against ``DPC.run`` for it and the bare
  segment sums, interleaved (:mod:`.explorer_update`; issue 10 item 2).

Modules: :mod:`.cubes` (benchmark cubes), :mod:`.timing` (samples, peak memory), :mod:`.cases`
(what is timed), :mod:`.baselines`, :mod:`.first_image` (fresh-process runs),
:mod:`.explorer_update` (the explorer against the core), :mod:`.suite`
(one size, end to end), :mod:`.report` (Markdown) and :mod:`.__main__` (the command line).

Benchmark cubes are generated once (in chunks, as ``.npy`` files) under ``$DPC_BENCH_CACHE`` or
``~/.cache/dpc-widgets-bench`` and memory-mapped on later runs. Timings are medians after a
warm-up call; ``--smoke`` runs the S cube only, quickly, for CI (timings are not asserted).
"""

from __future__ import annotations

from .cases import DPC_CASES, DPCCase, dpc_case
from .cubes import SIZES, CubeSpec, bench_cube, cache_dir
from .timing import PeakMemory, Timing, time_calls

__all__ = [
    "DPC_CASES",
    "SIZES",
    "CubeSpec",
    "DPCCase",
    "PeakMemory",
    "Timing",
    "bench_cube",
    "cache_dir",
    "dpc_case",
    "time_calls",
]
