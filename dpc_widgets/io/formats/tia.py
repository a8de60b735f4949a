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
rows, frame columns)``, which is taken as ``(Rx, Ry, Qx, Qy)``. Each frame's rows are reversed
as rsciio reverses them (TIA stores a frame bottom row first), so Qx runs top-down as TIA
displays it; nothing else is flipped or reordered. A scan dimension's calibration step is
passed on with its sign: TIA writes a negative step for a scan axis that runs backwards
(commonly the slow one); :mod:`dpc_widgets.io.calibration` keeps the stored order, uses the
step's magnitude and warns.

Calibration
-----------
Scan step from the ``.ser`` dimension headers (m, as nm); detector pixel from the first frame's
``CalibrationDelta`` (1/m, as ``"1 / nm"``, when the ``.emi`` says the mode is diffraction or
STEM with a camera); beam energy from ``High tension`` (kV) and camera length from
``Camera length`` (m) in the ``.emi``'s ``ExperimentalDescription``.

Lazy: rsciio's ``.ser`` parser reads every frame while locating them (and its lazy mode reads
the whole file again for any chunk), so only its dtype helpers are used here. Opening reads the
``.ser`` header, the data-offset array and the small calibration and position fields of the
records; the frames are a read-only :class:`numpy.memmap` of the records (rsciio's record dtype,
spaced as the offsets say), field ``Array``, reshaped to ``(Rx, Ry, rows, columns)`` and with
each frame's rows reversed as rsciio does (a view). The axes are computed from the header as
rsciio's ``ser_reader`` computes them, its units guess (``_guess_units_from_mode``) and metadata
mapping are rsciio's own. A series that does not fit this (records not equally spaced, an
incomplete acquisition, no two scan dimensions in the header, spectra) is read by rsciio into
memory at open, as before, with a note.

Imports
-------
``rsciio.tia`` imports NumPy, python-dateutil and ``xml.etree`` at module import (and rsciio's
``DTBox``, python-box), only when such a file is opened.
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .base import Format, FormatError, Opened, OpenOptions
from .rosetta import READ_ERRORS, apply_mapping, from_signal, pick_4d

TITLE = "FEI TIA (.emi/.ser)"
_ERRORS = (*READ_ERRORS, struct.error)


def ser_files(emi: Path) -> list[Path]:
    """The ``<stem>_N.ser`` files beside an ``.emi`` that rsciio will read (N one digit)."""
    pattern = re.compile(re.escape(emi.stem) + r"_[0-9]\.ser")
    if not emi.parent.is_dir():
        return []
    return sorted(p for p in emi.parent.iterdir() if pattern.fullmatch(p.name))


def open_tia(path: Path, options: OpenOptions) -> Opened:
    """The 4D series of a TIA acquisition, memory-mapped, with its calibration.

    Parameters
    ----------
    path : Path
        An ``.emi`` (its ``.ser`` files are found beside it) or one ``.ser``.
    options : OpenOptions
        ``dataset=`` picks a signal by title when several ``.ser`` files are 4D.

    Returns
    -------
    Opened
        The frames as a read-only :class:`numpy.memmap` view (a NumPy array read at open, with
        a note, for a series whose records cannot be mapped; see the module docstring).

    Raises
    ------
    FormatError
        For an ``.emi`` without TIA XML metadata, a ``.ser`` that cannot be parsed, no 4D
        series or several.
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
    signals = _read_signals(path, is_emi)
    signal = pick_4d(signals, path, options)
    opened = from_signal(signal, path, options, tuple(signal.get("notes", ())))
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
            *opened.notes,
            f"'{path}' was opened without its .emi, so the detector pixel's units are unknown "
            "and the detector is left uncalibrated; open the .emi or pass "
            "detector_sampling=/detector_units=",
        ),
    )


def _read_signals(path: Path, is_emi: bool) -> list[dict]:
    """One rsciio-style signal dictionary per ``.ser`` (as ``rsciio.tia.file_reader`` returns).

    Parameters
    ----------
    path : Path
        The file opened: an ``.emi`` or one ``.ser``.
    is_emi : bool
        Whether ``path`` is an ``.emi`` (its ``<stem>_N.ser`` files are read).

    Returns
    -------
    list of dict
        ``data``, ``axes``, ``metadata`` (rsciio's mapping applied) and, for a series read into
        memory, ``notes``. A ``.ser`` without valid elements is skipped, as rsciio's
        ``emi_reader`` skips it.

    Raises
    ------
    FormatError
        For any parsing error, naming ``path`` and the ``.ser``.
    """
    from rsciio.tia import _api as tia

    objects = tia.get_xml_info_from_emi(str(path)) if is_emi else None
    signals = []
    for ser in ser_files(path) if is_emi else [path]:
        xml = None
        if objects is not None:  # <stem>_N.ser: the N-th block (as rsciio's emi_reader)
            index = int(ser.stem.rsplit("_", 1)[-1]) - 1
            xml = objects[index] if index < len(objects) else None
        try:
            signal = _lazy_ser(ser, objects, xml)
            if signal is None:
                continue
            if isinstance(signal, str):  # not mappable: rsciio reads it into memory
                note = signal
                signal = tia.ser_reader(str(ser), objects, lazy=False)[0]
                signal["original_metadata"] = {
                    **signal["original_metadata"],
                    **_original_metadata(xml),
                }
                if len(signal["data"].shape) == 4:
                    signal["notes"] = (note,)
        except OSError as err:
            if is_emi and not isinstance(err, FileNotFoundError | PermissionError):
                continue  # rsciio's IOError: no valid data (a single spectrum)
            raise _read_error(path, ser, err) from err
        except _ERRORS as err:
            raise _read_error(path, ser, err) from err
        signals.append(apply_mapping(signal))
    return signals


def _read_error(path: Path, ser: Path, err: BaseException) -> FormatError:
    where = f"'{path}'" if ser == path else f"'{path}' (its data file '{ser.name}')"
    return FormatError(
        f"cannot read {where} as {TITLE} (truncated, corrupt or not this format?): "
        f"{type(err).__name__}: {err}"
    )


def _original_metadata(xml: str | None) -> dict:
    """The ``.emi``'s ``<ObjectInfo>`` XML for one ``.ser`` as rsciio's nested dictionary."""
    if xml is None:
        return {}
    from rsciio.tia import _api as tia

    return tia.convert_xml_to_dict(xml).to_dict()


def _lazy_ser(ser: Path, objects: list[str] | None, xml: str | None) -> dict | str | None:
    """A signal dictionary whose data are a memory map of the frames in ``ser``.

    Parameters
    ----------
    ser : Path
        The ``.ser`` file.
    objects : list of str or None
        The ``.emi``'s ``<ObjectInfo>`` blocks (rsciio guesses the frames' units from the
        first), or None for a ``.ser`` opened alone.
    xml : str or None
        The block for this ``.ser`` (its metadata).

    Returns
    -------
    dict or str or None
        The signal; a sentence saying why the records cannot be mapped (then rsciio reads
        them); None when the file holds no valid elements.
    """
    from rsciio.tia import _api as tia

    with open(ser, "rb") as file:
        header = np.fromfile(file, dtype=np.dtype(tia.get_header_dtype_list(file)), count=1)
        if len(header) != 1:
            raise EOFError("the header is truncated")
        valid = int(header["ValidNumberElements"][0])
        if valid == 0:
            return None
        wide = int(header["SeriesVersion"][0]) > 528
        file.seek(int(header["OffsetArrayOffset"][0]))
        offsets = np.fromfile(file, dtype="<u8" if wide else "<u4", count=valid)
        if len(offsets) != valid:
            raise EOFError("the data-offset array is truncated")
        offsets = offsets.astype(np.int64)
        record_by = tia.guess_record_by(int(header["DataTypeID"][0]))
        if record_by != "image":
            return f"'{ser}' holds spectra; read into memory at open"
        fields, _ = tia.get_data_dtype_list(file, int(offsets[0]), record_by)
        fields = fields + tia.get_data_tag_dtype_list(int(header["TagTypeID"][0]))
    record = np.dtype(fields)
    ndim = int(header["NumberDimensions"][0])
    sizes = [int(header[f"Dim-{n}_DimensionSize"][0]) for n in range(1, ndim + 1)]
    if ndim != 2 or min(sizes) < 2 or valid != math.prod(sizes):
        return (
            f"'{ser}' has {valid} frames for scan dimensions {sizes} (an incomplete or not "
            "a 2D scan); read into memory at open"
        )
    steps = np.diff(offsets)
    stride = int(steps[0]) if len(steps) else record.itemsize
    if np.any(steps != stride) or stride < record.itemsize:
        return (
            f"the frames in '{ser}' are not equally spaced in the file (non-uniform records), "
            "so they cannot be memory-mapped; read into memory at open"
        )
    if offsets[0] + (valid - 1) * stride + record.itemsize > ser.stat().st_size:
        raise EOFError(f"the file ends before its frame {valid - 1}")
    spaced = np.dtype(
        {
            "names": list(record.names),
            "formats": [record.fields[name][0] for name in record.names],
            "offsets": [record.fields[name][1] for name in record.names],
            "itemsize": stride,
        }
    )
    records = np.memmap(ser, dtype=spaced, mode="r", offset=int(offsets[0]), shape=(valid,))
    return {
        "data": _frames(records, header),
        "axes": _axes(header, records, objects),
        "metadata": {"General": {"original_filename": ser.name}},
        "original_metadata": _original_metadata(xml),
        "mapping": tia.mapping,
    }


def _scan_order(records: np.ndarray) -> str:
    """rsciio's guess of the scan order: ``"F"`` when the first two positions share ``Y``."""
    names = records.dtype.names or ()
    if "PositionY" in names and len(records) > 1:
        first_two = records["PositionY"][:2]
        if first_two[0] == first_two[1]:
            return "F"
    return "C"


def _scan_dims(records: np.ndarray) -> list[int]:
    """The header's dimension numbers (``Dim-N``) in array order, as rsciio orders them."""
    return [2, 1] if _scan_order(records) == "F" else [1, 2]


def _frames(records: np.memmap, header: np.ndarray) -> np.memmap:
    """The frames as ``(*scan, rows, columns)``, rows reversed as rsciio does (views only)."""
    shape = [int(header[f"Dim-{n}_DimensionSize"][0]) for n in _scan_dims(records)]
    frames = records["Array"]  # (elements, ArraySizeX, ArraySizeY) per rsciio's dtype
    rows, columns = int(records["ArraySizeY"][0]), int(records["ArraySizeX"][0])
    return frames.reshape(*shape, rows, columns)[..., ::-1, :]


def _axes(header: np.ndarray, records: np.ndarray, objects: list[str] | None) -> list[dict]:
    """The four axes as rsciio's ``ser_reader`` gives them (scan from the header)."""
    from rsciio.tia import _api as tia

    axes: list[dict[str, Any]] = []
    for n in _scan_dims(records):
        length = int(header[f"Dim-{n}_UnitsLength"][0])
        units = header[f"Dim-{n}_Units"][0].decode("utf-8") if length > 0 else None
        axes.append(
            {
                "offset": float(header[f"Dim-{n}_CalibrationOffset"][0]),
                "scale": float(header[f"Dim-{n}_CalibrationDelta"][0]),
                "units": units,
                "size": int(header[f"Dim-{n}_DimensionSize"][0]),
                "navigate": True,
            }
        )
    if objects is not None:
        units = tia._guess_units_from_mode(tia.convert_xml_to_dict(objects[0]), header)
    else:
        units = "meters"
    first = records[:1]  # the frames' calibration: the first record's small fields only
    for axis in ("Y", "X"):
        axes.append(
            {
                "offset": float(
                    first[f"CalibrationOffset{axis}"][0]
                    - first[f"CalibrationElement{axis}"][0] * first[f"CalibrationDelta{axis}"][0]
                ),
                "scale": float(first[f"CalibrationDelta{axis}"][0]),
                "units": units,
                "size": int(first[f"ArraySize{axis}"][0]),
                "navigate": False,
            }
        )
    for axis in axes:
        if axis["units"] == "meters":
            axis["units"], axis["scale"] = "nm", axis["scale"] * 1e9
        elif axis["units"] == "1/meters":
            axis["units"], axis["scale"] = "1 / nm", axis["scale"] / 1e9
    return axes


FORMATS = (
    Format(
        "tia",
        TITLE,
        (".emi", ".ser"),
        open_tia,
        None,
        True,
        "scan step (signed), detector pixel size and units (from the .emi), beam energy, "
        "camera length",
        "(slow scan, fast scan, rows, columns) = (Rx, Ry, Qx, Qy); each frame's rows are "
        "reversed as rsciio does (stored bottom-up; a view of the memory map); a negative scan "
        "step is kept in stored order and warned about",
    ),
)
