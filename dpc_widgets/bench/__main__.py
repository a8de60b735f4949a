"""Command line: ``python -m dpc_widgets.bench [--sizes S,M,L] [--repeats 7] [--out FILE]``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __doc__ as package_doc
from .cases import scaling_series
from .cubes import SIZES
from .report import machine, render
from .suite import run_size
from .timing import log


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m dpc_widgets.bench", description=(package_doc or "").split("\n")[0]
    )
    parser.add_argument("--sizes", default="S,M,L", help="comma-separated subset of S,M,L")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per operation (>= 1)")
    parser.add_argument("--out", default="docs/benchmarks.md", help="Markdown report path")
    parser.add_argument("--smoke", action="store_true", help="S only, few repeats, no scaling")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling series")
    parser.add_argument(
        "--no-first-image", action="store_true", help="skip the fresh-process first-image runs"
    )
    args = parser.parse_args(argv)
    names = ["S"] if args.smoke else [n.strip().upper() for n in args.sizes.split(",") if n]
    unknown = [n for n in names if n not in SIZES]
    if unknown or not names:
        parser.error(f"--sizes must be a subset of S,M,L, got {args.sizes!r}")
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    repeats = min(args.repeats, 3) if args.smoke else args.repeats
    start_load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    results = [
        run_size(SIZES[name], repeats, args.smoke, first=not args.no_first_image) for name in names
    ]
    series = None
    if not (args.smoke or args.no_scaling):
        log("scaling series")
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
