"""TVIPS recorder streams (``*_000.tvips``, continued in ``*_001.tvips``, ...), read lazily.

A stream (the layout rsciio's ``tvips`` reader documents) is a 256-byte little-endian general
header in the ``_000`` part (``u4`` fields: header size, version, frame width, frame height,
bits per pixel, offsets x/y, binning x/y, pixel size, high tension in kV, magnification /
camera length, frame-header size) followed by records, each a frame header (``u4`` counter,
timestamp, milliseconds, LUT index, ``f4`` current, ``u4`` magnification, ``u4`` mode: 1 image,
2 diffraction, ...) and the frame's little-endian unsigned pixels. A long acquisition continues
in parts ``_001``, ``_002``, ... (records only, no general header). The scan shape is not stored.

Reader: the records are memory-mapped read-only here and read chunk by chunk (whole scan rows)
as a dask array. rsciio's ``tvips.file_reader(lazy=True)`` is not used for the data: in rsciio
0.15 it copies and hashes every frame when it builds its dask array (the whole file is read at
open) and fails on parts of 4 GiB or more. ``scan_shape=(Rx, Ry)`` is required; the first
``Rx * Ry`` frames are used. Only version-2 streams are read (as in rsciio).

Calibration: the beam energy (high tension, kV); in diffraction mode (mode 2 in the first frame
header) the general header's integer pixel size, in 1/nm as rsciio reads it; image-mode frames
get no detector calibration. No scan step is stored.

Orientation: record order, no flip: Rx the slow scan axis (y), Ry the fast one (x, flyback
scans), Qx the frame rows, Qy its columns.
"""

from __future__ import annotations

import dataclasses
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .base import Axis, Format, FormatError, Opened, OpenOptions, read_whole, refuse_dataset
from .rosetta import row_chunks

TITLE = "TVIPS"
HEADER_BYTES = 256
FRAME_HEADER_MIN_BYTES = 60  # the frame-header fields listed above
_MODE_OFFSET = 24  # byte offset of "mode" in a frame header
_PART = re.compile(r"^(?P<stem>.*_)(?P<index>\d{3})\.tvips$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class TvipsStream:
    """The layout of a TVIPS stream: its parts and what the general header says.

    Attributes
    ----------
    parts : tuple of (Path, int, int)
        Each part with the byte offset of its first record and its number of records.
    width, height : int
        Frame columns and rows.
    dtype : numpy.dtype
        Little-endian unsigned pixels.
    frame_header_bytes : int
        Bytes before the pixels of each record.
    pixel_size : int
        The header's pixel size.
    high_tension : int
        Beam energy in kV (0 when not recorded).
    """

    parts: tuple[tuple[Path, int, int], ...]
    width: int
    height: int
    dtype: np.dtype
    frame_header_bytes: int
    pixel_size: int
    high_tension: int

    @property
    def record_bytes(self) -> int:
        """Bytes per record (frame header and pixels)."""
        return self.frame_header_bytes + self.width * self.height * self.dtype.itemsize

    @property
    def frames(self) -> int:
        """Number of whole frames in all parts."""
        return sum(count for _, _, count in self.parts)


def read_stream(path: Path) -> TvipsStream:
    """Parse the general header of a ``_000`` part and find the stream's other parts.

    Raises
    ------
    FormatError
        For a file that is not a TVIPS recorder stream, is not the ``_000`` part, is a version
        other than 2, or has a part that ends inside a record (truncated).
    """
    match = _PART.match(path.name)
    if match is None or match["index"] != "000":
        raise FormatError(
            f"'{path}': open the first part of a TVIPS stream (a name ending in '_000.tvips'); "
            "the other parts are found from it"
        )
    with open(path, "rb") as file:
        head = file.read(HEADER_BYTES)
    if len(head) < HEADER_BYTES:
        raise FormatError(
            f"'{path}' is not a TVIPS file or is truncated: {len(head)} bytes, shorter than "
            f"the {HEADER_BYTES}-byte header"
        )
    size, version, width, height, bits = struct.unpack_from("<5I", head)
    pixel_size, high_tension, _, frame_header = struct.unpack_from("<4I", head, 36)
    if size != HEADER_BYTES or version not in (1, 2) or bits not in (8, 16, 32):
        raise FormatError(
            f"'{path}' is not a TVIPS recorder file (header: size {size}, version {version}, "
            f"{bits} bits per pixel)"
        )
    if version != 2 or frame_header < FRAME_HEADER_MIN_BYTES:
        raise FormatError(
            f"'{path}': TVIPS version {version} with {frame_header}-byte frame headers is not "
            "supported (version 2 is)"
        )
    if width < 1 or height < 1:
        raise FormatError(f"'{path}': the TVIPS header gives a {height}x{width} frame")
    dtype = np.dtype(f"<u{bits // 8}")
    stream = TvipsStream((), width, height, dtype, frame_header, pixel_size, high_tension)
    parts = []
    index = 0
    part = path
    while part.is_file():
        offset = HEADER_BYTES if index == 0 else 0
        count, rest = divmod(part.stat().st_size - offset, stream.record_bytes)
        if rest:
            raise FormatError(
                f"'{part}' is truncated: it ends {rest} bytes into a record of "
                f"{stream.record_bytes} bytes ({height}x{width} {bits}-bit frame + "
                f"{frame_header}-byte header)"
            )
        parts.append((part, offset, count))
        index += 1
        part = path.with_name(f"{match['stem']}{index:03d}{path.suffix}")
    return dataclasses.replace(stream, parts=tuple(parts))


def _read_frames(stream: TvipsStream, start: int, stop: int) -> np.ndarray:
    """Frames ``start:stop`` of the stream (across parts), read now."""
    record = np.dtype(
        [
            ("header", np.uint8, (stream.frame_header_bytes,)),
            ("data", stream.dtype, (stream.height, stream.width)),
        ]
    )
    out = np.empty((stop - start, stream.height, stream.width), dtype=stream.dtype)
    first = 0  # global index of the part's first frame
    for part, offset, count in stream.parts:
        lo, hi = max(start, first), min(stop, first + count)
        if lo < hi:
            skip = offset + (lo - first) * record.itemsize
            records = np.memmap(part, dtype=record, mode="r", offset=skip, shape=(hi - lo,))
            out[lo - start : hi - start] = records["data"]
            del records
        first += count
    return out


def frames_array(stream: TvipsStream, scan: tuple[int, int]) -> Any:
    """The first ``Rx * Ry`` frames as a dask array (Rx, Ry, Qx, Qy) in whole scan rows."""
    import dask
    import dask.array as da

    rx, ry = scan
    shape = (rx, ry, stream.height, stream.width)
    rows = row_chunks(shape, stream.dtype.itemsize)[0]
    read = dask.delayed(_read_frames, pure=True)
    pieces = []
    for r0 in range(0, rx, rows):
        r1 = min(rx, r0 + rows)
        block = read(stream, r0 * ry, r1 * ry)
        piece = da.from_delayed(
            block, ((r1 - r0) * ry, stream.height, stream.width), dtype=stream.dtype
        )
        pieces.append(piece.reshape(r1 - r0, ry, stream.height, stream.width))
    return da.concatenate(pieces, axis=0)


def frame_mode(stream: TvipsStream) -> int | None:
    """The first frame header's mode (1 image, 2 diffraction), or ``None`` without frames."""
    for part, offset, count in stream.parts:
        if count:
            with open(part, "rb") as file:
                file.seek(offset + _MODE_OFFSET)
                return struct.unpack("<I", file.read(4))[0]
    return None


def open_tvips(path: Path, options: OpenOptions) -> Opened:
    """Open a TVIPS stream lazily from its ``_000`` part; ``scan_shape`` is required.

    Raises
    ------
    FormatError
        For a file that is not TVIPS, a part other than ``_000``, a truncated part, a missing
        ``scan_shape``, or a ``scan_shape`` needing more frames than the stream holds.
    """
    refuse_dataset(options, path, TITLE)
    stream = read_stream(path)
    if options.scan_shape is None:
        raise FormatError(
            f"'{path}' is a TVIPS stream of {stream.frames} frames without a stored scan shape; "
            "pass scan_shape=(Rx, Ry)"
        )
    rx, ry = options.scan_shape
    if rx * ry > stream.frames:
        raise FormatError(
            f"scan_shape=({rx}, {ry}) needs {rx * ry} frames but the TVIPS stream '{path}' "
            f"holds {stream.frames} (in {len(stream.parts)} part(s))"
        )
    notes: list[str] = []
    if rx * ry < stream.frames:
        notes.append(
            f"'{path}' holds {stream.frames} frames; scan_shape=({rx}, {ry}) uses the first "
            f"{rx * ry}"
        )
    diffraction = frame_mode(stream) == 2
    if not diffraction:
        notes.append(
            f"'{path}': the frames are marked as images (mode 1), not diffraction patterns; "
            "the detector stays uncalibrated"
        )
    pixel = Axis(float(stream.pixel_size), "1/nm") if diffraction and stream.pixel_size else None
    data: Any = frames_array(stream, (rx, ry))
    if options.in_memory:
        data = read_whole(data)
    return Opened(
        data=data,
        detector=(pixel, pixel),
        energy=stream.high_tension * 1e3 if stream.high_tension else None,
        notes=tuple(notes),
    )


FORMATS = (
    Format(
        name="tvips",
        title=TITLE,
        extensions=(".tvips",),
        open=open_tvips,
        sniff=None,
        lazy=True,
        calibrations=(
            "beam energy; detector pixel (1/nm, integer, diffraction mode); no scan step; "
            "scan_shape= required"
        ),
        orientation="Rx slow scan, Ry fast scan (flyback), Qx frame rows, Qy columns; no flip",
    ),
)
