"""Batch DPC: one 4D-STEM file in, its results (HDF5) and previews (PNG) out.

Each file is opened with :func:`dpc_widgets.load`, computed with :meth:`DPC.run
<dpc_widgets.core.DPC.run>` under the explorer's settings (:func:`initial_settings
<dpc_widgets.widgets.settings.initial_settings>`: the fields given, radii from the file's
bright-field disc otherwise) and written next to the others in the output folder:

- ``<name>_dpc.h5``: datasets ``segment_images`` (N, Rx, Ry), ``com`` and ``com_rotated``
  (2, Rx, Ry) and ``phase`` (Rx, Ry), float64, each with a ``units`` attribute; file attributes
  with every :class:`~dpc_widgets.widgets.Settings` field, the settings as a settings file
  (``settings_json``), the solved and the applied scan rotation, the calibration, the package
  version and the input's path and size (:func:`result_attributes`).
- ``<name>_phase.png`` and ``<name>_com_color.png``: the explorer's phase and colour-wheel CoM
  views (:func:`dpc_widgets.widgets.export.phase_figure`, ``com_color_figure``).

``<name>`` is the input's file name without its extension. Files are written under a temporary
name and renamed when complete; no output may be, or lie inside, an input.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from . import __version__
from . import _own_warnings as own_warnings
from .core import DPC, DPCResult
from .io import Datacube, load
from .widgets import export
from .widgets.settings import SETTING_NAMES, Settings, initial_settings
from .widgets.settings_file import SavedSettings


@dataclasses.dataclass(frozen=True)
class BatchJob:
    """What every file of a batch is processed with.

    Attributes
    ----------
    out_dir : Path
        Output folder (must exist).
    values : mapping
        :class:`Settings` fields (a settings file's, overridden by the command line); missing
        ones take the explorer's defaults for each file.
    origin : (float, float), optional
        Detector centre (qx, qy) in pixels from a settings file; ``load_options["origin"]``
        wins. ``None``: the centre found on loading.
    load_options : mapping
        Keyword arguments of :func:`dpc_widgets.load` (``energy``, ``scan_shape``, ...).
    inputs : tuple of Path
        Every input of the batch: no output may be one of them or lie inside one.
    client : distributed.Client, optional
        Passed to :class:`~dpc_widgets.core.DPC` as ``client=`` when given.
    """

    out_dir: Path
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    origin: tuple[float, float] | None = None
    load_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    inputs: tuple[Path, ...] = ()
    client: Any = None


@dataclasses.dataclass(frozen=True)
class Processed:
    """One processed file.

    Attributes
    ----------
    source : Path
        The input.
    settings : Settings
        The settings applied.
    result : DPCResult
        What was computed.
    outputs : tuple of Path
        The files written (HDF5, then the PNGs).
    notes : tuple of str
        Warnings issued while opening and computing (e.g. no bright-field disc found).
    """

    source: Path
    settings: Settings
    result: DPCResult
    outputs: tuple[Path, ...]
    notes: tuple[str, ...]


def output_paths(out_dir: Path, source: Path) -> dict[str, Path]:
    """The outputs of ``source`` in ``out_dir``: ``h5``, ``phase`` and ``com_color`` (PNG)."""
    name = Path(source).stem
    return {
        "h5": out_dir / f"{name}_dpc.h5",
        "phase": out_dir / f"{name}_phase.png",
        "com_color": out_dir / f"{name}_com_color.png",
    }


def check_outputs(outputs: Mapping[str, Path], inputs: tuple[Path, ...]) -> None:
    """Raise ValueError if an output is an input (same file) or lies inside an input folder."""
    for output in outputs.values():
        target = Path(os.path.realpath(output))  # no error on link loops: load names them
        for source in inputs:
            real = Path(os.path.realpath(source))
            inside = real == target or real in target.parents
            if inside or (output.exists() and source.exists() and os.path.samefile(output, source)):
                raise ValueError(f"output '{output}' would overwrite the input '{source}'")


def process_file(source: str | os.PathLike, job: BatchJob) -> Processed:
    """Open, compute and write one file (see the module docstring).

    Raises
    ------
    Exception
        Whatever opening (FileNotFoundError, ValueError for a corrupt or unknown file, ...),
        computing or writing raises; ValueError when an output would overwrite an input.
    """
    source = Path(source)
    outputs = output_paths(job.out_dir, source)
    check_outputs(outputs, (*job.inputs, source))
    with own_warnings.collect() as caught:  # others go back to the warning filters
        cube, settings, result = compute(source, job)
    write_results(outputs, source, cube, settings, result)
    notes = tuple(caught.notes)
    return Processed(source, settings, result, tuple(outputs.values()), notes)


def compute(source: Path, job: BatchJob) -> tuple[Datacube, Settings, DPCResult]:
    """The cube of ``source``, the settings for it and the :meth:`DPC.run` result."""
    options = dict(job.load_options)
    if job.origin is not None:
        options.setdefault("origin", job.origin)
    cube = load(source, **options)
    extra = {} if job.client is None else {"client": job.client}
    dpc = DPC(cube, progress=True, **extra)
    settings = initial_settings(cube, cube.sample_mean_pattern, job.values)
    return cube, settings, dpc.run(settings.detector(), **settings.run_kwargs())


def write_results(
    outputs: Mapping[str, Path],
    source: Path,
    cube: Datacube,
    settings: Settings,
    result: DPCResult,
) -> None:
    """Write the HDF5 file and the two PNG previews named in ``outputs``."""
    attributes = result_attributes(source, cube, settings, result)
    _write_atomically(outputs["h5"], lambda path: write_h5(path, result, cube, attributes))
    figures = {
        "phase": export.phase_figure(result.phase, settings.clip),
        "com_color": export.com_color_figure(result.com_rotated, settings.clip),
    }
    for name, rgba in figures.items():
        png = export.png_bytes(rgba)
        _write_atomically(outputs[name], lambda path, png=png: path.write_bytes(png))


def write_h5(path: Path, result: DPCResult, cube: Datacube, attributes: Mapping[str, Any]) -> None:
    """The result arrays (float64, each with its ``units``) and ``attributes`` as HDF5."""
    units = {
        "segment_images": "counts" if cube.dtype.kind in "ui" else "arb.",
        "com": result.com_units,
        "com_rotated": result.com_units,
        "phase": result.phase_units,
    }
    with h5py.File(path, "w") as file:
        for name, unit in units.items():
            dataset = file.create_dataset(name, data=getattr(result, name))
            dataset.attrs["units"] = unit
        for key, value in attributes.items():
            file.attrs[key] = value


def result_attributes(
    source: Path, cube: Datacube, settings: Settings, result: DPCResult
) -> dict[str, Any]:
    """The HDF5 file attributes of one result.

    Every :class:`Settings` field by its name (``descan`` ``None`` as ``"none"``; radii in
    ``detector_units``, angles in degrees); ``settings_json``: the settings and the detector
    centre used as a settings file; ``origin_px`` (qx, qy); ``solved_rotation_deg``,
    ``solved_transpose``, ``solved_rotation_uncertainty_deg``, ``solved_weak_half_turn``,
    ``solved_rotation_determined`` and ``solved_rotation_reason`` (why not: a vacuum or line
    scan), ``applied_rotation_deg``, ``applied_transpose`` (py4DSTEM convention);
    ``segment_weighting`` (the detector's pixel weighting, ``"area"``) and ``segment_areas_px``
    (each segment's area in pixels); the calibration
    (``scan_sampling`` in ``scan_units``, ``detector_sampling`` in ``detector_units``,
    ``energy_eV`` when known); ``dpc_widgets_version``, ``input_path`` (absolute) and
    ``input_bytes``.
    """
    values = {name: getattr(settings, name) for name in SETTING_NAMES}
    values["descan"] = "none" if settings.descan is None else settings.descan
    rotation = result.rotation
    attributes = {
        **values,
        "settings_json": SavedSettings.of(settings, cube.origin, cube.calibration).to_json(),
        "origin_px": np.asarray(cube.origin, dtype=np.float64),
        "solved_rotation_deg": rotation.angle_deg,
        "solved_transpose": rotation.transpose,
        "solved_rotation_uncertainty_deg": rotation.uncertainty_deg,
        "solved_weak_half_turn": rotation.weak_half_turn,
        "solved_rotation_determined": rotation.determined,
        "solved_rotation_reason": rotation.reason,
        "applied_rotation_deg": result.angle_deg,
        "applied_transpose": result.transpose,
        "segment_weighting": result.detector.weighting,
        "segment_areas_px": np.asarray(result.segment_areas, dtype=np.float64),
        "scan_sampling": cube.scan_sampling,
        "scan_units": cube.scan_units,
        "detector_sampling": cube.detector_sampling,
        "detector_units": cube.detector_units,
        "dpc_widgets_version": __version__,
        "input_path": str(source.resolve()),
        "input_bytes": input_bytes(source),
    }
    if cube.energy is not None:
        attributes["energy_eV"] = cube.energy
    return attributes


def input_bytes(path: Path) -> int:
    """Size of a file, or of all files below a folder (a zarr store), in bytes."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """``write`` a temporary file beside ``path``, then rename it to ``path``."""
    partial = path.with_name(f".{path.name}.part")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
