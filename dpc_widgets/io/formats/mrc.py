"""Direct Electron (DE) 4D-STEM movies: ``*_movie.mrc`` with ``*_info.txt``, read with rsciio.

An MRC file is a 1024-byte little-endian header (``NX`` columns, ``NY`` rows, ``NZ`` frames,
``MODE`` = pixel type, ``NEXT`` bytes of extended header) followed by the frames. DE's software
saves a 4D-STEM scan as a movie of ``NZ`` frames (scan order, fast axis ``x``) and writes the
acquisition settings beside it, one ``key = value`` per line, in ``<prefix>_info.txt`` (scan
size, specimen and diffraction pixel sizes, accelerating voltage, camera length); a non-raster
scan also has ``<prefix>_scan_coordinates.csv``.

Reader: ``rsciio.mrc.file_reader(lazy=True, metadata_file=..., navigation_shape=...)`` (a dask
array over read-only memory maps). The scan shape comes from ``scan_shape=(Rx, Ry)`` when given
(rsciio's ``navigation_shape`` is ``(x, y)``: it is passed reversed), else from the info file;
a plain MRC stack without an info file needs ``scan_shape``. Calibration, read here from the
info file (rsciio 0.15 reports every step as 1): ``Specimen Pixel Size Y/X (nanometers)`` for
Rx/Ry, ``Diffraction Pixel Size Y/X`` for Qx/Qy in 1/nm (the unit rsciio gives them),
``Instrument Accelerating Voltage (V)``, ``Instrument Project Camera Length (centimeters)``;
``-1`` means not recorded.

Orientation: rsciio's array order, no flip: Rx the slow scan axis (y), Ry the fast one (x), Qx
the frame rows (``NY``), Qy its columns (``NX``), in file order (MRC's convention of drawing
the first row at the bottom is not applied).
"""

from __future__ import annotations

import dataclasses
import math
import struct
from pathlib import Path

from .base import Axis, Format, FormatError, Opened, OpenOptions, refuse_dataset
from .rosetta import from_signal, read_signals, row_chunks

TITLE = "Direct Electron MRC movie"
HEADER_BYTES = 1024
_MODE_BYTES = {0: 1, 1: 2, 2: 4, 4: 8, 6: 2, 12: 2}
_MOVIE = "_movie"


@dataclasses.dataclass(frozen=True)
class MrcHeader:
    """The fields of an MRC header this adapter checks (see the module docstring)."""

    nx: int
    ny: int
    nz: int
    mode: int
    next: int

    @property
    def frame_bytes(self) -> int:
        """Bytes per frame."""
        return self.nx * self.ny * _MODE_BYTES[self.mode]


def read_header(path: Path) -> MrcHeader:
    """The MRC header of ``path``, checked against the file's size.

    Raises
    ------
    FormatError
        If the file is shorter than its header, has an unknown pixel mode, an empty frame, or
        fewer bytes than its header describes (truncated, or not an MRC file).
    """
    size = path.stat().st_size
    with open(path, "rb") as file:
        head = file.read(HEADER_BYTES)
    if len(head) < HEADER_BYTES:
        raise FormatError(
            f"'{path}' is not an MRC file or is truncated: {len(head)} bytes, shorter than "
            f"the {HEADER_BYTES}-byte header"
        )
    nx, ny, nz, mode = struct.unpack_from("<4I", head)
    (extended,) = struct.unpack_from("<I", head, 92)
    if mode not in _MODE_BYTES or min(nx, ny, nz) < 1:
        raise FormatError(
            f"'{path}' is not an MRC file this reader understands (header: {nx}x{ny}x{nz}, "
            f"mode {mode}; modes {sorted(_MODE_BYTES)} are read)"
        )
    header = MrcHeader(nx, ny, nz, mode, extended)
    needed = HEADER_BYTES + extended + nz * header.frame_bytes
    if size < needed:
        raise FormatError(
            f"'{path}' is truncated or not an MRC file: its header describes {nz} frames of "
            f"{ny}x{nx} (mode {mode}, {needed} bytes in all) but the file has {size} bytes"
        )
    return header


def related_file(path: Path, suffix: str) -> Path | None:
    """``<prefix><suffix>`` next to ``<prefix>_movie.mrc`` (or ``<stem><suffix>``), if it exists."""
    stem = path.stem
    prefixes = [stem[: -len(_MOVIE)]] if stem.endswith(_MOVIE) else []
    for prefix in (*prefixes, stem):
        candidate = path.with_name(prefix + suffix)
        if candidate.is_file():
            return candidate
    return None


def read_info(path: Path) -> dict[str, str]:
    """The ``key = value`` lines of a DE info file (other lines are skipped)."""
    info: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as file:
        for line in file:
            key, sep, value = line.partition("=")
            if sep:
                info[key.strip()] = value.strip()
    return info


def _number(info: dict[str, str], key: str) -> float | None:
    try:
        value = float(info.get(key, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _axis(info: dict[str, str], key: str, units: str) -> Axis | None:
    value = _number(info, key)
    return None if value is None else Axis(value, units)


def open_mrc(path: Path, options: OpenOptions) -> Opened:
    """Open a DE ``.mrc`` movie lazily, with the calibration of its ``_info.txt``.

    Raises
    ------
    FormatError
        For a file that is not MRC or is truncated, a scan needing more frames than the movie
        holds, or a movie whose scan shape is unknown (no info file, no ``scan_shape``).
    """
    refuse_dataset(options, path, TITLE)
    header = read_header(path)
    info_path = related_file(path, "_info.txt")
    kwargs: dict = {"metadata_file": None if info_path is None else str(info_path)}
    scan_csv = related_file(path, "_scan_coordinates.csv")
    if scan_csv is not None:
        kwargs["scan_file"] = str(scan_csv)
    if options.scan_shape is not None:
        rx, ry = options.scan_shape
        if rx * ry > header.nz:
            raise FormatError(
                f"scan_shape=({rx}, {ry}) needs {rx * ry} frames but '{path}' holds {header.nz}"
            )
        kwargs["navigation_shape"] = (ry, rx)  # rsciio: (x, y)
    signal = read_signals("mrc", path, TITLE, **kwargs)[0]
    data = signal["data"]
    notes: list[str] = []
    if options.scan_shape is not None:
        # rsciio squeezes axes of length 1: restore (Rx, Ry, Qx, Qy).
        data = data.reshape(*options.scan_shape, header.ny, header.nx)
    elif len(data.shape) == 3:
        raise FormatError(
            f"'{path}' holds {data.shape[0]} frames and "
            + ("its info file gives no scan" if info_path else "no '*_info.txt' beside it")
            + f"; pass scan_shape=(Rx, Ry) with Rx * Ry <= {header.nz}"
        )
    raster = scan_csv is None  # a scan from coordinates may skip grid points
    if raster and len(data.shape) == 4 and math.prod(data.shape[:2]) > header.nz:
        raise FormatError(
            f"'{info_path}' describes a {data.shape[0]}x{data.shape[1]} scan but '{path}' "
            f"holds {header.nz} frames; pass scan_shape=(Rx, Ry)"
        )
    if raster and len(data.shape) == 4 and math.prod(data.shape[:2]) < header.nz:
        notes.append(
            f"'{path}' holds {header.nz} frames; the {data.shape[0]}x{data.shape[1]} scan uses "
            f"the first {math.prod(data.shape[:2])}"
        )
    if raster and len(data.shape) == 4:  # again, in chunks of whole scan rows
        rx, ry = data.shape[:2]
        kwargs.update(
            navigation_shape=(ry, rx),
            chunks=row_chunks(data.shape, _MODE_BYTES[header.mode]),
        )
        data = read_signals("mrc", path, TITLE, **kwargs)[0]["data"].reshape(data.shape)
    opened = from_signal({**signal, "data": data, "axes": []}, path, options, tuple(notes))
    if info_path is None:
        return opened
    info = read_info(info_path)
    camera_cm = _number(info, "Instrument Project Camera Length (centimeters)")
    return dataclasses.replace(
        opened,
        scan=(
            _axis(info, "Specimen Pixel Size Y (nanometers)", "nm"),
            _axis(info, "Specimen Pixel Size X (nanometers)", "nm"),
        ),
        detector=(
            _axis(info, "Diffraction Pixel Size Y", "1/nm"),
            _axis(info, "Diffraction Pixel Size X", "1/nm"),
        ),
        energy=_number(info, "Instrument Accelerating Voltage (V)"),
        camera_length=None if camera_cm is None else camera_cm * 10,
    )


FORMATS = (
    Format(
        name="mrc",
        title=TITLE,
        extensions=(".mrc",),
        open=open_mrc,
        sniff=None,
        lazy=True,
        calibrations=(
            "from *_info.txt: scan step (nm), detector pixel (1/nm), beam energy, camera length; "
            "scan shape from the info file or scan_shape="
        ),
        orientation=(
            "Rx slow scan (y), Ry fast scan (x), Qx frame rows (NY), Qy columns (NX); file "
            "order, no flip"
        ),
    ),
)
