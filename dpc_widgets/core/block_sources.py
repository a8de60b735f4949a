"""How a Dask worker gets the scan rows of its block: it opens the data itself.

A :class:`Datacube` on the client becomes one small, picklable *source* that every worker opens
on its own (:func:`source_of`), so the data go from the file to the worker that caches them and
never through the client:

- a cube from :func:`~dpc_widgets.io.load` (``cube.source``): the worker opens the same file with
  the same format adapter (read-only, lazily; the path must be reachable from every worker);
- a ``np.memmap`` (e.g. ``np.load(path, mmap_mode="r")``): the worker maps the same file range;
- an ``h5py.Dataset``: the worker opens the file and the dataset by name;
- a dask or zarr array: the array itself (its task graph or store address, small when pickled);
- any other array (in the client's memory) has no source: its blocks are sent from the client
  (``None``, see :mod:`dpc_widgets.core.distributed`).

:class:`RowWindow` then shows a worker's rows ``r0:r1`` of the opened array as a 4D array-like
for a :class:`Datacube`, reading (and computing dask arrays, synchronously, in the worker's own
thread) only the rows asked for.
"""

from __future__ import annotations

import dataclasses
import functools
import mmap
import pickle
from typing import Any

import numpy as np

from ..io.source import FileSource

#: A dask/zarr array pickled larger than this holds data, not just a graph: sent from the client.
MAX_PICKLED_BYTES = 8 * 2**20


@dataclasses.dataclass(frozen=True)
class MemmapSource:
    """A C-ordered array inside a file: path, byte offset, dtype and shape."""

    path: str
    offset: int
    dtype: str
    shape: tuple[int, ...]

    def open_data(self) -> np.memmap:
        return np.memmap(self.path, self.dtype, "r", self.offset, self.shape, order="C")


@dataclasses.dataclass(frozen=True)
class HDF5Source:
    """A dataset in an HDF5 file, by file path and dataset name."""

    path: str
    name: str

    def open_data(self) -> Any:
        import h5py
        import hdf5plugin  # noqa: F401  (registers the compression filters)

        return h5py.File(self.path, "r")[self.name]


@dataclasses.dataclass(frozen=True, eq=False)
class ArraySource:
    """A lazy array that pickles small (dask, zarr): sent as it is."""

    array: Any

    def open_data(self) -> Any:
        return self.array


Source = FileSource | MemmapSource | HDF5Source | ArraySource


def source_of(cube_source: FileSource | None, data: Any) -> Source | None:
    """The source a worker opens for a cube with ``source`` and ``data``; None: send blocks."""
    if cube_source is not None:
        return cube_source
    if isinstance(data, np.memmap):
        return _memmap_source(data)
    if type(data).__module__.startswith("h5py"):
        return HDF5Source(data.file.filename, data.name)
    if isinstance(data, np.ndarray) or not hasattr(data, "__getitem__"):
        return None
    try:
        size = len(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # not picklable: its blocks are sent from the client
        return None
    return ArraySource(data) if size <= MAX_PICKLED_BYTES else None


def _memmap_source(data: np.memmap) -> MemmapSource | None:
    """The file range of a C-contiguous memory-mapped array (a view of a ``np.memmap`` too)."""
    mapped = getattr(data, "_mmap", None)
    if mapped is None or not data.flags.c_contiguous or data.filename is None:
        return None
    start = int(data.offset) - int(data.offset) % mmap.ALLOCATIONGRANULARITY
    base = np.frombuffer(mapped, dtype=np.uint8).ctypes.data
    offset = start + (data.ctypes.data - base)
    return MemmapSource(str(data.filename), offset, data.dtype.str, tuple(data.shape))


@functools.lru_cache(maxsize=8)
def _opened(source: Source) -> Any:
    """One opened array per source per worker process (file handles reused by every block)."""
    return source.open_data()


def open_source(source: Source) -> Any:
    """The source's 4D array, opened once per process (array sources: as they are)."""
    if isinstance(source, ArraySource):
        return source.array
    return _opened(source)


class RowWindow:
    """Scan rows ``r0:r1`` of a 4D array-like, as a 4D array-like read on demand.

    Slicing along axis 0 reads only those rows and returns a NumPy array (a dask array is
    computed with the synchronous scheduler: inside a Dask worker, never on the cluster).
    """

    def __init__(self, data: Any, r0: int, r1: int) -> None:
        self._data = data
        self._r0 = r0
        self.shape = (r1 - r0, *tuple(data.shape)[1:])
        self.dtype = np.dtype(data.dtype)

    def __getitem__(self, rows: slice) -> np.ndarray:
        start, stop, step = rows.indices(self.shape[0])
        if step != 1:
            raise ValueError(f"RowWindow reads contiguous rows only, got step {step}")
        block = self._data[self._r0 + start : self._r0 + stop]
        if hasattr(block, "compute"):
            block = block.compute(scheduler="synchronous")
        return np.asarray(block)
