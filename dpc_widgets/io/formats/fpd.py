"""fpd HDF5 files: conversions of Merlin data by the ``fpd`` package (and ``merlintools``).

Layout (as fpd writes it): the group ``fpd_expt`` holds ``fpd_data/data``, the scan, either 4D
``(sy, sx, qy, qx)`` or 5D ``(sy, sx, 1, qy, qx)`` with a singleton detector-channel axis, and
the axis vectors ``fpd_data/dim1 .. dimN`` (one per data axis, in data order, each with a
``units`` attribute: the scan step, e.g. 5.48 ``nm``, and ``pixels`` on the detector). Other
4D datasets (``DAC``, ``Threshold``, sum images) may sit beside it: ``fpd_data`` is the default
and a note says which others exist; ``dataset=`` picks another.

Orientation: array order, ``(Rx, Ry, Qx, Qy) = (sy, sx, qy, qx)`` (Rx the slow scan axis, Qx
the detector rows); the singleton axis of a 5D dataset is dropped without reading anything
(:class:`SqueezedDataset`). No flips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..._lazy import lazy_import
from .base import Axis, Format, FormatError, Opened, OpenOptions
from .hdf5 import HDF5_EXTENSIONS, as_float, as_str, four_d_datasets, read_hdf5

h5py = lazy_import("h5py")

DATA_PATH = "/fpd_expt/fpd_data/data"


class SqueezedDataset:
    """A read-only view of an ``h5py.Dataset`` with one length-1 axis left out.

    Slicing the view slices the dataset with index 0 on the dropped axis, so only the requested
    part is read; ``chunks`` is the dataset's without that axis, which keeps
    :meth:`Datacube.blocks` aligned to the stored chunks.

    Parameters
    ----------
    dataset : h5py.Dataset
        The stored array.
    axis : int
        The axis of length 1 to leave out.
    """

    def __init__(self, dataset: h5py.Dataset, axis: int) -> None:
        if dataset.shape[axis] != 1:
            raise ValueError(f"axis {axis} of {dataset.name!r} has length {dataset.shape[axis]}")
        self.dataset = dataset
        self.axis = axis
        self.shape = tuple(n for i, n in enumerate(dataset.shape) if i != axis)
        self.dtype = dataset.dtype
        self.ndim = len(self.shape)
        chunks = dataset.chunks
        self.chunks = (
            None if chunks is None else tuple(n for i, n in enumerate(chunks) if i != axis)
        )

    @property
    def file(self) -> h5py.File:
        """The open HDF5 file (``view.file.close()`` releases it)."""
        return self.dataset.file

    @property
    def name(self) -> str:
        """The dataset's path in the file."""
        return self.dataset.name

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis for k in key):
            at = next(i for i, k in enumerate(key) if k is Ellipsis)
            fill = (slice(None),) * (self.ndim - len(key) + 1)
            key = key[:at] + fill + key[at + 1 :]
        if len(key) > self.ndim:
            raise IndexError(f"too many indices for a {self.ndim}D array: {key!r}")
        key = key + (slice(None),) * (self.ndim - len(key))
        return self.dataset[key[: self.axis] + (0,) + key[self.axis :]]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self[()]
        return data if dtype is None else data.astype(dtype, copy=False)

    def __repr__(self) -> str:
        dropped = f"axis {self.axis} of length 1 dropped"
        return f"<SqueezedDataset {self.name!r} {self.shape} {self.dtype} ({dropped})>"


def is_fpd(path: Path) -> bool:
    """True for an HDF5 file with a top-level group ``fpd_expt``."""
    try:
        with h5py.File(path, "r") as file:
            return isinstance(file.get("fpd_expt"), h5py.Group)
    except OSError:
        return False


def _select(file: h5py.File, options: OpenOptions, path: Path) -> Opened:
    notes: tuple[str, ...] = ()
    name = options.dataset if options.dataset is not None else DATA_PATH
    if not name.startswith("/"):
        name = "/" + name
    node = file.get(name)
    if isinstance(node, h5py.Group) and isinstance(node.get("data"), h5py.Dataset):
        node = node["data"]
    others = [p for p in four_d_datasets(file) if p != name]
    if not isinstance(node, h5py.Dataset):
        raise FormatError(
            f"fpd file '{path}' has no dataset {name!r}; 4D datasets: {four_d_datasets(file)}"
        )
    data: Any = node
    if node.ndim == 5 and node.shape[2] == 1:
        data = SqueezedDataset(node, 2)
    elif node.ndim != 4:
        raise FormatError(
            f"{name!r} in fpd file '{path}' has shape {node.shape}; expected 4D (sy, sx, qy, qx) "
            "or 5D (sy, sx, 1, qy, qx)"
        )
    if options.dataset is None and others:
        notes = (
            f"'{path}': using {DATA_PATH!r} {tuple(data.shape)}; the file also holds 4D "
            f"dataset(s) {others}: pick one with dataset=<path>",
        )
    axes = _dims(node, path)
    if node.ndim == 5:
        axes = axes[:2] + axes[3:]
    return Opened(data, scan=(axes[0], axes[1]), detector=(axes[2], axes[3]), notes=notes)


def _dims(node: h5py.Dataset, path: Path) -> list[Axis | None]:
    """Step and units of each axis from the sibling ``dim1 .. dimN`` vectors."""
    out: list[Axis | None] = []
    for i in range(node.ndim):
        vector = node.parent.get(f"dim{i + 1}")
        units = None if vector is None else vector.attrs.get("units")
        if not (
            isinstance(vector, h5py.Dataset)
            and vector.ndim == 1
            and vector.shape[0] >= 2
            and vector.dtype.kind in "uif"
            and units is not None
        ):
            out.append(None)
            continue
        start, stop = vector[:2]
        out.append(Axis(as_float(stop - start, f"dim{i + 1} step", vector), as_str(units)))
    return out


def open_fpd(path: Path, options: OpenOptions) -> Opened:
    """The scan of an fpd HDF5 file, ``fpd_expt/fpd_data/data`` by default, with calibration.

    Parameters
    ----------
    path : Path
        The ``.h5``/``.hdf5`` file, opened read-only.
    options : OpenOptions
        ``dataset=`` an HDF5 path (another 4D or 5D dataset of the file).

    Returns
    -------
    Opened
        The dataset (a :class:`SqueezedDataset` view for 5D data), the scan and detector steps
        from ``dimN`` vectors with their ``units`` attributes, and a note naming the other 4D
        datasets when the default was used.
    """
    return read_hdf5(path, options, _select)


FORMATS = (
    Format(
        "fpd",
        "fpd HDF5, Merlin conversions",
        HDF5_EXTENSIONS[:2],
        open_fpd,
        is_fpd,
        True,
        "scan step and detector pixel size with units (fpd_data/dimN vectors)",
        "array order (sy, sx, [1,] qy, qx) = (Rx, Ry, Qx, Qy), singleton axis dropped, no flips",
    ),
)
