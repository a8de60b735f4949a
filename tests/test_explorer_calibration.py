"""The explorer's default pixelated-CoM region, its status notes on the region and on unknown
units, and the calibration fields that recalibrate live (and DPC.recalibrate under them)."""

from __future__ import annotations

import dataclasses
import html
import re

import numpy as np
import pytest

import dpc_widgets
from dpc_widgets import Datacube, load
from dpc_widgets.core import DPC
from dpc_widgets.widgets import Explorer
from dpc_widgets.widgets.calibration import CalibrationError, parse_positive
from dpc_widgets.widgets.settings import COM_DISC_FACTOR, default_com_region, initial_settings

DISC_RADIUS = 14.0  # pixels


@pytest.fixture(scope="module")
def sim():
    return dpc_widgets.simulate((16, 16), (48, 48), rotation=25.0, seed=1)


@pytest.fixture(scope="module")
def disc_path(tmp_path_factory):
    """An uncalibrated .npy file with a bright disc of radius 14 px off the detector centre."""
    i, j = np.indices((96, 96))
    disc = np.hypot(i - 40.3, j - 55.7) <= DISC_RADIUS
    rng = np.random.default_rng(3)
    data = (rng.random((12, 10, 96, 96)) * 20 + 500 * disc).astype(np.float32)
    path = tmp_path_factory.mktemp("data") / "disc.npy"
    np.save(path, data)
    return path


def status(ex: Explorer) -> str:
    """The status line's text (HTML entities decoded)."""
    return html.unescape(ex.status.value)


def uncalibrated_energy(sim) -> Datacube:
    """The simulated cube (mrad detector, scan in A) without its beam energy."""
    return sim.cube.with_calibration(energy=None)


# ---------------------------------------------------------------------- the default region
def test_a_loaded_file_bounds_the_pixelated_com_by_its_disc(disc_path):
    cube = load(disc_path)
    region = default_com_region(cube)
    assert region["com_mask"] is True and region["com_inner"] == 0.0
    expected = COM_DISC_FACTOR * cube.disc.radius * cube.detector_sampling
    assert abs(region["com_outer"] - expected) <= 0.05  # whole slider steps (0.1 px)
    assert abs(cube.disc.radius - DISC_RADIUS) < 1.0
    ex = Explorer(disc_path, com_source="pixelated")
    settings = ex.settings
    assert settings.com_mask and settings.com_inner == 0.0
    assert settings.com_outer == region["com_outer"]
    assert ex.com_range.value == (0.0, region["com_outer"]) and not ex.com_range.disabled
    assert ex.com_mask.description == "CoM mask (off: whole detector)"  # one click away
    kwargs = settings.run_kwargs()
    assert (kwargs["com_inner"], kwargs["com_outer"]) == (0.0, region["com_outer"])


def test_an_array_keeps_the_whole_detector(sim):
    assert default_com_region(sim.cube) == {}
    settings = Explorer(sim.cube, com_source="pixelated").settings
    assert not settings.com_mask  # the slider shows its top, the CoM takes every pixel
    assert settings.run_kwargs()["com_outer"] is None


def test_given_values_win_over_the_default_region(disc_path):
    cube = load(disc_path)
    settings = initial_settings(cube, cube.sample_mean_pattern, {"com_mask": False})
    assert not settings.com_mask
    settings = initial_settings(cube, cube.sample_mean_pattern, {"com_outer": 9.0})
    assert settings.com_mask and settings.com_outer == 9.0


# ---------------------------------------------------------------------- status texts
def test_status_names_the_region_and_the_whole_detector_is_one_click(disc_path):
    ex = Explorer(disc_path, com_source="pixelated")
    outer = ex.settings.com_outer
    radius = ex.dpc.cube.disc.radius
    assert f"pixelated CoM within {outer / radius:.3g} disc radii (0-{outer:.4g} px)" in (
        status(ex)
    )
    masked = ex.results.com
    ex.com_mask.value = False
    assert "pixelated CoM over the whole detector" in status(ex)
    whole = ex.dpc.com(units="px")
    np.testing.assert_array_equal(ex.results.com, whole)
    assert not np.array_equal(masked, whole)
    ex.com_source.value = "segmented"
    assert "pixelated CoM" not in status(ex)


def test_status_says_which_calibration_is_unknown_and_what_to_pass(disc_path, sim):
    ex = Explorer(disc_path)
    text = status(ex)
    assert "beam energy and detector pixel size unknown: CoM in px, phase in arbitrary units" in (
        text
    )
    assert "energy=... (eV) and detector_sampling=..., detector_units='mrad'" in text
    assert "scan step unknown: phase in arbitrary units; pass scan_sampling=..." in text
    ex = Explorer(uncalibrated_energy(sim), com_source="pixelated")
    text = status(ex)
    assert "beam energy unknown: CoM in px, phase in arbitrary units; pass energy=... (eV) " in (
        text
    )
    assert "type it in 'energy (keV)'" in text
    assert "pixel size unknown" not in text and "scan step unknown" not in text
    assert "unknown" not in status(Explorer(sim.cube))


# ---------------------------------------------------------------------- live recalibration
def test_typing_an_energy_recalibrates_and_keeps_the_detector_cache(sim):
    ex = Explorer(uncalibrated_energy(sim), com_source="pixelated")
    assert ex.calibration.energy.value == "" and ex.calibration.pixel_units.value == "mrad"
    assert ex.calibration.pixel_size.value == f"{sim.cube.detector_sampling:.6g}"
    assert (ex.results.com_units, ex.results.phase_units) == ("px", "arb.")
    ex.dpc.build_cache(ex.dpc.origin, ex.settings.cache_reach())
    engine = ex.dpc._engine
    mean = ex.dpc.mean_pattern()
    ex.calibration.energy.value = "200"  # keV
    assert ex.dpc.cube.energy == 200e3
    assert ex.dpc._engine is engine and ex.dpc.mean_pattern() is mean  # no pass over the data
    assert (ex.results.com_units, ex.results.phase_units) == ("A^-1", "rad")
    reference = DPC(sim.cube, progress=False)
    expected = reference.run(ex.settings.detector(), **ex.settings.run_kwargs())
    np.testing.assert_allclose(ex.results.phase, expected.phase, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ex.results.com, expected.com, rtol=1e-9, atol=1e-15)
    assert "unknown" not in status(ex) and "dpc-status-ok" in status(ex)
    assert "cube = cube.with_calibration(energy=200000.0)" in ex.code()
    ex.calibration.energy.value = ""  # back to unknown
    assert ex.dpc.cube.energy is None and ex.results.com_units == "px"


def test_typing_a_pixel_size_moves_the_radii_units_and_keeps_their_pixels(disc_path):
    ex = Explorer(disc_path, com_source="pixelated")
    before = ex.settings
    images = ex.results.segment_images
    with ex.hold():
        ex.calibration.pixel_size.value = "2"  # mrad per pixel
        ex.calibration.energy.value = "300"
    cube = ex.dpc.cube
    assert (cube.detector_sampling, cube.detector_units, cube.energy) == (2.0, "mrad", 300e3)
    after = ex.settings
    assert ex.inner.description == "inner (mrad)"
    assert ex.plots.profile.axes[0].label == "radius (mrad)"
    for name in ("inner", "outer", "com_outer"):
        assert getattr(after, name) == pytest.approx(2 * getattr(before, name)), name
    np.testing.assert_array_equal(ex.results.segment_images, images)  # the same pixels
    assert ex.results.com_units == "A^-1"
    assert ex.view.detector_units == "mrad" and ex.view.detector_sampling == 2.0
    disc = 2.0 * cube.disc.radius  # mrad
    region = f"within {after.com_outer / disc:.3g} disc radii (0-{after.com_outer:.4g} mrad)"
    assert region in status(ex)
    assert "pixel size unknown" not in status(ex)


def test_recalibrate_from_python_shows_the_new_calibration_in_the_fields(sim):
    ex = Explorer(sim.cube)
    k_pixel = sim.cube.detector_pixel_size("A^-1")
    ex.recalibrate(detector_sampling=k_pixel, detector_units="A^-1", energy=None)
    cube = ex.dpc.cube
    assert (cube.detector_sampling, cube.detector_units, cube.energy) == (k_pixel, "A^-1", None)
    fields = ex.calibration
    assert (fields.pixel_size.value, fields.pixel_units.value) == (f"{k_pixel:.6g}", "A^-1")
    assert fields.energy.value == ""
    assert ex.inner.description == "inner (\u00c5\u207b\u00b9)"
    assert ex.view.detector_units == "\u00c5\u207b\u00b9"  # the units as the page writes them
    assert ex.plots.profile.axes[0].label == "radius (\u00c5\u207b\u00b9)"
    assert "unknown" not in status(ex)  # 1/A needs no energy
    with pytest.raises(ValueError, match="detector_sampling must be positive"):
        ex.recalibrate(detector_sampling=0.0)
    assert ex.dpc.cube is cube


@pytest.mark.parametrize(
    "field, text, match",
    [
        ("energy", "-200", "energy \\(keV\\) must be positive and finite, got '-200'"),
        ("energy", "0", "must be positive and finite, got '0'"),
        ("energy", "nan", "must be positive and finite, got 'nan'"),
        ("energy", "inf", "must be positive and finite, got 'inf'"),
        ("energy", "200 kV", "energy \\(keV\\): '200 kV' is not a number"),
        ("pixel_size", "-1", "detector pixel \\(mrad\\) must be positive and finite"),
        ("pixel_size", "1e999", "must be positive and finite, got '1e999'"),
    ],
)
def test_bad_typed_calibration_goes_to_the_status_and_is_not_applied(sim, field, text, match):
    ex = Explorer(sim.cube)
    before, result = ex.dpc.cube.calibration, ex.results
    getattr(ex.calibration, field).value = text
    assert "dpc-status-error" in status(ex)
    assert "calibration not applied" in status(ex)
    assert re.search(match, status(ex))
    assert ex.dpc.cube.calibration == before and ex.results is result
    with pytest.raises(CalibrationError, match=match):
        parse_positive(text, "energy (keV)" if field == "energy" else "detector pixel (mrad)")


# ---------------------------------------------------------------------- DPC.recalibrate
def test_recalibrate_keeps_pixel_caches_only_where_they_do_not_change(sim):
    cube = uncalibrated_energy(sim)
    dpc = DPC(cube, progress=False)
    detector = dpc_widgets.SegmentedDetector(5.0, 16.0, 4)
    dpc.run(detector, com_source="pixelated")
    dpc.build_cache(dpc.origin, 16.0)
    engine, images, com_px = dpc._engine, dpc.segment_images(detector), dpc.com()
    dpc.recalibrate(energy=200e3)
    assert dpc.cube.energy == 200e3 and dpc.cube.data is cube.data
    assert dpc._engine is engine and dpc.segment_images(detector) is images
    assert dpc.com() is com_px
    result = dpc.run(detector, com_source="pixelated")
    assert result.phase_units == "rad"
    np.testing.assert_allclose(
        result.com, DPC(sim.cube, progress=False).com(units="A^-1"), rtol=1e-12
    )
    dpc.recalibrate(detector_sampling=2 * cube.detector_sampling)
    assert dpc._engine is None  # radii in detector units moved: rebuilt on the next run
    assert cube.energy is None  # the input cube is unchanged
    with pytest.raises(TypeError, match="with_calibration\\(\\) takes only"):
        dpc.recalibrate(origin=(1, 1))
    with pytest.raises(ValueError, match="energy \\(eV\\) must be positive and finite"):
        dpc.recalibrate(energy=-1.0)
    assert dpc.cube.energy == 200e3  # nothing changed


def test_with_calibration_keeps_the_found_disc(disc_path):
    cube = load(disc_path)
    other = cube.with_calibration(detector_sampling=2.0, detector_units="mrad")
    assert other.disc is cube.disc and other.origin == cube.origin
    assert other.calibration["detector_units"] == "mrad" and cube.detector_units == "px"
    assert dataclasses.replace(cube, energy=1e5).disc is None  # why with_calibration exists


def test_loading_new_data_shows_its_calibration(sim, disc_path):
    ex = Explorer(sim.cube)
    assert ex.calibration.energy.value == "200"
    ex.load(disc_path)
    fields = ex.calibration
    assert (fields.energy.value, fields.pixel_size.value) == ("", "")
    assert ex.dpc.cube.calibration == load(disc_path).calibration  # not applied from the fields
    assert "beam energy and detector pixel size unknown" in status(ex)
