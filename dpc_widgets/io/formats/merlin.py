"""Quantum Detectors Merlin ``.mib`` files (with an optional ``.hdr``), read with rsciio.

A ``.mib`` file is a flat list of frames, each an ASCII header (384 bytes for one chip, 768 for
a quad; fields separated by commas: ``MQ1``, sequence number, header size, number of chips,
width, height, pixel type ``U08``/``U16``/``U32``, ...) followed by the pixels, big-endian. The
``.hdr`` file beside it holds acquisition settings (frames in the acquisition, frames per
trigger); neither file stores the scan shape reliably, nor any calibration.

Reader: ``rsciio.quantumdetector.file_reader(lazy=True)`` (a dask array over a read-only memory
map). The scan shape comes from ``scan_shape=(Rx, Ry)`` when given (rsciio's
``navigation_shape`` is HyperSpy's ``(x, y)``, i.e. ``(Ry, Rx)``: it is passed reversed), else
from rsciio's guess (the ``.hdr`` frame counts and the frame timestamps: a jump in the time
between frames marks a new scan row), announced with a warning.

Orientation: frames are stored row by row; Rx is the slow scan axis (scan rows), Ry the fast
one, Qx the detector rows, Qy the detector columns. rsciio flips every frame up-down
(``np.flip(frame, axis=-2)``): Qx index ``i`` is raw row ``height - 1 - i``. That orientation
is kept. Pixels are converted to the machine's byte order block by block as they are read.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .base import Format, FormatError, Opened, OpenOptions, refuse_dataset
from .rosetta import from_signal, read_signals, row_chunks

TITLE = "Quantum Detectors Merlin"
_PIXEL_BYTES = {"U08": 1, "U16": 2, "U32": 4}
_HEADER_SIZES = (384, 768)
#: Bytes of the shortest frame header (enough to read any header's layout fields).
MIN_HEADER_BYTES = _HEADER_SIZES[0]


@dataclasses.dataclass(frozen=True)
class MibLayout:
    """What the first frame header of a ``.mib`` file says.

    Attributes
    ----------
    header_bytes : int
        Size of each frame header in bytes.
    height, width : int
        Frame size in pixels (rows, columns).
    pixel_type : str
        ``"U08"``, ``"U16"`` or ``"U32"`` (big-endian unsigned integers).
    frames : int
        Number of whole frames in the file.
    """

    header_bytes: int
    height: int
    width: int
    pixel_type: str
    frames: int

    @property
    def frame_bytes(self) -> int:
        """Bytes per frame, header included."""
        return self.header_bytes + self.height * self.width * _PIXEL_BYTES[self.pixel_type]

    @property
    def dtype(self) -> str:
        """The pixels' NumPy dtype as stored (big-endian unsigned), e.g. ``">u2"``."""
        return f">u{_PIXEL_BYTES[self.pixel_type]}"


def mib_path(path: Path) -> Path:
    """The ``.mib`` data file for ``path`` (a ``.mib`` itself, or its ``.hdr``).

    Raises
    ------
    FormatError
        For a ``.hdr`` whose ``.mib`` (same name, next to it) does not exist.
    """
    if path.suffix.lower() != ".hdr":
        return path
    for suffix in (".mib", ".MIB"):
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    raise FormatError(
        f"'{path}' is a Merlin header file; its data file '{path.with_suffix('.mib')}' "
        "does not exist (open the .mib, or put it next to the .hdr)"
    )


def parse_header(head: bytes, where: str) -> MibLayout:
    """The layout one Merlin frame header states (``frames`` 0): a pure function of its bytes.

    Parameters
    ----------
    head : bytes
        The header's bytes (at least its first 384; more is ignored).
    where : str
        The file (and frame) for messages, e.g. ``"'scan.mib'"``.

    Raises
    ------
    FormatError
        If ``head`` is not a Merlin frame header (``MQ1,``), is malformed, or states a layout
        rsciio does not read (raw ``R64`` frames, an unknown header size or pixel type, an
        empty frame).
    """
    if not head.startswith(b"MQ1,"):
        raise FormatError(
            f"{where} is not a Merlin .mib file: it does not start with a frame header 'MQ1,'"
        )
    fields = head[: _HEADER_SIZES[0]].decode("ascii", errors="replace").split(",")
    try:
        header_bytes, width, height = int(fields[2]), int(fields[4]), int(fields[5])
        pixel_type = fields[6].strip()
    except (IndexError, ValueError):
        raise FormatError(
            f"{where} has a malformed Merlin frame header: {head[:80]!r}..."
        ) from None
    if header_bytes not in _HEADER_SIZES:
        raise FormatError(
            f"{where}: frame header size {header_bytes} bytes is not supported "
            f"(expected {' or '.join(map(str, _HEADER_SIZES))})"
        )
    if pixel_type not in _PIXEL_BYTES:
        what = "raw (R64) frames are" if pixel_type == "R64" else f"pixel type {pixel_type!r} is"
        raise FormatError(
            f"{where}: {what} not supported; expected one of {', '.join(_PIXEL_BYTES)} "
            "(save processed frames in the Merlin software)"
        )
    if width < 1 or height < 1:
        raise FormatError(f"{where}: the frame header gives a {height}x{width} frame")
    return MibLayout(header_bytes, height, width, pixel_type, 0)


def read_layout(path: Path) -> MibLayout:
    """Parse the first frame header of ``path`` and check the file holds whole frames.

    Raises
    ------
    FormatError
        As :func:`parse_header`, or if the file ends inside a frame (truncated).
    """
    size = path.stat().st_size
    with open(path, "rb") as file:
        head = file.read(_HEADER_SIZES[-1])
    layout = parse_header(head, f"'{path}'")
    height, width = layout.height, layout.width
    frames, rest = divmod(size, layout.frame_bytes)
    if frames == 0 or rest:
        raise FormatError(
            f"'{path}' is truncated: {size} bytes is not a whole number of frames of "
            f"{layout.frame_bytes} bytes ({height}x{width} {layout.pixel_type} + "
            f"{layout.header_bytes}-byte header); {frames} whole frame(s) and {rest} bytes more"
        )
    return dataclasses.replace(layout, frames=frames)


def open_merlin(path: Path, options: OpenOptions) -> Opened:
    """Open a Merlin ``.mib`` (or its ``.hdr``) lazily.

    Parameters
    ----------
    path : Path
        The ``.mib`` file, or the ``.hdr`` next to it.
    options : OpenOptions
        ``scan_shape=(Rx, Ry)`` sets the scan; without it rsciio's guess is used.

    Returns
    -------
    Opened
        A dask array (Rx, Ry, Qx, Qy) in native byte order; no calibration (Merlin files store
        none): pass ``scan_sampling=``, ``detector_sampling=``, ``energy=`` to :func:`load`.

    Raises
    ------
    FormatError
        For a ``.hdr`` without its ``.mib``, a file that is not a ``.mib``, a truncated file,
        a ``scan_shape`` needing more frames than the file holds, or a flat list of frames
        whose scan shape cannot be guessed.
    """
    refuse_dataset(options, path, TITLE)
    path = mib_path(path)
    layout = read_layout(path)
    notes: list[str] = []
    if options.scan_shape is not None:
        rx, ry = options.scan_shape
        if rx * ry > layout.frames:
            raise FormatError(
                f"scan_shape=({rx}, {ry}) needs {rx * ry} frames but '{path}' holds {layout.frames}"
            )
        if rx * ry < layout.frames:
            notes.append(
                f"'{path}' holds {layout.frames} frames; scan_shape=({rx}, {ry}) uses the "
                f"first {rx * ry}"
            )
    else:
        rx, ry = _guessed_scan(path, layout)
        notes.append(
            f"'{path}': scan shape ({rx}, {ry}) guessed by rsciio from the .hdr and the frame "
            "timestamps; pass scan_shape=(Rx, Ry) if it is wrong"
        )
    shape = (rx, ry, layout.height, layout.width)
    signal = read_signals(
        "quantumdetector",
        path,
        TITLE,
        navigation_shape=(ry, rx),  # rsciio: HyperSpy order (x, y)
        chunks=row_chunks(shape, _PIXEL_BYTES[layout.pixel_type]),
    )[0]
    data = signal["data"].reshape(shape)  # rsciio squeezes axes of length 1: restore them
    signal = {**signal, "data": data, "axes": []}  # rsciio's axes carry no calibration
    return from_signal(signal, path, options, tuple(notes))


def _guessed_scan(path: Path, layout: MibLayout) -> tuple[int, int]:
    """(Rx, Ry) as rsciio guesses it without ``navigation_shape`` (reads frame headers only)."""
    if layout.frames == 1:
        return 1, 1
    shape = read_signals("quantumdetector", path, TITLE)[0]["data"].shape
    if len(shape) != 4:
        raise FormatError(
            f"'{path}' holds {layout.frames} frames and no scan shape that could be read; "
            f"pass scan_shape=(Rx, Ry) with Rx * Ry <= {layout.frames}"
        )
    return int(shape[0]), int(shape[1])


FORMATS = (
    Format(
        name="merlin",
        title=TITLE,
        extensions=(".mib", ".hdr"),
        open=open_merlin,
        sniff=None,
        lazy=True,
        calibrations="none stored (scan shape from scan_shape= or the .hdr and timestamps)",
        orientation=(
            "Rx slow scan, Ry fast scan, Qx detector rows, Qy columns; rsciio flips each "
            "frame up-down (Qx reversed relative to the raw row order)"
        ),
    ),
)
