"""The Markdown report: machine description, one section per cube size, scaling, method."""

from __future__ import annotations

import datetime
import os
import platform
from typing import Any

import numpy as np

from ..core.engine import numba_available
from .cubes import CACHE_DISCS, DISC_RADIUS, CubeSpec
from .first_image import THINK_S

# Targets for the L cube (2-core machine): seconds, or ratios to a baseline of the same run.
TARGETS = {
    "drag_s": 5e-3,
    "drag_copy": 0.05,
    "jump_s": 30e-3,
    "jump_copy": 0.3,
    "load_s": 1.5,
    "load_memory": 1.2,
    "load_stream": 3.0,
    "cache_memory": 0.35,
    "first_warm": 2.0,
    "first_cold": 4.0,
    "explorer_run": 1.5,
    "run_sums": 4.0,
}

UPDATE_ROWS = [
    ("drag_radius", "drag: a radius moved by 0.3 px (segment sums, N = 4, area weights)"),
    ("drag_rotation", "drag: rotation moved by 1 degree (segment sums, N = 4, area weights)"),
    ("jump", "jump: new geometry (N 2..16, typed radii and rotation, area weights)"),
    ("annulus_drag", "annulus moments (pixelated CoM), radius drag 0.3 px"),
    ("annulus_jump", "annulus moments, new annulus"),
]


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


def ms(seconds: float) -> str:
    """A duration in seconds as ``"0.59 ms"``, ``"335 ms"`` or ``"2.82 s"``."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.1:
        return f"{seconds * 1e3:.0f} ms"
    return f"{seconds * 1e3:.2f} ms"


def ratio(x: float) -> str:
    """A ratio as ``"1.05x"``, ``"0.026x"`` or ``"2.1e-04x"``."""
    if x >= 0.1:
        return f"{x:.2f}x"
    if x >= 1e-3:
        return f"{x:.3f}x"
    return f"{x:.1e}x"


def gib(n: float) -> str:
    """Bytes as GiB with two decimals."""
    return f"{n / 2**30:.2f} GiB"


def status(measured: float, limit: float) -> str:
    """Whether ``measured <= limit``, with the margin or the miss factor."""
    if measured <= limit:
        return f"met ({limit / measured:.1f}x margin)"
    return f"**missed by {measured / limit:.2f}x**"


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
            f"| {title} | {ms(t.median)} | {ms(t.best)} | {len(t.samples)} | "
            f"{ratio(t.median / copy)} | {t.note} |"
        )
    load = result["load"]
    lines += [
        f"| load: build the cache (one pass) | {ms(load.median)} | {ms(load.best)} | "
        f"{len(load.samples)} | {ratio(load.median / copy)} | peak additional memory "
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
            f"| {names[key]} | {ms(t.median)} | {runs} | {ratio(drag / t.median)} | "
            f"{ratio(jump / t.median)} |"
        )
    numpy_updates = result["numpy_updates"]
    lines += [
        "",
        "| pure-NumPy path (`use_numba=False`), medians | "
        + " | ".join(key.replace("_", " ") for key, _ in UPDATE_ROWS)
        + " | load (1 run) |",
        "|---" * (len(UPDATE_ROWS) + 2) + "|",
        "| time | "
        + " | ".join(ms(numpy_updates[key].median) for key, _ in UPDATE_ROWS)
        + f" | {ms(result['numpy_load'])} |",
    ]
    lines += ["", *binary_rows(result)]
    lines += ["", *bounded_rows(result)]
    lines += ["", *load_rows(result)]
    if result.get("first_image"):
        lines += ["", *first_image_rows(result)]
    lines += ["", *target_rows(result, drag, jump, copy)]
    if result["dpc"]:
        lines += ["", "| DPC operation | median | best | samples |", "|---|---|---|---|"]
        for name, t in result["dpc"].items():
            lines.append(f"| {name} | {ms(t.median)} | {ms(t.best)} | {len(t.samples)} |")
    if result.get("explorer_update"):
        lines += ["", *explorer_update_rows(result["explorer_update"])]
    return lines + [""]


EXPLORER_ROWS = {
    "segment sums": "bare segment sums (the engine alone, N = 4)",
    "DPC.run": "`DPC.run` (segment sums, segmented CoM, rotation, phase)",
    "explorer update": "explorer update, all (+ plots, status line, code text)",
    "explorer images": "explorer update, until its images are sent (a drag's frame waits "
    "for this; in a kernel the rest follows once the drag pauses)",
}


def explorer_update_rows(times: dict[str, Any]) -> list[str]:
    """The explorer's update for a radius drag against ``DPC.run`` and the segment sums."""
    run, sums = times["DPC.run"].median, times["segment sums"].median
    note = times["DPC.run"].note
    lines = [
        f"| radius drag, issue 10 item 2 ({note}) | median | best | / `DPC.run` | / segment sums |",
        "|---|---|---|---|---|",
    ]
    for key, title in EXPLORER_ROWS.items():
        t = times[key]
        lines.append(
            f"| {title} | {ms(t.median)} | {ms(t.best)} | {ratio(t.median / run)} | "
            f"{ratio(t.median / sums)} |"
        )
    return lines


def binary_rows(result: dict[str, Any]) -> list[str]:
    """Segment-sum medians with the tutorial's binary masks against the area weights (the
    rows above, what the explorer uses)."""
    area, binary = result["updates"], result["binary_updates"]
    keys = [(key, label) for key, label in UPDATE_ROWS if key in binary]
    return [
        '| binary masks (`weighting="binary"`), full cache, medians | '
        + " | ".join(key.replace("_", " ") for key, _ in keys)
        + " |",
        "|---" * (len(keys) + 1) + "|",
        "| time | " + " | ".join(ms(binary[key].median) for key, _ in keys) + " |",
        "| area weights / binary | "
        + " | ".join(ratio(area[key].median / binary[key].median) for key, _ in keys)
        + " |",
    ]


def bounded_rows(result: dict[str, Any]) -> list[str]:
    """Update medians on the bounded cache, and their ratio to the full cache's."""
    spec: CubeSpec = result["spec"]
    full, bounded = result["updates"], result["bounded_updates"]
    title = (
        f"bounded cache (radius {result['cache_radius']:g} px = {CACHE_DISCS:g} x the "
        f"{DISC_RADIUS:g} {spec.shape[2]} disc radius), medians"
    )
    return [
        f"| {title} | " + " | ".join(key.replace("_", " ") for key, _ in UPDATE_ROWS) + " |",
        "|---" * (len(UPDATE_ROWS) + 1) + "|",
        "| time | " + " | ".join(ms(bounded[key].median) for key, _ in UPDATE_ROWS) + " |",
        "| / full cache | "
        + " | ".join(ratio(bounded[key].median / full[key].median) for key, _ in UPDATE_ROWS)
        + " |",
    ]


def load_rows(result: dict[str, Any]) -> list[str]:
    """The load pass against one streaming pass and one copy into fresh memory (same run)."""
    spec: CubeSpec = result["spec"]
    base, profile = result["baselines"], result["profile"]
    stream, fresh = base["stream"].median, base["copy_fresh"].median
    rows = [
        ("load pass, full cache", result["load"], f"cache {gib(result['cache_nbytes'])}"),
        (
            f"load pass, bounded cache (radius {result['cache_radius']:g} px)",
            result["load_bounded"],
            f"cache {gib(result['bounded_nbytes'])} = "
            f"{result['bounded_nbytes'] / spec.nbytes:.2f}x the cube",
        ),
        (
            "baseline: one streaming pass (the cube's blocks into one reused buffer)",
            base["stream"],
            f"{gib(spec.nbytes)} read",
        ),
        (
            "baseline: one copy of the cube into fresh (never touched) memory",
            base["copy_fresh"],
            "page faults included",
        ),
        ("baseline: one copy of the cube into touched memory", base["copy"], ""),
        (
            "profile: first touch of a fresh allocation of the full cache's size",
            profile["first_touch"],
            "zeros written once: the page faults alone",
        ),
    ]
    if "touched" in profile:
        rows.append(
            (
                "profile: the full load pass into an already-touched cache",
                profile["touched"],
                "read, transpose and moments alone",
            )
        )
    lines = [
        "| load pass (numba kernels compiled) | median | best | / streaming pass "
        "| / fresh copy | note |",
        "|---|---|---|---|---|---|",
    ]
    for title, t, note in rows:
        lines.append(
            f"| {title} | {ms(t.median)} | {ms(t.best)} | {ratio(t.median / stream)} | "
            f"{ratio(t.median / fresh)} | {note} |"
        )
    return lines


def first_image_rows(result: dict[str, Any]) -> list[str]:
    """First image in a fresh process against one streaming pass in a fresh process."""
    spec: CubeSpec = result["spec"]
    runs = result["first_image"]
    stream = runs["stream"]["work_s"]
    lines = [
        "| fresh process | imports | work | work / streaming pass | next drag (builds the "
        "cache after a streamed first image) | drag on the cache | peak RssAnon / cube "
        "| streaming kernel ready after (/ streaming pass) | kernels |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| one streaming pass over the file | {ms(runs['stream']['import_s'])} | {ms(stream)} "
        f"| 1x | | | {runs['stream']['peak_rss_anon'] / spec.nbytes:.2f}x | | |",
    ]
    for key, title in (
        ("warm", "first image: open, DPC, run (numba cache warm)"),
        ("load", "first image via the load pass: `DPC(stream_first=False)` (cache warm)"),
        ("cold", "first image: open, DPC, run (empty NUMBA_CACHE_DIR)"),
        ("explorer", "first view of `Explorer(path)`, its defaults (numba cache warm)"),
        ("ahead", f"in a notebook: open, DPC, run {THINK_S:g} s after the import (cache warm)"),
        ("ahead_cold", f"in a notebook, {THINK_S:g} s after the import (empty NUMBA_CACHE_DIR)"),
    ):
        r = runs.get(key)
        if r is None:
            continue
        kernels = ", ".join(f"{group}: {how}" for group, how in r.get("kernels", {}).items())
        ready = r.get("stream_ready_s", float("nan"))
        if ready != ready:
            ready_cell = "not before the image"
        elif ready < 0:
            ready_cell = "before the work started"
        else:
            ready_cell = f"{ms(ready)} ({ratio(ready / stream)})"
        # Explorer(path) opens the file, makes its DPC and shows the first view in one call
        opened = "open, `DPC()` and view in one call"
        if "open_s" in r:
            opened = f"open + `DPC()`: {ms(r['open_s'])}"
        lines.append(
            f"| {title} | {ms(r['import_s'])} | {ms(r['work_s'])} ({opened}) | "
            f"{ratio(r['work_s'] / stream)} | {ms(r['next_s'])} | {ms(r['drag_s'])} | "
            f"{r['peak_rss_anon'] / spec.nbytes:.2f}x ({gib(r['peak_rss_anon'])}) | "
            f"{ready_cell} | {kernels or 'NumPy'}; streaming kernel at the first image: "
            f"{'yes' if r.get('stream_numba') else 'no'} |"
        )
    return lines


def target_rows(result: dict[str, Any], drag: float, jump: float, copy: float) -> list[str]:
    """Target table (the targets are set for L; on S and M they are informative)."""
    spec: CubeSpec = result["spec"]
    memory = result["memory"].traced / spec.nbytes
    load = result["load"].median
    stream = result["baselines"]["stream"].median
    bounded = result["bounded_updates"]
    bounded_drag = max(bounded["drag_radius"].median, bounded["drag_rotation"].median)
    rows = [
        ("drag (worst median) <= 5 ms", drag, TARGETS["drag_s"], ms),
        ("drag <= 0.05x streaming copy", drag / copy, TARGETS["drag_copy"], ratio),
        ("jump <= 30 ms", jump, TARGETS["jump_s"], ms),
        ("jump <= 0.3x streaming copy", jump / copy, TARGETS["jump_copy"], ratio),
        ("drag, bounded cache <= 5 ms", bounded_drag, TARGETS["drag_s"], ms),
        ("jump, bounded cache <= 30 ms", bounded["jump"].median, TARGETS["jump_s"], ms),
        ("load <= 1.5 s", load, TARGETS["load_s"], ms),
        ("load peak additional memory <= 1.2x cube", memory, TARGETS["load_memory"], ratio),
        ("load <= 3x streaming pass", load / stream, TARGETS["load_stream"], ratio),
        (
            "load, bounded cache <= 3x streaming pass",
            result["load_bounded"].median / stream,
            TARGETS["load_stream"],
            ratio,
        ),
        (
            "bounded cache memory <= 0.35x cube",
            result["bounded_nbytes"] / spec.nbytes,
            TARGETS["cache_memory"],
            ratio,
        ),
    ]
    times = result.get("explorer_update")
    if times:
        run = times["DPC.run"].median
        rows += [
            (
                "explorer update (all) <= 1.5x `DPC.run`",
                times["explorer update"].median / run,
                TARGETS["explorer_run"],
                ratio,
            ),
            (
                "`DPC.run` <= 4x segment sums",
                run / times["segment sums"].median,
                TARGETS["run_sums"],
                ratio,
            ),
        ]
    runs = result.get("first_image")
    if runs:
        stream_file = runs["stream"]["work_s"]
        for key, title, limit in (
            ("warm", "first image (numba cache warm) <= 2x streaming pass", "first_warm"),
            ("load", "first image via the load pass <= 2x streaming pass", "first_warm"),
            ("cold", "first image (empty numba cache) <= 4x streaming pass", "first_cold"),
        ):
            if key in runs:
                rows.append((title, runs[key]["work_s"] / stream_file, TARGETS[limit], ratio))
    kind = "targets" if spec.name == "L" else "targets (set for L; informative here)"
    lines = [f"| {kind} | measured | status |", "|---|---|---|"]
    for title, measured, limit, fmt in rows:
        lines.append(f"| {title} | {fmt(measured)} | {status(measured, limit)} |")
    return lines


def scaling_section(series: dict[str, list]) -> list[str]:
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
                f"| {label} | {pixels} | {ms(timings['drag_radius'].median)} | "
                f"{ms(timings['drag_rotation'].median)} | {ms(timings['jump'].median)} |"
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
  rotation: 1 degree steps) or over random jumps, after warm-up calls. The bounded-cache rows
  run the same sequences (every outer radius stays below 0.3 of the detector width) on a cache
  of the pixels with radius < 1.5 disc radii (the benchmark patterns' disc has radius 0.2 of
  the detector width, so 0.3 of it).
- Load: median over fresh builds after a warm-up build (which maps the memory-mapped file's
  pages) and after numba's kernels have compiled (`wait_for_numba`), so every timed build runs
  on them; the peak additional memory is measured on a separate build. The load ratios are
  against one streaming pass (each block of `cube.blocks()` copied into one reused,
  already-touched buffer) and one copy of the cube into a fresh allocation, both in the same
  run. The profile rows split the load pass: writing zeros once into a fresh allocation of the
  cache's size (the page faults of fresh memory alone), and the whole load pass run again
  into the engine's own, already-touched cache (reading, transposing and the moments alone).
  Finding (L, 2-core VM, 2026-12-02): the integer load kernel now gathers each pattern's
  cached pixels while the pattern is in cache and writes them into the cache through 16x16
  squares (128-byte runs per cache row); float data uses tiles of 8 patterns (a 512 KiB
  transposed buffer, one core's L2) with the pattern sums added during the transpose. In
  interleaved runs against the previous kernel (load average 3-8) the bounded L load took
  0.55-0.68x its time, bit-identical caches and moments. Per 64 MiB block of L, one thread:
  moments about 11 ms (streaming speed), gather about 6 ms, transpose and cache writes about
  13 ms. Transparent huge pages are in `madvise` mode and NumPy already asks for them on the
  cache's allocation; padding or aligning the rows, other tile or square sizes and int32
  partial sums did not help.
- First image: `python -m dpc_widgets.bench.first_image` in a fresh process opens the `.npy`
  with `dpc_widgets.load` (memory-mapped), builds `DPC(cube)` with its defaults and computes one
  `DPC.run` of the benchmark detector (segment sums, segmented CoM, rotation, phase): by one
  streaming pass (`stream_first`, the default: `dpc_widgets.core.streaming`), or, in the
  "via the load pass" row, by building the detector cache first (`stream_first=False`).
  `work` runs from after the imports to the result, `imports` from the process launch to the
  worker's first line; then two radius drags are timed: the first builds the cache after a
  streamed first image (the explorer builds it in the background instead), the second runs on
  it. The baseline is one streaming pass over the same file in another fresh process (the mean
  of one run before and one after the others). The warm-cache runs follow an untimed run that
  fills numba's disk cache; the cold one gets an empty temporary `NUMBA_CACHE_DIR` (a child
  process compiles the kernels, `dpc_widgets.core.warmup`, while the NumPy path answers).
  "kernels" says how each kernel group became ready. Peak RssAnon (from `/proc/self/status`,
  sampled every 2 ms) leaves out the mapped file's pages. The file is in the page cache (it was
  just read).
  The "streaming kernel ready after" column is when the numba streaming kernel became ready,
  from the start of the work: until then the pass waits for it (loading it takes mostly
  interpreter time, which the NumPy path would only compete for) or, with an empty cache,
  runs on the NumPy path while a child process compiles it. The explorer row is
  `Explorer(path)` with its own defaults (disc-based radii, its cache radius), the widget
  modules imported before the clock starts. The notebook rows call
  `dpc_widgets.core.warmup.warm_up_ahead()`, which `import dpc_widgets` runs in a Jupyter
  kernel, then wait 3 s (untimed, the user writing the next cell) before the same work.
  Finding (L, 2-core VM, 2026-12-02, quiet machine): in a fresh script numba's start-up alone
  (importing numba, about 0.33 s, and its typing registries on the first disk-cache load,
  about 0.58 s, measured apart) takes 1.6-1.7 streaming passes of this file before the kernel
  is ready, and the kernel's pass itself about one pass more: that start-up is the gap to the
  2x target. In a notebook it passes between cells: the first image then took 0.86x one
  streaming pass (0.92x with an empty numba cache, compiled in the 3 s).
- Explorer update (issue 10 item 2): :mod:`dpc_widgets.bench.explorer_update`. The explorer
  (defaults: disc-based radii, N = 4, automatic rotation, Fourier phase), a `DPC` and a third
  core for the bare segment sums, each with its own cache, go through the same radius drag
  (the inner radius in slider steps, alternating between two neighbourhoods, so nothing is
  memoised); per step the segment sums, `DPC.run` and the explorer (taking turns with
  `DPC.run` at going first). "All" is the whole assignment `explorer.inner.value = r` outside
  a kernel; "until its images are sent" is its part before the view's message (from
  `explorer.trace`): in a Jupyter kernel the plots, status line and code text follow once the
  updates pause.
- Baselines run on the same memory-mapped cube in the same process. The tutorial formula and the
  matmul are run fewer times on big cubes (a time budget; no warm-up) as noted.
- The machine is shared with other jobs: timings are noisy; the best sample is shown next to the
  median. The load averages at the start and the end of the run are in the machine table.
"""


def render(
    results: list[dict[str, Any]],
    series: dict[str, list] | None,
    info: dict[str, str],
    argv: list[str],
    load_avg: tuple[float, float],
) -> str:
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
