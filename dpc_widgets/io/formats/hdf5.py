"""HDF5 files read with h5py: py4DSTEM / EMD 1.0 DataCubes and generic HDF5.

Files are opened with ``h5py.File(path, "r")`` and never written. Unless ``in_memory``, the
returned data is the ``h5py.Dataset`` itself: it holds the file open for as long as it is
referenced (``cube.data.file.close()`` closes it earlier). Orientation: dataset order, no flips.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..._lazy import lazy_import
from .base import Axis, Format, FormatError, Opened, OpenOptions, only_candidate, read_whole

h5py = lazy_import("h5py")

HDF5_EXTENSIONS = (".h5", ".hdf5", ".emd")


def open_hdf5_file(path: Path) -> h5py.File:
    """``h5py.File(path, "r")``, with a :class:`FormatError` for non-HDF5 or corrupt files.

    ``hdf5plugin`` is imported first, so that datasets compressed with its filters
    (bitshuffle-LZ4, Blosc, Zstandard, ...) read in every HDF5 format.
    """
    import hdf5plugin  # noqa: F401  (registers the compression filters with h5py)

    if not h5py.is_hdf5(path):
        raise FormatError(
            f"'{path}' is not an HDF5 file (files ending in {path.suffix!r} are read as HDF5)"
        )
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise FormatError(f"cannot open '{path}' as HDF5 (truncated or corrupt?): {err}") from err


def read_hdf5(
    path: Path, options: OpenOptions, select: Callable[[h5py.File, OpenOptions, Path], Opened]
) -> Opened:
    """Open ``path``, let ``select`` find the data, honour ``in_memory``; close on errors."""
    file = open_hdf5_file(path)
    try:
        opened = select(file, options, path)
        if options.in_memory:
            opened = Opened(
                read_whole(opened.data),
                opened.scan,
                opened.detector,
                opened.energy,
                opened.camera_length,
                opened.notes,
            )
    except OSError as err:
        file.close()
        raise FormatError(f"cannot read '{path}' (truncated or corrupt HDF5?): {err}") from err
    except BaseException:
        file.close()
        raise
    if options.in_memory:
        file.close()
    return opened


def four_d_datasets(file: h5py.File) -> list[str]:
    """Paths of every 4D dataset in the file, in visiting order."""
    found: list[str] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and obj.ndim == 4:
            found.append("/" + name)

    file.visititems(visit)
    return found


def named_dataset(file: h5py.File, dataset: str, path: Path) -> h5py.Dataset:
    """The 4D dataset at ``dataset`` (a py4DSTEM DataCube group means its ``data``)."""
    node = file.get(dataset)
    if isinstance(node, h5py.Group) and is_datacube_group(node):
        node = node.get("data")
    if not (isinstance(node, h5py.Dataset) and node.ndim == 4):
        what = "is not a 4D dataset" if node is not None else "does not exist"
        raise FormatError(f"{dataset!r} in '{path}' {what}; 4D datasets: {four_d_datasets(file)}")
    return node


# --------------------------------------------------------------------------- py4DSTEM / EMD 1.0
def is_py4dstem(path: Path) -> bool:
    """True for an HDF5 file holding a py4DSTEM / EMD 1.0 DataCube group."""
    return _any_group(path, is_datacube_group)


def _select_py4dstem(file: h5py.File, options: OpenOptions, path: Path) -> Opened:
    if options.dataset is not None:
        node = named_dataset(file, options.dataset, path)
    else:
        cubes: list[str] = []
        file.visititems(
            lambda name, obj: (
                cubes.append("/" + name)
                if isinstance(obj, h5py.Group) and is_datacube_group(obj)
                else None
            )
        )
        name = only_candidate(cubes, path, "py4DSTEM DataCube", "path")
        node = file[name].get("data")
        if not (isinstance(node, h5py.Dataset) and node.ndim == 4):
            raise FormatError(f"py4DSTEM DataCube {name!r} in '{path}' has no 4D 'data'")
    if not is_datacube_group(node.parent):
        return Opened(node)
    scan, detector = _emd_calibration(node.parent)
    return Opened(node, scan=(scan, scan), detector=(detector, detector))


def open_py4dstem(path: Path, options: OpenOptions) -> Opened:
    """A py4DSTEM / EMD 1.0 DataCube, found by its attributes at any path, with calibration.

    The scan and detector steps come from the nearest ``metadatabundle/calibration`` group
    (``R_pixel_size``, ``R_pixel_units``, ``Q_pixel_size``, ``Q_pixel_units``), else from the
    ``dim0`` (scan) and ``dim2`` (detector) vectors and their ``units`` attributes. py4DSTEM's
    ``QR_flip`` and QR rotation are not applied: the rotation solver finds them from the data.
    """
    return read_hdf5(path, options, _select_py4dstem)


def is_datacube_group(group: h5py.Group) -> bool:
    """True for a group with ``emd_group_type='array'`` and ``python_class='DataCube'``."""
    attrs = group.attrs
    return (
        as_str(attrs.get("emd_group_type", "")) == "array"
        and as_str(attrs.get("python_class", "")) == "DataCube"
    )


def _emd_calibration(cube: h5py.Group) -> tuple[Axis | None, Axis | None]:
    stored = _calibration_group(cube)
    out: list[Axis | None] = []
    for prefix, dim in (("R", "dim0"), ("Q", "dim2")):
        size = _stored_value(stored, f"{prefix}_pixel_size")
        units = _stored_value(stored, f"{prefix}_pixel_units")
        vector = cube.get(dim)
        if isinstance(vector, h5py.Dataset) and vector.ndim == 1 and vector.shape[0] >= 2:
            if size is None:
                start, stop = vector[:2]
                size = stop - start
            if units is None:
                units = vector.attrs.get("units")
        if size is None or units is None:
            out.append(None)
        else:
            out.append(Axis(as_float(size, f"{prefix}_pixel_size", cube), as_str(units)))
    return out[0], out[1]


def _calibration_group(cube: h5py.Group) -> h5py.Group | None:
    group = cube
    while True:
        found = group.get("metadatabundle/calibration")
        if isinstance(found, h5py.Group):
            return found
        if group.name == "/":
            return None
        group = group.parent


def _stored_value(group: h5py.Group | None, key: str) -> Any:
    if group is None or not isinstance(group.get(key), h5py.Dataset):
        return None
    return group[key][()]


# --------------------------------------------------------------------------- generic HDF5
def _select_generic(file: h5py.File, options: OpenOptions, path: Path) -> Opened:
    if options.dataset is not None:
        return Opened(named_dataset(file, options.dataset, path))
    return Opened(file[only_candidate(four_d_datasets(file), path, "dataset", "path")])


def open_generic_hdf5(path: Path, options: OpenOptions) -> Opened:
    """The file's only 4D dataset (or ``dataset=``), uncalibrated."""
    return read_hdf5(path, options, _select_generic)


# --------------------------------------------------------------------------- small helpers
def _any_group(path: Path, test: Callable[[h5py.Group], bool]) -> bool:
    """True when some group of the HDF5 file at ``path`` passes ``test``."""
    try:
        with h5py.File(path, "r") as file:
            hit = file.visititems(lambda _, obj: isinstance(obj, h5py.Group) and test(obj) or None)
    except OSError:
        return False
    return hit is True


def as_str(value: Any) -> str:
    """A str from a str, bytes or 0-d array attribute."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def as_float(value: Any, name: str, node: h5py.HLObject) -> float:
    """A float from a numeric scalar dataset value, else a :class:`FormatError` naming it."""
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "uif":
        raise FormatError(
            f"{name} of {node.name!r} in '{node.file.filename}' is not a number: "
            f"{value!r}; pass the calibration as keywords"
        )
    return float(array.reshape(()))


FORMATS = (
    Format(
        "py4dstem",
        "py4DSTEM / EMD 1.0",
        HDF5_EXTENSIONS,
        open_py4dstem,
        is_py4dstem,
        True,
        "scan step and units, detector pixel size and units",
        "dataset order, no flips",
    ),
    Format(
        "hdf5",
        "generic HDF5",
        HDF5_EXTENSIONS,
        open_generic_hdf5,
        None,
        True,
        "none",
        "dataset order, no flips",
    ),
)
