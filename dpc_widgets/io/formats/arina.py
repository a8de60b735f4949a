"""Dectris Arina / EIGER files: a ``*_master.h5`` linking to ``*_data_NNNNNN.h5`` files.

Layout (seen in a real Arina master, firmware release-2024.1, NeXus ``NXmx``): the master's
``/entry/data`` holds ``data_000001``, ``data_000002``, ... as HDF5 external links to
``/entry/data/data`` in the data files, each a flat stack of frames ``(n, y, x)`` (``uint32`` or
narrower, chunked one frame per chunk, compressed with bitshuffle-LZ4, HDF5 filter 32008:
``hdf5plugin`` is imported to read them). The master states the beam energy
(``/entry/instrument/detector/detectorSpecific/photon_energy``, eV) and the physical pixel size
(``/entry/instrument/detector/x_pixel_size``, ``y_pixel_size``, m), but not the scan shape.
The scan shape, scan step and camera length come from the acquisition software's sidecar
``<name>.h5`` beside ``<name>_master.h5`` when it exists: group ``STEM Metadata`` with
attributes ``NumPixelsX`` (fast scan axis), ``NumPixelsY`` (slow), ``Pixel Size`` (nm),
``Camera Length`` (m) and ``High Tension`` (V). Otherwise ``scan_shape=`` gives it; without
either, a frame count that is a perfect square N x N opens as a square N x N scan with a
warning (as rosettasciio assumes), and any other count is an error asking for ``scan_shape=``.

rosettasciio's ``arina`` reader is not used: it reads the whole scan into memory (no lazy
mode), converts ``uint32`` to ``uint16`` and assumes a square scan.

Orientation: frames in acquisition order, fast scan axis last: ``(Rx, Ry) = (NumPixelsY,
NumPixelsX)`` (or ``scan_shape``), and each frame as stored, ``(Qx, Qy) = (y, x)``. No flips
(the NeXus pixel direction vectors are not applied).

Data files are opened directly (read-only, resolved beside the master), not through the
links. The returned dask array holds them open; ``in_memory=True`` reads everything and closes
them.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..._lazy import lazy_import
from .base import Axis, Format, FormatError, Opened, OpenOptions, read_whole, refuse_dataset
from .hdf5 import as_float, as_str, open_hdf5_file

h5py = lazy_import("h5py")

DATA_GROUP = "entry/data"
DETECTOR = "entry/instrument/detector"
SIDECAR_GROUP = "STEM Metadata"
DATA_FILE = re.compile(r"^(?P<stem>.+)_data_\d{6}\.h5$", re.IGNORECASE)
LINK_NAME = re.compile(r"^data_\d{6}$")
BLOCK_BYTES = 32 * 2**20  # target size of one dask chunk (whole scan rows)
_LENGTH_TO_M = {"m": 1.0, "mm": 1e-3, "cm": 1e-2, "um": 1e-6, "\u00b5m": 1e-6}
_ENERGY_TO_EV = {"eV": 1.0, "keV": 1e3}


def _master_of(path: Path) -> Path:
    match = DATA_FILE.match(path.name)
    stem = match["stem"] if match else path.stem
    return path.with_name(f"{stem}_master.h5")


def is_arina(path: Path) -> bool:
    """True for an EIGER/Arina master, one of its data files, or its ``STEM Metadata`` sidecar.

    Data files and sidecars are claimed so that opening one can say to open the master.
    """
    try:
        with h5py.File(path, "r") as file:
            group = file.get(DATA_GROUP)
            if isinstance(group, h5py.Group):
                if any(LINK_NAME.match(name) for name in group):
                    return True
                if DATA_FILE.match(path.name) and isinstance(group.get("data"), h5py.Dataset):
                    return True
            return isinstance(file.get(SIDECAR_GROUP), h5py.Group) and _master_of(path).exists()
    except OSError:
        return False


def open_arina(path: Path, options: OpenOptions) -> Opened:
    """The frames of an Arina/EIGER master and its data files, as a lazy (Rx, Ry, Qx, Qy) array.

    Parameters
    ----------
    path : Path
        The ``*_master.h5`` file.
    options : OpenOptions
        ``scan_shape`` (Rx, Ry); it wins over the sidecar ``<name>.h5``. Without both, a
        square frame count N x N is read as an N x N scan (with a note: ``load`` warns).
        ``dataset=`` does not apply.

    Returns
    -------
    Opened
        A dask array over the data files (NumPy when ``in_memory``), the scan step (nm) from
        the sidecar, the physical pixel size (m) with the camera length from the sidecar, and
        the beam energy in eV.

    Raises
    ------
    FormatError
        For a data file or sidecar given instead of the master (naming the master), a missing
        data file (named), frames of different shapes, a frame count that does not fill the
        scan shape, or no scan shape stated and a frame count that is not a perfect square.
    ValueError
        If ``dataset=`` is given.
    """
    refuse_dataset(options, path, "Dectris Arina/EIGER")
    master = open_hdf5_file(path)
    files: list[h5py.File] = []
    try:
        group = master.get(DATA_GROUP)
        links = sorted(name for name in group if LINK_NAME.match(name)) if group else []
        if not links:
            _not_a_master(master, path)
        stacks = [_stack(master, name, path, files) for name in links]
        frame, dtype = stacks[0].shape[1:], stacks[0].dtype
        for name, stack in zip(links, stacks, strict=True):
            if stack.ndim != 3:
                raise FormatError(
                    f"'{path}': {name} has shape {stack.shape}; expected a stack of frames "
                    "(n, y, x)"
                )
            if stack.shape[1:] != frame or stack.dtype != dtype:
                raise FormatError(
                    f"'{path}': {name} has frames {stack.shape[1:]} {stack.dtype}, unlike "
                    f"{links[0]}'s {frame} {dtype}"
                )
        total = sum(stack.shape[0] for stack in stacks)
        side = _sidecar(path)
        scan_shape, note = _scan_shape(options, side, total, path)
        data = _lazy_frames(stacks, scan_shape)
        opened = _calibration(master, side, path, data)
        if note is not None:  # warned by load, as rosettasciio assumes a square scan
            opened = dataclasses.replace(opened, notes=(note, *opened.notes))
        if options.in_memory:
            opened = Opened(
                read_whole(data), opened.scan, opened.detector, opened.energy,
                opened.camera_length, opened.notes,
            )  # fmt: skip
    except OSError as err:
        _close(master, files)
        raise FormatError(f"cannot read '{path}' (truncated or corrupt HDF5?): {err}") from err
    except BaseException:
        _close(master, files)
        raise
    master.close()
    if options.in_memory:
        _close(None, files)
    return opened


def _close(master: h5py.File | None, files: list[h5py.File]) -> None:
    for file in (master, *files):
        if file is not None:
            file.close()


def _not_a_master(master: h5py.File, path: Path) -> None:
    candidate = _master_of(path)
    if isinstance(master.get(f"{DATA_GROUP}/data"), h5py.Dataset) or isinstance(
        master.get(SIDECAR_GROUP), h5py.Group
    ):
        what = "a data file" if DATA_FILE.match(path.name) else "the metadata sidecar"
        where = "" if candidate.exists() else " (not found beside it)"
        raise FormatError(
            f"'{path}' is {what} of a Dectris Arina/EIGER acquisition; open its master "
            f"'{candidate}'{where} instead"
        )
    raise FormatError(
        f"'{path}' is not a Dectris Arina/EIGER master: no {DATA_GROUP}/data_NNNNNN links"
    )


def _stack(master: h5py.File, name: str, path: Path, files: list[h5py.File]) -> h5py.Dataset:
    """The frames behind ``/entry/data/<name>``: its external file opened read-only."""
    link = master[DATA_GROUP].get(name, getlink=True)
    if not isinstance(link, h5py.ExternalLink):
        node = master[DATA_GROUP].get(name)
        if not isinstance(node, h5py.Dataset):
            raise FormatError(f"'{path}': {DATA_GROUP}/{name} is not a dataset")
        return node
    target = Path(link.filename)
    if not target.is_absolute():
        target = path.parent / target
    if not target.exists():
        raise FormatError(
            f"data file '{target}' of Dectris Arina/EIGER master '{path}' is missing "
            f"({DATA_GROUP}/{name} links to it); keep the data files beside the master"
        )
    file = open_hdf5_file(target)
    files.append(file)
    node = file.get(link.path)
    if not isinstance(node, h5py.Dataset):
        raise FormatError(f"data file '{target}' of '{path}' has no dataset {link.path!r}")
    return node


def _sidecar(path: Path) -> dict[str, Any]:
    """Attributes of ``STEM Metadata`` in ``<name>.h5`` beside ``<name>_master.h5`` (or {})."""
    if not path.name.lower().endswith("_master.h5"):
        return {}
    side = path.with_name(path.name[: -len("_master.h5")] + ".h5")
    if not side.is_file() or not h5py.is_hdf5(side):
        return {}
    try:
        with h5py.File(side, "r") as file:
            group = file.get(SIDECAR_GROUP)
            if not isinstance(group, h5py.Group):
                return {}
            out = {key: np.asarray(value) for key, value in group.attrs.items()}
    except OSError:
        return {}
    out["_path"] = side
    return out


def _side_number(side: dict[str, Any], key: str) -> float | None:
    value = side.get(key)
    if value is None or value.size < 1 or value.dtype.kind not in "uif":
        return None
    number = float(value.reshape(-1)[0])
    return number if np.isfinite(number) else None


def _scan_shape(
    options: OpenOptions, side: dict[str, Any], total: int, path: Path
) -> tuple[tuple[int, int], str | None]:
    """The scan shape (``scan_shape=``, else the sidecar's, else a square one for a square
    frame count) and the note to warn with when it was assumed square."""
    note = None
    if options.scan_shape is not None:
        shape, source = options.scan_shape, "scan_shape"
    else:
        rows, cols = _side_number(side, "NumPixelsY"), _side_number(side, "NumPixelsX")
        if rows and cols:
            shape, source = (int(rows), int(cols)), f"the sidecar '{side['_path']}'"
        else:
            side_n = math.isqrt(total)
            if total < 1 or side_n * side_n != total:
                raise FormatError(
                    f"'{path}' holds {total} frames, not a square number, and neither the master "
                    "nor a 'STEM Metadata' sidecar states the scan shape; pass scan_shape=(Rx, Ry)"
                )
            shape, source = (side_n, side_n), "the frame count"
            note = (
                f"'{path}' states no scan shape (no 'STEM Metadata' sidecar): its {total} frames "
                f"are read as a square {side_n}x{side_n} scan; pass scan_shape=(Rx, Ry) if the "
                "scan was not square"
            )
    if shape[0] * shape[1] != total:
        raise FormatError(
            f"'{path}' holds {total} frames, but the scan shape {tuple(shape)} from {source} "
            f"needs {shape[0] * shape[1]}; pass scan_shape=(Rx, Ry)"
        )
    return shape, note


def _lazy_frames(stacks: list[h5py.Dataset], scan_shape: tuple[int, int]) -> Any:
    """One dask array (Rx, Ry, Qx, Qy) over the stacks, chunked in whole scan rows."""
    import dask.array as da

    rx, ry = scan_shape
    qx, qy = stacks[0].shape[1:]
    row_bytes = ry * qx * qy * stacks[0].dtype.itemsize
    rows = max(1, min(rx, BLOCK_BYTES // row_bytes))
    frames = rows * ry
    parts = [
        da.from_array(stack, chunks=(min(frames, stack.shape[0]), qx, qy), lock=True)
        for stack in stacks
    ]
    flat = parts[0] if len(parts) == 1 else da.concatenate(parts, axis=0)
    if any(n % ry for n in flat.chunks[0][:-1]):
        flat = flat.rechunk({0: frames})
    return flat.reshape(rx, ry, qx, qy)


def _calibration(master: h5py.File, side: dict[str, Any], path: Path, data: Any) -> Opened:
    notes: list[str] = []
    scan: Axis | None = None
    step = _side_number(side, "Pixel Size")
    if step is not None and step > 0:
        scan = Axis(step, "nm")
        calibrated = _side_number(side, "IsPixelSizeCalibrated")
        if calibrated is not None and not calibrated:
            notes.append(
                f"'{path}': the sidecar '{side['_path']}' says its scan pixel size "
                f"({step:g} nm) is not calibrated; pass scan_sampling= if you know better"
            )
    pixel_y = _length_m(master, f"{DETECTOR}/y_pixel_size")
    pixel_x = _length_m(master, f"{DETECTOR}/x_pixel_size")
    detector = (
        None if pixel_y is None else Axis(pixel_y, "m"),
        None if pixel_x is None else Axis(pixel_x, "m"),
    )
    camera_length = None
    side_length = _side_number(side, "Camera Length")
    if side_length is not None and side_length > 0:
        camera_length = side_length * 1e3  # m -> mm
        source = f"the sidecar '{side['_path']}'"
    else:
        distance = _length_m(master, f"{DETECTOR}/detector_distance")
        camera_length = None if distance is None else distance * 1e3
        source = f"{DETECTOR}/detector_distance"
    if camera_length is not None and any(detector):
        notes.append(
            f"'{path}': the detector pixel ({(detector[0] or detector[1]).scale:g} m) becomes an "
            f"angle with the camera length {camera_length:g} mm from {source}; pass "
            "detector_sampling= (mrad) if the detector is calibrated otherwise"
        )
    energy = _energy_ev(master, f"{DETECTOR}/detectorSpecific/photon_energy")
    if energy is None:
        volts = _side_number(side, "High Tension")
        energy = volts if volts is not None and volts > 0 else None
    excluded = master.get(f"{DETECTOR}/detectorSpecific/number_of_excluded_pixels")
    if isinstance(excluded, h5py.Dataset) and excluded.dtype.kind in "ui" and excluded[()] > 0:
        notes.append(
            f"'{path}': the detector excludes {int(excluded[()])} pixel(s) (pixel_mask); the "
            "data may mark them with the dtype's largest value"
        )
    return Opened(
        data,
        scan=(scan, scan),
        detector=detector,
        energy=energy,
        camera_length=camera_length,
        notes=tuple(notes),
    )


def _length_m(file: h5py.File, key: str) -> float | None:
    """A positive scalar length dataset in metres (``units`` attribute honoured), else None."""
    node = file.get(key)
    if not isinstance(node, h5py.Dataset) or node.size != 1 or node.dtype.kind not in "uif":
        return None
    units = as_str(node.attrs.get("units", "m")).strip()
    if units not in _LENGTH_TO_M:
        return None
    value = as_float(node[()], key, node) * _LENGTH_TO_M[units]
    return value if value > 0 and np.isfinite(value) else None


def _energy_ev(file: h5py.File, key: str) -> float | None:
    node = file.get(key)
    if not isinstance(node, h5py.Dataset) or node.size != 1 or node.dtype.kind not in "uif":
        return None
    units = as_str(node.attrs.get("units", "eV")).strip()
    if units not in _ENERGY_TO_EV:
        return None
    value = as_float(node[()], key, node) * _ENERGY_TO_EV[units]
    return value if value > 0 and np.isfinite(value) else None


FORMATS = (
    Format(
        "arina",
        "Dectris Arina / EIGER master + data files",
        (".h5",),
        open_arina,
        is_arina,
        True,
        "beam energy, detector pixel size (m) and, from the sidecar <name>.h5, scan shape, "
        "scan step (nm) and camera length",
        "frames in acquisition order, fast scan axis last: (Rx, Ry) = (NumPixelsY, NumPixelsX) "
        "or scan_shape (without either, N x N for N*N frames, with a warning), "
        "(Qx, Qy) = stored (y, x); no flips",
    ),
)
