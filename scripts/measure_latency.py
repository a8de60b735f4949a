"""Measure the explorer's key-press-to-repaint latency against the Jupyter comm floor, hop by hop,
and the frame rate of continuous drags, in headless Chromium; print Markdown tables.

For each dataset a notebook showing ``Explorer(cube)`` and the floor (a bare ``IntSlider`` whose
observer sets a ``Label``, same page and kernel) runs in a sealed JupyterLab on 127.0.0.1; both
sliders are moved ``--moves`` times each, alternately, with PageUp (see
``tests/browser/browser_latency.py`` for the hops and how each is timed), then a ring drag and
held keys are counted for 2 s each. Datasets:

- ``sim`` (S): the embedded simulated dataset (32 x 32 scan, 96 x 96 detector, float32);
- ``large`` (L): the benchmark L cube (256 x 256 scan x 128 x 128 detector, uint16, 2 GiB;
  :func:`dpc_widgets.bench.cubes.bench_cube`), memory-mapped read-only from a ``.npy`` that is
  written to a temporary directory (a few minutes) unless ``--cube-dir`` holds it already;
- ``wide`` (W): a cube of the same generator with a larger scan and a small detector (512 x 512
  scan x 64 x 64 detector, uint16, 2 GiB): every scan image is larger than its panel.

Usage (needs the browser extra and Chromium, ``scripts/install_browser.sh``)::

    .venv/bin/python scripts/measure_latency.py [--datasets sim,large] [--moves 30]
        [--cube-dir DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from browser_helpers import (  # noqa: E402
    NetworkGuard,
    lab_cell_errors,
    lab_run_all,
    launch_chromium,
    open_lab_notebook,
    start_jupyterlab,
)
from browser_latency import (  # noqa: E402
    CUBE_CELL,
    FLOOR_HEADER,
    SIM_CELL,
    against_floor_table,
    hop_table,
    measure_against_floor,
    measure_drag,
    write_latency_notebook,
)

LABELS = {
    "sim": "S: simulated, 32x32 scan x 96x96 detector, float32",
    "large": "L: 256x256 scan x 128x128 detector, uint16 (2 GiB, memory-mapped)",
    "wide": "W: 512x512 scan x 64x64 detector, uint16 (2 GiB, memory-mapped)",
}
#: The benchmark cubes of the datasets that are not the simulation: name, shape, dtype.
CUBES = {
    "large": ("L", (256, 256, 128, 128), "uint16"),
    "wide": ("W", (512, 512, 64, 64), "uint16"),
}
DRAGS = ("ring", "key", "floor-key")


def _machine() -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{platform.node()}: {os.cpu_count()} cores, load average {load} at the end"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="sim,large", help="comma-separated: sim, large, wide")
    parser.add_argument("--moves", type=int, default=30, help="slider moves per kind")
    parser.add_argument("--cube-dir", help="directory holding (or to keep) the L cube's .npy")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    parser.add_argument("--out", default=str(REPO / "test-artifacts" / "latency_table.md"))
    parser.add_argument("--raw", help="also write every hop and drag message to this JSON file")
    args = parser.parse_args(argv)
    datasets = [name.strip() for name in args.datasets.split(",") if name.strip()]
    unknown = sorted(set(datasets) - set(LABELS))
    if unknown:
        parser.error(f"unknown datasets {unknown}; choose from {sorted(LABELS)}")
    if shutil.which(args.chromium) is None:
        parser.error(f"no Chromium at {args.chromium}; run scripts/install_browser.sh")

    from playwright.sync_api import sync_playwright

    floor_rows, hops, drags = [], [], []
    raw: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="dpc-latency-") as tmp, sync_playwright() as driver:
        root = Path(tmp) / "notebooks"
        root.mkdir()
        cube_dir = args.cube_dir or str(Path(tmp) / "cube")
        cells = {"sim": SIM_CELL}
        for name, (label, shape, dtype) in CUBES.items():
            cells[name] = CUBE_CELL.format(name=label, shape=shape, dtype=dtype, directory=cube_dir)
        for name in datasets:
            write_latency_notebook(root / f"{name}.ipynb", cells[name])
        server = start_jupyterlab(root, Path(tmp) / "lab")
        try:
            for name in datasets:
                context = launch_chromium(
                    driver, args.chromium, Path(tmp) / f"profile-{name}", NetworkGuard()
                )
                page = context.new_page()
                open_lab_notebook(page, server, f"{name}.ipynb")
                print(f"{name}: running the notebook...", file=sys.stderr)
                if not lab_run_all(page, timeout_ms=1_800_000):
                    raise RuntimeError(f"{name}: notebook failed: {lab_cell_errors(page)}")
                page.locator("div.dpc-view canvas[data-testid='segment-image-0']").wait_for()
                page.locator("div.dpc-view").scroll_into_view_if_needed()
                print(f"{name}: {args.moves} moves of each kind...", file=sys.stderr)
                measured = measure_against_floor(page, moves=args.moves)
                floor_rows += against_floor_table(LABELS[name], measured)
                hops += ["", *hop_table(LABELS[name], measured)]
                raw[name] = {kind: dataclasses.asdict(m) for kind, m in measured.items()}
                for target in DRAGS:
                    drag = measure_drag(page, target)
                    raw[name][f"drag {target}"] = dataclasses.asdict(drag)
                    ends = "yes" if target == "floor-key" or drag.final_ok else "NO"
                    drags.append(
                        f"| {LABELS[name].split(':')[0]} | {target} | {drag.seconds:.2f} | "
                        f"{drag.moves} | {drag.frames} | {drag.fps:.1f} | {ends} "
                        f"({drag.settle_s:.1f} s after) | {drag.echoes} |"
                    )
                page.evaluate("() => window.jupyterapp.commands.execute('kernelmenu:shutdown')")
                context.close()
        finally:
            survivors = server.stop()
            if survivors:
                print(f"warning: killed server processes {survivors}", file=sys.stderr)
    lines = [f"Machine: {_machine()}.", "", FLOOR_HEADER, *floor_rows, *hops, ""]
    lines += [
        "| dataset | drag | seconds | moves sent | frames painted | frames per second "
        "| ends on the last value | slider echoes |",
        "|---|---|---|---|---|---|---|---|",
        *drags,
    ]
    table = "\n".join(lines)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(table + "\n")
    print(table)
    if args.raw:
        Path(args.raw).write_text(json.dumps(raw))
    return 0


if __name__ == "__main__":
    sys.exit(main())
