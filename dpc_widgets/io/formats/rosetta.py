"""Shared adapter for rosettasciio (``rsciio``) readers: signal dictionaries to :class:`Opened`.

rsciio readers return a list of signal dictionaries, each with ``data`` (a dask array when
``lazy=True``), ``axes`` (one dict per array axis, in array order: ``name``, ``size``,
``scale``, ``offset``, ``units``, ``navigate``) and ``metadata`` (HyperSpy's tree:
``Acquisition_instrument.TEM.beam_energy`` in keV, ``...camera_length`` in mm).

Orientation: the array's axes are taken in array order, ``(Rx, Ry, Qx, Qy) = data.shape``; in
HyperSpy's words Rx is the slow navigation axis (``y``), Ry the fast one (``x``), Qx the
signal's rows and Qy its columns. No axis is reordered or flipped here.

rsciio is imported only when such a file is opened.
"""

from __future__ import annotations

import copy
import importlib
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .base import (
    Axis,
    Format,
    FormatError,
    Opened,
    OpenOptions,
    Sniffer,
    only_candidate,
    read_whole,
)

# rsciio raises many exception types for a bad file; these mean "not readable as this format".
READ_ERRORS = (
    ValueError,
    OSError,
    KeyError,
    IndexError,
    TypeError,
    EOFError,
    AttributeError,
    RuntimeError,  # includes NotImplementedError (unsupported variants of a format)
)


def read_signals(
    module: str,
    path: Path,
    title: str,
    lazy: bool = True,
    errors: tuple[type[BaseException], ...] = (),
    **kwargs: Any,
) -> list[dict]:
    """Call ``rsciio.<module>.file_reader(path, lazy=lazy, **kwargs)``; :func:`apply_mapping`
    is applied to every signal returned.

    ``lazy=False`` is for readers whose lazy mode reads the whole file per chunk anyway.
    ``errors`` are further exception types that mean "not readable as this format" for this
    reader (``struct.error`` from binary parsers, rsciio's own exception classes, ...).

    Raises
    ------
    FormatError
        When the reader fails; the message names the file, the format and the reader's error.
    """
    reader = importlib.import_module(f"rsciio.{module}").file_reader
    try:
        signals = reader(str(path), lazy=lazy, **kwargs)
    except (*READ_ERRORS, *errors) as err:
        raise FormatError(
            f"cannot read '{path}' as {title} (truncated, corrupt or not this format?): "
            f"{type(err).__name__}: {err}"
        ) from err
    return [apply_mapping(signal) for signal in signals]


def pick_4d(signals: Sequence[dict], path: Path, options: OpenOptions) -> dict:
    """The 4D signal: the only one, or the one whose title is ``options.dataset``."""
    titled = {_title(signal, i): signal for i, signal in enumerate(signals)}
    if options.dataset is not None:
        if options.dataset not in titled:
            raise FormatError(
                f"'{path}' has no signal {options.dataset!r}; signals: {list(titled)}"
            )
        return titled[options.dataset]
    candidates = [name for name, signal in titled.items() if len(signal["data"].shape) == 4]
    return titled[only_candidate(candidates, path, "signal", "signal title")]


def from_signal(
    signal: dict, path: Path, options: OpenOptions, notes: tuple[str, ...] = ()
) -> Opened:
    """An :class:`Opened` from one rsciio signal dictionary (array order kept)."""
    data = signal["data"]
    axes = list(signal.get("axes", []))
    if len(data.shape) == 3 and options.scan_shape is not None:
        data = data.reshape(*options.scan_shape, *data.shape[1:])
        axes = [{}, {}, *axes[1:]]
    if len(data.shape) != 4:
        raise FormatError(
            f"the data in '{path}' has shape {tuple(data.shape)}; expected 4D (Rx, Ry, Qx, Qy)"
            + (
                "; give scan_shape=(Rx, Ry) for a flat list of frames"
                if len(data.shape) == 3
                else ""
            )
        )
    data = native_byte_order(data)
    if options.in_memory:
        data = read_whole(data)
    calibration = [_axis(axis) for axis in (axes + [{}] * 4)[:4]]
    tem = signal.get("metadata", {}).get("Acquisition_instrument", {}).get("TEM", {})
    energy = _positive(tem.get("beam_energy"))
    return Opened(
        data=data,
        scan=(calibration[0], calibration[1]),
        detector=(calibration[2], calibration[3]),
        energy=None if energy is None else energy * 1e3,
        camera_length=_positive(tem.get("camera_length")),
        notes=notes,
    )


def native_byte_order(data: Any) -> Any:
    """``data`` with its dtype in the machine's byte order (lazily for dask arrays).

    Some formats store big-endian pixels (Merlin ``.mib``); rsciio hands them on as is. The
    conversion happens block by block as the data are read, never at open.
    """
    dtype = data.dtype
    if dtype.byteorder in ("=", "|") or dtype.isnative:
        return data
    return data.astype(dtype.newbyteorder("="))


ROW_CHUNK_BYTES = 64 * 2**20


def row_chunks(shape: Sequence[int], itemsize: int, max_bytes: int = ROW_CHUNK_BYTES) -> tuple:
    """Dask chunks ``(rows, -1, -1, -1)`` for a 4D array: whole scan rows, about ``max_bytes``.

    For rsciio readers that take ``chunks=`` (``quantumdetector``, ``blockfile``, ``mrc``):
    their ``"auto"`` chunks split the frames and span dozens of scan rows (a gigabyte on a
    256 x 256 scan), so that :meth:`Datacube.blocks`, which reads whole chunks, would read huge
    blocks; rechunking afterwards copies through intermediate chunks. At least one row.
    """
    row_bytes = math.prod(int(n) for n in shape[1:]) * int(itemsize)
    rows = max(1, min(int(shape[0]), max_bytes // max(1, row_bytes)))
    return (rows, -1, -1, -1)


def rsciio_format(
    name: str,
    title: str,
    module: str,
    extensions: tuple[str, ...],
    *,
    calibrations: str,
    orientation: str = "array order (rsciio)",
    sniff: Sniffer | None = None,
    reader_kwargs: Callable[[OpenOptions], dict] | None = None,
) -> Format:
    """A :class:`Format` whose adapter is ``rsciio.<module>.file_reader`` plus :func:`pick_4d`."""

    def open_file(path: Path, options: OpenOptions) -> Opened:
        kwargs = reader_kwargs(options) if reader_kwargs is not None else {}
        signals = read_signals(module, path, title, **kwargs)
        return from_signal(pick_4d(signals, path, options), path, options)

    open_file.__name__ = f"open_{name}"
    return Format(name, title, extensions, open_file, sniff, True, calibrations, orientation)


def apply_mapping(signal: dict) -> dict:
    """``signal`` with its rsciio ``mapping`` applied: original metadata copied into ``metadata``.

    Some readers (TIA, DigitalMicrograph, Velox EMD, ...) leave the beam energy and camera
    length in ``original_metadata`` and return a ``mapping`` ``{source path: (target path,
    function or None)}`` that HyperSpy applies when it builds a signal. Paths are dotted; a
    source key matches a stored key exactly or after every non-word character is replaced by
    ``_`` (HyperSpy's spelling of ``"High tension_kV"`` is ``High_tension_kV``). Values already
    in ``metadata`` are kept; a function that fails on a value leaves that target unset.
    """
    mapping = signal.get("mapping") or {}
    original = signal.get("original_metadata") or {}
    metadata = copy.deepcopy(signal.get("metadata") or {})
    for source, (target, function) in mapping.items():
        found, value = _lookup(original, source.split("."))
        if not found:
            continue
        if function is not None:
            try:
                value = function(value)
            except Exception:  # a malformed value: skip this entry, like a missing one
                continue
        node = metadata
        *parents, leaf = target.split(".")
        for key in parents:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            node.setdefault(leaf, value)
    return {**signal, "metadata": metadata}


def _lookup(tree: Any, keys: list[str]) -> tuple[bool, Any]:
    node = tree
    for key in keys:
        if not isinstance(node, dict):
            return False, None
        if key in node:
            node = node[key]
            continue
        matches = [stored for stored in node if re.sub(r"\W", "_", str(stored)) == key]
        if len(matches) != 1:
            return False, None
        node = node[matches[0]]
    return True, node


def _title(signal: dict, index: int) -> str:
    title = signal.get("metadata", {}).get("General", {}).get("title") or ""
    return str(title) or f"signal {index}"


def _axis(axis: dict) -> Axis | None:
    units = axis.get("units")
    scale = axis.get("scale")
    if scale is None or not isinstance(units, str) or units.strip() in ("", "<undefined>"):
        return None
    scale = float(scale)
    if not math.isfinite(scale) or scale == 0:
        return None
    return Axis(scale, units)


def _positive(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) and out > 0 else None
