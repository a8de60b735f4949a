"""Where a :class:`~dpc_widgets.io.Datacube`'s data came from, to open it again elsewhere.

:func:`~dpc_widgets.io.load` records a :class:`FileSource` on the cube it returns, so that another
process (a Dask worker, see :mod:`dpc_widgets.core.distributed`) can open the same file itself,
read-only and lazily, and read only its own scan rows: nothing large passes between processes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class FileSource:
    """A file and the options that opened it (small and picklable).

    Attributes
    ----------
    path : str
        The file or directory store, as an absolute path (it must be the same path on every
        process that opens it: a shared file system on a cluster).
    format : str
        The format's name in :data:`dpc_widgets.io.formats.FORMAT_NAMES`.
    dataset : str, optional
        Which array in the file.
    scan_shape : (int, int), optional
        (Rx, Ry) for files of flat frame lists.
    """

    path: str
    format: str
    dataset: str | None = None
    scan_shape: tuple[int, int] | None = None

    def open_data(self) -> Any:
        """The file's 4D array (Rx, Ry, Qx, Qy), opened read-only and lazily where it can be."""
        from .formats import OpenOptions, find_format

        path = Path(self.path)
        spec = find_format(path, self.format)
        options = OpenOptions(dataset=self.dataset, in_memory=False, scan_shape=self.scan_shape)
        return spec.open(path, options).data
