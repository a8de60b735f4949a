"""``physics``: electron wavelength against independent formulas and literature, unit scales."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpc_widgets.physics import (
    check_detector_units,
    check_scan_units,
    detector_scale,
    electron_wavelength,
    scan_scale,
)

# CODATA 2018 values, written here independently of the package.
H = 6.62607015e-34  # Planck constant, J s
M0 = 9.1093837015e-31  # electron rest mass, kg
QE = 1.602176634e-19  # elementary charge, C
C = 299792458.0  # speed of light, m/s


def wavelength_from_energies(energy_ev: float) -> float:
    """lambda = h c / sqrt(E_k (E_k + 2 m0 c^2)), in Angstrom (another form of the same law)."""
    kinetic = energy_ev * QE
    return H * C / math.sqrt(kinetic * (kinetic + 2 * M0 * C**2)) * 1e10


@pytest.mark.parametrize("energy", [60e3, 80e3, 100e3, 200e3, 300e3, 1e6])
def test_wavelength_matches_independent_formula(energy):
    assert electron_wavelength(energy) == pytest.approx(wavelength_from_energies(energy), rel=1e-12)


@pytest.mark.parametrize(
    ("energy", "angstrom"), [(100e3, 0.03701), (200e3, 0.02508), (300e3, 0.01969)]
)
def test_wavelength_literature_values(energy, angstrom):
    assert electron_wavelength(energy) == pytest.approx(angstrom, abs=1e-5)


def test_wavelength_200kev_digits():
    assert electron_wavelength(200e3) == pytest.approx(0.025079, abs=5e-7)
    non_relativistic = H / math.sqrt(2 * M0 * 200e3 * QE) * 1e10
    assert non_relativistic - electron_wavelength(200e3) > 1e-3  # the correction matters


@pytest.mark.parametrize("energy", [0, -200e3, float("nan"), float("inf")])
def test_bad_energy_values(energy):
    with pytest.raises(ValueError, match=r"energy \(eV\) must be positive and finite"):
        electron_wavelength(energy)


@pytest.mark.parametrize("energy", ["200e3", None, True, [200e3], 2j])
def test_bad_energy_types(energy):
    with pytest.raises(TypeError, match=r"energy \(eV\) must be a real number"):
        electron_wavelength(energy)


# --------------------------------------------------------------------------- unit scales
def test_detector_scale_mrad_to_inverse_angstrom():
    wavelength = wavelength_from_energies(200e3)
    k = detector_scale(1.0595, "mrad", "A^-1", energy=200e3)
    assert k == pytest.approx(1.0595e-3 / wavelength, rel=1e-12)  # k = alpha / lambda
    assert detector_scale(k, "A^-1", "mrad", energy=200e3) == pytest.approx(1.0595, rel=1e-12)


@given(
    sampling=st.floats(1e-6, 1e3, allow_nan=False),
    energy=st.floats(1e3, 3e6, allow_nan=False),
)
def test_detector_scale_round_trip(sampling, energy):
    there = detector_scale(sampling, "mrad", "A^-1", energy=energy)
    assert detector_scale(there, "A^-1", "mrad", energy=energy) == pytest.approx(
        sampling, rel=1e-12
    )


@pytest.mark.parametrize("units", ["mrad", "A^-1", "px"])
def test_same_units_need_nothing(units):
    assert detector_scale(0.7, units, units) == 0.7


@pytest.mark.parametrize(("src", "dst"), [("px", "mrad"), ("mrad", "px"), ("px", "A^-1")])
def test_detector_pixel_conversions_raise(src, dst):
    with pytest.raises(
        ValueError, match=re.escape(f"from '{src}' to '{dst}'") + ".*not calibrated"
    ):
        detector_scale(1.0, src, dst, energy=200e3)


def test_detector_conversion_needs_energy():
    with pytest.raises(ValueError, match=r"'mrad' -> 'A\^-1' needs the beam energy"):
        detector_scale(1.0, "mrad", "A^-1")
    with pytest.raises(ValueError, match=r"energy \(eV\) must be positive"):
        detector_scale(1.0, "A^-1", "mrad", energy=-5)


def test_scan_scale():
    assert scan_scale(0.5, "nm", "A") == pytest.approx(5.0)
    assert scan_scale(5.0, "A", "nm") == pytest.approx(0.5)
    assert scan_scale(3.0, "px", "px") == 3.0
    with pytest.raises(ValueError, match=r"from 'px' to 'A'.*not calibrated"):
        scan_scale(1.0, "px", "A")


def test_unit_checks():
    assert check_scan_units("nm") == "nm"
    assert check_detector_units("A^-1") == "A^-1"
    with pytest.raises(ValueError, match=r"unknown scan units 'mrad'"):
        check_scan_units("mrad")
    with pytest.raises(ValueError, match=r"unknown detector units 'nm'"):
        check_detector_units("nm")
    with pytest.raises(ValueError, match=r"unknown detector units 'Mrad'"):
        detector_scale(1.0, "Mrad", "mrad")
