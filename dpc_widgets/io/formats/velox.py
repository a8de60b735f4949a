"""Thermo Fisher Velox ``.emd`` files, read with rosettasciio's ``emd`` reader.

A Velox EMD is HDF5 with a top-level ``Version`` dataset holding JSON whose ``"format"`` is
``"Velox"`` (or ``"DevelopersKit"``, files written by Thermo Fisher's SDK): that is what
:func:`is_velox` checks, the same test rsciio makes, so that a py4DSTEM / EMD 1.0, NCEM or
Prismatic ``.emd`` (which have no such dataset) goes to :mod:`.hdf5`.

Images live in ``/Data/Image/<uuid>/Data`` with shape ``(rows, columns, frames)`` and their
JSON metadata in ``/Data/Image/<uuid>/Metadata``. rsciio returns each as a dask array of shape
``(frames, rows, columns)`` (a transpose of the stored dataset; nothing read at open).

Orientation
-----------
rsciio's Velox reader has no 4D images: a 4D-STEM acquisition is a stack of camera frames, one
per scan position, in scan order (fast axis last). The frames are reshaped to
``(Rx, Ry, Qx, Qy) = (scan rows, scan columns, frame rows, frame columns)``, with the scan
shape from ``scan_shape=`` or else from the metadata: ``Scan.ScanSize`` (``height`` rows of
``width`` positions), reduced to the ``Scan.ScanArea`` fractions when a sub-area was scanned,
whichever matches the number of frames. No axis is flipped.

Calibration
-----------
Detector: the frame's ``BinaryResult.PixelSize`` with ``PixelUnitX``, as rsciio rescales it
(pint units such as ``"1 / nm"``). Scan: none (the frames' metadata has no scan step; pass
``scan_sampling=``/``scan_units=``). Beam energy from ``Optics.AccelerationVoltage`` (V) and
camera length from ``Optics.CameraLength`` (m), through rsciio's metadata mapping.

Imports
-------
``rsciio.emd`` imports h5py (and python-box) at module import; its Velox part imports pint
(``rsciio.utils._units``), python-dateutil, dask and rsciio's NeXus helpers when a Velox file
is read. An EDS spectrum stream additionally needs ``sparse``; such files have no 4D data.

Limitation
----------
rsciio's lazy Velox reader asks dask for the dataset's own HDF5 chunks, so a file with an
image stored contiguously (no chunks) cannot be read lazily: rsciio fails on it, which is
reported as a :class:`~.base.FormatError`. Velox writes its images chunked.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from ..._lazy import lazy_import
from .base import Format, FormatError, Opened, OpenOptions, only_candidate
from .rosetta import from_signal, read_signals

h5py = lazy_import("h5py")

TITLE = "Thermo Fisher Velox EMD"
VELOX_FORMATS = ("Velox", "DevelopersKit")


def is_velox(path: Path) -> bool:
    """True for an HDF5 file whose top-level ``Version`` JSON names the Velox format."""
    try:
        with h5py.File(path, "r") as file:
            version = file.get("Version")
            if not isinstance(version, h5py.Dataset) or version.size < 1:
                return False
            raw = np.asarray(version[()]).reshape(-1)[0]
    except (OSError, ValueError, TypeError):
        return False
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        return json.loads(text).get("format") in VELOX_FORMATS
    except (ValueError, AttributeError):
        return False


def open_velox(path: Path, options: OpenOptions) -> Opened:
    """A 4D-STEM frame stack from a Velox EMD, reshaped to (Rx, Ry, Qx, Qy).

    Parameters
    ----------
    path : Path
        The ``.emd`` file (opened read-only by rsciio).
    options : OpenOptions
        ``dataset=`` picks a signal by title (Velox's detector name, e.g. ``"BM-Ceta"``);
        ``scan_shape=`` gives (Rx, Ry) when the metadata's ``Scan.ScanSize`` is missing or
        does not match.

    Raises
    ------
    FormatError
        For a file rsciio cannot read, without a frame stack, with several and no
        ``dataset=``, or whose number of frames does not match the scan shape.
    """
    if not is_velox(path):
        raise FormatError(
            f"'{path}' is not a Velox EMD (no top-level 'Version' dataset naming the Velox "
            "format); py4DSTEM / EMD 1.0 files are read with format='py4dstem'"
        )
    signals = read_signals("emd", path, TITLE, select_type="images")
    signal = _pick_stack(signals, path, options)
    data = signal["data"]
    notes: tuple[str, ...] = ()
    if len(data.shape) == 3:
        frames = data.shape[0]
        if options.scan_shape is not None:
            shape = options.scan_shape
            if math.prod(shape) != frames:
                raise FormatError(
                    f"'{path}' holds {frames} frames, which scan_shape={tuple(shape)} does not "
                    f"match ({math.prod(shape)} positions)"
                )
        else:
            stated = _scan_shapes(signal)
            matching = [shape for shape in stated if math.prod(shape) == frames]
            if not matching:
                found = f"metadata scan sizes {stated} do not match" if stated else "no scan size"
                raise FormatError(
                    f"'{path}' holds {frames} frames of {data.shape[1]}x{data.shape[2]} and "
                    f"{found} in its metadata; give scan_shape=(Rx, Ry)"
                )
            shape = matching[0]
            notes = (f"'{path}': scan shape {shape} from the metadata's Scan.ScanSize",)
        options = dataclasses.replace(options, scan_shape=tuple(shape))
    return from_signal(signal, path, options, notes)


def _pick_stack(signals: list[dict], path: Path, options: OpenOptions) -> dict:
    titled: dict[str, dict] = {}
    for i, signal in enumerate(signals):
        title = str(signal.get("metadata", {}).get("General", {}).get("title") or f"signal {i}")
        if title in titled:  # two images from one detector: keep both, the second numbered
            title = f"{title} ({i})"
        titled[title] = signal
    if options.dataset is not None:
        if options.dataset not in titled:
            raise FormatError(
                f"'{path}' has no signal {options.dataset!r}; signals: {list(titled)}"
            )
        return titled[options.dataset]
    candidates = [name for name, s in titled.items() if len(s["data"].shape) in (3, 4)]
    return titled[only_candidate(candidates, path, "frame stack", "signal title")]


def _scan_shapes(signal: dict) -> list[tuple[int, int]]:
    """Scan shapes (rows, columns) the metadata states: the scanned area's, then the frame's.

    ``Scan.ScanSize`` is the full scan frame (``height`` x ``width`` positions);
    ``Scan.ScanArea`` (``top``, ``bottom``, ``left``, ``right``, fractions of the frame) the
    part scanned, when it is a sub-area.
    """
    scan = signal.get("original_metadata", {}).get("Scan", {})
    size = scan.get("ScanSize") if isinstance(scan, dict) else None
    if not isinstance(size, dict):
        return []
    try:
        rows, columns = int(float(size["height"])), int(float(size["width"]))
    except (KeyError, TypeError, ValueError):
        return []
    if rows < 1 or columns < 1:
        return []
    shapes = [(rows, columns)]
    area = scan.get("ScanArea")
    try:
        sub = (
            round((float(area["bottom"]) - float(area["top"])) * rows),
            round((float(area["right"]) - float(area["left"])) * columns),
        )
    except (KeyError, TypeError, ValueError):
        return shapes
    return [sub, *shapes] if sub != shapes[0] and min(sub) >= 1 else shapes


FORMATS = (
    Format(
        "velox",
        TITLE,
        (".emd",),
        open_velox,
        is_velox,
        True,
        "detector pixel size and units, beam energy, camera length (no scan step)",
        "frames (rows, columns) per scan position in scan order, reshaped to (Rx, Ry, Qx, Qy) "
        "with Scan.ScanSize or scan_shape=; no flips",
    ),
)
