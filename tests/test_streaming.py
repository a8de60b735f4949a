"""The streaming pass (one pass, no cache) against explicit mask sums, on both of its paths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _numba_paths import kernel_threads
from test_engine import (
    WALK,
    assert_close_to_float64_sums,
    cube_of,
    explicit_moments,
    explicit_sums,
    subsample_of,
)

from dpc_widgets import DPC, Datacube, SegmentedDetector
from dpc_widgets.core import streaming
from dpc_widgets.core.engine import PolarCache, numba_available
from dpc_widgets.core.streaming import NotStreamedError, stream_pass

DTYPES = [np.uint16, np.int32, np.float32, np.uint8, np.int16, np.uint64, np.float64]
ANNULI = [(2.0, 8.0), (0.0, 30.0), (5.0, 5.2), (3.0, math.inf)]


def keys(walk=WALK, subsample=1):
    return [(a, b, n, math.radians(r), subsample) for a, b, n, r in walk]


def both():
    """The walk's keys with binary masks and with area weights."""
    return keys() + keys(subsample=subsample_of("area"))


@pytest.mark.parametrize("weighting", ["binary", "area"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_stream_sums_equal_explicit_mask_sums(dtype, use_numba, weighting):
    cube = cube_of(dtype)
    sub = subsample_of(weighting)
    for center in (cube.origin, (11.3, 9.6)):
        streamed = stream_pass(
            cube, center, segments=keys(subsample=sub), annuli=ANNULI, use_numba=use_numba
        )
        for geometry, key in zip(WALK, keys(subsample=sub), strict=True):
            got = streamed.segment_sums(*key)
            expected = explicit_sums(cube, *geometry, center=center, weighting=weighting)
            if cube.dtype.kind in "ui":
                assert got.dtype == (np.int64 if weighting == "binary" else np.float64)
                np.testing.assert_array_equal(got, expected)
            else:
                assert got.dtype == np.float64
                assert_close_to_float64_sums(got, expected, cube)
        for inner, outer in [*ANNULI, (0.0, math.inf)]:
            np.testing.assert_allclose(
                streamed.annulus_moments(inner, outer),
                explicit_moments(cube, center, inner, outer),
                rtol=1e-9,
                atol=1e-6,
            )
        data = np.asarray(cube.data)
        if cube.dtype.kind in "ui":
            expected = data.astype(np.int64).sum(axis=(0, 1))
            np.testing.assert_array_equal(streamed.pattern_sum, expected)
        else:
            expected = data.sum(axis=(0, 1), dtype=np.float64)
            np.testing.assert_allclose(streamed.pattern_sum, expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_numba_and_numpy_paths_are_bit_identical(dtype):
    if not numba_available():
        pytest.skip("numba is not installed")
    cube = cube_of(dtype, shape=(7, 9, 24, 20), seed=3)
    center = (11.3, 9.6)
    runs = [stream_pass(cube, center, segments=both(), annuli=ANNULI, use_numba=False)]
    runs.append(stream_pass(cube, center, segments=both(), annuli=ANNULI, use_numba=True))
    with kernel_threads():
        runs.append(stream_pass(cube, center, segments=both(), annuli=ANNULI, use_numba=True))
    for other in runs[1:]:
        for key in both():
            np.testing.assert_array_equal(other.segment_sums(*key), runs[0].segment_sums(*key))
        for annulus in ANNULI:
            np.testing.assert_array_equal(
                other.annulus_moments(*annulus), runs[0].annulus_moments(*annulus)
            )
        np.testing.assert_array_equal(other.moments, runs[0].moments)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16])
def test_streamed_sums_equal_a_fresh_cache_bit_for_bit(dtype, use_numba):
    cube = cube_of(dtype, seed=5)
    center = (11.3, 9.6)
    streamed = stream_pass(cube, center, segments=both(), annuli=ANNULI, use_numba=use_numba)
    for key in both():
        engine = PolarCache(cube, center, use_numba=use_numba)
        np.testing.assert_array_equal(streamed.segment_sums(*key), engine.segment_sums(*key))
    for annulus in ANNULI:
        engine = PolarCache(cube, center, use_numba=use_numba)
        np.testing.assert_array_equal(
            streamed.annulus_moments(*annulus), engine.annulus_moments(*annulus)
        )
    np.testing.assert_array_equal(streamed.moments, engine.moments)


def test_uint16_sums_beyond_int32_are_exact(use_numba):
    data = np.full((2, 3, 200, 210), 65535, dtype=np.uint16)  # 42000 pixels: sums > 2**31
    cube = Datacube(data)
    streamed = stream_pass(
        cube, cube.origin, segments=[(0.0, math.inf, 2, 0.0)], use_numba=use_numba
    )
    sums = streamed.segment_sums(0.0, math.inf, 2, 0.0)
    assert sums.sum(axis=0)[0] == 65535 * 200 * 210 > 2**31
    np.testing.assert_array_equal(sums, explicit_sums(cube, 0.0, math.inf, 2, 0.0))
    assert streamed.moments[0, 0] == 65535 * 200 * 210


def test_the_numpy_path_answers_until_the_kernel_is_ready(monkeypatch):
    if not numba_available():
        pytest.skip("numba is not installed")
    cube = cube_of(np.uint16, shape=(40, 9, 24, 20))
    expected = stream_pass(cube, cube.origin, segments=keys()[:3], use_numba=False)
    calls = []

    def ready_after_three(group, dtype):  # the kernel becomes ready mid-pass
        calls.append(group)
        return len(calls) > 3

    monkeypatch.setattr(streaming, "kernels_ready", ready_after_three)
    monkeypatch.setattr(streaming, "_CHUNK_BYTES", 3 * 24 * 20 * 8)  # 3 patterns per chunk
    paths = []
    real_numba, real_numpy = streaming._Reducer.numba, streaming._Reducer.numpy_chunk

    def numba(self, flat, start):
        paths.append("numba")
        real_numba(self, flat, start)

    def numpy_chunk(self, flat, start):
        paths.append("numpy")
        return real_numpy(self, flat, start)

    monkeypatch.setattr(streaming._Reducer, "numba", numba)
    monkeypatch.setattr(streaming._Reducer, "numpy_chunk", numpy_chunk)
    mixed = stream_pass(cube, cube.origin, segments=keys()[:3], max_block_bytes=24 * 20 * 2 * 90)
    assert paths[:3] == ["numpy"] * 3 and "numba" in paths
    for key in keys()[:3]:
        np.testing.assert_array_equal(mixed.segment_sums(*key), expected.segment_sums(*key))
    np.testing.assert_array_equal(mixed.moments, expected.moments)
    np.testing.assert_array_equal(mixed.pattern_sum, expected.pattern_sum)


def test_only_the_geometries_streamed_are_answered():
    cube = cube_of(np.uint16)
    streamed = stream_pass(cube, cube.origin, segments=keys()[:1], annuli=[(2.0, 8.0)])
    streamed.segment_sums(*keys()[0])
    with pytest.raises(NotStreamedError, match="not streamed"):
        streamed.segment_sums(*keys()[1])
    with pytest.raises(NotStreamedError, match="not streamed"):
        streamed.annulus_moments(1.0, 8.0)
    np.testing.assert_array_equal(streamed.annulus_moments(0.0, math.inf), streamed.moments)
    assert streamed.answers(keys()[:1], [(2.0, 8.0), (0.0, math.inf)])
    assert not streamed.answers(keys()[:2])
    assert not streamed.covers(1.0) and streamed.cache_radius == 0.0
    assert 0 < streamed.nbytes < cube.nbytes


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_pixels_are_masked_as_the_cache_masks_them(bad, use_numba):
    """NaN / inf pixels count as 0 and are counted; the sums agree bit for bit with the
    cache's on the same data; the data is not modified."""
    data = cube_of(np.float32).data.copy()
    data[3, 4, 5, 6] = bad
    kept = data.copy()
    cube = Datacube(data)
    streamed = stream_pass(cube, (12.0, 10.0), segments=keys()[:1], use_numba=use_numba)
    cache = PolarCache(cube, (12.0, 10.0), use_numba=use_numba)
    assert streamed.nonfinite_pixels == cache.nonfinite_pixels == 1
    np.testing.assert_array_equal(streamed.moments, cache.moments)
    np.testing.assert_array_equal(streamed.pattern_sum, cache.pattern_sum)
    np.testing.assert_array_equal(streamed.segment_sums(*keys()[0]), cache.segment_sums(*keys()[0]))
    zeroed = Datacube(np.where(np.isfinite(data), data, 0).astype(np.float32))
    clean = stream_pass(zeroed, (12.0, 10.0), segments=keys()[:1], use_numba=use_numba)
    np.testing.assert_array_equal(streamed.moments, clean.moments)
    np.testing.assert_array_equal(data, kept)


def test_input_is_read_only_and_not_modified(tmp_path, use_numba):
    cube = cube_of(np.uint16)
    path = tmp_path / "cube.npy"
    np.save(path, cube.data)
    mapped = Datacube(np.load(path, mmap_mode="r"))
    before = np.array(mapped.data)
    streamed = stream_pass(mapped, mapped.origin, segments=keys()[:2], use_numba=use_numba)
    np.testing.assert_array_equal(np.asarray(mapped.data), before)
    np.testing.assert_array_equal(streamed.segment_sums(*keys()[0]), explicit_sums(cube, *WALK[0]))


# ---------------------------------------------------------------------- in the DPC core
@pytest.mark.filterwarnings("ignore:the 180-degree choice")
def test_dpc_answers_the_first_view_by_one_pass_then_builds_the_cache():
    cube = cube_of(np.float32, shape=(8, 9, 24, 20), detector_sampling=0.5, detector_units="mrad")
    det = SegmentedDetector(1.0, 4.0, 4, 20.0)
    dpc = DPC(cube)
    first = dpc.run(det, com_source="pixelated", com_inner=0.5, com_outer=5.0)
    assert dpc._streamed is not None and dpc._engine is None  # one pass, no cache
    reference = DPC(cube, stream_first=False)
    again = reference.run(det, com_source="pixelated", com_inner=0.5, com_outer=5.0)
    for name in ("segment_images", "com", "com_rotated", "phase"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    np.testing.assert_array_equal(dpc.mean_pattern(), reference.mean_pattern())
    np.testing.assert_array_equal(dpc.com(), reference.com())  # whole detector: streamed too
    assert dpc._engine is None
    other = SegmentedDetector(1.5, 4.0, 4, 20.0)
    # The reference cache reached `other` incrementally (float rounding of its own), dpc's new
    # cache summed it afresh: equal to rounding.
    np.testing.assert_allclose(
        dpc.segment_images(other), reference.segment_images(other), rtol=1e-13
    )
    assert dpc._engine is not None  # the next geometry built the cache


@pytest.mark.filterwarnings("ignore:the 180-degree choice")
def test_stream_run_is_exact_at_full_resolution_and_builds_no_cache():
    cube = cube_of(np.uint16, shape=(8, 9, 24, 20))
    det = SegmentedDetector(2.0, 7.0, 4, 30.0)
    dpc = DPC(cube)
    dpc.segment_images(SegmentedDetector(1.0, 3.0, 4, 0.0))  # some first view
    for options in ({}, {"com_source": "pixelated", "com_inner": 1.0, "com_outer": 6.0}):
        exact = dpc.stream_run(det, **options)
        expected = DPC(cube, stream_first=False).run(det, **options)
        for name in ("segment_images", "com", "phase"):
            np.testing.assert_array_equal(getattr(exact, name), getattr(expected, name))
    assert dpc._engine is None
    images = dpc.stream_run(det).segment_images.reshape(4, -1)
    np.testing.assert_array_equal(images, explicit_sums(cube, 2.0, 7.0, 4, 30.0, weighting="area"))
    # A detector off the origin with a pixelated CoM: two passes, still no cache.
    off = SegmentedDetector(2.0, 7.0, 4, 30.0, center=(11.0, 9.0))
    exact = dpc.stream_run(off, com_source="pixelated", com_outer=6.0)
    expected = DPC(cube, stream_first=False).run(off, com_source="pixelated", com_outer=6.0)
    np.testing.assert_array_equal(exact.com, expected.com)
    np.testing.assert_array_equal(exact.segment_images, expected.segment_images)


def test_stream_first_false_builds_the_cache_at_once():
    cube = cube_of(np.uint16)
    dpc = DPC(cube, stream_first=False)
    dpc.segment_images(SegmentedDetector(1.0, 3.0, 4, 0.0))
    assert dpc._streamed is None and dpc._engine is not None


def test_a_new_origin_streams_its_first_view_again():
    cube = cube_of(np.uint16)
    det = SegmentedDetector(1.0, 5.0, 4, 0.0)
    dpc = DPC(cube)
    dpc.segment_images(det)
    dpc.origin = (11.0, 9.5)
    assert dpc._streamed is None
    images = dpc.segment_images(det).reshape(4, -1)
    assert dpc._streamed.center == (11.0, 9.5) and dpc._engine is None
    expected = explicit_sums(cube, 1.0, 5.0, 4, 0.0, (11.0, 9.5), weighting="area")
    np.testing.assert_array_equal(images, expected)
