"""The binned-detector fallback: binned sums equal explicit sums of the binned data, and the
streaming pass gives exact full-resolution results."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_engine import cube_of, explicit_moments, explicit_sums, subsample_of

import dpc_widgets as dw
from dpc_widgets import DPC, Datacube, SegmentedDetector
from dpc_widgets.core import CacheMemoryError
from dpc_widgets.core.binning import (
    BinnedCache,
    bin_patterns,
    binned_center,
    binned_dtype,
    cache_bytes,
    choose_binning,
)


def explicit_binned(cube: Datacube, factor: int) -> Datacube:
    """The binned data written out with NumPy: sums of factor x factor blocks, cropped."""
    data = np.asarray(cube.data)
    rx, ry, qx, qy = data.shape
    bx, by = qx // factor, qy // factor
    wide = np.int64 if data.dtype.kind in "ui" else np.float64
    summed = np.zeros((rx, ry, bx, by), dtype=wide)
    for a in range(factor):
        for b in range(factor):
            summed += data[:, :, a : bx * factor : factor, b : by * factor : factor]
    return Datacube(
        summed.astype(binned_dtype(data.dtype, factor)),
        detector_sampling=cube.detector_sampling * factor,
    )


def test_binned_dtype_holds_the_sums():
    assert binned_dtype(np.uint8, 2) == np.uint16 and binned_dtype(np.uint8, 4) == np.uint16
    assert binned_dtype(np.uint16, 2) == np.uint32 and binned_dtype(np.int16, 4) == np.int32
    assert binned_dtype(np.uint32, 2) == np.int64 and binned_dtype(np.int64, 4) == np.int64
    assert binned_dtype(np.float32, 4) == np.float32
    top = np.full((1, 1, 4, 4), 65535, dtype=np.uint16)
    assert bin_patterns(top, 4)[0, 0, 0, 0] == 16 * 65535  # no overflow


@pytest.mark.parametrize("weighting", ["binary", "area"])
@pytest.mark.parametrize("dtype", [np.uint16, np.uint8, np.int32, np.float32])
@pytest.mark.parametrize("factor", [2, 4])
def test_binned_sums_equal_the_explicit_sums_of_the_binned_data(dtype, factor, weighting):
    cube = cube_of(dtype, shape=(5, 6, 26, 21), detector_sampling=0.7, detector_units="mrad")
    center = (12.3, 10.1)
    cache = BinnedCache(cube, center, factor)
    binned = explicit_binned(cube, factor)
    inner_center = binned_center(center, factor)
    assert cache.binning == factor and cache.center == center
    for inner, outer, n, rotation in [(1.0, 6.0, 4, 15.0), (0.0, 9.0, 7, -30.0), (2.0, 4.0, 2, 0)]:
        sub = subsample_of(weighting)
        got = cache.segment_sums(inner, outer, n, math.radians(rotation), sub)
        expected = explicit_sums(binned, inner, outer, n, rotation, inner_center, weighting)
        if cube.dtype.kind in "ui":
            np.testing.assert_array_equal(got, expected)
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-6)
        # The moments in full-resolution pixel offsets: binned offsets times the factor.
        moments = explicit_moments(binned, inner_center, inner, outer) * [[1], [factor], [factor]]
        np.testing.assert_allclose(cache.annulus_moments(inner, outer), moments, rtol=1e-9)
    whole = explicit_moments(binned, inner_center) * [[1], [factor], [factor]]
    np.testing.assert_allclose(cache.moments, whole, rtol=1e-9)
    assert cache.pattern_sum.shape == binned.detector_shape


def test_choose_binning_picks_the_smallest_factor_that_fits():
    cube = cube_of(np.uint16, shape=(4, 5, 32, 32))
    center, radius = cube.origin, 12.0
    full, two, four = (cache_bytes(cube, center, radius, f) for f in (1, 2, 4))
    assert full > two > four
    assert choose_binning(cube, center, radius, full) == 1
    assert choose_binning(cube, center, radius, full - 1) == 2
    assert choose_binning(cube, center, radius, four) == 4
    with pytest.raises(CacheMemoryError, match=r"binned 4x.*stream_run") as info:
        choose_binning(cube, center, radius, four - 1)
    assert (info.value.needed, info.value.budget) == (full, four - 1)


def disc_cube(dtype=np.uint16) -> Datacube:
    """A cube with a bright disc (radius 8 px): its useful cache covers 10 px."""
    rng = np.random.default_rng(1)
    i, j = np.meshgrid(np.arange(40) - 20.0, np.arange(40) - 20.0, indexing="ij")
    shift = rng.normal(0.0, 0.5, (6, 7, 2))
    r = np.hypot(i - shift[..., :1, None], j - shift[..., 1:, None])
    data = (r < 8) * 2000.0 + rng.integers(0, 50, (6, 7, 40, 40))
    return Datacube(data.astype(dtype), origin="disc")


@pytest.mark.filterwarnings("ignore:the 180-degree choice")
def test_the_live_view_falls_back_to_a_binned_detector_and_stream_run_stays_exact():
    cube = disc_cube()
    useful = 1.25 * cube.disc.radius
    full, binned = (cache_bytes(cube, cube.origin, useful, f) for f in (1, 2))
    dpc = DPC(cube, memory_budget=(full + binned) // 2)  # only the 2x binned cache fits
    det = SegmentedDetector(0.5 * cube.disc.radius, useful, 4, 10.0)
    first = dpc.run(det)  # the first view: one streaming pass at full resolution
    np.testing.assert_array_equal(
        first.segment_images.reshape(4, -1),
        explicit_sums(cube, det.inner, det.outer, 4, 10.0, weighting="area"),
    )
    moved = SegmentedDetector(det.inner + 0.5, det.outer, 4, 10.0)
    live = dpc.run(moved)  # needs the cache: it does not fit, so the detector is binned
    assert dpc.binning == 2 and isinstance(dpc._engine, BinnedCache)
    assert dpc._engine.cache_radius >= useful
    binned = explicit_binned(cube, 2)
    np.testing.assert_array_equal(
        live.segment_images.reshape(4, -1),
        explicit_sums(
            binned, moved.inner, moved.outer, 4, 10.0, binned_center(cube.origin, 2), "area"
        ),
    )
    exact = dpc.stream_run(moved)  # one pass, full resolution, no cache
    np.testing.assert_array_equal(
        exact.segment_images.reshape(4, -1),
        explicit_sums(cube, moved.inner, moved.outer, 4, 10.0, weighting="area"),
    )
    assert dpc.binning == 2  # the live view's cache is untouched
    assert dpc.mean_pattern().shape == cube.detector_shape  # from the full-resolution pass


@pytest.mark.filterwarnings("ignore:the 180-degree choice")
def test_the_explorer_says_it_runs_on_a_binned_detector():
    cube = disc_cube()
    full, binned = (cache_bytes(cube, cube.origin, 1.25 * cube.disc.radius, f) for f in (1, 2))
    explorer = dw.Explorer(cube, memory_budget=(full + binned) // 2)
    assert "binned" not in explorer.status.value  # the first view: full resolution
    explorer.inner.value = explorer.inner.value + 0.5
    assert explorer.dpc.binning == 2
    assert "live view on a 2\u00d7 binned detector; exact results:" in explorer.status.value
    assert "stream_run" in explorer.status.value
