"""The synthetic 4D-STEM generator: calibrations, noise, periodicity and the CoM identities."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from dpc_widgets.physics import electron_wavelength
from dpc_widgets.simulate import SimulatedData, simulate


@pytest.fixture(scope="module")
def clean() -> SimulatedData:
    return simulate()


def pixel_com(data: np.ndarray) -> np.ndarray:
    """CoM (2, Rx, Ry) in pixels from the centre (Qx // 2, Qy // 2), explicit formula."""
    data = np.asarray(data, dtype=np.float64)
    qx, qy = data.shape[-2:]
    ix, iy = np.meshgrid(np.arange(qx) - qx // 2, np.arange(qy) - qy // 2, indexing="ij")
    total = data.sum((-2, -1))
    return np.stack([(data * ix).sum((-2, -1)) / total, (data * iy).sum((-2, -1)) / total])


def spectral_gradient(image: np.ndarray, step: float) -> np.ndarray:
    """Exact gradient (2, Rx, Ry) of a periodic band-limited image, per unit of ``step``."""
    spectrum = np.fft.fft2(image)
    kx = np.fft.fftfreq(image.shape[0], step)[:, None]
    ky = np.fft.fftfreq(image.shape[1], step)[None, :]
    return np.stack([np.fft.ifft2(2j * np.pi * k * spectrum).real for k in (kx, ky)])


def rotation_matrix(t_deg: float) -> np.ndarray:
    t = math.radians(t_deg)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def test_default_shapes_dtype_and_calibrations(clean):
    cube = clean.cube
    assert cube.shape == (32, 32, 96, 96)
    assert cube.dtype == np.float32
    wavelength = electron_wavelength(200e3)
    assert clean.cells == (2, 2)
    assert cube.scan_units == "A" and cube.detector_units == "mrad"
    assert cube.energy == 200e3
    assert cube.scan_sampling == pytest.approx(2 * 3.905 / 32)
    dx = clean.object_sampling
    assert dx == pytest.approx(cube.scan_sampling)  # oversampling 1
    assert cube.detector_sampling == pytest.approx(wavelength / (96 * dx) * 1e3)
    assert cube.detector_sampling == pytest.approx(1.0704, abs=1e-4)  # tutorial: 1.0595
    assert cube.detector_pixel_size("A^-1") == pytest.approx(1 / (96 * dx))
    assert cube.origin == (48.0, 48.0)
    assert clean.scan_nyquist_ok
    # Noiseless patterns are normalised.
    np.testing.assert_allclose(cube.data.sum((-2, -1)), 1.0, rtol=1e-5)
    assert clean.phase.shape == clean.phase_blurred.shape == (32, 32)
    assert clean.com.shape == (2, 32, 32)


def test_object_and_probe_ground_truth(clean):
    phase = clean.phase
    # Positive phase, peak max_phase on the Sr column at the origin of each unit cell.
    assert phase.min() > 0 and phase.max() == pytest.approx(0.5)
    assert np.unravel_index(np.argmax(phase), phase.shape) == (0, 0)
    assert phase[0, 0] > phase[8, 8] > phase[8, 0] > phase[4, 4]  # Sr > Ti-O > O > empty
    assert clean.interaction_constant == pytest.approx(7.2884e-4, rel=1e-4)  # rad / (V A)
    np.testing.assert_allclose(clean.potential * clean.interaction_constant, clean.object_phase)
    probe = clean.probe
    assert probe.shape == (96, 96)
    assert (np.abs(probe) ** 2).sum() == pytest.approx(1.0)
    assert np.unravel_index(np.argmax(np.abs(probe)), probe.shape) == (48, 48)
    assert np.abs(probe.imag).max() < 1e-12 * np.abs(probe).max()
    # The bright-field disc: |k| < alpha / lambda in the probe's spectrum.
    aperture = np.abs(np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(probe)))) > 1e-6
    radius = math.sqrt(aperture.sum() / math.pi) * clean.detector_sampling
    assert radius == pytest.approx(20.0, rel=0.02)


def test_phase_blurred_is_the_probe_weighted_mean_of_the_phase(clean):
    intensity = np.abs(clean.probe) ** 2
    n = intensity.shape[0]
    window = np.arange(n) - n // 2
    for sx, sy in [(0, 0), (5, 11), (31, 17)]:
        local = np.take(
            np.take(clean.object_phase, sx + window, axis=0, mode="wrap"),
            sy + window,
            axis=1,
            mode="wrap",
        )
        assert clean.phase_blurred[sx, sy] == pytest.approx((intensity * local).sum(), rel=1e-10)


def test_frozen_result(clean):
    with pytest.raises(dataclasses.FrozenInstanceError):
        clean.rotation = 3.0  # type: ignore[misc]


def test_other_sizes_and_rectangular_scans():
    data = simulate((48, 32), (64, 64), oversampling=2, convergence=15.0)
    assert data.cube.shape == (48, 32, 64, 64)
    assert data.cells == (3, 2)
    step = 3 * 3.905 / 48
    assert data.cube.scan_sampling == pytest.approx(step)
    assert data.object_sampling == pytest.approx(step / 2)
    assert data.object_phase.shape == (96, 64)
    np.testing.assert_array_equal(data.phase, data.object_phase[::2, ::2])
    assert data.cube.detector_sampling == pytest.approx(data.wavelength / (64 * step / 2) * 1e3)
    assert simulate((8, 8), (64, 64), cells=3, convergence=5.0).scan_nyquist_ok is False


def test_periodic_field_of_view(clean):
    data = clean.cube.data
    # 16 scan steps are one unit cell: the scan repeats exactly (up to float rounding).
    np.testing.assert_allclose(data[16:], data[:16], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(data[:, 16:], data[:, :16], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(clean.phase_blurred[16:], clean.phase_blurred[:16], rtol=1e-9)
    # A field of view twice as large (same step and detector) tiles the small one seamlessly.
    big = simulate((64, 64), (96, 96), cells=4)
    assert big.cube.scan_sampling == pytest.approx(clean.cube.scan_sampling)
    np.testing.assert_allclose(big.cube.data[32:, 32:], data, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(big.phase_blurred[:32, 32:], clean.phase_blurred, rtol=1e-9)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"scan_shape": (48, 32), "detector_shape": (64, 64), "oversampling": 2}],
    ids=["default", "rect-oversampled"],
)
def test_com_is_the_gradient_of_the_blurred_phase(kwargs, clean):
    data = clean if not kwargs else simulate(**kwargs)
    cube = data.cube
    com = pixel_com(cube.data) * cube.detector_pixel_size("A^-1")  # 1/A
    expected = spectral_gradient(data.phase_blurred, cube.scan_sampling) / (2 * math.pi)
    corr = np.corrcoef(com.ravel(), expected.ravel())[0, 1]
    slope = (com * expected).sum() / (expected * expected).sum()
    assert corr > 0.999, corr
    assert slope == pytest.approx(1.0, abs=2e-3)
    # The stored ground-truth CoM is that of the (here unrotated) noiseless patterns.
    np.testing.assert_allclose(data.com, com, atol=1e-6 * np.abs(com).max())


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("rotation", [15.0, -40.0, 120.0])
def test_measured_com_rotated_back_is_the_true_com(rotation, transpose):
    data = simulate((16, 16), (64, 64), rotation=rotation, transpose=transpose)
    assert data.rotation == rotation and data.transpose == transpose
    measured = pixel_com(data.cube.data) * data.cube.detector_pixel_size("A^-1")
    if transpose:
        measured = measured[::-1]
    true = data.com
    # Least-squares angle t with true = R_t measured.
    cross = (measured[0] * true[1] - measured[1] * true[0]).sum()
    dot = (measured * true).sum()
    fitted = math.degrees(math.atan2(cross, dot))
    assert abs((fitted - rotation + 180) % 360 - 180) < 0.5, fitted
    back = np.einsum("ij,jxy->ixy", rotation_matrix(rotation), measured)
    np.testing.assert_allclose(back, true, atol=1e-4 * np.abs(true).max())


def test_rotation_moves_pixels_as_documented():
    """I_meas(q) = I_true(R_t S q) about the centre: for t = 90 an exact pixel permutation."""
    true = simulate((8, 8), (32, 32), cells=1).cube.data
    c = 16
    q = np.arange(32) - c
    qx, qy = np.meshgrid(q, q, indexing="ij")
    for transpose in (False, True):
        sx, sy = (qy, qx) if transpose else (qx, qy)
        ux, uy = -sy + c, sx + c  # R_90 S q
        inside = (ux >= 0) & (ux < 32) & (uy >= 0) & (uy < 32)
        measured = simulate((8, 8), (32, 32), cells=1, rotation=90.0, transpose=transpose).cube.data
        kept = measured[..., inside]
        expected = true[..., ux[inside], uy[inside]]
        # Intensity rotated off the detector is lost: compare the kept pixels' distributions.
        kept = kept / kept.sum(-1, keepdims=True)
        expected = expected / expected.sum(-1, keepdims=True)
        np.testing.assert_allclose(kept, expected, rtol=1e-5, atol=1e-12)
    swapped = simulate((8, 8), (32, 32), cells=1, transpose=True).cube.data
    np.testing.assert_array_equal(swapped, true.swapaxes(-1, -2))


def test_noise_is_seeded_poisson_with_the_given_dose():
    dose = 500.0
    a = simulate((16, 16), (64, 64), dose=dose, seed=7, dtype=np.uint16)
    b = simulate((16, 16), (64, 64), dose=dose, seed=7, dtype=np.uint16)
    c = simulate((16, 16), (64, 64), dose=dose, seed=8, dtype=np.uint16)
    assert a.cube.dtype == np.uint16 and a.dose == dose
    np.testing.assert_array_equal(a.cube.data, b.cube.data)
    assert not np.array_equal(a.cube.data, c.cube.data)
    totals = a.cube.data.sum((-2, -1), dtype=np.int64)
    # 256 patterns: the mean total has a standard deviation of sqrt(500 / 256) = 1.4.
    assert abs(totals.mean() - dose) < 7
    assert totals.var(ddof=1) == pytest.approx(dose, rel=0.3)  # Poisson: variance = mean
    # Float data with noise holds the same integer counts.
    f = simulate((16, 16), (64, 64), dose=dose, seed=7)
    assert f.cube.dtype == np.float32
    np.testing.assert_array_equal(f.cube.data, a.cube.data.astype(np.float32))
    # Per pixel, the counts average to dose times the noiseless pattern.
    clean = simulate((16, 16), (64, 64)).cube.data.astype(np.float64)
    mean_counts = a.cube.data.mean((0, 1))
    expected = dose * clean.mean((0, 1))
    bright = expected > 1.0
    assert np.abs(mean_counts[bright] - expected[bright]).max() < 6 * np.sqrt(
        expected[bright].max() / 256
    )


def test_noiseless_ignores_the_seed():
    a = simulate((8, 8), (32, 32), cells=1, seed=1)
    b = simulate((8, 8), (32, 32), cells=1, seed=2)
    np.testing.assert_array_equal(a.cube.data, b.cube.data)
    assert simulate((8, 8), (32, 32), cells=1, dtype=np.float64).cube.dtype == np.float64


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"detector_shape": (96, 64)}, ValueError, r"square.*\(96, 64\)"),
        ({"detector_shape": (4, 4)}, ValueError, r"detector_shape\[0\] must be an integer >= 8"),
        ({"scan_shape": (1, 32)}, ValueError, r"scan_shape\[0\] must be an integer >= 2, got 1"),
        ({"scan_shape": (32.0, 32)}, TypeError, r"scan_shape\[0\].*got 32.0"),
        ({"scan_shape": 32}, TypeError, "pair of integers, got 32"),
        ({"convergence": 60.0}, ValueError, "convergence 60.0 mrad does not fit the detector"),
        ({"convergence": -1}, ValueError, r"convergence \(mrad\) must be positive.*-1"),
        ({"energy": 0}, ValueError, r"energy \(eV\) must be positive.*0"),
        ({"max_phase": float("nan")}, ValueError, r"max_phase \(rad\).*nan"),
        ({"lattice": "big"}, TypeError, r"lattice \(A\) must be a real number, got 'big'"),
        ({"cells": (2, 3)}, ValueError, r"cells \(2, 3\).*non-square scan steps"),
        ({"cells": 0}, ValueError, r"cells\[0\] must be an integer >= 1, got 0"),
        ({"oversampling": 0}, ValueError, "oversampling must be an integer >= 1, got 0"),
        ({"oversampling": 1.5}, TypeError, "oversampling must be an integer >= 1, got 1.5"),
        ({"rotation": float("inf")}, ValueError, r"rotation \(deg\) must be finite, got inf"),
        ({"transpose": "yes"}, TypeError, "transpose must be True or False, got 'yes'"),
        ({"dose": -5}, ValueError, r"dose \(electrons per pattern\) must be positive.*-5"),
        ({"dtype": np.int8, "dose": 10}, ValueError, "dtype must be one of.*int8"),
        ({"dtype": "complex"}, ValueError, "dtype must be one of.*'complex'"),
        ({"dtype": np.uint16}, ValueError, "integer dtype uint16 holds counts: give a dose"),
        ({"dtype": np.uint16, "dose": 1e9}, ValueError, r"dose 1000000000.0 gives \d+ counts"),
    ],
)
def test_bad_parameters_raise_naming_the_value(kwargs, error, match):
    params = {"scan_shape": (8, 8), "detector_shape": (32, 32), "cells": 1} | kwargs
    with pytest.raises(error, match=match):
        simulate(**params)
