"""FEI / Thermo Fisher TIA files (``.emi`` + ``<name>_N.ser``), read with rosettasciio's ``tia``.

An ``.emi`` holds the acquisition's XML metadata (one ``<ObjectInfo>`` per data object); the
data are in the ``.ser`` files beside it, ``<name>_1.ser``, ``<name>_2.ser``, ... rsciio
returns one signal per ``.ser``; the 4D one (a camera frame per scan position) is used, or the
one whose title is ``dataset=``. A ``.ser`` can be opened alone, without the ``.emi``'s
metadata (then neither the beam energy nor the detector's units are known).

Orientation
-----------
A 4D series has two scan dimensions (``Dim-1``, ``Dim-2``) and a frame per position, stored
in acquisition order. rsciio puts the scan dimension the positions run along first (the fast
one; ``Dim-1`` in TIA's STEM scans, judged from the position tags) last: ``(slow, fast, frame
rows, frame columns)``, which is taken as ``(Rx, Ry, Qx, Qy)``. rsciio reverses each frame's
rows (TIA stores a frame bottom row first), so Qx runs top-down as TIA displays it; nothing
else is flipped or reordered. A scan dimension's calibration step is passed on with its sign: TIA
writes a negative step for a scan axis that runs backwards (commonly the slow one);
:mod:`dpc_widgets.io.calibration` keeps the stored order, uses the step's magnitude and warns.

Calibration
-----------
Scan step from the ``.ser`` dimension headers (m, as nm); detector pixel from each frame's
``CalibrationDelta`` (1/m, as ``"1 / nm"``, when the ``.emi`` says the mode is diffraction or
STEM with a camera); beam energy from ``High tension`` (kV) and camera length from
``Camera length`` (m) in the ``.emi``'s ``ExperimentalDescription``.

Not lazy: rsciio's ``.ser`` header parser reads every frame while locating them, and its lazy
mode reads the whole file again for any chunk, so the file is read once, at open, and the
data are a NumPy array.

Imports
-------
``rsciio.tia`` imports NumPy, python-dateutil and ``xml.etree`` at module import (and rsciio's
``DTBox``, python-box), only when such a file is opened.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from .base import Format, FormatError, Opened, OpenOptions
from .rosetta import from_signal, pick_4d, read_signals

TITLE = "FEI TIA (.emi/.ser)"


def ser_files(emi: Path) -> list[Path]:
    """The ``<stem>_N.ser`` files beside an ``.emi`` that rsciio will read (N one digit)."""
    pattern = re.compile(re.escape(emi.stem) + r"_[0-9]\.ser")
    if not emi.parent.is_dir():
        return []
    return sorted(p for p in emi.parent.iterdir() if pattern.fullmatch(p.name))


def open_tia(path: Path, options: OpenOptions) -> Opened:
    """The 4D series of a TIA acquisition, read into memory, with its calibration.

    Parameters
    ----------
    path : Path
        An ``.emi`` (its ``.ser`` files are found beside it) or one ``.ser``.
    options : OpenOptions
        ``dataset=`` picks a signal by title when several ``.ser`` files are 4D.

    Raises
    ------
    FormatError
        For an ``.emi`` without TIA XML metadata, a ``.ser`` rsciio cannot parse, no 4D series
        or several.
    FileNotFoundError
        For an ``.emi`` without any ``<name>_N.ser`` beside it (the message names the pattern).
    """
    is_emi = path.suffix.lower() == ".emi"
    if is_emi:
        with open(path, "rb") as file:
            if b"<ObjectInfo>" not in file.read():
                raise FormatError(f"'{path}' is not a TIA .emi file (it holds no <ObjectInfo> XML)")
        if not ser_files(path):
            raise FileNotFoundError(
                f"the TIA file '{path}' has no data beside it: expected "
                f"'{path.parent / (path.stem + '_1.ser')}' (files '{path.stem}_N.ser')"
            )
    signals = read_signals("tia", path, TITLE, lazy=False, errors=(struct.error,))
    opened = from_signal(pick_4d(signals, path, options), path, options)
    if is_emi or opened.detector == (None, None):
        return opened
    # A .ser alone: rsciio guesses metres for the frames without the .emi's mode.
    return Opened(
        opened.data,
        opened.scan,
        (None, None),
        opened.energy,
        opened.camera_length,
        (
            f"'{path}' was opened without its .emi, so the detector pixel's units are unknown "
            "and the detector is left uncalibrated; open the .emi or pass "
            "detector_sampling=/detector_units=",
        ),
    )


FORMATS = (
    Format(
        "tia",
        TITLE,
        (".emi", ".ser"),
        open_tia,
        None,
        False,
        "scan step (signed), detector pixel size and units (from the .emi), beam energy, "
        "camera length",
        "(slow scan, fast scan, rows, columns) = (Rx, Ry, Qx, Qy); rsciio reverses each "
        "frame's rows (stored bottom-up); a negative scan step is kept in stored order and "
        "warned about",
    ),
)
