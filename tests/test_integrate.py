"""Tests for dpc_widgets.core.integrate: Fourier and iterative phase integration."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft

from dpc_widgets.core import integrate
from dpc_widgets.core.integrate import IterationInfo, integrate_fourier, integrate_iterative

SAMPLING = (0.5, 0.8)  # anisotropic on a non-square grid: catches axis mix-ups


def band_limited(shape=(48, 64), sampling=SAMPLING, k_max=0.2, seed=0):
    """Random periodic phase band-limited to |k| < k_max cycles/pixel, and its exact gradient."""
    rng = np.random.default_rng(seed)
    kx = np.fft.fftfreq(shape[0], sampling[0])[:, None]
    ky = np.fft.fftfreq(shape[1], sampling[1])[None, :]
    kx_px = np.fft.fftfreq(shape[0])[:, None]
    ky_px = np.fft.fftfreq(shape[1])[None, :]
    coefficients = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    phase = np.fft.ifft2(coefficients * (np.hypot(kx_px, ky_px) < k_max)).real
    phase /= phase.std()
    spectrum = np.fft.fft2(phase)
    grad = np.stack(
        [
            np.fft.ifft2(2j * np.pi * kx * spectrum).real,
            np.fft.ifft2(2j * np.pi * ky * spectrum).real,
        ]
    )
    return phase, grad


def smooth_non_periodic(shape=(80, 90), sampling=(0.03, 0.02)):
    """A smooth phase with different values and slopes on opposite edges, and its gradient."""
    x = (np.arange(shape[0]) * sampling[0] - 1.0)[:, None]
    y = (np.arange(shape[1]) * sampling[1] - 0.7)[None, :]
    phase = np.sin(2 * x + 1) * np.cos(3 * y) + 0.5 * x * y + x**2
    gx = 2 * np.cos(2 * x + 1) * np.cos(3 * y) + 0.5 * y + 2 * x
    gy = -3 * np.sin(2 * x + 1) * np.sin(3 * y) + 0.5 * x
    return phase, np.stack(np.broadcast_arrays(gx, gy)).astype(float)


def fit(result: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Pearson correlation and least-squares slope of result against truth (means removed)."""
    r = result - result.mean()
    t = truth - truth.mean()
    return float(np.corrcoef(r.ravel(), t.ravel())[0, 1]), float((r * t).sum() / (t * t).sum())


@pytest.fixture(scope="module")
def periodic():
    return band_limited()


@pytest.fixture(scope="module")
def non_periodic():
    return smooth_non_periodic()


# ---------------------------------------------------------------------------- Fourier


def test_fourier_exact_on_periodic_band_limited(periodic):
    phase, grad = periodic
    result = integrate_fourier(grad, sampling=SAMPLING, padding=1)
    corr, slope = fit(result, phase)
    assert corr > 0.9999
    assert slope == pytest.approx(1.0, rel=0.01)
    np.testing.assert_allclose(result, phase - phase.mean(), atol=1e-10)
    assert result.shape == phase.shape
    assert abs(result.mean()) < 1e-12


def test_continuous_operator_beats_central_differences(periodic):
    # The choice documented in the module: a central-difference operator mis-scales this phase.
    phase, grad = periodic
    kx = np.fft.fftfreq(phase.shape[0], SAMPLING[0])[:, None]
    ky = np.fft.fftfreq(phase.shape[1], SAMPLING[1])[None, :]
    dx = 1j * np.sin(2 * np.pi * kx * SAMPLING[0]) / SAMPLING[0]
    dy = 1j * np.sin(2 * np.pi * ky * SAMPLING[1]) / SAMPLING[1]
    denominator = np.abs(dx) ** 2 + np.abs(dy) ** 2
    denominator[denominator < 1e-12] = np.inf
    spectrum = np.fft.fft2(grad)
    discrete = np.fft.ifft2((np.conj(dx) * spectrum[0] + np.conj(dy) * spectrum[1]) / denominator)
    _, discrete_slope = fit(discrete.real, phase)
    _, slope = fit(integrate_fourier(grad, sampling=SAMPLING, padding=1), phase)
    assert abs(slope - 1) < 1e-9 < 0.05 < abs(discrete_slope - 1)


def test_fourier_mirror_padding(periodic, non_periodic):
    phase, grad = periodic
    corr, slope = fit(integrate_fourier(grad, sampling=SAMPLING, padding=2), phase)
    assert corr > 0.999
    assert slope == pytest.approx(1.0, rel=0.01)
    phase, grad = non_periodic
    sampling = (0.03, 0.02)
    mirrored = integrate_fourier(grad, sampling=sampling, padding=2, pad_mode="mirror")
    corr, slope = fit(mirrored, phase)
    assert corr > 0.999
    assert slope == pytest.approx(1.0, rel=0.01)
    # without padding the wrap-around edges spoil non-periodic data
    assert fit(integrate_fourier(grad, sampling=sampling, padding=1), phase)[0] < 0.95
    # the mirror extension is already periodic: larger factors change nothing
    np.testing.assert_allclose(
        integrate_fourier(grad, sampling=sampling, padding=4), mirrored, atol=1e-12
    )


@pytest.mark.parametrize("high_pass", [0.0, 0.01])
def test_fourier_mirror_equals_fft_of_mirrored_grid(periodic, high_pass):
    # Reference: build the even/odd mirror extension explicitly and integrate it periodically.
    _, grad = periodic
    rx, ry = grad.shape[1:]
    gx = np.concatenate([grad[0], -grad[0][::-1]], axis=0)
    gx = np.concatenate([gx, gx[:, ::-1]], axis=1)
    gy = np.concatenate([grad[1], grad[1][::-1]], axis=0)
    gy = np.concatenate([gy, -gy[:, ::-1]], axis=1)
    kwargs = {"sampling": SAMPLING, "high_pass": high_pass}
    reference = integrate_fourier(np.stack([gx, gy]), padding=1, **kwargs)[:rx, :ry]
    np.testing.assert_allclose(
        integrate_fourier(grad, padding=2, **kwargs), reference - reference.mean(), atol=1e-10
    )


def test_fourier_zeros_padding(periodic):
    phase, grad = periodic
    result = integrate_fourier(grad, sampling=SAMPLING, padding=2, pad_mode="zeros")
    assert result.shape == phase.shape
    assert abs(result.mean()) < 1e-12
    assert fit(result, phase)[0] > 0.98
    mirrored = integrate_fourier(grad, sampling=SAMPLING, padding=2, pad_mode="mirror")
    assert not np.allclose(result, mirrored)
    # padding=1 is the periodic solution whatever the mode
    np.testing.assert_array_equal(
        integrate_fourier(grad, sampling=SAMPLING, padding=1, pad_mode="zeros"),
        integrate_fourier(grad, sampling=SAMPLING, padding=1, pad_mode="mirror"),
    )


def cosine(shape=(64, 40), sampling=(0.5, 1.0), cycles=(4, 0)):
    """phi = cos(2 pi (kx x + ky y)) with a whole number of cycles, its gradient and |k|."""
    kx = cycles[0] / (shape[0] * sampling[0])
    ky = cycles[1] / (shape[1] * sampling[1])
    x = (np.arange(shape[0]) * sampling[0])[:, None]
    y = (np.arange(shape[1]) * sampling[1])[None, :]
    argument = 2 * np.pi * (kx * x + ky * y)
    grad = np.stack(
        np.broadcast_arrays(-2 * np.pi * kx * np.sin(argument), -2 * np.pi * ky * np.sin(argument))
    ).astype(float)
    return np.cos(argument), grad, math.hypot(kx, ky)


@pytest.mark.parametrize(
    ("kwargs", "gain"),
    [
        ({"high_pass": 0.1}, lambda k: 1 - math.exp(-(k**2) / (2 * 0.1**2))),
        ({"low_pass": 0.1}, lambda k: math.exp(-(k**2) / (2 * 0.1**2))),
        (
            {"high_pass": 0.05, "low_pass": 0.2},
            lambda k: (1 - math.exp(-(k**2) / (2 * 0.05**2))) * math.exp(-(k**2) / (2 * 0.2**2)),
        ),
        ({"high_pass": 0, "low_pass": None}, lambda k: 1.0),
        ({"low_pass": 0}, lambda k: 1.0),
    ],
)
def test_fourier_filters_attenuate_as_documented(kwargs, gain):
    phase, grad, k = cosine()
    assert k == pytest.approx(0.125)
    result = integrate_fourier(grad, sampling=(0.5, 1.0), padding=1, **kwargs)
    np.testing.assert_allclose(result, gain(k) * phase, atol=1e-10)


def test_fourier_high_pass_removes_slow_variation():
    slow, grad_slow, _ = cosine(cycles=(1, 0))
    fast, grad_fast, _ = cosine(cycles=(0, 10))
    result = integrate_fourier(grad_slow + grad_fast, sampling=(0.5, 1.0), padding=1, high_pass=0.1)
    assert fit(result, fast)[0] > 0.99
    assert abs(fit(result, slow)[1]) < 0.2


def test_sampling_scales_phase(periodic):
    _, grad = periodic
    base = integrate_fourier(grad, sampling=SAMPLING)
    scaled = integrate_fourier(grad, sampling=(3 * SAMPLING[0], 3 * SAMPLING[1]))
    np.testing.assert_allclose(scaled, 3 * base, atol=1e-10)
    np.testing.assert_allclose(
        integrate_fourier(grad, sampling=2.0), integrate_fourier(grad, sampling=(2.0, 2.0))
    )
    base = integrate_iterative(grad, sampling=SAMPLING, max_iter=8)
    scaled = integrate_iterative(grad, sampling=(3 * SAMPLING[0], 3 * SAMPLING[1]), max_iter=8)
    np.testing.assert_allclose(scaled, 3 * base, atol=1e-10)


@pytest.mark.parametrize("method", [integrate_fourier, integrate_iterative])
def test_input_not_mutated_and_dtype_kept(method, periodic):
    _, grad = periodic
    before = grad.copy()
    out = method(grad, sampling=SAMPLING, padding=2, high_pass=0.01, low_pass=1.0)
    np.testing.assert_array_equal(grad, before)
    assert out.dtype == np.float64
    single = grad.astype(np.float32)
    out32 = method(single, sampling=SAMPLING, padding=2)
    assert out32.dtype == np.float32
    assert fit(out32, method(grad, sampling=SAMPLING, padding=2))[0] > 0.9999
    integer = np.round(10 * grad).astype(np.int64)
    assert method(integer, sampling=SAMPLING).dtype == np.float64


@pytest.mark.parametrize("method", [integrate_fourier, integrate_iterative])
def test_zero_and_tiny_fields(method):
    np.testing.assert_array_equal(method(np.zeros((2, 5, 7))), np.zeros((5, 7)))
    out = method(np.ones((2, 2, 2)), padding=1)
    assert out.shape == (2, 2)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("method", [integrate_fourier, integrate_iterative])
@pytest.mark.parametrize("axis", [0, 1])
def test_line_scan_is_the_cumulative_integral(method, axis):
    """A 1 x N or N x 1 scan: the trapezoidal integral along the line, zero-mean."""
    x = np.arange(9) * 0.5
    truth = np.sin(x)  # dphi/ds = cos(s), sampled with step 0.5
    field = np.zeros((2, 9, 1) if axis == 0 else (2, 1, 9))
    field[axis] = np.cos(x).reshape(field.shape[1:])
    field[1 - axis] = 7.0  # across the line: cannot be integrated, ignored
    kept = field.copy()
    phase = method(field, sampling=0.5).ravel()
    steps = 0.25 * (np.cos(x[1:]) + np.cos(x[:-1]))
    expected = np.concatenate([[0.0], np.cumsum(steps)])
    np.testing.assert_allclose(phase, expected - expected.mean(), atol=1e-12)
    # trapezoid error bound: h^2 / 12 * length * max|phi'''| = 0.25 / 12 * 4 = 0.083
    np.testing.assert_allclose(phase, truth - truth.mean(), atol=0.09)
    np.testing.assert_array_equal(field, kept)
    np.testing.assert_array_equal(method(np.ones((2, 1, 1))), np.zeros((1, 1)))


@pytest.mark.parametrize("method", [integrate_fourier, integrate_iterative])
def test_input_validation(method):
    good = np.zeros((2, 4, 4))
    with pytest.raises(ValueError, match=r"shape \(2, Rx, Ry\).*got shape \(4, 4\)"):
        method(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"Rx, Ry >= 1, got shape \(2, 0, 4\)"):
        method(np.zeros((2, 0, 4)))
    bad = good.copy()
    bad[0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        method(bad)
    with pytest.raises(TypeError, match="complex"):
        method(good.astype(complex))
    with pytest.raises(TypeError, match="padding must be an integer >= 1, got 1.5"):
        method(good, padding=1.5)
    with pytest.raises(ValueError, match="padding must be an integer >= 1, got 0"):
        method(good, padding=0)
    with pytest.raises(
        ValueError, match=r"sampling must be positive and finite, got \(1.0, -1.0\)"
    ):
        method(good, sampling=(1.0, -1.0))
    with pytest.raises(ValueError, match=r"a pair \(dx, dy\), got \[1, 2, 3\]"):
        method(good, sampling=[1, 2, 3])
    with pytest.raises(TypeError, match="sampling must hold real numbers"):
        method(good, sampling="ab")
    with pytest.raises(ValueError, match="high_pass must be >= 0.*-1"):
        method(good, high_pass=-1)
    with pytest.raises(TypeError, match="low_pass must be a real number or None"):
        method(good, low_pass="x")


def test_fourier_rejects_unknown_pad_mode():
    with pytest.raises(ValueError, match="unknown pad_mode 'reflect'"):
        integrate_fourier(np.zeros((2, 4, 4)), pad_mode="reflect")


def test_iterative_rejects_bad_parameters():
    good = np.ones((2, 4, 4))
    with pytest.raises(ValueError, match="step must be positive and finite, got 0"):
        integrate_iterative(good, step=0)
    with pytest.raises(ValueError, match="tol must be positive"):
        integrate_iterative(good, tol=-1e-3)
    with pytest.raises(ValueError, match="max_iter must be an integer >= 0, got -1"):
        integrate_iterative(good, max_iter=-1)
    with pytest.raises(TypeError, match="max_iter must be an integer >= 0, got 2.5"):
        integrate_iterative(good, max_iter=2.5)


# ---------------------------------------------------------------------------- iterative


def test_iterative_periodic(periodic):
    phase, grad = periodic
    result, info = integrate_iterative(grad, sampling=SAMPLING, padding=1, return_info=True)
    assert isinstance(info, IterationInfo)
    corr, slope = fit(result, phase)
    assert corr > 0.99
    assert slope == pytest.approx(1.0, rel=0.01)
    assert len(info.errors) == info.n_iter + 1
    assert info.errors[0] == 1.0
    assert info.errors[-1] < 1e-6
    assert all(b <= a for a, b in zip(info.errors, info.errors[1:], strict=False))


def test_iterative_padded_non_periodic(non_periodic):
    phase, grad = non_periodic
    result, info = integrate_iterative(grad, sampling=(0.03, 0.02), padding=2, return_info=True)
    assert fit(result, phase)[0] > 0.999
    assert info.n_iter == 64  # default max_iter, the step never fell below tol
    assert info.errors[-1] < 1e-3


def test_iterative_unit_step_is_the_fourier_solution(periodic):
    _, grad = periodic
    result, info = integrate_iterative(
        grad, sampling=SAMPLING, padding=1, step=1.0, max_iter=1, return_info=True
    )
    np.testing.assert_allclose(
        result, integrate_fourier(grad, sampling=SAMPLING, padding=1), atol=1e-10
    )
    assert info.n_iter == 1
    assert info.errors[1] < 1e-20


def test_iterative_backtracking_with_too_large_step(periodic):
    phase, grad = periodic
    result, info = integrate_iterative(
        grad, sampling=SAMPLING, padding=2, step=50.0, max_iter=30, return_info=True
    )
    errors = np.array(info.errors)
    assert np.all(np.diff(errors) <= 0)
    assert errors[-1] <= errors[0]
    assert errors[1] == errors[0]  # the first, too large, update was rejected and undone
    assert info.step < 50.0
    assert errors[-1] < 0.01  # then it recovered with smaller steps
    # undone updates leave no trace in the result
    assert fit(result, phase)[0] > 0.99


def test_iterative_stops_when_step_below_tol():
    _, grad = band_limited(shape=(16, 16), sampling=(1.0, 1.0))
    # periodic data is solved exactly at once; afterwards rounding noise makes every update
    # "increase" the error, so the step is halved until it falls below tol
    _, info = integrate_iterative(
        grad, padding=1, step=1.0, max_iter=1000, tol=1e-3, return_info=True
    )
    assert info.step < 1e-3
    assert info.n_iter < 1000


def test_iterative_zero_iterations(periodic):
    _, grad = periodic
    result, info = integrate_iterative(grad, max_iter=0, return_info=True)
    np.testing.assert_array_equal(result, 0.0)
    assert info == IterationInfo(n_iter=0, errors=(1.0,), step=0.5)


def test_iterative_filters_match_fourier(periodic):
    _, grad = periodic
    kwargs = {"sampling": SAMPLING, "padding": 1, "high_pass": 0.1, "low_pass": 0.5}
    np.testing.assert_allclose(
        integrate_iterative(grad, step=1.0, max_iter=1, **kwargs),
        integrate_fourier(grad, **kwargs),
        atol=1e-10,
    )


# ---------------------------------------------------------------------------- CuPy


@pytest.mark.parametrize("method", [integrate_fourier, integrate_iterative])
def test_cupy_matches_numpy(method, periodic):
    cupy = pytest.importorskip("cupy")
    _, grad = periodic
    try:
        device = cupy.asarray(grad)
    except Exception as err:  # pragma: no cover - CuPy without a usable device
        pytest.skip(f"CuPy has no usable device: {err}")
    out = method(device, sampling=SAMPLING, padding=2, high_pass=0.01)
    assert type(out).__module__.startswith("cupy")
    np.testing.assert_allclose(
        out.get(), method(grad, sampling=SAMPLING, padding=2, high_pass=0.01), atol=1e-8
    )


def uncached_mirrored(field, sampling, high_pass=None, low_pass=None):
    """The mirrored solution written out without cached grids (the formulas of the module)."""
    rx, ry = field.shape[1:]
    dct, dst = scipy.fft.dct, scipy.fft.dst
    odd_x = dst(dct(field[0], type=2, axis=1), type=2, axis=0)
    odd_y = dst(dct(field[1], type=2, axis=0), type=2, axis=1)
    a, b = np.zeros((rx, ry)), np.zeros((rx, ry))
    a[1:], b[:, 1:] = odd_x[:-1], odd_y[:, :-1]
    kx = (np.arange(rx) / (2 * rx * sampling[0]))[:, None]
    ky = (np.arange(ry) / (2 * ry * sampling[1]))[None, :]
    k2 = kx * kx + ky * ky
    factor = 1.0
    if high_pass:
        factor = factor * -np.expm1(-k2 / (2.0 * high_pass**2))
    if low_pass:
        factor = factor * np.exp(-k2 / (2.0 * low_pass**2))
    k2[0, 0] = 1.0
    coefficients = (kx * a + ky * b) * (-1.0 / (2.0 * math.pi) / k2) * factor
    coefficients[0, 0] = 0.0
    phase = scipy.fft.idctn(coefficients, type=2)
    return phase - phase.mean()


@pytest.mark.parametrize("filters", [(None, None), (0.05, None), (0.02, 0.3)])
def test_cached_grids_give_the_uncached_results(periodic, filters):
    _, grad = periodic
    integrate._mirrored_grid.cache_clear()
    integrate._periodic_grid.cache_clear()
    high_pass, low_pass = filters
    options = dict(sampling=SAMPLING, high_pass=high_pass or 0.0, low_pass=low_pass)
    cold = integrate_fourier(grad, **options)
    warm = integrate_fourier(grad, **options)
    assert integrate._mirrored_grid.cache_info().hits == 1
    np.testing.assert_array_equal(warm, cold)
    reference = uncached_mirrored(grad, SAMPLING, high_pass, low_pass)
    np.testing.assert_allclose(cold, reference, rtol=0, atol=1e-12 * np.abs(reference).max())
    for kwargs in (dict(padding=1), dict(pad_mode="zeros", padding=3)):
        first = integrate_fourier(grad, **options, **kwargs)
        np.testing.assert_array_equal(integrate_fourier(grad, **options, **kwargs), first)
    first = integrate_iterative(grad, **options, max_iter=5)
    np.testing.assert_array_equal(integrate_iterative(grad, **options, max_iter=5), first)
    assert integrate._periodic_grid.cache_info().hits >= 3


def test_cached_grids_are_per_shape_sampling_filters_and_dtype(periodic):
    _, grad = periodic
    one = integrate_fourier(grad, sampling=SAMPLING)
    # other options in between must not leak into the cached grids of the first call
    integrate_fourier(grad[:, :-3, :-5], sampling=SAMPLING)
    integrate_fourier(grad, sampling=(1.0, 2.0), high_pass=0.1)
    integrate_fourier(grad.astype(np.float32), sampling=SAMPLING)
    np.testing.assert_array_equal(integrate_fourier(grad, sampling=SAMPLING), one)
    kx, ky, scale, factor = integrate._mirrored_grid(
        grad.shape[1:], SAMPLING, (None, None), grad.dtype.str, np
    )
    assert factor is None
    assert not (kx.flags.writeable or ky.flags.writeable or scale.flags.writeable)
