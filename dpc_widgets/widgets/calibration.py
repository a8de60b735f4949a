"""The explorer's calibration fields (beam energy, detector pixel size) and the status notes on
units that are not known.

Pure parsing and text here; :class:`CalibrationFields` holds the two text fields (applied on
Enter or when the field loses focus) and the unit drop-down of the pixel size.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as w

from ..io import Datacube
from ..physics import unit_text
from .compat import set_tooltip

#: Units the detector pixel-size field may be typed in.
PIXEL_UNITS = ("mrad", "A^-1")
_STYLE = {"description_width": "105px"}


class CalibrationError(ValueError):
    """A typed calibration that cannot be used; the message names the field and the text."""


def parse_positive(text: str, field: str) -> float | None:
    """A typed positive, finite number; ``None`` for an empty field (unknown).

    Raises
    ------
    CalibrationError
        For text that is no number, or a number that is not positive and finite.
    """
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise CalibrationError(f"{field}: {text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise CalibrationError(f"{field} must be positive and finite, got {text!r}")
    return value


class CalibrationFields:
    """Beam energy (keV) and detector pixel size (mrad or 1/A) fields for one cube.

    Empty fields mean "unknown". :meth:`changes` reads them as :class:`~dpc_widgets.Datacube`
    calibration keywords (energy in eV). The drop-down gives the units of the typed pixel
    size: a number typed in 1/A makes the detector's units 1/A.

    Attributes
    ----------
    showing : bool
        True while :meth:`show` sets the fields.
    """

    showing = False

    def __init__(self, cube: Datacube) -> None:
        self.energy = w.Text(
            description="energy (keV)",
            placeholder="unknown",
            continuous_update=False,
            style=_STYLE,
            layout=w.Layout(width="100%"),
        )
        self.pixel_size = w.Text(
            description="det. pixel",
            placeholder="unknown",
            continuous_update=False,
            style=_STYLE,
            layout=w.Layout(flex="1 1 auto", width="auto"),
        )
        self.pixel_units = w.Dropdown(
            options=[(unit_text(units), units) for units in PIXEL_UNITS],
            layout=w.Layout(width="76px", flex="0 0 auto"),
        )
        self.energy.add_class("dpc-ctl-energy")
        self.pixel_size.add_class("dpc-ctl-pixel_size")
        self.pixel_units.add_class("dpc-ctl-pixel_units")
        set_tooltip(self.energy, "beam energy in keV (empty: unknown); sets the wavelength")
        set_tooltip(
            self.pixel_size,
            "detector pixel size in the units beside it (empty: unknown); the radii keep "
            "their pixels",
        )
        set_tooltip(self.pixel_units, "units of the typed detector pixel size")
        # the explorer shows it as its collapsible "Calibration" section (Controls.add_section)
        self.box = w.VBox([self.energy, w.HBox([self.pixel_size, self.pixel_units])])
        self.show(cube)

    def widgets(self) -> tuple[w.ValueWidget, ...]:
        """The three fields (observe their ``value``)."""
        return self.energy, self.pixel_size, self.pixel_units

    def show(self, cube: Datacube) -> None:
        """Show the calibration of ``cube`` (empty fields where it is unknown).

        :attr:`showing` is True meanwhile: the fields' observers ignore these changes (the
        fields pass through mixed states, e.g. new units beside the old pixel size).
        """
        self.showing = True
        try:
            self.energy.value = "" if cube.energy is None else f"{cube.energy / 1e3:.6g}"
            if cube.detector_units in PIXEL_UNITS:
                self.pixel_size.value = f"{cube.detector_sampling:.6g}"
                self.pixel_units.value = cube.detector_units
            else:
                self.pixel_size.value = ""
        finally:
            self.showing = False

    def changes(self, cube: Datacube) -> dict[str, Any]:
        """The calibration keywords the fields ask for that differ from ``cube``'s.

        An empty energy field is an unknown energy (``None``); an empty pixel-size field
        leaves the detector calibration as it is. Values equal to what :meth:`show` shows for
        ``cube`` count as unchanged (the fields show 6 significant digits).

        Raises
        ------
        CalibrationError
            For a typed value that is no positive, finite number.
        """
        out: dict[str, Any] = {}
        kev = parse_positive(self.energy.value, "energy (keV)")
        shown = None if cube.energy is None else float(f"{cube.energy / 1e3:.6g}")
        if kev != shown:
            out["energy"] = None if kev is None else kev * 1e3
        size = parse_positive(self.pixel_size.value, f"detector pixel ({self.pixel_units.value})")
        if size is not None:
            units = self.pixel_units.value
            same = units == cube.detector_units and size == float(f"{cube.detector_sampling:.6g}")
            if not same:
                out["detector_sampling"], out["detector_units"] = size, units
        return out


def units_notes(cube: Datacube) -> list[str]:
    """What the status line says about unknown calibrations of ``cube`` (empty: all known)."""
    notes = []
    unknown = []
    if cube.energy is None and cube.detector_units != "A^-1":
        unknown.append(("beam energy", "energy=... (eV)", "'energy (keV)'"))
    if cube.detector_units == "px":
        unknown.append(
            ("detector pixel size", "detector_sampling=..., detector_units='mrad'", "'det. pixel'")
        )
    if unknown:
        what, passed, fields = (" and ".join(parts) for parts in zip(*unknown, strict=True))
        notes.append(
            f"{what} unknown: CoM in px, phase in arbitrary units; pass {passed} "
            f"or type {'them' if len(unknown) > 1 else 'it'} in {fields}"
        )
    if cube.scan_units == "px":
        notes.append(
            "scan step unknown: phase in arbitrary units; pass scan_sampling=..., scan_units='A'"
        )
    return notes
