"""Measure the explorer's slider-to-repaint latency in headless Chromium; print a Markdown table.

For each dataset a notebook that builds the cube and shows ``Explorer(cube)`` runs in a sealed
JupyterLab on 127.0.0.1; the inner-radius slider is moved ``--moves`` times with the keyboard and
each time the browser records the time from the key press to the repaint of the segment images
(see ``tests/browser/browser_latency.py``). Datasets:

- ``sim``: the embedded simulated dataset (32 x 32 scan, 96 x 96 detector, float32);
- ``large``: a simulated 256 x 256 scan x 128 x 128 detector uint16 cube (2 GiB), built once
  (about a minute) and cached as ``.npy`` in ``--cache`` (default ``.bench_cache/``).

Usage (needs the browser extra and Chromium, ``scripts/install_browser.sh``)::

    .venv/bin/python scripts/measure_latency.py [--datasets sim,large] [--moves 30]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

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
from browser_latency import TABLE_HEADER, measure_inner_slider  # noqa: E402

SIM = """import dpc_widgets
from dpc_widgets.widgets import Explorer

cube = dpc_widgets.simulate().cube
explorer = Explorer(cube)
explorer"""

LARGE = """import json
from pathlib import Path

import numpy as np

import dpc_widgets
from dpc_widgets.widgets import Explorer

cache = Path({cache!r})
data_file = cache / "latency_256x256x128x128_uint16.npy"
meta_file = data_file.with_suffix(".json")
if data_file.exists() and meta_file.exists():
    cube = dpc_widgets.Datacube(np.load(data_file), **json.loads(meta_file.read_text()))
else:
    cube = dpc_widgets.simulate((256, 256), (128, 128), dtype=np.uint16, dose=2e4, seed=0).cube
    if {use_cache!r}:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(data_file, cube.data)
        meta = {{key: getattr(cube, key) for key in (
            "energy", "scan_sampling", "scan_units", "detector_sampling", "detector_units")}}
        meta_file.write_text(json.dumps({{**meta, "origin": list(cube.origin)}}))
explorer = Explorer(cube)
explorer"""

LABELS = {
    "sim": "simulated, 32x32 scan x 96x96 detector, float32",
    "large": "simulated, 256x256 scan x 128x128 detector, uint16 (2 GiB)",
}


def _notebook(path: Path, source: str) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="sim,large", help="comma-separated: sim, large")
    parser.add_argument("--moves", type=int, default=30, help="slider moves per dataset")
    parser.add_argument("--cache", default=str(REPO / ".bench_cache"), help="cube cache dir")
    parser.add_argument("--no-cache", action="store_true", help="rebuild the large cube")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    parser.add_argument("--out", default=str(REPO / "test-artifacts" / "latency_table.md"))
    args = parser.parse_args(argv)
    datasets = [name.strip() for name in args.datasets.split(",") if name.strip()]
    unknown = sorted(set(datasets) - set(LABELS))
    if unknown:
        parser.error(f"unknown datasets {unknown}; choose from {sorted(LABELS)}")
    if shutil.which(args.chromium) is None:
        parser.error(f"no Chromium at {args.chromium}; run scripts/install_browser.sh")

    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory(prefix="dpc-latency-") as tmp, sync_playwright() as driver:
        root = Path(tmp) / "notebooks"
        root.mkdir()
        sources = {"sim": SIM, "large": LARGE.format(cache=args.cache, use_cache=not args.no_cache)}
        for name in datasets:
            _notebook(root / f"{name}.ipynb", sources[name])
        server = start_jupyterlab(root, Path(tmp) / "lab")
        try:
            for name in datasets:
                guard = NetworkGuard()
                context = launch_chromium(
                    driver, args.chromium, Path(tmp) / f"profile-{name}", guard
                )
                page = context.new_page()
                open_lab_notebook(page, server, f"{name}.ipynb")
                if not lab_run_all(page, timeout_ms=900_000):
                    raise RuntimeError(f"{name}: notebook failed: {lab_cell_errors(page)}")
                page.locator("div.dpc-view canvas[data-testid='segment-image-0']").wait_for()
                page.locator("div.dpc-view").scroll_into_view_if_needed()
                print(f"measuring {name} ({args.moves} moves)...", file=sys.stderr)
                rows.append(measure_inner_slider(page, moves=args.moves).row(LABELS[name]))
                page.evaluate("() => window.jupyterapp.commands.execute('kernelmenu:shutdown')")
                context.close()
        finally:
            survivors = server.stop()
            if survivors:
                print(f"warning: killed server processes {survivors}", file=sys.stderr)
    table = "\n".join([TABLE_HEADER, *rows])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
