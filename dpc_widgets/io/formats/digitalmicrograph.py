"""Gatan DigitalMicrograph ``.dm4`` / ``.dm3`` files, read with rosettasciio.

A DM file is a tree of tags; each image of ``ImageList`` (thumbnails excepted) is one signal,
with its dimensions in ``ImageData.Dimensions`` (DM order: x, y, z, ... fastest first), its
calibration in ``ImageData.Calibrations.Dimension`` (``Scale``, ``Origin``, ``Units``) and the
pixels at an offset in the file. rsciio memory-maps them into a dask array (``lazy=True``):
opening reads the tag tree only.

Orientation
-----------
rsciio reverses DM's dimension order into array order, so a 4D-STEM image with DM dimensions
``(Qy, Qx, Ry, Rx)`` (detector columns, detector rows, scan x, scan y: the detector
dimensions first, as Gatan writes 4D-STEM data) becomes ``(Rx, Ry, Qx, Qy)`` with the scan
axes navigating. No axis is flipped. A 4D image whose last two array axes are not the signal
axes (rsciio's ``navigate`` flags; e.g. a 4D spectrum image) is refused.

Calibration
-----------
Each dimension's ``Scale`` and ``Units`` (``"nm"``, ``"1/nm"``, ``"mrad"``, ...); beam energy
from ``ImageTags.Microscope Info.Voltage`` (V); camera length from ``Microscope Info.STEM
Camera Length`` (mm), through rsciio's metadata mapping.

Imports
-------
``rsciio.digitalmicrograph`` imports NumPy, python-dateutil, python-box and dask (its
memory-map helper, ``rsciio.utils._distributed``) at module import, only when such a file is
opened.
"""

from __future__ import annotations

import struct
from pathlib import Path

from .base import Format, Opened, OpenOptions
from .hyperspy import check_signal_axes_last
from .rosetta import from_signal, pick_4d, read_signals

TITLE = "Gatan DigitalMicrograph (.dm4/.dm3)"


def open_digitalmicrograph(path: Path, options: OpenOptions) -> Opened:
    """The 4D image of a DM3/DM4 file (or the one named ``dataset=``), memory-mapped, lazily.

    Raises
    ------
    FormatError
        For a file rsciio cannot parse (not a DM file, truncated, an unsupported version), no
        4D image or several, or a 4D image whose signal axes are not last.
    """
    signals = read_signals("digitalmicrograph", path, TITLE, errors=_parse_errors())
    signal = pick_4d(signals, path, options)
    check_signal_axes_last(signal, path)
    return from_signal(signal, path, options)


def _parse_errors() -> tuple[type[BaseException], ...]:
    """What rsciio's DM parser raises for a file that is not DM3/DM4 or is cut short."""
    from rsciio import exceptions

    return (
        struct.error,
        NotImplementedError,  # "only DM versions 3 and 4" for any other first 4 bytes
        exceptions.ByteOrderError,
        exceptions.DM3FileVersionError,
        exceptions.DM3TagError,
        exceptions.DM3DataTypeError,
        exceptions.DM3TagTypeError,
        exceptions.DM3TagIDError,
    )


FORMATS = (
    Format(
        "digitalmicrograph",
        TITLE,
        (".dm4", ".dm3"),
        open_digitalmicrograph,
        None,
        True,
        "scan and detector scale and units per axis, beam energy, STEM camera length",
        "DM dimensions (Qy, Qx, Ry, Rx) reversed by rsciio into (Rx, Ry, Qx, Qy); no flips",
    ),
)
