"""Tests for dpc_widgets.core.rotation: curl/div, rotate_com and the closed-form solver."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpc_widgets.core.rotation import (
    RotationResult,
    curl_2d,
    div_2d,
    rotate_com,
    solve_rotation,
)

ANGLES = (0.0, 15.0, -40.0, 72.0, 120.0, -150.0, 180.0)


def gaussian_phase(n: int = 64, peaks: int = 30, sigma: float = 2.0, seed: int = 0):
    """Sum of positive Gaussians on a periodic n x n grid and its analytic gradient (2, n, n)."""
    rng = np.random.default_rng(seed)
    x = np.arange(n)[:, None]
    y = np.arange(n)[None, :]
    phase = np.zeros((n, n))
    grad = np.zeros((2, n, n))
    centres = rng.uniform(0, n, (peaks, 2))
    amplitudes = rng.uniform(0.5, 1.5, peaks)
    for (cx, cy), amp in zip(centres, amplitudes, strict=True):
        dx = (x - cx + n / 2) % n - n / 2
        dy = (y - cy + n / 2) % n - n / 2
        bump = amp * np.exp(-(dx**2 + dy**2) / (2 * sigma**2))
        phase += bump
        grad[0] -= dx / sigma**2 * bump
        grad[1] -= dy / sigma**2 * bump
    return phase, grad


def measured_from(scan_field: np.ndarray, angle_deg: float, transpose: bool) -> np.ndarray:
    """The measured CoM N such that rotate_com(N, angle_deg, transpose) == scan_field."""
    swapped = rotate_com(scan_field, -angle_deg)
    return swapped[::-1].copy() if transpose else swapped


def angle_error(a: float, b: float, period: float = 360.0) -> float:
    return abs((a - b + period / 2) % period - period / 2)


@pytest.fixture(scope="module")
def gradient_field():
    return gaussian_phase()[1]


# ---------------------------------------------------------------------------- curl and div


def test_curl_div_of_linear_fields():
    x, y = np.meshgrid(np.arange(6.0), np.arange(5.0), indexing="ij")
    rotation = np.stack([-y, x])  # curl 2, div 0
    source = np.stack([x, y])  # curl 0, div 2
    assert curl_2d(rotation).shape == (4, 3)
    np.testing.assert_allclose(curl_2d(rotation), 2.0)
    np.testing.assert_allclose(div_2d(rotation), 0.0)
    np.testing.assert_allclose(curl_2d(source), 0.0)
    np.testing.assert_allclose(div_2d(source), 2.0)


def test_curl_sign_convention_x_is_axis0():
    # v = x (axis 0) gives dv/dx = +1; u = y gives du/dy = +1 -> curl = dv/dx - du/dy.
    x, y = np.meshgrid(np.arange(5.0), np.arange(5.0), indexing="ij")
    np.testing.assert_allclose(curl_2d(np.stack([np.zeros_like(x), x])), 1.0)
    np.testing.assert_allclose(curl_2d(np.stack([y, np.zeros_like(x)])), -1.0)


def test_curl_div_of_rotated_field_identity(gradient_field):
    noisy = gradient_field + 0.1 * np.random.default_rng(3).normal(size=gradient_field.shape)
    c, d = curl_2d(noisy), div_2d(noisy)
    for angle in (30.0, -110.0):
        t = math.radians(angle)
        rotated = rotate_com(noisy, angle)
        np.testing.assert_allclose(curl_2d(rotated), math.cos(t) * c + math.sin(t) * d, atol=1e-12)
        np.testing.assert_allclose(div_2d(rotated), math.cos(t) * d - math.sin(t) * c, atol=1e-12)


def test_curl_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"shape \(2, Rx, Ry\).*got shape \(3, 5, 5\)"):
        curl_2d(np.zeros((3, 5, 5)))
    with pytest.raises(ValueError, match=r"got shape \(2, 2, 5\)"):
        div_2d(np.zeros((2, 2, 5)))
    with pytest.raises(TypeError, match="complex"):
        curl_2d(np.zeros((2, 4, 4), dtype=complex))
    with pytest.raises(TypeError, match="list"):
        curl_2d([[0.0]])


# ---------------------------------------------------------------------------- rotate_com


def test_rotate_com_convention():
    field = np.zeros((2, 2, 3))
    field[0] = 1.0  # N = (1, 0)
    out = rotate_com(field, 90.0)
    np.testing.assert_allclose(out[0], 0.0, atol=1e-15)  # x = cos t Nx - sin t Ny = 0
    np.testing.assert_allclose(out[1], 1.0)  # y = sin t Nx + cos t Ny = 1
    swapped = rotate_com(field, 0.0, transpose=True)
    np.testing.assert_allclose(swapped[0], 0.0)
    np.testing.assert_allclose(swapped[1], 1.0)


def test_rotate_com_does_not_mutate_and_rejects_bad_angle(gradient_field):
    before = gradient_field.copy()
    rotate_com(gradient_field, 33.0, transpose=True)
    np.testing.assert_array_equal(gradient_field, before)
    with pytest.raises(ValueError, match="nan"):
        rotate_com(gradient_field, float("nan"))
    with pytest.raises(TypeError, match="'abc'"):
        rotate_com(gradient_field, "abc")


# ---------------------------------------------------------------------------- solve_rotation


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("angle", ANGLES)
def test_solve_recovers_known_rotation(gradient_field, angle, transpose):
    measured = measured_from(gradient_field, angle, transpose)
    result = solve_rotation(measured)
    assert isinstance(result, RotationResult)
    assert result.transpose is transpose
    assert angle_error(result.angle_deg, angle) < 0.1  # includes the right 180-degree choice
    assert -180.0 < result.angle_deg <= 180.0
    assert result.curl_score[transpose] < 0.1
    assert result.curl_score[not transpose] > 0.5
    # the recovered rotation reproduces the scan-frame field
    back = rotate_com(measured, result.angle_deg, result.transpose)
    assert np.corrcoef(back.ravel(), gradient_field.ravel())[0, 1] > 0.9999


@pytest.mark.parametrize("forced", [False, True])
def test_solve_forced_transpose(gradient_field, forced):
    measured = measured_from(gradient_field, 25.0, transpose=False)
    result = solve_rotation(measured, transpose=forced)
    assert result.transpose is forced
    if not forced:
        assert angle_error(result.angle_deg, 25.0) < 0.1


def _py4dstem_sweep(field: np.ndarray, transpose: bool) -> float:
    """Brute force: 1-degree sweep over [-89, 90] minimising the mean |curl|."""
    angles = np.arange(-89.0, 91.0)
    costs = [np.mean(np.abs(curl_2d(rotate_com(field, a, transpose)))) for a in angles]
    return float(angles[int(np.argmin(costs))])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solve_agrees_with_brute_force_sweep(seed):
    rng = np.random.default_rng(seed)
    _, grad = gaussian_phase(n=48, peaks=20, sigma=1.5, seed=seed)
    angle = float(rng.uniform(-180, 180))
    transpose = bool(seed % 2)
    measured = measured_from(grad, angle, transpose) + 0.3 * grad.std() * rng.normal(
        size=grad.shape
    )
    result = solve_rotation(measured, transpose=transpose)
    sweep = _py4dstem_sweep(measured, transpose)
    assert angle_error(result.angle_deg, sweep, period=180.0) <= 1.0
    assert angle_error(result.angle_deg, angle) < 2.0  # and the 180-degree choice is right


def test_solve_180_choice_is_robust_to_noise():
    _, grad = gaussian_phase(n=64, peaks=30, sigma=1.5, seed=5)
    rng = np.random.default_rng(7)
    for angle in (-150.0, -60.0, 30.0, 100.0, 170.0):
        noisy = measured_from(grad, angle, False) + 3.0 * grad.std() * rng.normal(size=grad.shape)
        result = solve_rotation(noisy, transpose=False)
        assert angle_error(result.angle_deg, angle) < 90.0


def test_solve_negative_phase_flips_by_180(gradient_field):
    # The rule assumes a positive potential: a negative one gives the opposite choice.
    result = solve_rotation(measured_from(-gradient_field, 40.0, False))
    assert angle_error(result.angle_deg, 40.0 + 180.0) < 0.1


def test_curve_matches_direct_evaluation(gradient_field):
    rng = np.random.default_rng(11)
    measured = measured_from(gradient_field, -40.0, True) + 0.2 * rng.normal(
        size=gradient_field.shape
    )
    result = solve_rotation(measured)
    angles = np.array([-170.0, -90.0, -40.0, 0.0, 12.5, 77.0, 140.0])
    for transpose in (False, True):
        direct = [np.mean(curl_2d(rotate_com(measured, a, transpose)) ** 2) for a in angles]
        np.testing.assert_allclose(result.curve(angles, transpose), direct, rtol=1e-10)
    np.testing.assert_allclose(result.curve(angles), result.curve(angles, result.transpose))
    # the solved angle is the curve's minimum and the score is its normalised value
    fine = np.linspace(-180, 180, 3601)
    curve = result.curve(fine)
    assert angle_error(float(fine[np.argmin(curve)]), result.angle_deg, period=180.0) < 0.2
    cc, _, dd = result.curl_forms[result.transpose]
    score = math.sqrt(result.curve(result.angle_deg) / (cc + dd))
    assert result.curl_score[result.transpose] == pytest.approx(score, rel=1e-9)


def test_curve_keeps_shape():
    x, y = np.meshgrid(np.arange(8.0), np.arange(8.0), indexing="ij")
    result = solve_rotation(np.stack([x**2, y**2]))
    assert result.curve(np.zeros((3, 4))).shape == (3, 4)
    assert np.ndim(result.curve(10.0)) == 0


def test_solve_is_scale_invariant_and_does_not_mutate(gradient_field):
    measured = measured_from(gradient_field, 72.0, False)
    before = measured.copy()
    a = solve_rotation(measured)
    b = solve_rotation(1e-6 * measured)
    np.testing.assert_array_equal(measured, before)
    assert a.angle_deg == pytest.approx(b.angle_deg, abs=1e-9)
    assert a.curl_score[False] == pytest.approx(b.curl_score[False], rel=1e-9)


def test_solve_float32(gradient_field):
    measured = measured_from(gradient_field, -150.0, True).astype(np.float32)
    result = solve_rotation(measured)
    assert result.transpose is True
    assert angle_error(result.angle_deg, -150.0) < 0.1


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        (np.zeros((2, 16, 16)), "CoM field is zero everywhere"),
        (np.ones((2, 16, 16)), "no curl and no divergence"),
        (np.ones((2, 2, 9)), "a 2 x 9 scan has no interior"),
        (np.ones((2, 1, 1)), "a 1 x 1 scan"),
    ],
)
def test_solve_undetermined_is_a_result(field, reason):
    """Vacuum / uniform fields and line scans determine no rotation: a result that says so."""
    kept = field.copy()
    result = solve_rotation(field)
    assert result.determined is False
    assert reason in result.reason
    assert (result.angle_deg, result.transpose) == (0.0, False)
    assert result.uncertainty_deg == math.inf
    assert solve_rotation(field, transpose=True).transpose is True
    np.testing.assert_array_equal(field, kept)


def test_solve_fields_near_the_float64_maximum():
    """Squares and cubes of a field near 1.8e308 would overflow: it is solved scaled."""
    field = np.random.default_rng(2).normal(size=(2, 9, 8))
    small, huge = solve_rotation(field), solve_rotation(field * 1e300)
    assert huge.determined and huge.transpose == small.transpose
    assert huge.angle_deg == pytest.approx(small.angle_deg, abs=1e-9)
    assert huge.uncertainty_deg == pytest.approx(small.uncertainty_deg, rel=1e-9)


def test_solve_determined_by_default():
    result = solve_rotation(np.random.default_rng(1).normal(size=(2, 8, 8)))
    assert result.determined is True and result.reason == ""


def test_solve_rejects_bad_input():
    field = np.ones((2, 8, 8))
    field[1, 3, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        solve_rotation(field)
    with pytest.raises(TypeError, match="transpose must be True, False or None, got 'yes'"):
        solve_rotation(np.random.default_rng(0).normal(size=(2, 8, 8)), transpose="yes")


def test_result_is_frozen(gradient_field):
    result = solve_rotation(gradient_field)
    with pytest.raises(AttributeError):
        result.angle_deg = 3.0


def test_cupy_matches_numpy(gradient_field):
    cupy = pytest.importorskip("cupy")
    try:
        device_field = cupy.asarray(measured_from(gradient_field, 15.0, True))
    except Exception as err:  # pragma: no cover - CuPy without a usable device
        pytest.skip(f"CuPy has no usable device: {err}")
    result = solve_rotation(device_field)
    assert result.transpose is True
    assert angle_error(result.angle_deg, 15.0) < 0.1
    rotated = rotate_com(device_field, result.angle_deg, True)
    assert type(rotated).__module__.startswith("cupy")
    np.testing.assert_allclose(rotated.get(), gradient_field, atol=1e-3)


# ---------------------------------------------------------------------------- uncertainty


def test_uncertainty_zero_for_exact_gradient_and_huge_when_undetermined():
    # the discrete (central-difference) gradient has exactly zero discrete curl
    phase = gaussian_phase()[0]
    grad = np.stack([0.5 * (np.roll(phase, -1, a) - np.roll(phase, 1, a)) for a in (0, 1)])
    exact = solve_rotation(measured_from(grad, 33.0, False))
    assert angle_error(exact.angle_deg, 33.0) < 1e-9
    assert 0.0 <= exact.uncertainty_deg < 1e-6
    # u = cos(kx), v = sin(kx) over whole periods of the interior: <C C> = <D D>, <C D> = 0,
    # so the mean squared curl does not depend on the angle (zero curvature).
    n = 2 + 32
    x = np.broadcast_to(np.arange(n, dtype=np.float64)[:, None], (n, 8))
    k = 2 * math.pi / 16
    flat = np.stack([np.cos(k * x), np.sin(k * x)])
    cc, cd, dd = solve_rotation(flat, transpose=False).curl_forms[False]
    assert cc == pytest.approx(dd, rel=1e-12) and abs(cd) < 1e-12 * cc
    assert solve_rotation(flat, transpose=False).uncertainty_deg > 1e3


def test_uncertainty_formula_from_the_forms(gradient_field):
    rng = np.random.default_rng(8)
    measured = measured_from(gradient_field, -70.0, False) + 0.3 * rng.normal(
        size=gradient_field.shape
    )
    result = solve_rotation(measured, transpose=False)
    cc, cd, dd = result.curl_forms[False]
    eigen = np.linalg.eigvalsh([[cc, cd], [cd, dd]])
    g = div_2d(rotate_com(measured, result.angle_deg))  # rotated divergence (sign irrelevant)
    gx = 0.5 * (g[2:, 1:-1] - g[:-2, 1:-1])
    gy = 0.5 * (g[1:-1, 2:] - g[1:-1, :-2])
    expected = (
        2 * math.sqrt(eigen[0] * np.mean(gx**2 + gy**2) / g.size) / (2 * (eigen[1] - eigen[0]))
    )
    assert result.uncertainty_deg == pytest.approx(math.degrees(expected), rel=1e-9)
    # the curvature is that of the curve at its minimum
    h = 1e-3
    second = (result.curve(result.angle_deg + h) - 2 * result.curve(result.angle_deg)) + (
        result.curve(result.angle_deg - h)
    )
    curvature = second / math.radians(h) ** 2
    assert curvature == pytest.approx(2 * (eigen[1] - eigen[0]), rel=1e-4)


@pytest.mark.parametrize("noise", [0.5, 2.0])
def test_uncertainty_matches_the_spread_over_noise_seeds(noise):
    # White noise on the CoM field: the reported one-sigma error must match the actual scatter.
    _, grad = gaussian_phase(n=64, peaks=30, sigma=2.0, seed=2)
    clean = measured_from(grad, 25.0, False)
    rng = np.random.default_rng(12)
    errors, sigmas = [], []
    for _ in range(40):
        result = solve_rotation(
            clean + noise * grad.std() * rng.normal(size=grad.shape), transpose=False
        )
        errors.append((result.angle_deg - 25.0 + 180.0) % 360.0 - 180.0)
        sigmas.append(result.uncertainty_deg)
    spread = float(np.std(errors, ddof=1))
    assert 0.7 < spread / float(np.mean(sigmas)) < 1.4, (spread, np.mean(sigmas))


# ---------------------------------------------------------------------------- weak half turn


def test_clear_half_turn_is_not_weak(gradient_field):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = solve_rotation(measured_from(gradient_field, 140.0, False))
    assert not result.weak_half_turn
    assert result.half_turn_skewness < -1.0


def test_symmetric_divergence_gives_a_weak_half_turn_warning():
    # phase cos x + cos y: its Laplacian has a symmetric distribution, so the skewness rule
    # cannot tell t from t + 180.
    n = 6 + 48  # the smoothed image (n - 6 pixels a side) spans whole periods of 12 pixels
    k = 2 * math.pi / 12
    x, y = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    grad = np.stack([-k * np.sin(k * x), -k * np.sin(k * y)])
    with pytest.warns(UserWarning, match=r"180-degree choice .* is weak"):
        result = solve_rotation(measured_from(grad, 30.0, False))
    assert result.weak_half_turn
    assert abs(result.half_turn_skewness) < 0.1
    assert angle_error(result.angle_deg, 30.0, period=180.0) < 0.1  # the axis is still right


def test_weak_threshold_both_sides():
    from dpc_widgets.core.rotation import (
        NOISE_SKEWNESS_SCALE,
        WEAK_HALF_TURN_SIGMAS,
        _weak_half_turn,
    )

    m = 26 * 26
    limit = WEAK_HALF_TURN_SIGMAS * NOISE_SKEWNESS_SCALE / math.sqrt(m)
    assert _weak_half_turn(-0.99 * limit, m) and _weak_half_turn(0.0, m)
    assert not _weak_half_turn(-1.01 * limit, m)
    assert limit == pytest.approx(0.438, abs=1e-3)


def test_pure_noise_skewness_spread_matches_the_documented_scale():
    # the constant behind the threshold: spread of the smoothed-divergence skewness of white
    # noise (half_turn_skewness is -|gamma|; its rms is the spread of gamma, whose mean is 0)
    import warnings

    from dpc_widgets.core.rotation import NOISE_SKEWNESS_SCALE

    rng = np.random.default_rng(21)
    n = 40
    values = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(150):
            values.append(solve_rotation(rng.normal(size=(2, n, n))).half_turn_skewness)
    spread = math.sqrt(float(np.mean(np.square(values)))) * (n - 6)
    assert 0.75 * NOISE_SKEWNESS_SCALE < spread < 1.25 * NOISE_SKEWNESS_SCALE
