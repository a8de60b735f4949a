"""zarr stores: ``.zarr`` directories and zip stores (``.zip``), zarr format 2 or 3.

The store is opened read-only (``zarr.storage.LocalStore(read_only=True)`` or
``zarr.storage.ZipStore(mode="r")``). The data is the store's array when the store is one
array, else the group's only 4D array at any depth (or ``dataset=``, a path inside the group).
The returned data is the ``zarr.Array`` itself: slicing it reads whole chunks and returns NumPy,
and its ``chunks`` keeps :meth:`Datacube.blocks` aligned to them (for a sharded array these are
the inner chunks).

Calibration: zarr has no standard for it. One simple convention is read, the array's
attributes named as :class:`~dpc_widgets.io.Datacube` keywords: ``scan_sampling`` with
``scan_units``, ``detector_sampling`` with ``detector_units`` (any unit string
:mod:`dpc_widgets.io.calibration` understands), and ``energy`` (eV). Nothing else is read.

Orientation: array order, ``(Rx, Ry, Qx, Qy) = array.shape``; no flips.
"""

from __future__ import annotations

import itertools
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .base import Axis, Format, FormatError, Opened, OpenOptions, only_candidate

ZARR_EXTENSIONS = (".zarr", ".zip")
_METADATA = ("zarr.json", ".zgroup", ".zarray")


def is_zarr(path: Path) -> bool:
    """True for a directory or zip file with zarr metadata at its root."""
    if path.is_dir():
        return any((path / name).is_file() for name in _METADATA)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return any(name in names for name in _METADATA)


def _open_store(path: Path) -> Any:
    import zarr.storage

    if path.is_dir():
        return zarr.storage.LocalStore(path, read_only=True)
    if zipfile.is_zipfile(path):
        return zarr.storage.ZipStore(path, mode="r")
    raise FormatError(
        f"'{path}' is not a zarr store: expected a directory or a zip file "
        f"(files ending in {path.suffix!r} are read as zarr)"
    )


def open_zarr(path: Path, options: OpenOptions) -> Opened:
    """The 4D array of a zarr store, lazily, with calibration from its attributes if stated.

    Parameters
    ----------
    path : Path
        A ``.zarr`` directory or a ``.zip`` zip store; never written.
    options : OpenOptions
        ``dataset=`` the path of the array inside the store's group.

    Returns
    -------
    Opened
        The ``zarr.Array`` (NumPy when ``in_memory``) and the calibration its attributes state.

    Raises
    ------
    FormatError
        For a path that is no zarr store, a store holding no 4D array (its arrays and shapes
        named) or several, or a ``dataset=`` that is no 4D array; with ``in_memory``, a chunk
        that cannot be decoded (named). Lazily read chunks that fail are named the same way
        when read (:meth:`Datacube.blocks <dpc_widgets.io.Datacube.blocks>`).
    ValueError
        For ``dataset=`` given to a store that is a single array.
    """
    import zarr
    import zarr.errors

    store = _open_store(path)
    try:
        try:
            node = zarr.open(store, mode="r")
        except (FileNotFoundError, KeyError, ValueError, zarr.errors.BaseZarrError) as err:
            raise FormatError(
                f"'{path}' is not a readable zarr store (no zarr metadata?): "
                f"{type(err).__name__}: {err}"
            ) from err
        array = _pick(node, path, options)
        opened = _opened(array, path)
        if options.in_memory:
            data = _read_all(array, path)
            opened = Opened(data, opened.scan, opened.detector, opened.energy)
            store.close()
    except BaseException:
        store.close()
        raise
    return opened


def _read_all(array: Any, path: Path) -> np.ndarray:
    """The whole array; a corrupt chunk is a FormatError naming the store and the chunk."""
    try:
        return np.asarray(array[...])
    except (RuntimeError, ValueError, OSError, KeyError, EOFError) as err:
        chunk = bad_chunk(array, 0, array.shape[0])
        raise FormatError(
            f"'{path}': cannot read chunk {chunk or '?'} of the zarr store: "
            f"{type(err).__name__}: {err}; the store is truncated or corrupt there"
        ) from err


def _pick(node: Any, path: Path, options: OpenOptions) -> Any:
    import zarr

    if isinstance(node, zarr.Array):
        if options.dataset is not None:
            raise ValueError(
                f"dataset={options.dataset!r} does not apply: the zarr store '{path}' is a "
                "single array"
            )
        if node.ndim != 4:
            raise FormatError(
                f"the zarr store '{path}' holds a {node.ndim}D array of shape {node.shape}; "
                "expected 4D (Rx, Ry, Qx, Qy)"
                + ("; a flat list of frames cannot be reshaped here" if node.ndim == 3 else "")
            )
        return node
    arrays = {
        name: member
        for name, member in node.members(max_depth=None)
        if isinstance(member, zarr.Array)
    }
    if options.dataset is not None:
        member = arrays.get(options.dataset.strip("/"))
        if member is None or member.ndim != 4:
            what = "does not exist" if member is None else f"has shape {member.shape}"
            raise FormatError(
                f"array {options.dataset!r} in the zarr store '{path}' {what}; arrays: "
                f"{_shapes(arrays)}"
            )
        return member
    four_d = sorted(name for name, member in arrays.items() if member.ndim == 4)
    if not four_d:
        raise FormatError(
            f"the zarr store '{path}' holds no 4D array (Rx, Ry, Qx, Qy); arrays: {_shapes(arrays)}"
        )
    return arrays[only_candidate(four_d, path, "zarr array", "array path")]


def _shapes(arrays: dict[str, Any]) -> str:
    return ", ".join(f"{name} {member.shape}" for name, member in sorted(arrays.items())) or "none"


def _opened(array: Any, path: Path) -> Opened:
    attrs = dict(array.attrs)
    axes: dict[str, Axis | None] = {}
    for space in ("scan", "detector"):
        step, units = attrs.get(f"{space}_sampling"), attrs.get(f"{space}_units")
        if step is None or units is None:
            axes[space] = None
            continue
        if (
            not isinstance(step, int | float)
            or isinstance(step, bool)
            or not isinstance(units, str)
        ):
            raise FormatError(
                f"attributes {space}_sampling={step!r}, {space}_units={units!r} of the zarr store "
                f"'{path}' are not a number and a unit string; pass the calibration as keywords"
            )
        axes[space] = Axis(float(step), units)
    energy = attrs.get("energy")
    if energy is not None and (not isinstance(energy, int | float) or isinstance(energy, bool)):
        raise FormatError(f"attribute energy={energy!r} of the zarr store '{path}' is not a number")
    return Opened(
        array,
        scan=(axes["scan"], axes["scan"]),
        detector=(axes["detector"], axes["detector"]),
        energy=None if energy is None else float(energy),
    )


def bad_chunk(data: Any, r0: int, r1: int) -> str | None:
    """The key of the first chunk of the zarr array ``data`` in scan rows ``r0:r1`` that
    cannot be read (e.g. ``'c/1/0/0/0'``), or None (not a zarr array, or none fails alone).

    Reads the chunks one at a time: only called after reading those rows failed.
    """
    chunks = getattr(data, "chunks", None)
    metadata = getattr(data, "metadata", None)
    if not chunks or metadata is None or not hasattr(metadata, "encode_chunk_key"):
        return None
    shape = data.shape
    starts = [range(r0 - r0 % chunks[0], r1, chunks[0])]
    starts += [range(0, n, c) for n, c in zip(shape[1:], chunks[1:], strict=True)]
    for corner in itertools.product(*starts):
        region = tuple(slice(a, a + c) for a, c in zip(corner, chunks, strict=True))
        try:
            data[region]
        except Exception:  # noqa: BLE001 - the chunk that fails is the answer
            coords = tuple(a // c for a, c in zip(corner, chunks, strict=True))
            return repr(metadata.encode_chunk_key(coords))
    return None


FORMATS = (
    Format(
        "zarr",
        "zarr store, directory or zip",
        ZARR_EXTENSIONS,
        open_zarr,
        is_zarr,
        True,
        "only the attributes scan_sampling/scan_units, detector_sampling/detector_units, "
        "energy (eV) if present",
        "array order, no flips",
        directory=True,
    ),
)
