"""The ``dpc-widgets`` command line: argument parsing and reporting.

``dpc-widgets info FILE`` summarises a file (:mod:`dpc_widgets.summary`); ``dpc-widgets process
FILE [FILE ...] --out DIR`` runs the explorer's computation on each file and writes the results
(:mod:`dpc_widgets.batch`). ``python -m dpc_widgets`` is the same. Exit status: 0 when all went
well, 1 when a file failed (the others are still processed), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .core.dpc import COM_SOURCES, PHASE_METHODS
from .io.datacube import ORIGIN_MODES
from .io.formats import FORMAT_NAMES
from .physics import DETECTOR_UNITS, SCAN_UNITS

if TYPE_CHECKING:
    from .batch import BatchJob, Processed

#: Command-line options that set a Settings field of the same meaning (dest -> field).
_SETTING_OPTIONS = {
    "inner": "inner",
    "outer": "outer",
    "segments": "segments",
    "rotation": "rotation",
    "com_source": "com_source",
    "transpose": "transpose",
    "phase_method": "method",
    "padding": "padding",
    "high_pass": "high_pass",
    "low_pass": "low_pass",
    "clip": "clip",
}
_LOAD_OPTIONS = (
    "format",
    "dataset",
    "energy",
    "camera_length",
    "scan_sampling",
    "scan_units",
    "detector_sampling",
    "detector_units",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "info":
        return _info(args)
    return _process(args)


def build_parser() -> argparse.ArgumentParser:
    """The ``dpc-widgets`` argument parser with its ``info`` and ``process`` commands."""
    parser = argparse.ArgumentParser(
        prog="dpc-widgets", description="Differential phase contrast on 4D-STEM files."
    )
    parser.add_argument("--version", action="version", version=f"dpc-widgets {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    loading = _load_parser()
    info = commands.add_parser(
        "info",
        parents=[loading],
        help="format, shape, calibration, bright-field disc and cache memory of a file",
    )
    info.add_argument("file", metavar="FILE", help="a 4D-STEM file")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    process = commands.add_parser(
        "process",
        parents=[loading],
        help="segment images, CoM, scan rotation and phase of each file, written to --out",
    )
    process.add_argument("files", nargs="+", metavar="FILE", help="4D-STEM files")
    process.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    _settings_options(process)
    cluster = process.add_mutually_exclusive_group()
    cluster.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler")
    cluster.add_argument("--workers", type=int, metavar="N", help="start a local dask cluster")
    process.set_defaults(subparser=process)
    return parser


def _load_parser() -> argparse.ArgumentParser:
    """Options of :func:`dpc_widgets.load`, shared by the commands."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("loading (values given win over the file's)")
    group.add_argument("--format", choices=FORMAT_NAMES, metavar="NAME", help="file format")
    group.add_argument("--dataset", metavar="PATH", help="which 4D array (HDF5 path, ...)")
    group.add_argument("--energy", type=float, metavar="EV", help="beam energy (eV)")
    group.add_argument("--camera-length", type=float, metavar="MM", help="camera length (mm)")
    group.add_argument("--scan-shape", type=int, nargs=2, metavar=("RX", "RY"), help="scan shape")
    group.add_argument("--scan-sampling", type=float, metavar="STEP", help="scan step")
    group.add_argument("--scan-units", choices=SCAN_UNITS)
    group.add_argument("--detector-sampling", type=float, metavar="SIZE", help="pixel size")
    group.add_argument("--detector-units", choices=DETECTOR_UNITS)
    group.add_argument(
        "--origin",
        nargs="+",
        metavar="VALUE",
        help=f"detector centre: QX QY in pixels, or one of {', '.join(ORIGIN_MODES)} "
        "(default: disc)",
    )
    return parser


def _settings_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "settings (default: the explorer's; these win over --settings)"
    )
    group.add_argument(
        "--settings", type=Path, metavar="JSON", help="a settings file (Explorer.save_settings)"
    )
    group.add_argument("--inner", type=float, metavar="R", help="inner radius (detector units)")
    group.add_argument("--outer", type=float, metavar="R", help="outer radius (detector units)")
    group.add_argument("--segments", type=int, metavar="N", help="number of segments")
    group.add_argument("--rotation", type=float, metavar="DEG", help="segment offset (degrees)")
    group.add_argument(
        "--scan-rotation", metavar="DEG|auto", help="scan rotation in degrees, or auto (solved)"
    )
    group.add_argument(
        "--transpose",
        action=argparse.BooleanOptionalAction,
        help="transpose the CoM (with a manual --scan-rotation)",
    )
    group.add_argument("--com-source", choices=COM_SOURCES, help="which CoM is integrated")
    group.add_argument(
        "--descan", choices=("none", "constant", "plane"), help="CoM descan / offset removal"
    )
    group.add_argument("--phase-method", choices=PHASE_METHODS, help="phase integration")
    group.add_argument("--padding", type=int, metavar="N", help="integration padding, 1 to 8")
    group.add_argument("--high-pass", type=float, metavar="K", help="cut-off, 1/(scan units)")
    group.add_argument("--low-pass", type=float, metavar="K", help="cut-off, 1/(scan units)")
    group.add_argument("--clip", type=float, metavar="PERCENT", help="preview contrast clip")


# ---------------------------------------------------------------------------- info
def _info(args: argparse.Namespace) -> int:
    from .core.warmup import not_started
    from .summary import describe

    try:
        with not_started():  # nothing to compute with the kernels: no thread left at exit
            summary = describe(args.file, **_load_options(args))
    except Exception as err:  # noqa: BLE001 - reported as one line, exit status 1
        _error(args.file, err)
        return 1
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(_info_text(summary))
    return 0


def _info_text(s: dict[str, Any]) -> str:
    du, su = s["detector_units"], s["scan_units"]
    energy = "unknown (--energy EV)" if s["energy_eV"] is None else f"{s['energy_eV']:g} eV"
    disc, cache = s["disc"], s["cache"]
    if disc["found"]:
        centre = ", ".join(f"{c:.2f}" for c in disc["center_px"])
        clipped = ", clipped by the detector edge" if disc["clipped"] else ""
        disc_line = (
            f"centre ({centre}) px, radius {disc['radius_px']:.2f} px = "
            f"{disc['radius']:.4g} {du}{clipped}"
        )
    else:
        disc_line = f"not found: {disc['message']}"
    radius = "whole detector" if cache["radius"] is None else f"radius {cache['radius']:.4g} {du}"
    lines = [
        ("file", s["path"]),
        ("format", f"{s['format']} ({s['format_title']})"),
        ("shape", f"{tuple(s['shape'])} (Rx, Ry, Qx, Qy), {s['dtype']}, {_bytes(s['bytes'])}"),
        ("scan step", f"{s['scan_sampling']:g} {su}"),
        ("detector pixel", f"{s['detector_sampling']:g} {du}"),
        ("energy", energy),
        ("disc", disc_line),
        ("origin", "({:.2f}, {:.2f}) px".format(*s["origin_px"])),
        (
            "cache",
            f"{radius}: {cache['pixels']} of {cache['detector_pixels']} detector pixels, "
            f"{_bytes(cache['bytes'])} = {cache['fraction']:.3g} of the cube",
        ),
        ("segments", _segments_line(s["segments"], du)),
        *(("warning", note) for note in s["warnings"]),
    ]
    return "\n".join(f"{key + ':':<16}{value}" for key, value in lines)


def _segments_line(segments: dict[str, Any], units: str) -> str:
    areas, spread = segments["areas_px"], segments["spread"]
    verdict = "UNEQUAL (over 1 %)" if segments["unequal"] else "equal within 1 %"
    return (
        f"{segments['segments']} x {segments['inner']:.4g}-{segments['outer']:.4g} {units}, "
        f"{segments['weighting']} weighting; areas "
        f"{', '.join(f'{a:.1f}' for a in areas)} px ({verdict}, spread {100 * spread:.2g} %)"
    )


# ---------------------------------------------------------------------------- process
def _process(args: argparse.Namespace) -> int:
    from .cluster import dask_client

    job = _job(args, args.subparser)
    try:
        with dask_client(args.scheduler, args.workers) as client:
            failed = _process_files(args.files, dataclasses.replace(job, client=client))
    except (ImportError, OSError, TimeoutError) as err:  # the cluster could not be reached
        print(f"error: dask cluster: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    ok = len(args.files) - len(failed)
    if failed:
        print(
            f"processed {ok} of {_files(len(args.files))} into {args.out}; "
            f"failed: {', '.join(failed)}",
            file=sys.stderr,
        )
        return 1
    print(f"processed {_files(ok)} into {args.out}")
    return 0


def _process_files(files: list[str], job: BatchJob) -> list[str]:
    """Process each file, reporting as it goes; return the files that failed."""
    from tqdm.auto import tqdm

    from .batch import process_file

    failed = []
    for source in tqdm(files, desc="files", unit="file", disable=None):
        try:
            done = process_file(source, job)
        except Exception as err:  # noqa: BLE001 - reported, the other files go on
            _error(source, err)
            failed.append(source)
            continue
        for note in done.notes:
            tqdm.write(f"warning: {source}: {note}", file=sys.stderr)
        tqdm.write(_done_line(source, done), file=sys.stdout)
    return failed


def _job(args: argparse.Namespace, parser: argparse.ArgumentParser) -> BatchJob:
    """The :class:`~dpc_widgets.batch.BatchJob` of the arguments (usage errors exit with 2)."""
    from .batch import BatchJob
    from .widgets.settings import check_setting
    from .widgets.settings_file import SavedSettings, read_settings

    names = Counter(Path(f).stem for f in args.files)
    clashes = sorted(name for name, count in names.items() if count > 1)
    if clashes:
        parser.error(f"several inputs would write the same outputs: {', '.join(clashes)}_*")
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    try:
        saved = read_settings(args.settings) if args.settings else SavedSettings()
        overrides = _setting_overrides(args)
        for name, value in overrides.items():
            check_setting(name, value)
        load_options = _load_options(args)
        args.out.mkdir(parents=True, exist_ok=True)
    except (OSError, TypeError, ValueError) as err:
        parser.error(str(err))
    values = {**saved.values, **overrides}
    if "transpose" in overrides and values.get("auto_rotation", True):
        parser.error("--transpose/--no-transpose apply with a manual --scan-rotation DEG")
    inputs = tuple(Path(f) for f in args.files)
    return BatchJob(args.out, values, saved.origin, load_options, inputs)


def _setting_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The Settings fields the command line gives."""
    values = {
        field: getattr(args, dest)
        for dest, field in _SETTING_OPTIONS.items()
        if getattr(args, dest) is not None
    }
    if args.descan is not None:
        values["descan"] = None if args.descan == "none" else args.descan
    if args.scan_rotation is not None:
        if args.scan_rotation == "auto":
            values["auto_rotation"] = True
        else:
            values["auto_rotation"] = False
            values["scan_rotation"] = _float(args.scan_rotation, "--scan-rotation")
    return values


def _load_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`dpc_widgets.load` the command line gives."""
    options = {
        name: getattr(args, name) for name in _LOAD_OPTIONS if getattr(args, name) is not None
    }
    if args.scan_shape is not None:
        options["scan_shape"] = tuple(args.scan_shape)
    if args.origin is not None:
        options["origin"] = _origin(args.origin)
    return options


def _origin(values: list[str]) -> str | tuple[float, float]:
    if len(values) == 1 and values[0] in ORIGIN_MODES:
        return values[0]
    if len(values) == 2:
        return _float(values[0], "--origin QX"), _float(values[1], "--origin QY")
    raise ValueError(f"--origin takes QX QY (pixels) or one of {ORIGIN_MODES}, got {values}")


def _float(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{option} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{option} must be finite, got {text!r}")
    return value


# ---------------------------------------------------------------------------- reporting
def _done_line(source: str, done: Processed) -> str:
    result, rotation = done.result, done.result.rotation
    solved = (
        "" if not done.settings.auto_rotation else f" (solved ± {rotation.uncertainty_deg:.2g})"
    )
    names = ", ".join(path.name for path in done.outputs)
    return (
        f"{source}: {names} in {done.outputs[0].parent}; {done.settings.com_source} CoM, "
        f"scan rotation {result.angle_deg:.2f} deg{solved}, "
        f"transpose {'yes' if result.transpose else 'no'}, phase in {result.phase_units}"
    )


def _error(source: str, err: Exception) -> None:
    """One line on stderr naming the file and the error (written around progress bars)."""
    from tqdm.auto import tqdm

    message = str(err).replace("\n", " ")
    tqdm.write(f"error: {source}: {type(err).__name__}: {message}", file=sys.stderr)


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def _bytes(n: int) -> str:
    """Bytes in binary units with one decimal (``12.3 MiB``)."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value, power = float(n), 0
    while value >= 1024 and power < len(units) - 1:
        value, power = value / 1024, power + 1
    return f"{n} B" if power == 0 else f"{value:.1f} {units[power]}"
