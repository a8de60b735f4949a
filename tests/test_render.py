"""Tests for dpc_widgets.widgets.render's contrast limits: exact percentiles without a partition."""

from __future__ import annotations

import numpy as np
import pytest

from dpc_widgets.widgets import render


def samples() -> dict[str, np.ndarray]:
    """Images whose percentiles are hard to locate with a histogram."""
    rng = np.random.default_rng(7)
    n = 256 * 256
    nan_inf = rng.normal(size=n)
    nan_inf[rng.random(n) < 0.1] = np.nan
    nan_inf[:5] = [np.inf, -np.inf, np.inf, np.nan, -np.inf]
    biased = rng.normal(size=n)
    biased[:: n // 2048] = -1e6  # the regular subsample sees only these: it cannot bracket
    return {
        "normal": rng.normal(size=(256, 256)),
        "biased subsample": biased,
        "heavy tail": rng.standard_cauchy(size=n),
        "outliers": np.concatenate([rng.normal(size=n), [1e15, -1e12]]),
        "geometric": 1.01 ** -np.arange(20_000.0),  # the lowest bin holds most, level after level
        "ties": rng.integers(0, 4, size=n).astype(np.float64),
        "constant": np.full(50_000, 3.5),
        "nan and inf": nan_inf,
        "small": rng.normal(size=7),
        "one": np.array([2.0]),
        "float32": rng.normal(size=(3, 128, 100)).astype(np.float32),
        "uint16": rng.integers(0, 65535, size=(200, 300), dtype=np.uint16),
    }


@pytest.mark.parametrize("name", list(samples()))
@pytest.mark.parametrize("clip", [0.0, 0.1, 0.5, 2.0, 25.0, 49.9])
def test_clip_range_is_the_exact_percentiles(name, clip):
    image = samples()[name]
    finite = image[np.isfinite(image)].astype(np.float64)
    expected = np.percentile(finite, [clip, 100.0 - clip])
    low, high = render.clip_range(image, clip)
    # exact order statistics: only the interpolation between two of them may round differently
    span = float(finite.max() - finite.min())
    tolerance = 1e-12 * max(span, abs(float(finite.max())), 1e-300)
    assert abs(low - expected[0]) <= tolerance
    assert abs(high - expected[1]) <= tolerance


@pytest.mark.parametrize("name", ["normal", "heavy tail", "outliers", "ties", "nan and inf"])
def test_histogram_fallback_is_exact_too(monkeypatch, name):
    monkeypatch.setattr(render, "_by_subsample", lambda values, ranks: None)
    image = samples()[name]
    finite = image[np.isfinite(image)]
    for clip in (0.0, 0.5, 10.0):
        expected = np.percentile(finite, [clip, 100.0 - clip])
        span = float(finite.max() - finite.min())
        np.testing.assert_allclose(
            render.clip_range(image, clip), expected, rtol=0, atol=1e-12 * span
        )


def test_subsample_declines_when_it_cannot_bracket():
    values = samples()["biased subsample"]
    ranks = np.array([6553, 6554])  # beyond the 2048 values the subsample saw
    assert render._by_subsample(values, ranks) is None
    np.testing.assert_array_equal(render._order_statistics(values, ranks), np.sort(values)[ranks])


def test_clip_range_of_no_finite_values_is_zero():
    assert render.clip_range(np.full((4, 4), np.nan), 0.5) == (0.0, 0.0)
    assert render.clip_range(np.zeros((0,)), 0.5) == (0.0, 0.0)
    assert render.magnitude_max(np.full((2, 3, 3), np.inf), 0.5) == 0.0


def test_magnitude_max_is_the_percentile_of_the_magnitude():
    rng = np.random.default_rng(3)
    com = rng.normal(size=(2, 256, 256)) * np.array([1.0, 3.0])[:, None, None]
    expected = np.percentile(np.hypot(com[0], com[1]), 99.5)
    assert render.magnitude_max(com, 0.5) == pytest.approx(expected, rel=1e-14, abs=0)


def test_percentiles_match_numpy_for_many_sizes_and_ranks():
    rng = np.random.default_rng(11)
    for size in (1, 2, 3, 4095, 4096, 4097, 10_000, 70_001):
        values = rng.lognormal(sigma=3.0, size=size)
        percents = (0.0, 0.01, 1.0, 33.3, 50.0, 99.0, 99.99, 100.0)
        expected = np.percentile(values, percents)
        np.testing.assert_allclose(render.percentiles(values, percents), expected, rtol=1e-13)


@pytest.mark.parametrize("clip", [0.0, 0.5, 10.0, 49.9])
def test_clip_ranges_of_a_stack_equal_each_clip_range(clip):
    cases = samples()
    rng = np.random.default_rng(5)
    stacks = [
        rng.normal(size=(4, 256, 256)) * np.array([1.0, 10.0, 1e-6, 3.0])[:, None, None],
        np.stack([cases["normal"].ravel(), cases["biased subsample"][: 256 * 256]]),
        np.stack([cases["normal"].ravel(), cases["nan and inf"]]),  # one row not finite
        rng.normal(size=(2, 30, 40)),  # small images
        cases["float32"],
        np.stack([np.full(70_000, 2.0), rng.standard_cauchy(70_000)]),  # a constant row
    ]
    for stack in stacks:
        assert render.clip_ranges(stack, clip) == [render.clip_range(im, clip) for im in stack]
