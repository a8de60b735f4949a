"""The frames of one scan on disk as they arrive: a memory-mapped file the receiver writes to.

Frames are written once, straight into the file's pages (a receiver may decode into the view
:meth:`Spool.writable` gives), and read back by the cache build from the page cache: the data
need not fit in memory, and the finished scan is a file like any other.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np

from .errors import LiveSpaceError

#: Free disk space kept beside a spool (bytes).
DISK_RESERVE = 1 * 2**30


class Spool:
    """Room for ``n_frames`` frames of one scan in a new file.

    Parameters
    ----------
    n_frames : int
        Frames of the whole scan.
    frame_shape : (int, int)
        (Qx, Qy) pixels of a frame, in the orientation the cube uses.
    dtype : numpy dtype
        Pixel type (native byte order).
    directory : str or Path, optional
        Where the file is made (a new folder ``dpc-live-*`` inside it). Given: the file is
        kept (the scan's raw frames, C order, native byte order). Default: the system's
        temporary directory, and the file is removed when the spool is dropped (garbage
        collected, :meth:`delete`, or the interpreter exits).

    Attributes
    ----------
    path : Path
        The file (raw pixels, C order, shape ``(n_frames, Qx, Qy)``).
    array : numpy.memmap
        The frames, writable (the receiver's side).

    Raises
    ------
    LiveSpaceError
        When the file would leave less than :data:`DISK_RESERVE` free on its disk.
    """

    def __init__(
        self,
        n_frames: int,
        frame_shape: tuple[int, int],
        dtype: np.dtype,
        directory: str | Path | None = None,
    ) -> None:
        dtype = np.dtype(dtype).newbyteorder("=")
        shape = (int(n_frames), int(frame_shape[0]), int(frame_shape[1]))
        size = math.prod(shape) * dtype.itemsize
        base = Path(directory) if directory is not None else Path(tempfile.gettempdir())
        free = shutil.disk_usage(base).free
        if size + DISK_RESERVE > free:
            raise LiveSpaceError(
                f"the scan's {shape[0]} frames of {shape[1]} x {shape[2]} {dtype} pixels need "
                f"{size / 2**30:.2f} GiB, but {base} has {free / 2**30:.2f} GiB free (keeping "
                f"{DISK_RESERVE / 2**30:.0f} GiB): pass spool_dir= on a larger disk"
            )
        self.folder = Path(tempfile.mkdtemp(prefix="dpc-live-", dir=base))
        self.path = self.folder / "frames.raw"
        self.array = np.memmap(self.path, dtype=dtype, mode="w+", shape=shape)
        self.kept = directory is not None
        # Temporary frames go with the spool (on Linux a view still mapped stays readable).
        self._remove = weakref.finalize(self, shutil.rmtree, str(self.folder), True)
        if self.kept:
            self._remove.detach()

    def writable(self, start: int, count: int) -> np.ndarray:
        """The frames ``start:start + count`` to write into (a view of the file).

        Raises
        ------
        ValueError
            When the range lies outside the scan.
        """
        if not 0 <= start and count >= 0 and start + count <= self.array.shape[0]:
            raise ValueError(
                f"frames {start}:{start + count} lie outside the scan's {self.array.shape[0]}"
            )
        return self.array[start : start + count]

    def read_only(self) -> np.ndarray:
        """The frames as a read-only view (what the cube holds)."""
        view = self.array.view()
        view.flags.writeable = False
        return view

    def delete(self) -> None:
        """Remove the file, also one kept (on Linux, views mapped already stay readable until
        dropped)."""
        self._remove.detach()
        shutil.rmtree(self.folder, ignore_errors=True)
