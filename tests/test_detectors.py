"""Detector geometry: pixel-exact agreement with the py4DSTEM tutorial's segment formula."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dpc_widgets import AnnularDetector, Datacube, SegmentedDetector, electron_wavelength
from dpc_widgets.detectors import areas_differ

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
    masks = SegmentedDetector(10, 25, 4, rotation=45 + 15, weighting="binary").masks(cube)
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
        masks = SegmentedDetector(inner, outer, segments, rotation, weighting="binary").masks(cube)
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
    for weighting in ("binary", "area"):
        det = SegmentedDetector(0.7, 2.4, segments, rotation, center=(cx, cy), weighting=weighting)
        masks = det.masks(cube)
        ring = AnnularDetector(0.7, 2.4, center=(cx, cy), weighting=weighting).masks(cube)[0]
        np.testing.assert_array_equal(masks.sum(axis=0), ring)  # the ring's weight, split
    det = SegmentedDetector(0.7, 2.4, segments, rotation, center=(cx, cy), weighting="binary")
    masks = det.masks(cube)
    # Turning by exactly one segment relabels segment k as k+1.
    turned = SegmentedDetector(
        0.7, 2.4, segments, rotation + 360 / segments, center=(cx, cy), weighting="binary"
    )
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
    det = SegmentedDetector(0, 0.5, 4, weighting="binary")  # the centre pixel, one segment
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
        ({"inner": 1, "outer": 2, "weighting": "pixel"}, ValueError, "weighting must be one of"),
        ({"inner": 1, "outer": 2, "weighting": None}, ValueError, "got None"),
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
    assert a.weighting == "area" and a != SegmentedDetector(1, 2, 4, 10, weighting="binary")
    assert hash(a) != hash(SegmentedDetector(1, 2, 4, 10, weighting="binary"))


# ---------------------------------------------------------------------- area weighting
OFF_GRID = [(48.0036, 48.0010), (47.5, 48.25), (48.3, 47.71)]


@pytest.mark.parametrize("center", OFF_GRID)
@pytest.mark.parametrize(("inner", "outer"), [(0.0, 9.3), (10.0, 25.1), (3.3, 40.0)])
def test_area_weights_of_an_annulus_sum_to_its_exact_area(center, inner, outer):
    cube = Datacube(np.zeros((1, 1, 96, 96)), origin=center)
    exact = math.pi * (outer**2 - inner**2)
    ring = AnnularDetector(inner, outer, weighting="area")
    assert ring.areas(cube)[0] == pytest.approx(exact, rel=1e-3)
    segments = SegmentedDetector(inner, outer, 6, 17.0, weighting="area")
    # each segment to a few sub-samples (1/64 px) along its edges
    np.testing.assert_allclose(segments.areas(cube), exact / 6, rtol=0, atol=0.25)
    masks = segments.masks(cube)
    assert masks.dtype == np.float64 and masks.min() >= 0 and masks.max() <= 1
    counts = segments.counts(cube)  # integer sub-sample counts, 0..64
    assert counts.dtype == np.int16 and counts.max() == segments.subsample**2 == 64
    np.testing.assert_array_equal(masks, counts / 64.0)


def test_a_tiny_centre_shift_moves_area_weights_by_a_tiny_amount():
    data = np.random.default_rng(0).integers(0, 1000, (1, 1, 96, 96)).astype(np.uint16)
    pattern = data[0, 0].astype(np.float64)

    def sums(center, weighting):
        det = SegmentedDetector(10.0, 25.1, 4, 0.0, center=center, weighting=weighting)
        return np.einsum("ij,nij->n", pattern, det.masks(Datacube(data)).astype(np.float64))

    for weighting, bound in (("area", 0.2), ("binary", None)):
        a, b = sums((48.0, 48.0), weighting), sums((48.0036, 48.0010), weighting)
        change = np.abs(a - b).max() / 1000  # in pixels of the largest value
        if bound is not None:
            assert change < bound  # continuous: a few sub-samples of the edge pixels
        else:
            assert change > 5  # whole lines of pixels flip between segments
    areas = {
        w: SegmentedDetector(10.0, 25.1, 4, weighting=w).areas(
            Datacube(data, origin=(48.0036, 48.0010))
        )
        for w in ("binary", "area")
    }
    assert np.ptp(areas["binary"]) >= 20  # e.g. 404 / 421 / 438 / 419 pixels
    assert areas_differ(areas["binary"]) and not areas_differ(areas["area"])
    assert np.ptp(areas["area"]) < 0.1


def test_segment_weights_refuse_other_subsamples():
    from dpc_widgets.detectors import segment_weights

    for bad in (3, 0, 32, True, 8.0 + 0.5):
        with pytest.raises(ValueError, match=f"subsample must be one of .* got {bad!r}"):
            segment_weights([1.0], [2.0], 1.0, 0.5, 3.0, 4, 0.0, bad)


def test_weighted_centroids_are_the_weighted_mean_position():
    cube = Datacube(np.zeros((1, 1, 33, 31)), origin=(16.2, 15.37))
    det = SegmentedDetector(3, 10, 5, 12.0)
    masks = det.masks(cube)
    qx, qy = np.meshgrid(np.arange(33), np.arange(31), indexing="ij")
    expected = [[(qx * m).sum() / m.sum(), (qy * m).sum() / m.sum()] for m in masks]
    np.testing.assert_allclose(det.centroids(cube), expected, rtol=1e-12)
    binary = SegmentedDetector(3, 10, 5, 12.0, weighting="binary")
    masks = binary.masks(cube)
    expected = [[qx[m].mean(), qy[m].mean()] for m in masks]
    np.testing.assert_allclose(binary.centroids(cube), expected, rtol=1e-12)
