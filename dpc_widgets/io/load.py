"""Open 4D-STEM files as a :class:`Datacube`, read-only and without reading them whole.

Supported files
---------------
- ``.h5``, ``.hdf5``, ``.emd``: HDF5. A py4DSTEM / EMD 1.0 DataCube (a group with attributes
  ``emd_group_type='array'`` and ``python_class='DataCube'``, at any path) is found by its
  attributes, with its calibration; otherwise the file's only 4D dataset is used.
- ``.npy``: memory-mapped read-only (``np.load(mmap_mode="r")``).
- ``.npz``: the archive's only 4D array (read into memory: ``.npz`` members cannot be mapped).

File lifetime
-------------
HDF5 files are opened with ``h5py.File(path, "r")`` and never written. By default the returned
``Datacube.data`` is the ``h5py.Dataset`` itself: it holds the file open for as long as the
Datacube (or anything else) references it, and the file closes when the last reference is
garbage-collected. ``cube.data.file.close()`` closes it earlier (the Datacube is unusable after
that). ``in_memory=True`` reads the data into a NumPy array and closes the file before returning.
"""

from __future__ import annotations

import errno
import os
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .datacube import Datacube

HDF5_EXTENSIONS = (".h5", ".hdf5", ".emd")
SUPPORTED_EXTENSIONS = (*HDF5_EXTENSIONS, ".npy", ".npz")
CALIBRATION_KEYWORDS = (
    "scan_sampling",
    "scan_units",
    "detector_sampling",
    "detector_units",
    "origin",
)

# Unit strings found in files (py4DSTEM writes "A", "A^-1", "mrad", "pixels") -> ours.
_SCAN_UNIT_ALIASES = {
    "A": "A",
    "\u00c5": "A",  # Latin capital A with ring
    "\u212b": "A",  # Angstrom sign
    "nm": "nm",
    "pixels": "px",
    "px": "px",
}
_DETECTOR_UNIT_ALIASES = {
    "mrad": "mrad",
    "A^-1": "A^-1",
    "1/A": "A^-1",
    "\u00c5^-1": "A^-1",
    "\u212b^-1": "A^-1",
    "pixels": "px",
    "px": "px",
}
_NPY_MAGIC = b"\x93NUMPY"


def load(
    path: str | os.PathLike,
    *,
    dataset: str | None = None,
    energy: float | None = None,
    in_memory: bool = False,
    **calibration: Any,
) -> Datacube:
    """Open a 4D-STEM file as a :class:`Datacube` with axes (Rx, Ry, Qx, Qy).

    Parameters
    ----------
    path : str or path-like
        A ``.h5``/``.hdf5``/``.emd`` (HDF5, including py4DSTEM / EMD 1.0 files), ``.npy`` or
        ``.npz`` file. It is opened read-only and never modified.
    dataset : str, optional
        Which 4D array to use when the file holds several: an HDF5 path (a dataset, or a py4DSTEM
        DataCube group) or an ``.npz`` key. Not accepted for ``.npy``.
    energy : float, optional
        Beam energy in eV (py4DSTEM files do not store it).
    in_memory : bool
        Read HDF5 and ``.npy`` data into RAM and close the file, instead of keeping the file
        open (HDF5) or memory-mapped (``.npy``) for lazy, chunked access. See the module
        docstring for the file lifetime.
    **calibration
        ``scan_sampling``, ``scan_units``, ``detector_sampling``, ``detector_units`` and
        ``origin`` as in :class:`Datacube`. Each one given replaces the file's value as is (no
        unit conversion of the file's other value).

    Returns
    -------
    Datacube
        For py4DSTEM files, the scan and detector calibration come from
        ``<root>/metadatabundle/calibration`` (``R_pixel_size``, ``R_pixel_units``,
        ``Q_pixel_size``, ``Q_pixel_units``), else from the steps and ``units`` attributes of the
        ``dim0`` (scan) and ``dim2`` (detector) vectors. Other files are uncalibrated (``"px"``).
        py4DSTEM's ``QR_flip`` and QR rotation are not applied: the DPC rotation solver
        finds them from the data.

    Raises
    ------
    TypeError
        For an unknown keyword argument, or a ``path``/``dataset`` of the wrong type.
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For an unsupported extension; a file that is not of the type its extension says, or is
        truncated or corrupt; no 4D array, or several without ``dataset``; an unknown unit string
        in the file (the message names it; give ``scan_units=``/``detector_units=`` to
        override); and for every invalid value :class:`Datacube` refuses.
    """
    unknown = [key for key in calibration if key not in CALIBRATION_KEYWORDS]
    if unknown:
        raise TypeError(
            f"load() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"calibration keywords are {CALIBRATION_KEYWORDS}"
        )
    if dataset is not None and not isinstance(dataset, str):
        raise TypeError(f"dataset must be a string (HDF5 path or .npz key), got {dataset!r}")
    path = _existing_file(path)
    extension = path.suffix.lower()
    if extension in HDF5_EXTENSIONS:
        data, file_calibration = _read_hdf5(path, dataset, in_memory)
    elif extension == ".npy":
        if dataset is not None:
            raise ValueError(f"dataset={dataset!r} does not apply to a .npy file ({path})")
        data, file_calibration = _read_npy(path, in_memory), {}
    else:
        data, file_calibration = _read_npz(path, dataset), {}
    for key, aliases, kind in (
        ("scan_units", _SCAN_UNIT_ALIASES, "scan"),
        ("detector_units", _DETECTOR_UNIT_ALIASES, "detector"),
    ):
        if key in file_calibration and key not in calibration:
            file_calibration[key] = _map_units(file_calibration[key], aliases, kind, key, path)
    return Datacube(data, energy=energy, **{**file_calibration, **calibration})


# --------------------------------------------------------------------------- paths and units
def _existing_file(path: Any) -> Path:
    try:
        path = Path(os.fspath(path))
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {path!r}") from None
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    if not path.is_file():
        raise ValueError(f"'{path}' is not a regular file")
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise ValueError(
            f"unsupported file extension {path.suffix!r} of '{path}'; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    return path


def _map_units(raw: Any, aliases: dict[str, str], kind: str, keyword: str, path: Path) -> str:
    units = _as_str(raw).strip()
    if units not in aliases:
        raise ValueError(
            f"unknown {kind} units {units!r} in '{path}'; understood: "
            f"{', '.join(map(repr, aliases))}; pass {keyword}= to override"
        )
    return aliases[units]


def _as_str(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


# --------------------------------------------------------------------------- NumPy files
def _read_npy(path: Path, in_memory: bool) -> Any:
    with path.open("rb") as fh:
        if fh.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            raise ValueError(f"'{path}' is not a NumPy .npy file (no .npy header)")
    try:
        data = np.load(path, mmap_mode=None if in_memory else "r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"cannot read '{path}' as a .npy array: {err}") from err
    return _require_4d(data, path, "the array")


def _read_npz(path: Path, dataset: str | None) -> np.ndarray:
    if not zipfile.is_zipfile(path):
        raise ValueError(f"'{path}' is not a NumPy .npz file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            shapes = {
                name[: -len(".npy")]: _npy_member_shape(archive, name)
                for name in archive.namelist()
                if name.endswith(".npy")
            }
        candidates = [key for key, shape in shapes.items() if len(shape) == 4]
        if dataset is None:
            key = _only_candidate(candidates, path, "array", "key")
        elif dataset in shapes:
            key = dataset
        else:
            raise ValueError(
                f"'{path}' has no array {dataset!r}; arrays: {sorted(shapes)}; "
                f"4D arrays: {candidates}"
            )
        with np.load(path, allow_pickle=False) as archive:
            data = archive[key]
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f"cannot read '{path}' as a .npz archive: {err}") from err
    return _require_4d(data, path, f"array {key!r}")


def _npy_member_shape(archive: zipfile.ZipFile, name: str) -> tuple[int, ...]:
    """Shape of one ``.npy`` member of an archive, from its header only."""
    with archive.open(name) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, _ = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, _ = np.lib.format.read_array_header_2_0(fh)
    return shape


# --------------------------------------------------------------------------- HDF5 files
def _read_hdf5(path: Path, dataset: str | None, in_memory: bool) -> tuple[Any, dict[str, Any]]:
    if not h5py.is_hdf5(path):
        raise ValueError(
            f"'{path}' is not an HDF5 file (files ending in {path.suffix!r} are read as HDF5)"
        )
    try:
        file = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"cannot open '{path}' as HDF5 (truncated or corrupt?): {err}") from err
    try:
        node, file_calibration = _select_hdf5(file, dataset, path)
        data = node[()] if in_memory else node
    except OSError as err:
        file.close()
        raise ValueError(f"cannot read '{path}' (truncated or corrupt HDF5?): {err}") from err
    except BaseException:
        file.close()
        raise
    if in_memory:
        file.close()
    return data, file_calibration


def _select_hdf5(file: h5py.File, dataset: str | None, path: Path) -> tuple[Any, dict]:
    """The 4D dataset to use and, for a py4DSTEM DataCube, its calibration."""
    found: list[str] = []
    cubes: list[h5py.Group] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and obj.ndim == 4:
            found.append("/" + name)
        elif isinstance(obj, h5py.Group) and _is_datacube_group(obj):
            cubes.append(obj)

    file.visititems(visit)
    if dataset is not None:
        node = file.get(dataset)
        if isinstance(node, h5py.Group) and _is_datacube_group(node):
            node = node.get("data")
        if not (isinstance(node, h5py.Dataset) and node.ndim == 4):
            what = "is not a 4D dataset" if node is not None else "does not exist"
            raise ValueError(f"{dataset!r} in '{path}' {what}; 4D datasets: {found}")
    elif cubes:
        names = [cube.name for cube in cubes]
        node = _only_candidate(names, path, "py4DSTEM DataCube", "path")
        node = file[node].get("data")
        if not (isinstance(node, h5py.Dataset) and node.ndim == 4):
            raise ValueError(f"py4DSTEM DataCube {names[0]!r} in '{path}' has no 4D 'data'")
    else:
        node = file[_only_candidate(found, path, "dataset", "path")]
    parent = node.parent
    return node, (_emd_calibration(parent) if _is_datacube_group(parent) else {})


def _only_candidate(candidates: list[str], path: Path, what: str, pick: str) -> str:
    if not candidates:
        raise ValueError(f"'{path}' holds no 4D {what} (axes Rx, Ry, Qx, Qy)")
    if len(candidates) > 1:
        raise ValueError(
            f"'{path}' holds several 4D {what}s: {candidates}; pick one with dataset=<{pick}>"
        )
    return candidates[0]


def _is_datacube_group(group: h5py.Group) -> bool:
    attrs = group.attrs
    return (
        _as_str(attrs.get("emd_group_type", "")) == "array"
        and _as_str(attrs.get("python_class", "")) == "DataCube"
    )


def _emd_calibration(cube: h5py.Group) -> dict[str, Any]:
    """Scan and detector calibration of a py4DSTEM DataCube group.

    Each value comes from the nearest ``metadatabundle/calibration`` group among the cube's
    ancestors (py4DSTEM writes it under the root), else from the ``dim0`` (scan) / ``dim2``
    (detector) vectors ``[start, start + step]`` and their ``units`` attribute.
    """
    stored = _calibration_group(cube)
    out: dict[str, Any] = {}
    for prefix, dim, kind in (("R", "dim0", "scan"), ("Q", "dim2", "detector")):
        size = _stored_value(stored, f"{prefix}_pixel_size")
        units = _stored_value(stored, f"{prefix}_pixel_units")
        vector = cube.get(dim)
        if isinstance(vector, h5py.Dataset) and vector.ndim == 1 and vector.shape[0] >= 2:
            if size is None:
                start, stop = vector[:2]
                size = stop - start
            if units is None:
                units = vector.attrs.get("units")
        if size is not None:
            out[f"{kind}_sampling"] = _as_float(size, f"{prefix}_pixel_size", cube)
        if units is not None:
            out[f"{kind}_units"] = units
    return out


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


def _as_float(value: Any, name: str, cube: h5py.Group) -> float:
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "uif":
        raise ValueError(
            f"{name} of DataCube {cube.name!r} in '{cube.file.filename}' is not a number: "
            f"{value!r}; pass the calibration as keywords"
        )
    return float(array.reshape(()))


def _require_4d(data: Any, path: Path, what: str) -> Any:
    if len(data.shape) != 4:
        raise ValueError(
            f"{what} in '{path}' has shape {tuple(data.shape)}; expected 4D (Rx, Ry, Qx, Qy)"
        )
    return data
