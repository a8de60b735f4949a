"""What every format adapter returns, and the small helpers they share.

An adapter is a function ``open_<format>(path, options) -> Opened``: it opens the file
read-only, finds the 4D array without reading it (a NumPy memory map, an ``h5py.Dataset``, a
zarr array or a dask array) and reports the calibration exactly as the file states it, in the
file's own unit strings. Unit conversion, sign handling and user overrides happen once, in
:mod:`dpc_widgets.io.calibration`, for every format alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


class FormatError(ValueError):
    """A file that cannot be read as the 4D-STEM format it was taken for.

    Subclasses ``ValueError`` so that callers catching ``ValueError`` keep working. The message
    names the file and the problem.
    """


@dataclasses.dataclass(frozen=True)
class Axis:
    """One axis calibration as stored in the file.

    Attributes
    ----------
    scale : float
        Step per pixel, signed as stored (a negative step means the axis runs backwards).
    units : str
        The unit string as written in the file (``"nm"``, ``"1/nm"``, ``"cm"``, ...).
    """

    scale: float
    units: str


@dataclasses.dataclass(frozen=True)
class OpenOptions:
    """Options of :func:`dpc_widgets.load` that reach the adapters.

    Attributes
    ----------
    dataset : str or None
        Which 4D array to use when the file holds several (an HDF5 path, an ``.npz`` key, a
        zarr array path); adapters that hold one array refuse any other value.
    in_memory : bool
        Read the data into RAM and release the file before returning.
    scan_shape : (int, int) or None
        (Rx, Ry) for files that store a flat list of frames without the scan shape (Merlin
        ``.mib`` without a scan in its header, TVIPS, DE movies).
    """

    dataset: str | None = None
    in_memory: bool = False
    scan_shape: tuple[int, int] | None = None


@dataclasses.dataclass(frozen=True)
class Opened:
    """A 4D array found in a file, with the calibration the file states.

    Attributes
    ----------
    data : array-like, shape (Rx, Ry, Qx, Qy)
        Not read yet: ``np.memmap``, ``h5py.Dataset``, zarr or dask array (NumPy when
        ``in_memory``).
    scan : (Axis or None, Axis or None)
        Calibration of the Rx and Ry axes as stored (``None`` when the file has none).
    detector : (Axis or None, Axis or None)
        Calibration of the Qx and Qy axes as stored.
    energy : float or None
        Beam energy in eV.
    camera_length : float or None
        Camera length in mm (turns a detector pixel given as a length into an angle).
    notes : tuple of str
        Things the user should know (a default pick among several arrays, ...): :func:`load`
        issues each as a ``UserWarning``.
    """

    data: Any
    scan: tuple[Axis | None, Axis | None] = (None, None)
    detector: tuple[Axis | None, Axis | None] = (None, None)
    energy: float | None = None
    camera_length: float | None = None
    notes: tuple[str, ...] = ()


Opener = Callable[[Path, OpenOptions], Opened]
Sniffer = Callable[[Path], bool]


@dataclasses.dataclass(frozen=True)
class Format:
    """One readable format: the row of the formats table in :func:`dpc_widgets.load`.

    Attributes
    ----------
    name : str
        The ``format=`` value (``"merlin"``, ``"arina"``, ...).
    title : str
        What users call it.
    extensions : tuple of str
        Lower-case extensions including the dot; a directory store uses its suffix too.
    open : Opener
        The adapter.
    sniff : Sniffer or None
        For extensions shared with other formats: True when the file's content is this format.
        Formats sharing an extension are tried in registry order; one without ``sniff`` is the
        fallback for its extensions.
    lazy : bool
        Whether opening reads headers only.
    calibrations : str
        Which calibrations are read (for the docs table).
    orientation : str
        How the stored axes map to (Rx, Ry, Qx, Qy), and any flip the reader applies.
    directory : bool
        Whether the "file" is a directory store (zarr).
    """

    name: str
    title: str
    extensions: tuple[str, ...]
    open: Opener
    sniff: Sniffer | None
    lazy: bool
    calibrations: str
    orientation: str
    directory: bool = False


def read_whole(data: Any) -> Any:
    """``data`` read into memory (for ``in_memory``): a dask array computed, an
    ``h5py.Dataset`` or zarr array read with ``[()]``, NumPy arrays as they are."""
    if hasattr(data, "compute"):
        return data.compute()
    return data if isinstance(data, np.ndarray) else data[()]


def require_4d(data: Any, path: Path, what: str = "the array") -> Any:
    """``data`` if it is 4D, else a :class:`FormatError` naming its shape."""
    if len(data.shape) != 4:
        raise FormatError(
            f"{what} in '{path}' has shape {tuple(data.shape)}; expected 4D (Rx, Ry, Qx, Qy)"
        )
    return data


def only_candidate(candidates: list[str], path: Path, what: str, pick: str) -> str:
    """The one candidate, or a :class:`FormatError` saying there are none or several."""
    if not candidates:
        raise FormatError(f"'{path}' holds no 4D {what} (axes Rx, Ry, Qx, Qy)")
    if len(candidates) > 1:
        raise FormatError(
            f"'{path}' holds several 4D {what}s: {candidates}; pick one with dataset=<{pick}>"
        )
    return candidates[0]


def refuse_dataset(options: OpenOptions, path: Path, title: str) -> None:
    """Raise ``ValueError`` when ``dataset=`` was given for a format that holds one array."""
    if options.dataset is not None:
        raise ValueError(f"dataset={options.dataset!r} does not apply to a {title} file ({path})")
