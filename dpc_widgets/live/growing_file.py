"""A file the acquisition software is still writing, followed as it grows: a Merlin ``.mib``
(each frame's header, then its pixels, frame after frame) or a raw file (frames of a shape and
dtype the user gives, after an optional file header, each after optional bytes of its own).

The file is opened read-only and read with plain sequential reads of the whole frames present;
a frame whose bytes are not all there yet waits for the rest. Pixels are decoded (big-endian
for Merlin) straight into the scan's spool, in the orientation :func:`dpc_widgets.io.load`
gives the finished file: Merlin frames flipped up-down as rsciio flips them (Qx index ``i`` is
raw row ``height - 1 - i``; :mod:`dpc_widgets.io.formats.merlin`), raw frames as stored. Rx is
the slow scan axis, Ry the fast one: frames fill the scan row by row.

The scan ends when its last frame is read, or ``idle_timeout_s`` after the file last grew
(ended early, the reason saying how many frames and bytes it had; the rows received stay).
Faults raise a :class:`~dpc_widgets.live.LiveError` in the source's thread, kept in
``source.error`` with the rows before it: :class:`~dpc_widgets.live.LiveTimeoutError` when the
file or its first frame does not appear within ``start_timeout_s``,
:class:`~dpc_widgets.live.FrameFormatError` for a garbled Merlin header or one stating another
frame size (naming the frame and its byte offset), :class:`~dpc_widgets.live.LiveError` when
the file shrinks, is replaced or removed.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..io.formats.base import FormatError
from ..io.formats.merlin import MIN_HEADER_BYTES, MibLayout, parse_header
from .errors import FrameFormatError, LiveError, LiveTimeoutError
from .scan import LiveScan
from .source import LiveSource, _scan_shape

#: Bytes read (and decoded) at a time; the frames of one read are committed together.
READ_BYTES = 16 * 2**20
#: Suffixes followed as Merlin files; any other is a raw file.
MIB_SUFFIXES = (".mib",)


@dataclasses.dataclass(frozen=True)
class FrameLayout:
    """Where the frames lie in a followed file.

    Attributes
    ----------
    offset : int
        Bytes before the first frame (a file header).
    gap : int
        Bytes before each frame's pixels (a Merlin frame header, or a raw file's per-frame bytes).
    frame_shape : (int, int)
        Pixels (rows, columns) of a frame as stored.
    dtype : numpy.dtype
        Pixels as stored (byte order included).
    flip : bool
        True to flip each frame up-down (Merlin, as rsciio reads it).
    mib : MibLayout or None
        What the first Merlin frame header states (``None``: raw frames, no header checked).
    fields : list of bytes or None
        The first header's layout fields as stored (size, chips, width, height, pixel type),
        which every frame's header repeats.
    """

    offset: int
    gap: int
    frame_shape: tuple[int, int]
    dtype: np.dtype
    flip: bool
    mib: MibLayout | None = None
    fields: list[bytes] | None = None

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame, its gap (header) included."""
        return self.gap + math.prod(self.frame_shape) * self.dtype.itemsize

    def frame_offset(self, index: int) -> int:
        """Byte offset of frame ``index`` (from 0) in the file."""
        return self.offset + index * self.frame_bytes


class FollowSource(LiveSource):
    """Frames appended to a file, one scan (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The ``.mib`` (or its ``.hdr``: the ``.mib`` beside it is followed) or raw file
        (``.raw``, ``.bin``, any other suffix); it may not exist yet.
    scan_shape : (int, int)
        (Rx, Ry): scan rows and positions per row (files state no scan shape). Frames after
        ``Rx * Ry`` are not read.
    frame_shape : (int, int), optional
        Raw files only: (rows, columns) of a frame as stored.
    dtype : numpy dtype, optional
        Raw files only: pixel type as stored, byte order included (``">u2"``: big-endian
        uint16); the cube holds it in the machine's byte order.
    offset : int
        Raw files only: bytes before the first frame (a file header), skipped.
    gap : int
        Raw files only: bytes before each frame (a per-frame header), skipped.
    poll_s : float
        Seconds between looks at a file that has not grown.
    start_timeout_s : float
        Seconds to wait for the file and its first frame (header) to appear.
    idle_timeout_s : float
        Seconds without growth after which the scan ends early.
    **options
        :class:`~dpc_widgets.live.source.LiveSource`'s: calibration (``energy``,
        ``scan_sampling``, ...), ``origin``, ``spool_dir``.

    Raises
    ------
    TypeError, ValueError
        For a missing or bad parameter (named with its value); raw options on a ``.mib``.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        scan_shape: tuple[int, int] | None = None,
        frame_shape: tuple[int, int] | None = None,
        dtype: Any = None,
        offset: int = 0,
        gap: int = 0,
        poll_s: float = 0.05,
        start_timeout_s: float = 60.0,
        idle_timeout_s: float = 10.0,
        **options: Any,
    ) -> None:
        if scan_shape is None:
            raise TypeError("follow() needs scan_shape=(rows, columns): files do not state it")
        super().__init__(scan_shape=_scan_shape(scan_shape), **options)
        self.path = Path(path)
        if self.path.suffix.lower() == ".hdr":  # Merlin's settings file: follow its .mib
            self.path = self.path.with_suffix(".mib")
        self.name = f"follow '{self.path}'"
        self.merlin = self.path.suffix.lower() in MIB_SUFFIXES
        for key, value in (
            ("poll_s", poll_s),
            ("start_timeout_s", start_timeout_s),
            ("idle_timeout_s", idle_timeout_s),
        ):
            _positive(key, value)
        self.poll_s = float(poll_s)
        self.start_timeout_s = float(start_timeout_s)
        self.idle_timeout_s = float(idle_timeout_s)
        raw = {"frame_shape": frame_shape, "dtype": dtype, "offset": offset, "gap": gap}
        if self.merlin:
            given = [k for k, v in raw.items() if v not in (None, 0)]
            if given:
                raise ValueError(
                    f"{given} are for raw files: the headers of '{self.path}' state its frames"
                )
            self.raw_layout: FrameLayout | None = None
        else:
            self.raw_layout = _raw_layout(frame_shape, dtype, offset, gap)

    # ------------------------------------------------------------------ the receiving thread
    def _receive(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        file = self._open(deadline)
        if file is None:
            return  # closed while waiting
        try:
            layout = self._first_layout(file, deadline)
            if layout is None:
                return  # closed while waiting
            scan = self._begin_scan(layout.frame_shape, layout.dtype.newbyteorder("="))
            self._follow(file, layout, scan)
        finally:
            file.close()

    def _open(self, deadline: float) -> io.FileIO | None:
        """The file opened read-only, once it exists (waiting until ``deadline``); None when
        closed first."""
        while not self.stopping:
            try:
                return io.FileIO(self.path, "r")
            except FileNotFoundError:
                pass
            if self._idle(deadline):
                raise LiveTimeoutError(
                    f"'{self.path}' did not appear within {self.start_timeout_s:g} s "
                    "(start_timeout_s)"
                )
        return None

    def _idle(self, deadline: float) -> bool:
        """Wait one poll (woken by close); True once ``deadline`` passed."""
        if time.monotonic() >= deadline:
            return True
        self._stop.wait(min(self.poll_s, max(0.0, deadline - time.monotonic())))
        return False

    def _first_layout(self, file: io.FileIO, deadline: float) -> FrameLayout | None:
        """The frames' layout, once the first frame's header (a raw file: byte) is there."""
        while not self.stopping:
            size = os.fstat(file.fileno()).st_size
            if self.raw_layout is not None:
                if size > self.raw_layout.offset:
                    return self.raw_layout
            elif size >= MIN_HEADER_BYTES:
                head = _read_at(file, 0, MIN_HEADER_BYTES)
                try:
                    return mib_layout(parse_header(head, f"'{self.path}'"), head)
                except FormatError as err:
                    raise FrameFormatError(
                        f"{err} (frame 0 at byte offset 0: the file's first frame)"
                    ) from None
            if self._idle(deadline):
                what = "a byte of its first frame" if self.raw_layout else "its first frame header"
                raise LiveTimeoutError(
                    f"'{self.path}' did not receive {what} within {self.start_timeout_s:g} s "
                    f"(start_timeout_s; it has {size} bytes)"
                )
        return None

    def _follow(self, file: io.FileIO, layout: FrameLayout, scan: LiveScan) -> None:
        """Read whole frames as they are appended, until the scan is full, idle or closed."""
        fd = file.fileno()
        identity = _identity(os.fstat(fd))
        n = scan.n_frames
        frame_bytes = layout.frame_bytes
        per_read = max(1, READ_BYTES // frame_bytes)
        buffer = np.empty(per_read * frame_bytes, np.uint8)
        done = 0
        checked = -1  # the frame whose header was checked before all its bytes came
        largest = 0
        grew = time.monotonic()
        while done < n and not self.stopping:
            size = os.fstat(fd).st_size
            if size < largest:
                raise LiveError(
                    f"'{self.path}' shrank from {largest} to {size} bytes after {done} frames: "
                    "was it truncated or rewritten? (the rows before stay usable)"
                )
            if size > largest:
                largest, grew = size, time.monotonic()
            whole = min(n, (size - layout.offset) // frame_bytes) - done
            if whole > 0:
                count = min(whole, per_read)
                self._read(file, layout, buffer, done, count, scan)
                done += count
                continue
            start = layout.frame_offset(done)
            if layout.mib is not None and done != checked and size - start >= layout.gap:
                head = _read_at(file, start, layout.gap)
                fault = _check_headers(self.path, layout, head, done)[1]
                if fault is not None:
                    raise fault
                checked = done
            self._check_identity(identity, done)
            if time.monotonic() - grew >= self.idle_timeout_s:
                partial = max(0, size - start)
                scan.end(
                    f"'{self.path}' stopped growing: nothing new for {self.idle_timeout_s:g} s "
                    f"after {done} of {n} frames"
                    + (f" and {partial} bytes of frame {done}" if partial else "")
                    + " (idle_timeout_s)"
                )
                return
            self._stop.wait(self.poll_s)
        if done >= n:
            scan.end()

    def _read(
        self,
        file: io.FileIO,
        layout: FrameLayout,
        buffer: np.ndarray,
        first: int,
        count: int,
        scan: LiveScan,
    ) -> None:
        """Read frames ``first:first + count`` (all present), decode them into the scan and
        commit them; a bad header raises after the frames before it are committed."""
        nbytes = count * layout.frame_bytes
        view = memoryview(buffer)[:nbytes]
        file.seek(layout.frame_offset(first))
        got = 0
        while got < nbytes:
            step = file.readinto(view[got:])
            if not step:
                raise LiveError(
                    f"'{self.path}' ended at byte {layout.frame_offset(first) + got} while "
                    f"reading frames {first}:{first + count} it had held: was it truncated?"
                )
            got += step
        frames = buffer[:nbytes].reshape(count, layout.frame_bytes)
        good, fault = count, None
        if layout.mib is not None:
            heads = frames[:, : layout.gap].tobytes()
            good, fault = _check_headers(self.path, layout, heads, first)
        pixels = frames[:good, layout.gap :].view(layout.dtype).reshape(good, *layout.frame_shape)
        scan.writable(first, good)[...] = pixels[:, ::-1] if layout.flip else pixels
        scan.commit(first + good)
        if fault is not None:
            raise fault

    def _check_identity(self, identity: tuple[int, int], done: int) -> None:
        """Raise when the path no longer names the file being read (replaced or removed)."""
        try:
            now = _identity(os.stat(self.path))
        except FileNotFoundError:
            raise LiveError(
                f"'{self.path}' was removed after {done} frames (the rows before stay usable)"
            ) from None
        if now != identity:
            raise LiveError(
                f"'{self.path}' was replaced by another file after {done} frames; follow the new "
                "file with a new dw.live.follow (the rows before stay usable)"
            )


def mib_layout(first: MibLayout, head: bytes) -> FrameLayout:
    """The :class:`FrameLayout` of a ``.mib`` whose first frame header (``head``) states
    ``first``."""
    return FrameLayout(
        offset=0,
        gap=first.header_bytes,
        frame_shape=(first.height, first.width),
        dtype=np.dtype(first.dtype),
        flip=True,
        mib=first,
        fields=_fields(head),
    )


def _fields(head: bytes) -> list[bytes]:
    """A Merlin header's layout fields as stored: size, chips, width, height, pixel type."""
    return head.split(b",", 7)[2:7]


def _check_headers(
    path: Path, layout: FrameLayout, heads: bytes, first: int
) -> tuple[int, FrameFormatError | None]:
    """Check that the frame headers ``heads`` (of frames ``first``, ``first + 1``, ... back to
    back) repeat the first frame's layout.

    Returns
    -------
    good : int
        Headers before the first bad one (all of them when none is).
    fault : FrameFormatError or None
        For the first header that is garbled or states another frame size, pixel type or
        header size: it names the file, the frame (from 0) and its byte offset.
    """
    size = layout.gap
    count = len(heads) // size
    for k in range(count):
        head = heads[k * size : (k + 1) * size]
        if head.startswith(b"MQ1,") and _fields(head) == layout.fields:
            continue
        index = first + k
        where = f"'{path}' frame {index} (from 0) at byte offset {layout.frame_offset(index)}"
        if not head.startswith(b"MQ1,"):
            return k, FrameFormatError(
                f"{where}: garbled frame header (it does not start with 'MQ1,'): {head[:40]!r}..."
            )
        try:
            this = parse_header(head, where)
        except FormatError as err:
            return k, FrameFormatError(str(err))
        if this != layout.mib:
            return k, FrameFormatError(
                f"{where}: the frame header states {_says(this)}, but the first frame's states "
                f"{_says(layout.mib)}"
            )
    return count, None


def _says(layout: MibLayout | None) -> str:
    """A header's layout in words."""
    if layout is None:
        return "no header"
    return (
        f"{layout.height}x{layout.width} {layout.pixel_type} pixels after a "
        f"{layout.header_bytes}-byte header"
    )


def _read_at(file: io.FileIO, offset: int, size: int) -> bytes:
    """Up to ``size`` bytes from ``offset`` (``os.pread`` is not on Windows, where the
    acquisition software often runs)."""
    file.seek(offset)
    return file.read(size) or b""


def _identity(stat: os.stat_result) -> tuple[int, int]:
    """What names one file (device, inode), whatever its path."""
    return stat.st_dev, stat.st_ino


def _positive(name: str, value: Any) -> None:
    """Raise naming ``name`` unless ``value`` is a positive finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite (seconds), got {value!r}")


def _raw_layout(frame_shape: Any, dtype: Any, offset: Any, gap: Any) -> FrameLayout:
    """A raw file's :class:`FrameLayout` from the user's options, each checked by name."""
    if frame_shape is None or dtype is None:
        raise TypeError(
            "a raw file needs frame_shape=(rows, columns) and dtype= (e.g. '>u2'); follow a "
            "Merlin file by its .mib suffix"
        )
    try:
        rows, columns = frame_shape
    except (TypeError, ValueError):
        raise TypeError(f"frame_shape must be (rows, columns), got {frame_shape!r}") from None
    for n in (rows, columns):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"frame_shape must be two positive integers, got {frame_shape!r}")
    try:
        stored = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy dtype such as '>u2', got {dtype!r}") from None
    if stored.kind not in "uif":
        raise ValueError(f"dtype must be an integer or float type, got {dtype!r}")
    for name, value in (("offset", offset), ("gap", gap)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a whole number of bytes >= 0, got {value!r}")
    return FrameLayout(int(offset), int(gap), (int(rows), int(columns)), stored, flip=False)
