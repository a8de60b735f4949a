"""PolarCache (the fast pixel-major engine) against explicit mask sums, on both of its paths."""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import pytest
from _cubes import random_cube
from _numba_paths import kernel_threads
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dpc_widgets import Datacube, SegmentedDetector
from dpc_widgets.core import engine as engine_module
from dpc_widgets.core.engine import PolarCache, numba_available
from dpc_widgets.io.values import DataRangeError


def cube_of(dtype, shape=(8, 9, 24, 20), seed=0, **kw) -> Datacube:
    """Random cube; integer cubes use the dtype's whole range (uint16 values up to 65535)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        low = max(int(info.min), -(2**20))
        high = min(int(info.max), 2**20) if dtype.itemsize > 2 else int(info.max)
        data = rng.integers(low, high, size=shape, endpoint=True).astype(dtype)
    else:
        data = (rng.random(shape) * 10.0 ** rng.uniform(-2, 4, shape)).astype(dtype)
    return Datacube(data, **kw)


def explicit_sums(
    cube: Datacube, inner, outer, n, rotation_deg, center=None, weighting="binary"
) -> np.ndarray:
    """Segment sums from the detector's masks: ``(data * counts).sum() / subsample**2``
    (binary: int64 for integer data, float64 otherwise; area: float64, the integer numerator
    exact for integer data)."""
    det = SegmentedDetector(inner, outer, n, rotation_deg, center=center, weighting=weighting)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # outer radius beyond the detector
        counts = det.counts(cube)
    acc = np.int64 if cube.dtype.kind in "ui" else np.float64
    data = np.asarray(cube.data).astype(acc)
    sums = np.einsum("xyij,nij->nxy", data, counts.astype(acc)).reshape(n, -1)
    return sums if weighting == "binary" else sums / float(det.subsample**2)


def subsample_of(weighting: str) -> int:
    return SegmentedDetector(1, 2, weighting=weighting).subsample


def explicit_moments(cube: Datacube, center, inner=0.0, outer=math.inf) -> np.ndarray:
    qx, qy = cube.detector_shape
    dx, dy = np.meshgrid(np.arange(qx) - center[0], np.arange(qy) - center[1], indexing="ij")
    r = np.hypot(dx, dy) * cube.detector_sampling
    inside = (r >= inner) & (r < outer)
    data = np.asarray(cube.data, dtype=np.float64).reshape(-1, qx * qy)[:, inside.ravel()]
    return np.stack([data.sum(1), data @ dx[inside], data @ dy[inside]])


def check_sums(
    engine: PolarCache, cube: Datacube, geometry, center=None, weighting="binary"
) -> np.ndarray:
    inner, outer, n, rotation_deg = geometry
    subsample = subsample_of(weighting)
    # the detector's own conversion (whole turns removed in degrees first), as DPC passes it
    rotation_rad = SegmentedDetector(inner, outer, n, rotation_deg).rotation_rad
    got = engine.segment_sums(inner, outer, n, rotation_rad, subsample)
    expected = explicit_sums(cube, inner, outer, n, rotation_deg, center, weighting)
    assert got.shape == expected.shape
    if cube.dtype.kind in "ui":
        assert got.dtype == (np.int64 if weighting == "binary" else np.float64)
        np.testing.assert_array_equal(got, expected)
    else:
        assert got.dtype == np.float64
        assert_close_to_float64_sums(got, expected, cube)
    return got


def assert_close_to_float64_sums(got, expected, cube: Datacube, rtol=1e-9) -> None:
    """Within ``rtol`` and a few float64 roundings of each pattern's absolute total."""
    scale = np.abs(np.asarray(cube.data, dtype=np.float64)).reshape(expected.shape[1], -1).sum(1)
    np.testing.assert_array_less(np.abs(got - expected), rtol * np.abs(expected) + 1e-13 * scale)


# A fixed walk: radius drags, rotation drags, jumps (new N, typed radii), empty and huge annuli.
WALK = [
    (2.0, 8.0, 4, 60.0),
    (2.3, 8.0, 4, 60.0),
    (2.3, 7.7, 4, 60.0),
    (2.3, 7.7, 4, 61.0),
    (2.0, 8.3, 4, 59.0),
    (0.0, 8.3, 4, 59.0),
    (0.0, 30.0, 4, 59.0),
    (0.0, math.inf, 7, -33.3),
    (5.0, 5.2, 7, -33.3),
    (5.0, 5.0001, 7, -33.3),
    (1.0, 9.0, 16, 400.0),
    (1.0, 9.0, 16, 401.0),
    (8.0, 12.0, 16, 401.0),
    (1.0, 3.0, 1, 0.0),
    (1.0, 3.0, 2, 0.0),
    (2.0, 8.0, 4, 60.0),
]


@pytest.mark.parametrize("weighting", ["binary", "area"])
@pytest.mark.parametrize(
    "dtype", [np.uint16, np.int32, np.float32, np.uint8, np.int16, np.uint64, np.float64]
)
def test_segment_sums_equal_explicit_mask_sums_along_a_walk(dtype, use_numba, weighting):
    cube = cube_of(dtype)
    engine = PolarCache(cube, cube.origin, use_numba=use_numba)
    for geometry in WALK:
        check_sums(engine, cube, geometry, weighting=weighting)


def test_binary_and_area_geometries_alternate_on_one_cache(use_numba):
    cube = cube_of(np.uint16, shape=(3, 4, 21, 19), origin=(10.3, 9.45))
    engine = PolarCache(cube, cube.origin, use_numba=use_numba)
    for geometry in WALK[:6]:
        for weighting in ("area", "binary", "area"):
            check_sums(engine, cube, geometry, weighting=weighting)


@pytest.mark.parametrize("weighting", ["binary", "area"])
def test_off_centre_and_fractional_centre_agree_with_detector_masks(use_numba, weighting):
    cube = cube_of(np.uint16, shape=(3, 4, 17, 23), detector_sampling=0.7, detector_units="mrad")
    for center in [(3.25, 19.5), (8.0, 11.0), (0.0, 0.0)]:
        engine = PolarCache(cube, center, use_numba=use_numba)
        for geometry in [(0.0, 6.0, 4, 10.0), (0.5, 6.2, 4, 10.0), (1.0, 40.0, 5, 200.0)]:
            check_sums(engine, cube, geometry, center=center, weighting=weighting)


@pytest.mark.parametrize("weighting", ["binary", "area"])
def test_uint16_sums_beyond_int32_are_exact(use_numba, weighting):
    # 40000 pixels of 65535: pattern sums of 2.6e9 overflow int32, and more rows than the
    # 32768 that an int32 partial sum can take before it is flushed (area weights: 64 times
    # the values, flushed 64 times as often).
    data = np.full((2, 3, 200, 200), 65535, dtype=np.uint16)
    data[1, 2, 100, 100] = 7
    cube = Datacube(data, origin=(100.0, 99.9961))
    engine = PolarCache(cube, cube.origin, use_numba=use_numba)
    got = check_sums(engine, cube, (0.0, math.inf, 2, 0.0), weighting=weighting)
    assert got.sum(axis=0)[0] == 65535 * 40000 > 2**31
    check_sums(engine, cube, (0.0, math.inf, 2, 1.0), weighting=weighting)  # ~half move
    np.testing.assert_array_equal(engine.moments[0], data.reshape(6, -1).sum(1, dtype=np.int64))


# Random walks: small drags (radius by a fraction of a pixel, rotation by a few degrees) mixed
# with jumps to any new geometry.
_drag = st.tuples(
    st.just("drag"),
    st.floats(-0.6, 0.6),
    st.floats(-0.6, 0.6),
    st.floats(-3.0, 3.0),
)
_jump = st.tuples(
    st.just("jump"),
    st.floats(0.0, 12.0),
    st.floats(0.2, 20.0),
    st.integers(1, 16),
    st.floats(-720.0, 720.0),
)


def apply_step(geometry, step):
    inner, outer, n, rotation = geometry
    if step[0] == "drag":
        _, d_inner, d_outer, d_rot = step
        inner = max(0.0, inner + d_inner)
        outer = max(inner + 0.05, outer + d_outer)
        return inner, outer, n, rotation + d_rot
    _, inner, width, n, rotation = step
    return inner, inner + width, n, rotation


@settings(max_examples=30, deadline=None)
@given(
    dtype=st.sampled_from([np.uint16, np.int32, np.float32]),
    steps=st.lists(st.one_of(_drag, _drag, _jump), min_size=1, max_size=25),
    weighting=st.sampled_from(["binary", "area"]),
)
# found by a full-suite run: a rotation turning the ring-edge pixels whose centres lie outside
# a small annulus (their sub-samples inside it moved to another segment, unseen)
@example(
    dtype=np.uint16,
    steps=[("jump", 0.0, 1.0, 2, 0.0), ("jump", 0.0, 1.0, 2, 76.0)],
    weighting="area",
)
# a whole turn: the engine must get the detector's radians (turns removed in degrees first)
@example(dtype=np.uint16, steps=[("jump", 0.0, 1.0, 8, 360.0)], weighting="area")
def test_random_drags_and_jumps_are_exact_and_paths_identical(dtype, steps, weighting):
    cube = cube_of(dtype, seed=len(steps))
    engines = [(PolarCache(cube, cube.origin, use_numba=False), contextlib.nullcontext)]
    if numba_available():
        engines.append((PolarCache(cube, cube.origin, use_numba=True), contextlib.nullcontext))
        with kernel_threads():
            engines.append((PolarCache(cube, cube.origin, use_numba=True), kernel_threads))
    geometry = (2.0, 8.0, 4, 45.0)
    for step in [None, *steps]:
        if step is not None:
            geometry = apply_step(geometry, step)
        results, moments = [], []
        for engine, mode in engines:
            with mode():
                results.append(check_sums(engine, cube, geometry, weighting=weighting))
                moments.append(engine.annulus_moments(geometry[0], geometry[1]))
        for other, other_moments in zip(results[1:], moments[1:], strict=True):
            np.testing.assert_array_equal(other, results[0])  # bit-identical, also for floats
            np.testing.assert_array_equal(other_moments, moments[0])
    np.testing.assert_allclose(
        moments[0],
        explicit_moments(cube, cube.origin, geometry[0], geometry[1]),
        rtol=1e-10,
        atol=1e-9,
    )


def test_drags_are_incremental_jumps_recompute_and_repeats_are_cached(cube):
    engine = PolarCache(cube, cube.origin)
    engine.segment_sums(2.0, 8.0, 4, 0.5)
    assert engine.last_update == "recompute"
    engine.segment_sums(2.3, 8.0, 4, 0.5)
    assert engine.last_update == "incremental"
    engine.segment_sums(2.3, 8.0, 4, 0.52)
    assert engine.last_update == "incremental"
    first = engine.segment_sums(2.3, 8.0, 4, 0.52)
    assert engine.last_update == "cached"
    first[:] = -1  # results are new arrays: the state is untouched
    assert (engine.segment_sums(2.3, 8.0, 4, 0.52) >= 0).all()
    engine.segment_sums(2.3, 8.0, 8, 0.52)
    assert engine.last_update == "recompute"  # another N
    engine.segment_sums(2.3, 8.0, 8, 0.52 + math.pi / 4)
    assert engine.last_update == "recompute"  # every pixel changes segment: from scratch
    engine.annulus_moments(1.0, 5.0)
    assert engine.last_update == "recompute"
    engine.annulus_moments(1.3, 5.0)
    assert engine.last_update == "incremental"
    engine.annulus_moments(6.0, 9.0)
    assert engine.last_update == "recompute"  # no overlap


def test_area_drags_touch_only_the_pixels_whose_weights_change(monkeypatch):
    cube = cube_of(np.uint16, shape=(2, 3, 64, 64), origin=(32.0036, 31.999))
    engine = PolarCache(cube, cube.origin, use_numba=False)
    touched = []
    move = engine._move_rows
    monkeypatch.setattr(
        engine,
        "_move_rows",
        lambda sums, rows, *a: (touched.append(np.unique(rows).size), move(sums, rows, *a)),
    )
    engine.segment_sums(8.0, 20.0, 4, 0.3, 8)
    annulus = touched[-1]
    assert annulus > 1000  # the recompute: every weighted pixel
    for geometry in [(8.0, 20.1, 4, 0.3, 8), (8.05, 20.1, 4, 0.3, 8), (8.05, 20.1, 4, 0.31, 8)]:
        check = engine.segment_sums(*geometry)
        assert engine.last_update == "incremental"
        assert 0 < touched[-1] < 0.3 * annulus  # a thin ring, or the pixels near the borders
        expected = explicit_sums(cube, *geometry[:3], math.degrees(geometry[3]), None, "area")
        np.testing.assert_array_equal(check, expected)


@pytest.mark.parametrize("segments", [1, 2, 5])
def test_area_rotation_drags_stay_exact_through_the_centre_pixel(segments):
    cube = cube_of(np.int32, shape=(2, 2, 19, 17), origin=(9.0, 8.0021))
    engine = PolarCache(cube, cube.origin, use_numba=False)
    for step in range(12):  # crossing pixel centres and the centre pixel (inner 0)
        geometry = (0.0, 6.5, segments, -20.0 + 7.3 * step)
        check_sums(engine, cube, geometry, weighting="area")


def test_float_drift_after_3000_random_drags(use_numba, monkeypatch):
    # Values spanning 8 decades make every add/subtract round; without the periodic refresh
    # (disabled here) 3000 drags must still stay far inside 1e-6 of the explicit sums.
    monkeypatch.setattr(engine_module, "REFRESH_FACTOR", 10**9)
    cube = cube_of(np.float32, shape=(4, 5, 24, 20), seed=3)
    data = np.asarray(cube.data).copy()
    data *= (10.0 ** np.random.default_rng(4).uniform(-3, 5, data.shape)).astype(np.float32)
    cube = Datacube(data)
    engine = PolarCache(cube, cube.origin, use_numba=use_numba)
    rng = np.random.default_rng(5)
    geometry = (3.0, 8.0, 4, 10.0)
    engine.segment_sums(3.0, 8.0, 4, math.radians(10.0))
    updates = set()
    for i in range(3000):
        step = ("drag", *rng.uniform(-0.3, 0.3, 2), rng.uniform(-1.0, 1.0))
        geometry = apply_step(geometry, step)
        geometry = (min(geometry[0], 6.0), min(max(geometry[1], 6.5), 10.5), 4, geometry[3])
        got = engine.segment_sums(geometry[0], geometry[1], 4, math.radians(geometry[3]))
        updates.add(engine.last_update)
        if i % 1000 == 999:
            expected = explicit_sums(cube, *geometry)
            assert_close_to_float64_sums(got, expected, cube)
    assert "incremental" in updates


def test_float_sums_are_refreshed_from_scratch_periodically(monkeypatch):
    monkeypatch.setattr(engine_module, "REFRESH_FACTOR", 4)
    cube = cube_of(np.float32, shape=(2, 2, 24, 20))
    engine = PolarCache(cube, cube.origin)
    fresh = PolarCache(cube, cube.origin)
    seen = []
    rotation = 0.1
    for _ in range(100):
        rotation += 0.1
        got = engine.segment_sums(2.0, 4.0, 4, rotation)
        seen.append(engine.last_update)
    assert "incremental" in seen and "recompute" in seen[1:]
    # Right after a refresh the result equals a from-scratch computation bit for bit.
    last = len(seen) - 1 - seen[::-1].index("recompute")
    rotation = 0.1 + 0.1 * (last + 1)
    assert seen[last + 1 :].count("recompute") == 0
    engine.segment_sums(2.0, 4.0, 4, rotation)
    np.testing.assert_array_equal(
        engine.segment_sums(2.0, 4.0, 4, rotation), fresh.segment_sums(2.0, 4.0, 4, rotation)
    )
    assert got.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.float32])
def test_moments_and_annulus_moments_equal_explicit(dtype, use_numba):
    cube = cube_of(dtype, detector_sampling=0.5, detector_units="mrad")
    for center in [cube.origin, (10.4, 7.7)]:
        engine = PolarCache(cube, center, use_numba=use_numba)
        assert engine.moments.shape == (3, 72) and engine.moments.dtype == np.float64
        np.testing.assert_allclose(engine.moments, explicit_moments(cube, center), rtol=1e-12)
        for inner, outer in [
            (1.0, 4.0),
            (1.2, 4.0),
            (1.2, 3.6),
            (0.0, 3.6),
            (0.0, math.inf),
            (5.0, 6.0),
            (5.0, 5.0001),
            (2.0, 5.5),
        ]:
            got = engine.annulus_moments(inner, outer)
            np.testing.assert_allclose(
                got, explicit_moments(cube, center, inner, outer), rtol=1e-12, atol=1e-6
            )
        if dtype != np.float32 and center == cube.origin:
            # integer data around an integer centre: exact
            np.testing.assert_array_equal(got, explicit_moments(cube, center, 2.0, 5.5))


def test_input_is_not_modified(use_numba):
    cube = cube_of(np.float32)
    before = np.array(cube.data, copy=True)
    engine = PolarCache(cube, cube.origin, use_numba=use_numba, max_block_bytes=1)
    for geometry in WALK[:6]:
        engine.segment_sums(geometry[0], geometry[1], geometry[2], math.radians(geometry[3]))
        engine.annulus_moments(geometry[0], geometry[1])
    np.testing.assert_array_equal(cube.data, before)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_pixels_are_masked_and_counted(bad, use_numba):
    """NaN / inf pixels count as 0 in every sum (exactly as if they were 0) and are counted;
    the data is not modified."""
    data = cube_of(np.float32).data.copy()
    data[6, 2, 3, 4] = bad
    data[7, 0, 0, 0] = np.nan
    kept = data.copy()
    zeroed = np.where(np.isfinite(data), data, 0).astype(np.float32)
    engine = PolarCache(Datacube(data), (12.0, 10.0), use_numba=use_numba, max_block_bytes=2000)
    clean = PolarCache(Datacube(zeroed), (12.0, 10.0), use_numba=use_numba, max_block_bytes=2000)
    assert (engine.nonfinite_pixels, clean.nonfinite_pixels) == (2, 0)
    np.testing.assert_array_equal(engine.moments, clean.moments)
    np.testing.assert_array_equal(engine.pattern_sum, zeroed.sum(axis=(0, 1), dtype=np.float64))
    geometry = (2.0, 9.0, 4, math.radians(20.0))
    np.testing.assert_array_equal(engine.segment_sums(*geometry), clean.segment_sums(*geometry))
    np.testing.assert_array_equal(data, kept)


def test_float64_overflowing_sums_are_reported_as_such():
    data = np.full((2, 2, 4, 4), 1e308)
    with pytest.raises(DataRangeError, match=r"\(rx, ry\) = \(0, 0\) sums to inf"):
        PolarCache(Datacube(data), (2.0, 2.0))
    data[1, 1, 0, 0] = np.nan  # masking NaN does not hide the overflow
    with pytest.raises(DataRangeError, match=r"\(rx, ry\) = \(0, 0\) sums to inf"):
        PolarCache(Datacube(data), (2.0, 2.0))


def test_sources_blocks_and_byte_orders_give_the_same_sums(use_numba, tmp_path):
    cube = cube_of(np.uint16, shape=(5, 6, 24, 20))
    expected = explicit_sums(cube, 2.0, 9.0, 5, 20.0)
    base = np.zeros((5, 6, 30, 20), dtype=np.uint16)
    base[:, :, 3:27] = cube.data
    path = tmp_path / "cube.npy"
    np.save(path, cube.data)
    sources = [
        base[:, :, 3:27],  # not contiguous
        cube.data.astype(">u2"),  # big-endian
        np.load(path, mmap_mode="r"),  # memory-mapped file
    ]
    for data in sources:
        for block_bytes in (1, 24 * 20 * 2 * 7, 2**30):
            engine = PolarCache(
                Datacube(data), cube.origin, use_numba=use_numba, max_block_bytes=block_bytes
            )
            got = engine.segment_sums(2.0, 9.0, 5, math.radians(20.0))
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_single_scan_position_paths_identical(dtype):
    if not numba_available():
        pytest.skip("numba")
    cube = cube_of(dtype, shape=(1, 1, 40, 40), seed=9)
    engines = [PolarCache(cube, cube.origin, use_numba=flag) for flag in (True, False)]
    for geometry in [(0.0, 30.0, 3, 0.2), (0.4, 30.0, 3, 0.2), (0.4, 30.0, 3, 0.25)]:
        a, b = (engine.segment_sums(*geometry) for engine in engines)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(engines[0].moments, engines[1].moments)
    np.testing.assert_array_equal(
        engines[0].annulus_moments(2.0, 9.0), engines[1].annulus_moments(2.0, 9.0)
    )


def test_nbytes_is_about_the_cube_size(cube):
    engine = PolarCache(cube, cube.origin)
    assert cube.nbytes <= engine.nbytes < cube.nbytes + 200 * 24 * 20 + 64 * 6 * 7
    engine.segment_sums(2.0, 8.0, 4, 0.0)
    assert engine.nbytes > cube.nbytes + 4 * 42 * 8


def test_use_numba_needs_numpy():
    with pytest.raises(ValueError, match="use_numba=True needs xp=numpy, got xp=math"):
        PolarCache(random_cube(), (12.0, 10.0), math, use_numba=True)


@pytest.mark.gpu
def test_cupy_path_matches_numpy():
    cupy = pytest.importorskip("cupy")
    from dpc_widgets.backend import cupy_available

    if not cupy_available():
        pytest.skip("no CUDA device")
    for dtype in (np.uint16, np.float32):
        cube = cube_of(dtype)
        gpu = PolarCache(cube, cube.origin, cupy)
        cpu = PolarCache(cube, cube.origin, use_numba=False)
        np.testing.assert_allclose(gpu.moments.get(), cpu.moments, rtol=1e-12)
        for geometry, subsample in [(g, s) for g in WALK for s in (1, 8)]:
            args = (geometry[0], geometry[1], geometry[2], math.radians(geometry[3]), subsample)
            got = gpu.segment_sums(*args)
            assert isinstance(got, cupy.ndarray)
            np.testing.assert_allclose(got.get(), cpu.segment_sums(*args), rtol=1e-12)
            np.testing.assert_allclose(
                gpu.annulus_moments(*args[:2]).get(),
                cpu.annulus_moments(*args[:2]),
                rtol=1e-12,
                atol=1e-6,
            )


# --------------------------------------------------------------------------- bounded caches
BOUNDED_RADIUS = 8.5  # pixels of the 24 x 20 test detector: about half of them


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.float32, np.float64])
def test_bounded_cache_sums_are_exact_and_identical_to_the_full_cache(dtype, use_numba):
    cube = cube_of(dtype)
    full = PolarCache(cube, cube.origin, use_numba=use_numba)
    bounded = PolarCache(cube, cube.origin, use_numba=use_numba, cache_radius=BOUNDED_RADIUS)
    inside = [g for g in WALK if g[1] <= BOUNDED_RADIUS]
    assert len(inside) >= 10
    for geometry in inside:
        inner, outer, n, rotation = geometry
        got = check_sums(bounded, cube, geometry)
        np.testing.assert_array_equal(
            got, full.segment_sums(inner, outer, n, math.radians(rotation))
        )
        np.testing.assert_array_equal(
            bounded.annulus_moments(inner, outer), full.annulus_moments(inner, outer)
        )
    np.testing.assert_array_equal(bounded.moments, full.moments)  # whole detector, same order
    np.testing.assert_array_equal(bounded.annulus_moments(0.0, math.inf), full.moments)


@pytest.mark.parametrize("dtype", [np.uint16, np.uint8, np.int32, np.float32])
@pytest.mark.parametrize("radius", [BOUNDED_RADIUS, math.inf])
def test_the_cache_is_the_sorted_transpose_of_the_patterns(dtype, radius, use_numba):
    # 7 x 23 = 161 positions in blocks of 3 scan rows (69 positions): the load tiles (64
    # positions of uint16) and the transpose's 16 x 16 squares leave edges in every block.
    cube = cube_of(dtype, shape=(7, 23, 24, 20))
    pattern_bytes = 24 * 20 * np.dtype(dtype).itemsize
    engine = PolarCache(
        cube,
        cube.origin,
        use_numba=use_numba,
        cache_radius=radius,
        max_block_bytes=3 * 23 * pattern_bytes,
    )
    flat = np.asarray(cube.data).reshape(161, 24 * 20)
    n_cached = engine_module.cached_pixels(cube, cube.origin, radius)
    assert n_cached % 16 != 0 or radius == math.inf
    np.testing.assert_array_equal(engine._pix, flat.T[engine._order[:n_cached]])
    assert engine._pix.dtype == np.dtype(dtype)


def test_bounded_cache_holds_only_the_pixels_inside_and_refuses_beyond(cube):
    engine = PolarCache(cube, cube.origin, cache_radius=BOUNDED_RADIUS)
    inside = engine_module.cached_pixels(cube, cube.origin, BOUNDED_RADIUS)
    assert 0 < inside < math.prod(cube.detector_shape)
    assert engine._pix.shape == (inside, math.prod(cube.scan_shape))
    assert engine.cache_radius == BOUNDED_RADIUS
    assert engine.covers(BOUNDED_RADIUS) and not engine.covers(BOUNDED_RADIUS + 1)
    with pytest.raises(engine_module.OutsideCacheError, match=r"outer radius 9\.5 .* 8\.5") as info:
        engine.segment_sums(2.0, 9.5, 4, 0.0)
    assert isinstance(info.value, ValueError)
    assert (info.value.outer, info.value.cache_radius) == (9.5, BOUNDED_RADIUS)
    with pytest.raises(engine_module.OutsideCacheError):
        engine.annulus_moments(1.0, math.inf)
    # The same call still answers exactly after the refusal.
    check_sums(engine, cube, (2.0, 8.0, 4, 60.0))
    whole = PolarCache(cube, cube.origin, cache_radius=1e6)
    assert whole.cache_radius == math.inf and whole.covers(math.inf)
    with pytest.raises(ValueError, match="cache_radius must be positive"):
        PolarCache(cube, cube.origin, cache_radius=0.0)


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.float32])
def test_the_load_pass_yields_the_pattern_sum(dtype, use_numba):
    cube = cube_of(dtype, shape=(30, 40, 24, 20))
    for radius in (math.inf, BOUNDED_RADIUS):
        engine = PolarCache(cube, cube.origin, use_numba=use_numba, cache_radius=radius)
        data = np.asarray(cube.data)
        if dtype == np.float32:
            expected = data.sum(axis=(0, 1), dtype=np.float64)
            np.testing.assert_allclose(engine.pattern_sum, expected, rtol=1e-12)
        else:
            assert engine.pattern_sum.dtype == np.int64
            np.testing.assert_array_equal(engine.pattern_sum, data.sum(axis=(0, 1), dtype=np.int64))


def test_auto_numba_answers_on_numpy_until_the_kernels_are_compiled(monkeypatch):
    if not numba_available():
        pytest.skip("numba is not installed")
    import threading

    from dpc_widgets.core import warmup

    release = threading.Event()
    real_warm_up = warmup._warm_up

    def slow_warm_up(dtype, nice_from):  # not in the disk cache; compiling takes until told
        for group in warmup.GROUPS:
            warmup._settled[(group, dtype.str)].set()
        release.wait(30)
        real_warm_up(dtype, nice_from)

    monkeypatch.setattr(warmup, "_ready", {})  # a fresh process: nothing warmed up yet
    monkeypatch.setattr(warmup, "_settled", {})
    monkeypatch.setattr(warmup, "_warm_up", slow_warm_up)
    cube = cube_of(np.uint16)
    engine = PolarCache(cube, cube.origin)  # load pass on the NumPy path
    assert not engine.use_numba
    check_sums(engine, cube, WALK[0])
    release.set()
    assert engine_module.wait_for_numba(engine._dtype, timeout=60)
    assert engine.use_numba
    for geometry in WALK[1:]:  # incremental updates now on the kernels, still exact
        check_sums(engine, cube, geometry)
