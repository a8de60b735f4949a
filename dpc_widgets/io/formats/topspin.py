"""NanoMegas TopSpin ``.app5`` files: HDF5 with one group per result, read lazily with h5py.

Layout (the facts rsciio's ``topspin`` reader relies on): results are named by GUIDs, either at
the top level next to an XML ``Metadata`` string (one experiment), or one level down, inside a
GUID group per experiment that holds its own ``Metadata`` (an exported collection). A 4D-STEM
result is a group of numbered groups ``0``, ``1``, ... ``N-1``, one per scan position in scan
order, each with a 2D ``Data`` pattern and an XML ``Metadata`` string giving the pattern's
calibration (``Calibration/X|Y/Scale`` with type ``Angle``, in rad) and the requested beam
position (``RequestedBeamPosition`` X, Y in m). 2D results (virtual images, maps) are plain
datasets.

rsciio's ``topspin.file_reader`` reads every pattern into memory and has no lazy mode, so this
adapter builds a dask array that reads the patterns of a block of scan rows only when asked
(each read opens the file read-only). The scan shape and step come from the beam positions of
the first scan row (x changes fastest; a new row starts when y changes), as rsciio does; the
beam energy from ``HighVoltage`` or ``GunHighVoltage`` (V) and the camera length from
``DiffractionCameraLength`` (m) in the experiment's ``Metadata``.

Orientation: scan order, no flip: Rx the slow scan axis (y), Ry the fast one (x), Qx the
pattern rows (TopSpin's calibration ``X``), Qy its columns (``Y``).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from ..._lazy import lazy_import
from .base import Axis, Format, FormatError, Opened, OpenOptions, only_candidate, read_whole
from .hdf5 import open_hdf5_file

h5py = lazy_import("h5py")

TITLE = "NanoMegas TopSpin"
_ENERGY_KEYS = ("HighVoltage", "GunHighVoltage")
_CAMERA_KEY = "DiffractionCameraLength"
_UNITS = {"Angle": "rad"}


def _is_guid(name: str) -> bool:
    return [len(part) for part in name.split("-")] == [8, 4, 4, 4, 12]


def _is_4d_group(node: Any) -> bool:
    return isinstance(node, h5py.Group) and "0" in node and "Data" in node["0"]


def results(file: h5py.File) -> tuple[list[str], list[str]]:
    """Paths of the 4D results and of the other (2D) results, in file order."""
    four_d: list[str] = []
    others: list[str] = []
    if "Metadata" in file:
        names = [name for name in file if _is_guid(name)]
    else:
        names = [
            f"{top}/{name}"
            for top in file
            if _is_guid(top) and isinstance(file[top], h5py.Group)
            for name in file[top]
            if _is_guid(name)
        ]
    for name in names:
        (four_d if _is_4d_group(file[name]) else others).append(name)
    return four_d, others


def _xml(raw: Any, where: str, path: Path) -> ET.Element:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    text = text.replace('encoding="utf-16"', "", 1)  # the strings are stored as bytes
    try:
        return ET.fromstring(text)
    except ET.ParseError as err:
        raise FormatError(f"'{path}': cannot parse the TopSpin metadata of {where}: {err}") from err


def _position(element: ET.Element) -> tuple[float, float] | None:
    for item in element.iter("Item"):
        if item.findtext("Name") == "RequestedBeamPosition":
            try:
                return float(item.findtext("Value/X", "")), float(item.findtext("Value/Y", ""))
            except ValueError:
                return None
    return None


def _settings(element: ET.Element) -> dict[str, float]:
    found: dict[str, float] = {}
    for item in element.iter("Item"):
        name = item.findtext("Name")
        if name in (*_ENERGY_KEYS, _CAMERA_KEY) and name not in found:
            try:
                value = float(item.findtext("Value", ""))
            except ValueError:
                continue
            if math.isfinite(value) and value > 0:
                found[name] = value
    return found


def _detector_axis(calibration: ET.Element | None, name: str) -> Axis | None:
    if calibration is None:
        return None
    try:
        scale = float(calibration.findtext(f"{name}/Scale", ""))
    except ValueError:
        return None
    units = calibration.findtext(f"{name}/Type/Text", "") or ""
    units = _UNITS.get(units, units)
    return Axis(scale, units) if units and math.isfinite(scale) and scale != 0 else None


def scan_geometry(
    group: h5py.Group, path: Path
) -> tuple[tuple[int, int], Axis | None, Axis | None]:
    """(Rx, Ry), and the Rx and Ry steps in nm, from the beam positions of the first rows."""
    count = len(group)
    if set(group) != {str(i) for i in range(count)}:
        raise FormatError(
            f"'{path}': the patterns of '{group.name}' are not numbered 0..{count - 1}"
        )
    xs: list[float] = []
    ys: list[float] = []
    for i in range(count):
        position = _position(_xml(group[f"{i}/Metadata"][()], f"{group.name}/{i}", path))
        if position is None:
            break
        xs.append(position[0])
        ys.append(position[1])
        if ys[-1] != ys[0]:
            break
    if not xs or (len(xs) == count and ys[-1] == ys[0]):  # no positions, or a single row
        return (1, count), _step(xs, count), None
    ry = len(xs) - 1
    if count % ry:
        raise FormatError(
            f"'{path}': {count} patterns in '{group.name}' do not fill rows of {ry} positions"
        )
    return (count // ry, ry), Axis((ys[-1] - ys[0]) * 1e9, "nm"), _step(xs[:-1], ry)


def _step(xs: list[float], n: int) -> Axis | None:
    if len(xs) < 2 or n < 2:
        return None
    step = (max(xs) - min(xs)) / (len(xs) - 1) * 1e9
    return Axis(step, "nm") if step > 0 else None


class PatternStack:
    """The patterns of one TopSpin 4D result as an array ``(Rx, Ry, Qx, Qy)`` read on demand.

    Indexing opens the file read-only, reads the patterns of the selected scan positions
    (HDF5 datasets ``<group>/<n>/Data``) and closes it again. Meant to be wrapped with
    ``dask.array.from_array``.
    """

    def __init__(
        self, path: Path, group: str, scan: tuple[int, int], frame: tuple[int, int], dtype: Any
    ) -> None:
        self.path = path
        self.group = group
        self.shape = (*scan, *frame)
        self.dtype = np.dtype(dtype)
        self.ndim = 4

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis for k in key):
            at = key.index(Ellipsis)
            key = key[:at] + (slice(None),) * (5 - len(key)) + key[at + 1 :]
        key = key + (slice(None),) * (4 - len(key))
        # integers keep their axis while reading, and drop it at the end
        drop = tuple(0 if isinstance(k, (int, np.integer)) else slice(None) for k in key)
        key = tuple(
            slice(int(k) % n, int(k) % n + 1) if isinstance(k, (int, np.integer)) else k
            for k, n in zip(key, self.shape, strict=True)
        )
        rows = np.arange(self.shape[0])[key[0]]
        cols = np.arange(self.shape[1])[key[1]]
        out = np.empty((len(rows), len(cols), *self.shape[2:]), dtype=self.dtype)
        if out.size:
            with h5py.File(self.path, "r") as file:
                group = file[self.group]
                for i, rx in enumerate(rows):
                    for j, ry in enumerate(cols):
                        group[f"{rx * self.shape[1] + ry}/Data"].read_direct(out[i, j])
        return out[(slice(None), slice(None), key[2], key[3])][drop]


def open_topspin(path: Path, options: OpenOptions) -> Opened:
    """Open a TopSpin ``.app5`` file's 4D result lazily (``dataset=`` its HDF5 path).

    Raises
    ------
    FormatError
        For a file that is not HDF5 or holds no 4D result, several 4D results without
        ``dataset=``, or a ``dataset=`` that is not a 4D result (the candidates are listed).
    """
    import dask.array as da

    file = open_hdf5_file(path)
    try:
        four_d, others = results(file)
        notes: tuple[str, ...] = ()
        if options.dataset is not None:
            name = options.dataset.strip("/")
            if name not in four_d:
                raise FormatError(
                    f"{options.dataset!r} in '{path}' is not a 4D TopSpin result; 4D results: "
                    f"{four_d}"
                )
        else:
            name = only_candidate(four_d, path, "TopSpin result", "HDF5 path")
            if others:
                notes = (
                    f"'{path}' holds {len(four_d) + len(others)} results; using the 4D one "
                    f"'{name}' (the others are 2D: {others})",
                )
        group = file[name]
        first = group["0/Data"]
        if first.ndim != 2:
            raise FormatError(f"'{path}': '{name}/0/Data' has shape {first.shape}; expected 2D")
        frame = _xml(group["0/Metadata"][()], f"{name}/0", path)
        calibration = frame.find("Calibration")
        detector = (_detector_axis(calibration, "X"), _detector_axis(calibration, "Y"))
        scan_shape, step_rx, step_ry = scan_geometry(group, path)
        top = name.rpartition("/")[0]
        meta = file[f"{top}/Metadata" if top else "Metadata"][()]
        settings = _settings(_xml(meta, top or "the file", path))
        stack = PatternStack(path, name, scan_shape, tuple(first.shape), first.dtype)
    except (OSError, KeyError) as err:
        raise FormatError(
            f"cannot read '{path}' as {TITLE} (truncated or corrupt?): {err}"
        ) from err
    finally:
        file.close()
    rows = max(
        1,
        min(
            scan_shape[0], (64 * 2**20) // max(1, stack.dtype.itemsize * math.prod(stack.shape[1:]))
        ),
    )
    data: Any = da.from_array(stack, chunks=(rows, -1, -1, -1), asarray=False, name=False)
    if options.in_memory:
        data = read_whole(data)
    energy = next((settings[key] for key in _ENERGY_KEYS if key in settings), None)
    camera = settings.get(_CAMERA_KEY)
    return Opened(
        data=data,
        scan=(step_rx, step_ry),
        detector=detector,
        energy=energy,
        camera_length=None if camera is None else camera * 1e3,
        notes=notes,
    )


FORMATS = (
    Format(
        name="topspin",
        title=TITLE,
        extensions=(".app5",),
        open=open_topspin,
        sniff=None,
        lazy=True,
        calibrations=(
            "scan step from the beam positions (nm), detector pixel (rad -> mrad), beam energy, "
            "camera length; the 4D result picked by default (dataset= its HDF5 path)"
        ),
        orientation="Rx slow scan (y), Ry fast scan (x), Qx pattern rows, Qy columns; no flip",
    ),
)
