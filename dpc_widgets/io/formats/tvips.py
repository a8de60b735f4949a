"""TVIPS recorder streams (``*_000.tvips``, continued in ``*_001.tvips``, ...), read with rsciio.

A stream is a 256-byte general header (version, frame width and height, bits per pixel, pixel
size, high tension in kV, frame-header size) followed by frames, each behind a small frame
header (counter, timestamp, mode 1 = image / 2 = diffraction, rotator index, ...); a long
acquisition continues in files numbered ``_001``, ``_002``, ... The scan shape is not stored.

Reader: ``rsciio.tvips.file_reader(lazy=True, scan_shape=(Rx, Ry))`` (dask arrays over
read-only memory maps of every part; rsciio's ``scan_shape`` is ``(y, x)``, our ``(Rx, Ry)``).
Open the ``_000`` part; ``scan_shape`` is required (the first ``Rx * Ry`` frames are used).
Calibration: the beam energy (high tension); in diffraction mode the header's integer pixel size
as rsciio reads it (1/nm). rsciio gives the scan axes a placeholder step of 1 nm, which is not a
calibration: the scan stays uncalibrated. Image-mode frames (mode 1) get no detector
calibration.

Orientation: rsciio's array order, no flip: Rx the slow scan axis (y), Ry the fast one (x), Qx
the frame rows, Qy its columns. Flyback scans are assumed (rsciio's ``winding_scan_axis`` is not
used).
"""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

from .base import Format, FormatError, Opened, OpenOptions, refuse_dataset
from .rosetta import from_signal, read_signals

TITLE = "TVIPS"
HEADER_BYTES = 256
_FIRST_PART_SUFFIX = "_000"


def check_header(path: Path) -> None:
    """Raise :class:`FormatError` unless ``path`` starts with a plausible TVIPS header.

    Checks the header size field, the version (1 or 2), the bits per pixel (8, 16, 32) and a
    non-empty frame size, so that other files ending in ``.tvips`` are refused by name.
    """
    with open(path, "rb") as file:
        head = file.read(HEADER_BYTES)
    if len(head) < HEADER_BYTES:
        raise FormatError(
            f"'{path}' is not a TVIPS file or is truncated: {len(head)} bytes, shorter than "
            f"the {HEADER_BYTES}-byte header"
        )
    size, version, width, height, bits = struct.unpack_from("<5I", head)
    if size != HEADER_BYTES or version not in (1, 2) or bits not in (8, 16, 32):
        raise FormatError(
            f"'{path}' is not a TVIPS recorder file (header: size {size}, version {version}, "
            f"{bits} bits per pixel)"
        )
    if width < 1 or height < 1:
        raise FormatError(f"'{path}': the TVIPS header gives a {height}x{width} frame")


def open_tvips(path: Path, options: OpenOptions) -> Opened:
    """Open a TVIPS stream lazily from its ``_000`` part.

    Raises
    ------
    FormatError
        For a file that is not TVIPS, a part other than ``_000``, a missing ``scan_shape``, or
        a ``scan_shape`` needing more frames than the stream holds.
    """
    refuse_dataset(options, path, TITLE)
    if not path.stem.endswith(_FIRST_PART_SUFFIX):
        raise FormatError(
            f"'{path}': open the first part of a TVIPS stream (a name ending in "
            f"'{_FIRST_PART_SUFFIX}.tvips'); the other parts are found from it"
        )
    check_header(path)
    if options.scan_shape is None:
        raise FormatError(
            f"'{path}' is a TVIPS stream of frames without a stored scan shape; pass "
            "scan_shape=(Rx, Ry)"
        )
    signal = read_signals("tvips", path, TITLE, scan_shape=tuple(options.scan_shape))[0]
    axes = list(signal.get("axes", []))
    diffraction = signal.get("metadata", {}).get("Signal", {}).get("signal_type") == "diffraction"
    notes: tuple[str, ...] = ()
    if not diffraction:
        notes = (
            f"'{path}': the frames are marked as images (mode 1), not diffraction patterns; "
            "the detector stays uncalibrated",
        )
    detector = axes[-2:] if diffraction else [{}, {}]
    opened = from_signal({**signal, "axes": [{}, {}, *detector]}, path, options, notes)
    return dataclasses.replace(opened, scan=(None, None))


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
