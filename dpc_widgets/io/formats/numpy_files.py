"""NumPy ``.npy`` (memory-mapped) and ``.npz`` files. Orientation: array order, no flips."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .base import (
    Format,
    FormatError,
    Opened,
    OpenOptions,
    only_candidate,
    refuse_dataset,
    require_4d,
)

_NPY_MAGIC = b"\x93NUMPY"


def open_npy(path: Path, options: OpenOptions) -> Opened:
    """Memory-map a ``.npy`` file read-only (``np.load(mmap_mode="r")``)."""
    refuse_dataset(options, path, ".npy")
    with path.open("rb") as fh:
        if fh.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            raise FormatError(f"'{path}' is not a NumPy .npy file (no .npy header)")
    try:
        data = np.load(path, mmap_mode=None if options.in_memory else "r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise FormatError(f"cannot read '{path}' as a .npy array: {err}") from err
    return Opened(require_4d(data, path))


def open_npz(path: Path, options: OpenOptions) -> Opened:
    """Read the archive's 4D array (``.npz`` members cannot be memory-mapped)."""
    if not zipfile.is_zipfile(path):
        raise FormatError(f"'{path}' is not a NumPy .npz file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            shapes = {
                name[: -len(".npy")]: _npy_member_shape(archive, name)
                for name in archive.namelist()
                if name.endswith(".npy")
            }
        candidates = [key for key, shape in shapes.items() if len(shape) == 4]
        if options.dataset is None:
            key = only_candidate(candidates, path, "array", "key")
        elif options.dataset in shapes:
            key = options.dataset
        else:
            raise FormatError(
                f"'{path}' has no array {options.dataset!r}; arrays: {sorted(shapes)}; "
                f"4D arrays: {candidates}"
            )
        with np.load(path, allow_pickle=False) as archive:
            data = archive[key]
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise FormatError(f"cannot read '{path}' as a .npz archive: {err}") from err
    return Opened(require_4d(data, path, f"array {key!r}"))


def _npy_member_shape(archive: zipfile.ZipFile, name: str) -> tuple[int, ...]:
    """Shape of one ``.npy`` member of an archive, from its header only."""
    with archive.open(name) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, _ = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, _ = np.lib.format.read_array_header_2_0(fh)
    return shape


FORMATS = (
    Format("npy", "NumPy array", (".npy",), open_npy, None, True, "none", "array order, no flips"),
    Format(
        "npz", "NumPy archive", (".npz",), open_npz, None, False, "none", "array order, no flips"
    ),
)
