"""Physical constants, the relativistic electron wavelength and calibration units.

This is a leaf module: pure functions of scalars, no imports from the rest of the package.

Units used throughout the package
---------------------------------
- Scan (real space): ``"A"`` (Angstrom), ``"nm"`` or ``"px"`` (uncalibrated scan steps).
- Detector (reciprocal space): ``"mrad"`` (scattering angle), ``"A^-1"`` (spatial frequency
  k = alpha / wavelength) or ``"px"`` (uncalibrated detector pixels).
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

PLANCK = 6.62607015e-34  # J s
ELECTRON_MASS = 9.1093837015e-31  # kg
ELEMENTARY_CHARGE = 1.602176634e-19  # C
SPEED_OF_LIGHT = 299792458.0  # m / s

SCAN_UNITS = ("A", "nm", "px")
DETECTOR_UNITS = ("mrad", "A^-1", "px")

_SCAN_TO_ANGSTROM = {"A": 1.0, "nm": 10.0}


def electron_wavelength(energy: float) -> float:
    """Relativistic de Broglie wavelength of an electron.

    Parameters
    ----------
    energy : float
        Kinetic energy in eV (e.g. ``200e3`` for 200 keV).

    Returns
    -------
    float
        Wavelength in Angstrom (0.02508 A at 200 keV).
    """
    energy = positive_finite(energy, "energy (eV)")
    e_joule = ELEMENTARY_CHARGE * energy
    rest = ELECTRON_MASS * SPEED_OF_LIGHT**2
    momentum = math.sqrt(2.0 * ELECTRON_MASS * e_joule * (1.0 + e_joule / (2.0 * rest)))
    return PLANCK / momentum * 1e10


# How each unit code is written for a reader: base symbol and power. Codes not listed (e.g.
# "counts") are shown as they are; "arb." (arbitrary units) stays "arb." at any power.
_UNIT_SYMBOLS = {
    "A": ("\u00c5", 1),
    "A^-1": ("\u00c5", -1),
    "1/A": ("\u00c5", -1),
    "nm": ("nm", 1),
    "nm^-1": ("nm", -1),
    "1/nm": ("nm", -1),
    "px": ("px", 1),
    "mrad": ("mrad", 1),
    "rad": ("rad", 1),
}
_SUPERSCRIPTS = str.maketrans(
    "-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
)


def unit_text(units: str, power: int = 1) -> str:
    """How ``units`` (raised to ``power``) is written in titles, axis labels and read-outs.

    The one place that turns the package's unit codes into typography: ``"A"`` is ``"Å"``,
    ``"A^-1"`` is ``"Å⁻¹"``, ``unit_text("A", -1)`` (a filter cut-off in 1/scan units) is also
    ``"Å⁻¹"``, ``unit_text("nm", 2)`` is ``"nm²"``. ``"mrad"``, ``"rad"``, ``"px"`` keep their
    names (``"px⁻¹"`` at power -1); ``"arb."`` stays ``"arb."``; any other text is returned as
    it is (at a power other than 1, followed by that power as a superscript).

    Parameters
    ----------
    units : str
        A unit code: a scan or detector unit (see the module docstring), ``"rad"``, ``"arb."``
        or any other text.
    power : int
        Nonzero integer exponent (default 1).

    Returns
    -------
    str
        The unit for display, with Unicode superscripts (no ``^``).

    Raises
    ------
    TypeError
        If ``units`` is not a string or ``power`` is not an integer (booleans are refused).
    ValueError
        If ``power`` is 0.
    """
    if not isinstance(units, str):
        raise TypeError(f"units must be a string, got {units!r}")
    if isinstance(power, bool) or not isinstance(power, Integral):
        raise TypeError(f"power must be an integer, got {power!r}")
    if power == 0:
        raise ValueError(f"power must be nonzero, got {power!r}")
    if units == "arb.":
        return units
    symbol, base = _UNIT_SYMBOLS.get(units, (units, 1))
    exponent = base * int(power)
    return symbol if exponent == 1 else symbol + superscript(exponent)


def superscript(number: int) -> str:
    """``number`` in Unicode superscript digits (``-3`` -> ``"⁻³"``), for units and powers of ten.

    Raises
    ------
    TypeError
        If ``number`` is not an integer (booleans are refused).
    """
    if isinstance(number, bool) or not isinstance(number, Integral):
        raise TypeError(f"superscript needs an integer, got {number!r}")
    return str(int(number)).translate(_SUPERSCRIPTS)


def check_scan_units(units: str) -> str:
    """Return ``units`` if it is a known scan unit, else raise ``ValueError`` naming it."""
    if units not in SCAN_UNITS:
        raise ValueError(f"unknown scan units {units!r}; expected one of {SCAN_UNITS}")
    return units


def check_detector_units(units: str) -> str:
    """Return ``units`` if it is a known detector unit, else raise ``ValueError`` naming it."""
    if units not in DETECTOR_UNITS:
        raise ValueError(f"unknown detector units {units!r}; expected one of {DETECTOR_UNITS}")
    return units


def scan_scale(sampling: float, units: str, to_units: str) -> float:
    """Size of one scan step, given as ``sampling`` in ``units``, expressed in ``to_units``.

    Raises
    ------
    ValueError
        For unknown units, or when converting between pixels and a physical unit.
    """
    check_scan_units(units)
    check_scan_units(to_units)
    if units == to_units:
        return float(sampling)
    if "px" in (units, to_units):
        raise ValueError(
            f"cannot convert scan sampling from {units!r} to {to_units!r}: "
            "the scan is not calibrated (give scan_sampling and scan_units)"
        )
    return float(sampling) * _SCAN_TO_ANGSTROM[units] / _SCAN_TO_ANGSTROM[to_units]


def detector_scale(
    sampling: float, units: str, to_units: str, energy: float | None = None
) -> float:
    """Size of one detector pixel, given as ``sampling`` in ``units``, expressed in ``to_units``.

    Conversions between ``"mrad"`` and ``"A^-1"`` use k = alpha / wavelength and need the beam
    ``energy`` in eV.

    Raises
    ------
    ValueError
        For unknown units, pixel <-> physical conversions, or a missing energy.
    """
    check_detector_units(units)
    check_detector_units(to_units)
    if units == to_units:
        return float(sampling)
    if "px" in (units, to_units):
        raise ValueError(
            f"cannot convert detector sampling from {units!r} to {to_units!r}: "
            "the detector is not calibrated (give detector_sampling and detector_units)"
        )
    if energy is None:
        raise ValueError(
            f"converting detector units {units!r} -> {to_units!r} needs the beam energy; "
            "pass energy=<eV> (e.g. 200e3)"
        )
    wavelength = electron_wavelength(energy)
    if units == "mrad":  # -> A^-1
        return float(sampling) * 1e-3 / wavelength
    return float(sampling) * wavelength * 1e3  # A^-1 -> mrad


def positive_finite(value: float, name: str) -> float:
    """``value`` as a float, checked to be a positive, finite real number.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (strings and booleans are refused, not parsed).
    ValueError
        If ``value`` is zero, negative, NaN or infinite; the message names ``name``.
    """
    if isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(out) or out <= 0:
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return out


def integer_at_least(value: int, name: str, minimum: int) -> int:
    """``value`` as an int, checked to be an integer (not a bool) of at least ``minimum``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer; the message names ``name``.
    ValueError
        If ``value < minimum``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


#: Calibrations (scan step, detector pixel) outside this range overflow or underflow the
#: moments, curl and Fourier grids in float64: refused at the door.
CALIBRATION_RANGE = (1e-30, 1e30)


def finite_real(value: float, name: str) -> float:
    """``value`` as a float, checked to be a finite real number (strings and bools refused).

    Raises
    ------
    TypeError
        If ``value`` is not a real number; the message names ``name``.
    ValueError
        If it is NaN or infinite.
    """
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


def non_negative(value: float, name: str, *, allow_inf: bool = False) -> float:
    """``value`` as a float, checked to be a real number ``>= 0`` (``inf`` with ``allow_inf``).

    Raises
    ------
    TypeError
        If ``value`` is not a real number (strings and booleans are refused, not parsed).
    ValueError
        If it is negative, NaN, or infinite without ``allow_inf``; the message names ``name``.
    """
    if allow_inf and isinstance(value, (int, float, np.floating)) and value == math.inf:
        return math.inf
    out = finite_real(value, name)
    if out < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return out


def wrap_degrees(value: float, name: str = "angle (deg)") -> float:
    """A finite angle in degrees, wrapped by whole turns into ``[-180, 180]``.

    Values already in that range are returned unchanged (180 stays 180); others are reduced
    modulo 360 in degrees, exactly (``math.fmod``), before any conversion to radians, so
    ``1e17`` degrees keeps its precision.

    Raises
    ------
    TypeError, ValueError
        As :func:`finite_real`.
    """
    out = finite_real(value, name)
    if -180.0 <= out <= 180.0:
        return out
    out = math.fmod(out, 360.0)  # exact; in (-360, 360)
    if out > 180.0:
        out -= 360.0
    elif out < -180.0:
        out += 360.0
    return out


def calibration(value: float, name: str) -> float:
    """A calibration (scan step or detector pixel size): positive, finite and within
    :data:`CALIBRATION_RANGE`, where the arithmetic downstream stays finite.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is not positive and finite, or outside :data:`CALIBRATION_RANGE`; the message
        names ``name`` and the value.
    """
    out = positive_finite(value, name)
    low, high = CALIBRATION_RANGE
    if not low <= out <= high:
        raise ValueError(
            f"{name} must lie between {low:g} and {high:g} (a pixel size in its units), "
            f"got {value!r}"
        )
    return out
