"""Detector geometry: pixel-exact agreement with the py4DSTEM tutorial's segment formula."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dpc_widgets import AnnularDetector, Datacube, SegmentedDetector, electron_wavelength

ENERGY = 200e3
WAVELENGTH = electron_wavelength(ENERGY)


def tutorial_masks(n: int, real_sampling: float, inner, outer, segments, rotation_deg):
    """The tutorial's construction, written out independently: angles from fftfreq, fftshift."""
    alpha_1d = np.fft.fftshift(np.fft.fftfreq(n, real_sampling)) * WAVELENGTH * 1e3  # mrad
    alpha_x, alpha_y = np.meshgrid(alpha_1d, alpha_1d, indexing="ij")
    alpha = np.sqrt(alpha_x**2 + alpha_y**2)
    # Deliberate difference: whole turns leave the offset in degrees, exactly, before radians
    # (the tutorial converts first; for |offset| >= 360 a boundary pixel can then flip).
    rotation_deg = math.fmod(rotation_deg, 360.0)
    theta = (np.arctan2(alpha_y, alpha_x) + np.deg2rad(rotation_deg)) % (2 * np.pi)
    segment = np.floor(segments * theta / (2 * np.pi))
    # Deliberate difference: theta = (angle + tiny negative rotation) % 2pi can round to exactly
    # 2pi, which the tutorial's formula labels N (in no mask at all); it belongs to segment N-1.
    segment = np.minimum(segment, segments - 1)
    ring = (alpha >= inner) & (alpha < outer)
    return np.stack([ring & (segment == k) for k in range(segments)]), alpha


def tutorial_cube(n: int, real_sampling: float) -> Datacube:
    pixel = WAVELENGTH / (n * real_sampling) * 1e3
    return Datacube(
        np.zeros((1, 1, n, n), np.float32),
        energy=ENERGY,
        detector_sampling=pixel,
        detector_units="mrad",
    )


def test_tutorial_geometry_is_pixel_exact():
    # 96x96 detector with 1.0595 mrad pixels: real-space sampling lambda / (n * pixel).
    real_sampling = WAVELENGTH / (96 * 1.0595e-3)
    cube = tutorial_cube(96, real_sampling)
    assert cube.detector_sampling == pytest.approx(1.0595)
    masks = SegmentedDetector(10, 25, 4, rotation=45 + 15).masks(cube)
    expected, _ = tutorial_masks(96, real_sampling, 10, 25, 4, 60.0)
    assert masks.dtype == bool and masks.shape == (4, 96, 96)
    np.testing.assert_array_equal(masks, expected)
    assert cube.origin == (48.0, 48.0)
    # Segments partition the annulus and are equally large for this symmetric case.
    assert (masks.sum(axis=0) <= 1).all()
    assert masks.sum() == ((expected.sum(0)) > 0).sum()


@settings(max_examples=150, deadline=None)
@given(
    n=st.sampled_from([32, 48, 63, 96]),
    segments=st.integers(1, 16),
    rotation=st.floats(-720, 720, allow_nan=False),
    inner_frac=st.floats(0, 0.9),
    width_frac=st.floats(0.02, 0.9),
)
def test_random_geometries_match_tutorial_formula(n, segments, rotation, inner_frac, width_frac):
    real_sampling = 0.25
    cube = tutorial_cube(n, real_sampling)
    max_radius = cube.detector_sampling * n / 2
    inner = inner_frac * max_radius
    outer = inner + width_frac * max_radius
    expected, alpha = tutorial_masks(n, real_sampling, inner, outer, segments, rotation)
    # Radii that sit (to rounding) exactly on a pixel are formula-equivalent but rounding-fragile.
    assume(np.abs(alpha - inner).min() > 1e-9 and np.abs(alpha - outer).min() > 1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        masks = SegmentedDetector(inner, outer, segments, rotation).masks(cube)
    np.testing.assert_array_equal(masks, expected)


@settings(max_examples=60, deadline=None)
@given(
    segments=st.integers(1, 16),
    rotation=st.floats(-360, 360, allow_nan=False),
    cx=st.floats(5, 18),
    cy=st.floats(5, 14),
)
def test_segments_partition_the_annulus_and_rotate(segments, rotation, cx, cy):
    cube = Datacube(np.zeros((1, 1, 24, 20)), detector_sampling=0.5, detector_units="mrad")
    det = SegmentedDetector(0.7, 2.4, segments, rotation, center=(cx, cy))
    masks = det.masks(cube)
    ring = AnnularDetector(0.7, 2.4, center=(cx, cy)).masks(cube)[0]
    np.testing.assert_array_equal(masks.sum(axis=0), ring)  # every ring pixel in one segment
    # Turning by exactly one segment relabels segment k as k+1.
    turned = SegmentedDetector(0.7, 2.4, segments, rotation + 360 / segments, center=(cx, cy))
    shifted = turned.masks(cube)
    agree = (np.roll(masks, 1, axis=0) == shifted).mean()
    assert agree > 0.99  # only boundary pixels may flip by rounding


def test_centroids_and_directions():
    cube = Datacube(np.zeros((1, 1, 33, 33)), detector_units="px")
    det = SegmentedDetector(3, 10, 4, rotation=45)
    cent = det.centroids(cube) - np.array(cube.origin)
    # rotation 45: segment 0 is centred on +x, segment 1 on +y, ...
    assert abs(cent[0, 1]) < 0.5  # half-open segments: one diagonal in, the other out
    assert cent[0, 0] > 5 and cent[2, 0] < -5 and cent[1, 1] > 5 and cent[3, 1] < -5
    np.testing.assert_array_equal(det.directions, [[1, 0], [0, 1], [-1, 0], [0, -1]])
    six = SegmentedDetector(3, 10, 6).directions
    np.testing.assert_allclose(six[3], [-1, 0])
    np.testing.assert_allclose(np.hypot(*six.T), 1)


def test_empty_segment_centroid_is_centre():
    cube = Datacube(np.zeros((1, 1, 8, 8)), detector_units="px")
    det = SegmentedDetector(0, 0.5, 4)  # only the centre pixel, in a single segment
    cent = det.centroids(cube)
    assert np.isfinite(cent).all()
    assert (det.masks(cube).sum(axis=(1, 2)) == [1, 0, 0, 0]).all()


def test_outer_beyond_detector_warns_and_clips():
    cube = Datacube(np.zeros((1, 1, 16, 16)), detector_sampling=2.0, detector_units="mrad")
    det = SegmentedDetector(2, 100, 4)
    with pytest.warns(RuntimeWarning, match="outer radius 100 mrad reaches beyond"):
        masks = det.masks(cube)
    assert masks.sum() == (AnnularDetector(2, math.inf).masks(cube)).sum()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"inner": 5, "outer": 5}, ValueError, "inner radius 5 must be smaller than outer"),
        ({"inner": 9, "outer": 2}, ValueError, "inner radius 9"),
        ({"inner": -1, "outer": 2}, ValueError, "inner radius must be a number >= 0, got -1"),
        ({"inner": float("nan"), "outer": 2}, ValueError, "nan"),
        ({"inner": "1", "outer": 2}, TypeError, "inner radius must be a real number"),
        ({"inner": 1, "outer": 2, "segments": 0}, ValueError, "segments must be between 1 and 64"),
        ({"inner": 1, "outer": 2, "segments": 2.5}, TypeError, "segments must be an integer"),
        ({"inner": 1, "outer": 2, "segments": True}, TypeError, "segments must be an integer"),
        ({"inner": 1, "outer": 2, "rotation": float("inf")}, ValueError, "rotation must be"),
        ({"inner": 1, "outer": 2, "center": (1,)}, TypeError, "center must be a pair"),
    ],
)
def test_bad_geometry(kwargs, error, match):
    with pytest.raises(error, match=match):
        SegmentedDetector(**kwargs)


def test_detectors_are_hashable_values():
    a = SegmentedDetector(1, 2, 4, 10)
    assert a == SegmentedDetector(1.0, 2.0, 4, 10.0) and hash(a) == hash(
        SegmentedDetector(1, 2, 4, 10)
    )
    assert a != SegmentedDetector(1, 2, 4, 11)
