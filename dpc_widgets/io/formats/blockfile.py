"""NanoMegas ASTAR blockfiles (``.blo``), read with rsciio.

A blockfile is a little-endian header (signature ``IMGBLO``; scan size ``NX`` x ``NY``, scan
steps ``SX``/``SY`` in nm, beam energy in V, the detector pixel as ``SDP`` = 100 x pixels per
cm on the camera, camera length in units of 0.1 mm), a virtual bright-field image, and then one
square ``uint8`` pattern per scan position, each behind a 6-byte marker.

Reader: ``rsciio.blockfile.file_reader(lazy=True)`` (a dask array over a read-only memory map;
rsciio imports scikit-image with it). Calibration: scan step in nm (``SY`` for Rx, ``SX`` for
Ry), beam energy (eV), detector pixel ``100 / SDP`` cm and the camera length in mm, so that
:mod:`dpc_widgets.io.calibration` turns the pixel into an angle (``pixel / camera length``, in
mrad).

Orientation: rsciio's array order, no flip: Rx the slow scan axis (``NY`` rows, HyperSpy's
``y``), Ry the fast one (``NX``), Qx the pattern rows, Qy its columns.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from .base import Axis, Format, FormatError, Opened, OpenOptions, refuse_dataset
from .rosetta import from_signal, read_signals, row_chunks

TITLE = "NanoMegas blockfile"
SIGNATURE = b"IMGBLO"
_FRAME_MARKER_BYTES = 6


def check_signature(path: Path) -> None:
    """Raise :class:`FormatError` unless ``path`` starts with the blockfile signature."""
    with open(path, "rb") as file:
        head = file.read(len(SIGNATURE))
    if head != SIGNATURE:
        raise FormatError(
            f"'{path}' is not a NanoMegas blockfile: it does not start with {SIGNATURE!r}"
        )


def open_blockfile(path: Path, options: OpenOptions) -> Opened:
    """Open a ``.blo`` file lazily, with its scan step, energy and detector pixel.

    Raises
    ------
    FormatError
        For a file without the blockfile signature, or one shorter than its header says
        (truncated).
    """
    refuse_dataset(options, path, TITLE)
    check_signature(path)
    signal = read_signals("blockfile", path, TITLE)[0]
    header = signal.get("original_metadata", {}).get("blockfile_header", {})
    try:
        nx, ny, side = int(header["NX"]), int(header["NY"]), int(header["DP_SZ"])
        data_offset, sdp = int(header["Data_offset_2"]), float(header["SDP"])
        energy_v, camera = float(header["Beam_energy"]), float(header["Camera_length"])
    except (KeyError, TypeError, ValueError) as err:
        raise FormatError(f"'{path}': blockfile header lacks {err}") from err
    needed = data_offset + nx * ny * (_FRAME_MARKER_BYTES + side * side)
    size = path.stat().st_size
    if size < needed:
        raise FormatError(
            f"'{path}' is truncated: its header describes {ny}x{nx} patterns of {side}x{side} "
            f"pixels ({needed} bytes) but the file has {size} bytes"
        )
    # Again, in chunks of whole scan rows (rsciio's "auto" chunks split the patterns).
    signal = read_signals("blockfile", path, TITLE, chunks=row_chunks((ny, nx, side, side), 1))[0]
    data = signal["data"].reshape(ny, nx, side, side)
    opened = from_signal({**signal, "data": data, "axes": []}, path, options)
    pixel = Axis(100.0 / sdp, "cm") if sdp > 0 else None  # SDP = 100 x pixels per cm
    return dataclasses.replace(
        opened,
        scan=(_step(header.get("SY")), _step(header.get("SX"))),
        detector=(pixel, pixel),
        energy=energy_v if energy_v > 0 else None,
        camera_length=camera / 10 if camera > 0 else None,  # stored in units of 0.1 mm
    )


def _step(value: object) -> Axis | None:
    try:
        step = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return Axis(step, "nm") if math.isfinite(step) and step > 0 else None


FORMATS = (
    Format(
        name="blockfile",
        title=TITLE,
        extensions=(".blo",),
        open=open_blockfile,
        sniff=None,
        lazy=True,
        calibrations=(
            "scan step (nm), beam energy, detector pixel (cm on the camera) with camera "
            "length -> mrad"
        ),
        orientation="Rx slow scan (NY), Ry fast scan (NX), Qx pattern rows, Qy columns; no flip",
    ),
)
