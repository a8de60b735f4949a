"""EMPAD (Electron Microscope Pixel Array Detector) ``.xml`` + ``.raw`` pairs, read with rsciio.

The ``.xml`` file names the ``.raw`` file (``<raw_file filename="scan_x32_y64.raw"/>``) and holds
the scan size (``pix_x``/``pix_y``, or in the raw file's name), the scan field of view and the
microscope state; the ``.raw`` file is a flat list of little-endian ``float32`` frames of 128 x
130 pixels, the last two rows of each frame being metadata (dropped).

Reader: ``rsciio.empad.file_reader(lazy=True)`` for the scan shape and calibration; the frames
themselves are memory-mapped read-only here, with the layout above, as a dask array chunked in
whole scan rows (rsciio's own dask array has ``"auto"`` chunks that split the frames).
Calibration: the scan step as rsciio derives it from the field of view (pint's compact unit,
``"nm"``, ``"µm"``, ...), the detector pixel in 1/nm where the ``.xml`` has
``calibrated_pixelsize`` (older software; newer EMPAD versions store none), and the beam energy
from ``source.get_voltage`` or ``high_voltage`` (V).

Orientation: rsciio's array order, no flip: Rx the slow scan axis (``scan_y``), Ry the fast one
(``scan_x``), Qx the detector rows, Qy its columns (the first 128 rows of each raw frame).
"""

from __future__ import annotations

import dataclasses
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from .base import Format, FormatError, Opened, OpenOptions, refuse_dataset
from .rosetta import from_signal, read_signals, row_chunks

TITLE = "EMPAD"
FRAME_SHAPE = (128, 128)
RAW_FRAME_BYTES = 128 * 130 * 4
_VOLTAGE_TAGS = ("high_voltage", "source.get_voltage")


def parse_xml(path: Path) -> ET.Element:
    """The root of the EMPAD ``.xml`` file.

    Raises
    ------
    FormatError
        If the file is not XML or names no raw file.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise FormatError(f"'{path}' is not an EMPAD .xml file (not XML: {err})") from err
    raw = root.find("raw_file")
    if raw is None or not raw.get("filename"):
        raise FormatError(f"'{path}' is not an EMPAD .xml file: it has no <raw_file filename=...>")
    return root


def sniff(path: Path) -> bool:
    """True when ``path`` is XML naming a raw file (an EMPAD acquisition)."""
    try:
        with open(path, "rb") as file:
            head = file.read(65536)
    except OSError:
        return False
    return b"<raw_file" in head


def beam_energy(root: ET.Element) -> float | None:
    """The beam energy in eV from ``iom_measurements`` (V), or ``None``."""
    measurements = root.find("iom_measurements")
    if measurements is None:
        return None
    for child in measurements:
        if child.tag in _VOLTAGE_TAGS:
            try:
                value = float((child.text or "").strip())
            except ValueError:
                continue
            if math.isfinite(value) and value > 0:
                return value
    return None


def open_empad(path: Path, options: OpenOptions) -> Opened:
    """Open an EMPAD acquisition lazily from its ``.xml`` file.

    Raises
    ------
    FileNotFoundError
        If the ``.raw`` file the ``.xml`` names does not exist.
    FormatError
        For a file that is not an EMPAD ``.xml``, a raw file shorter than the scan (truncated),
        or a series without ``scan_shape``.
    """
    refuse_dataset(options, path, TITLE)
    root = parse_xml(path)
    raw = path.parent / str(root.find("raw_file").get("filename"))  # type: ignore[union-attr]
    if not raw.is_file():
        raise FileNotFoundError(f"the EMPAD raw file '{raw}' named in '{path}' does not exist")
    signal = read_signals("empad", path, TITLE)[0]
    data = signal["data"]
    frames = math.prod(data.shape[:-2]) if len(data.shape) > 2 else 1
    size = raw.stat().st_size
    if size < frames * RAW_FRAME_BYTES:
        raise FormatError(
            f"'{raw}' is truncated: {frames} frames of 128x130 float32 need "
            f"{frames * RAW_FRAME_BYTES} bytes, the file has {size}"
        )
    axes = list(signal.get("axes", []))
    scan_axes = [axis for axis in axes if axis.get("navigate")]
    if len(data.shape) == 4:
        scan: tuple[int, int] | None = (int(data.shape[0]), int(data.shape[1]))
    elif root.find("scan_parameters/series_count") is None:
        # rsciio drops scan axes of length 1: restore (Rx, Ry, Qx, Qy).
        scan = _scan_size(root, path, frames)
        step = scan_axes[0] if scan_axes else {}
        axes = [step, step, *axes[-2:]]
    else:
        scan = options.scan_shape  # a series (a time axis, no scan) laid out by scan_shape
        axes = [{}, {}, *axes[-2:]] if scan is not None else axes
    data = frames_array(raw, frames, scan)
    opened = from_signal({**signal, "data": data, "axes": axes}, path, options)
    return dataclasses.replace(opened, energy=beam_energy(root))


def frames_array(raw: Path, frames: int, scan: tuple[int, int] | None) -> Any:
    """The first ``frames`` frames of ``raw`` as a lazy dask array, in whole scan rows.

    The same layout rsciio reads (128 x 130 little-endian float32 per frame, the last two rows
    dropped), read here chunk by chunk from a read-only memory map, so that each dask chunk is
    whole scan rows (rsciio's own dask array has ``"auto"`` chunks that split the frames and
    span many rows). Shape ``(Rx, Ry, 128, 128)`` for a scan, ``(frames, 128, 128)`` for a
    series without ``scan_shape``. Nothing is read until a chunk is computed.
    """
    import dask
    import dask.array as da

    if scan is None or scan[0] * scan[1] > frames:
        rows, per_row = row_chunks((frames, *FRAME_SHAPE), 4)[0], 1
        shape: tuple[int, ...] = (frames, *FRAME_SHAPE)
    else:
        rows, per_row = row_chunks((*scan, *FRAME_SHAPE), 4)[0], scan[1]
        shape = (*scan, *FRAME_SHAPE)
    read = dask.delayed(_read_frames, pure=True)
    pieces = []
    for start in range(0, shape[0], rows):
        stop = min(shape[0], start + rows)
        piece_shape = (stop - start, *shape[1:])
        frames_read = read(str(raw), start * per_row, stop * per_row, piece_shape)
        pieces.append(da.from_delayed(frames_read, piece_shape, dtype=np.float32))
    return da.concatenate(pieces, axis=0)


def _read_frames(raw: str, start: int, stop: int, shape: tuple[int, ...]) -> np.ndarray:
    """Frames ``start:stop`` of an EMPAD raw file (without their 2 metadata rows), read now."""
    record = np.dtype([("data", "<f4", FRAME_SHAPE), ("footer", "<f4", (2, FRAME_SHAPE[1]))])
    stack = np.memmap(
        raw, dtype=record, mode="r", offset=start * record.itemsize, shape=(stop - start,)
    )
    return np.ascontiguousarray(stack["data"]).reshape(shape)


def _scan_size(root: ET.Element, path: Path, frames: int) -> tuple[int, int]:
    try:
        return int(root.findtext("pix_y", "")), int(root.findtext("pix_x", ""))
    except ValueError:
        pass
    name = str(root.find("raw_file").get("filename"))  # type: ignore[union-attr]
    parts = Path(name).stem.split("_")
    try:
        return int(parts[-1][1:]), int(parts[-2][1:])
    except (IndexError, ValueError):
        raise FormatError(
            f"'{path}': cannot tell the scan shape of {frames} frames; pass scan_shape=(Rx, Ry)"
        ) from None


FORMATS = (
    Format(
        name="empad",
        title=TITLE,
        extensions=(".xml",),
        open=open_empad,
        sniff=sniff,
        lazy=True,
        calibrations=(
            "scan step from the field of view, beam energy, detector pixel (1/nm) where the "
            ".xml has calibrated_pixelsize"
        ),
        orientation=(
            "Rx slow scan (scan_y), Ry fast scan (scan_x), Qx detector rows, Qy columns; "
            "the 2 metadata rows of each 128x130 raw frame dropped; no flip"
        ),
    ),
)
