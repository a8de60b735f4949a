"""The file's calibration, as adapters report it, turned into :class:`Datacube` keywords.

One place for every format:

- Unit strings are mapped to ours (``"A"``, ``"nm"``, ``"px"`` for the scan; ``"mrad"``,
  ``"A^-1"``, ``"px"`` for the detector); lengths and inverse lengths are rescaled
  (``"um"`` -> nm, ``"1/nm"`` -> ``A^-1``, ``"rad"`` -> mrad, ...). An unknown unit string
  raises ``ValueError`` naming it; the matching ``*_units=`` keyword of :func:`load` overrides.
- A negative step (a flipped axis, as FEI TIA writes) keeps the stored order: the sampling is
  its magnitude and a warning says which axis runs backwards. The data are never reordered, so
  the solved rotation and transpose refer to the array as stored.
- A detector pixel given as a length (a camera pixel in m, cm, mm or um, as blockfiles write)
  becomes an angle, ``pixel / camera_length`` in mrad, when the camera length is known; without
  it the detector stays in ``"px"`` with a warning saying why.
- Where Rx and Ry (or Qx and Qy) have different steps, axis Rx's (Qx's) is used, with a warning:
  :class:`Datacube` has one step per space.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .formats.base import Axis, Opened

# Scan length units: factor to the unit on the right.
_SCAN_UNITS: dict[str, tuple[float, str]] = {
    "A": (1.0, "A"),
    "\u00c5": (1.0, "A"),  # Latin capital A with ring
    "\u212b": (1.0, "A"),  # Angstrom sign
    "angstrom": (1.0, "A"),
    "pm": (1e-3, "nm"),
    "nm": (1.0, "nm"),
    "um": (1e3, "nm"),
    "\u00b5m": (1e3, "nm"),  # micro sign
    "\u03bcm": (1e3, "nm"),  # Greek mu
    "mm": (1e6, "nm"),
    "m": (1e9, "nm"),
    "pixels": (1.0, "px"),
    "pixel": (1.0, "px"),
    "px": (1.0, "px"),
}
# Detector angle and spatial-frequency units: factor to the unit on the right.
_DETECTOR_UNITS: dict[str, tuple[float, str]] = {
    "mrad": (1.0, "mrad"),
    "rad": (1e3, "mrad"),
    "A^-1": (1.0, "A^-1"),
    "1/A": (1.0, "A^-1"),
    "\u00c5^-1": (1.0, "A^-1"),
    "1/\u00c5": (1.0, "A^-1"),
    "\u212b^-1": (1.0, "A^-1"),
    "1/\u212b": (1.0, "A^-1"),
    "nm^-1": (0.1, "A^-1"),
    "1/nm": (0.1, "A^-1"),
    # pint's spelling (rsciio's Velox EMD and TIA readers): "1 / nm", "1 / µm", ...
    "1 / \u00c5": (1.0, "A^-1"),
    "1 / pm": (100.0, "A^-1"),
    "1 / nm": (0.1, "A^-1"),
    "1 / \u00b5m": (1e-4, "A^-1"),  # micro sign (pint < 0.26)
    "1 / \u03bcm": (1e-4, "A^-1"),  # Greek mu (pint 0.26)
    "1 / um": (1e-4, "A^-1"),
    "1 / mm": (1e-7, "A^-1"),
    "1 / m": (1e-10, "A^-1"),
    "1/m": (1e-10, "A^-1"),
    "pixels": (1.0, "px"),
    "pixel": (1.0, "px"),
    "px": (1.0, "px"),
}
# A detector pixel given as a physical length on the camera: factor to mm.
_CAMERA_LENGTH_UNITS: dict[str, float] = {
    "m": 1e3,
    "cm": 10.0,
    "mm": 1.0,
    "um": 1e-3,
    "\u00b5m": 1e-3,
    "\u03bcm": 1e-3,
}
SCAN_UNIT_STRINGS = tuple(_SCAN_UNITS)
DETECTOR_UNIT_STRINGS = (*_DETECTOR_UNITS, *_CAMERA_LENGTH_UNITS)


def datacube_keywords(
    opened: Opened, path: Path, overrides: dict[str, Any], camera_length: float | None = None
) -> tuple[dict[str, Any], list[str]]:
    """:class:`Datacube` keywords from the file's calibration, with the user's values winning.

    Parameters
    ----------
    opened : Opened
        What the adapter found.
    path : Path
        The file (for messages).
    overrides : dict
        Keywords given to :func:`load` (``energy``, ``scan_sampling``, ``scan_units``,
        ``detector_sampling``, ``detector_units``): each replaces the file's value as is.
    camera_length : float, optional
        Camera length in mm given by the user; wins over the file's.

    Returns
    -------
    keywords : dict
        ``energy``, ``scan_sampling``, ``scan_units``, ``detector_sampling``,
        ``detector_units`` where known.
    warnings : list of str
        Flipped axes, unequal steps, a length pixel without camera length.

    Raises
    ------
    ValueError
        For a unit string that is not understood (named, with the keyword that overrides it),
        unless that keyword was given.
    """
    notes: list[str] = []
    out: dict[str, Any] = {}
    energy = opened.energy
    if energy is not None:
        out["energy"] = energy
    camera = camera_length if camera_length is not None else opened.camera_length
    for space, axes, names in (
        ("scan", opened.scan, "RxRy"),
        ("detector", opened.detector, "QxQy"),
    ):
        axis = _one_axis(axes, space, (names[:2], names[2:]), path, notes)
        if axis is None:
            continue
        if f"{space}_units" in overrides:  # the user's units: the file's step as stored
            out[f"{space}_sampling"] = abs(axis.scale)
            continue
        if space == "scan":
            sampling, units = _scan(axis, path)
        else:
            sampling, units = _detector(axis, camera, path, notes)
        out[f"{space}_sampling"] = sampling
        out[f"{space}_units"] = units
    return {**out, **overrides}, notes


def _one_axis(
    axes: tuple[Axis | None, Axis | None],
    space: str,
    names: tuple[str, str],
    path: Path,
    notes: list[str],
) -> Axis | None:
    for name, axis in zip(names, axes, strict=True):
        if axis is not None and axis.scale < 0:
            notes.append(
                f"'{path}': the {name} axis has a negative step ({axis.scale:g} {axis.units}), "
                f"i.e. runs backwards; the data are kept in stored order and |step| is used, so "
                "the solved rotation and transpose refer to the stored order"
            )
    first, second = axes
    if first is None:
        return second
    if second is not None and not math.isclose(abs(first.scale), abs(second.scale), rel_tol=1e-6):
        notes.append(
            f"'{path}': {space} steps differ ({names[0]} {abs(first.scale):g} {first.units}, "
            f"{names[1]} {abs(second.scale):g} {second.units}); using {names[0]}'s"
        )
    return first


def _scan(axis: Axis, path: Path) -> tuple[float, str]:
    units = axis.units.strip()
    if units not in _SCAN_UNITS:
        raise ValueError(
            f"unknown scan units {units!r} in '{path}'; understood: "
            f"{', '.join(map(repr, _SCAN_UNITS))}; pass scan_units= to override"
        )
    factor, ours = _SCAN_UNITS[units]
    return abs(axis.scale) * factor, ours


def _detector(
    axis: Axis, camera_length: float | None, path: Path, notes: list[str]
) -> tuple[float, str]:
    units = axis.units.strip()
    if units in _DETECTOR_UNITS:
        factor, ours = _DETECTOR_UNITS[units]
        return abs(axis.scale) * factor, ours
    if units in _CAMERA_LENGTH_UNITS:
        if camera_length is None:
            notes.append(
                f"'{path}': the detector pixel is a length ({abs(axis.scale):g} {units}) and the "
                "file gives no camera length, so the detector stays uncalibrated ('px'); pass "
                "camera_length=<mm> or detector_sampling=/detector_units="
            )
            return 1.0, "px"
        pixel_mm = abs(axis.scale) * _CAMERA_LENGTH_UNITS[units]
        return pixel_mm / camera_length * 1e3, "mrad"
    raise ValueError(
        f"unknown detector units {units!r} in '{path}'; understood: "
        f"{', '.join(map(repr, DETECTOR_UNIT_STRINGS))}; pass detector_units= to override"
    )
