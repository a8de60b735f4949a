"""DetectorSums: the detector cache's life for one cube and origin (dpc_widgets.core.sums)."""

from __future__ import annotations

import math

import numpy as np
from test_engine import cube_of, explicit_sums

from dpc_widgets import DPC, SegmentedDetector
from dpc_widgets.core.dpc import _detector_key
from dpc_widgets.core.engine import PolarCache
from dpc_widgets.core.streaming import StreamedSums, segment_key
from dpc_widgets.core.sums import (
    CACHE_DISC_FACTOR,
    USEFUL_DISC_FACTOR,
    DetectorSums,
    default_cache_radius,
)


def test_segment_sums_default_to_the_origin_and_equal_the_explicit_masks():
    cube = cube_of(np.uint16)
    sums = DetectorSums(cube, np, progress=False)
    key = segment_key(1.0, 5.0, 4, 0.0)
    first = sums.segment_sums(key)  # the first view: one streaming pass, no cache
    assert isinstance(sums.streamed, StreamedSums) and sums.engine is None
    np.testing.assert_array_equal(first, explicit_sums(cube, 1.0, 5.0, 4, 0.0))
    off = (11.0, 9.5)
    moved = sums.segment_sums(key, off)  # another centre: the cache, around it
    assert isinstance(sums.engine, PolarCache) and sums.engine.center == off
    np.testing.assert_array_equal(moved, explicit_sums(cube, 1.0, 5.0, 4, 0.0, off))
    assert sums.cache_ready(off) and not sums.cache_ready()  # default centre: the origin


def test_moments_and_pattern_sum_are_the_explicit_ones():
    cube = cube_of(np.uint16, shape=(3, 4, 10, 8))
    data = np.asarray(cube.data, dtype=np.float64)
    sums = DetectorSums(cube, np, progress=False, stream_first=False)
    np.testing.assert_array_equal(sums.pattern_sum(), data.sum(axis=(0, 1)))
    ox, oy = cube.origin
    dx = np.arange(10)[:, None] - ox + np.zeros((1, 8))
    dy = np.arange(8)[None, :] - oy + np.zeros((10, 1))
    flat = data.reshape(12, -1)
    expected = np.stack([flat.sum(1), flat @ dx.ravel(), flat @ dy.ravel()])
    np.testing.assert_allclose(sums.moments(), expected, rtol=1e-12)
    assert sums.cached_radius == float(sums.engine.cache_radius) and sums.binning == 1


def test_plan_uses_the_default_radius_and_keeps_it_across_origins():
    cube = cube_of(np.uint16)
    sums = DetectorSums(cube, np, progress=False)
    default = default_cache_radius(cube)
    assert sums.plan_cache_radius() == default  # nothing over budget, no reach asked for
    if math.isfinite(default):
        useful = sums._useful_radius(cube.origin)
        assert useful == default * USEFUL_DISC_FACTOR / CACHE_DISC_FACTOR
    moved = DetectorSums(cube.with_origin((11.0, 9.5)), np)
    moved.keep(sums, cache=False)
    assert moved._default == sums._default and moved.engine is None


def test_a_retired_object_installs_nothing():
    cube = cube_of(np.uint16)
    sums = DetectorSums(cube, np, progress=False)
    sums.retire()  # its DPC moved to another cube or origin meanwhile
    sums.build_cache(cube.origin, 4.0)
    assert sums.engine is None and sums.streamed is None


def test_dpc_hands_its_settings_and_a_new_object_per_origin():
    cube = cube_of(np.uint16)
    dpc = DPC(cube, progress=False)
    first = dpc._sums
    dpc.memory_budget = 10**7  # set later: the next cache's budget, as before
    assert first.memory_budget == 10**7 and first.progress is False
    dpc.origin = (11.0, 9.5)
    assert dpc._sums is not first and dpc._sums.memory_budget == 10**7
    assert dpc._sums.origin == (11.0, 9.5)


def test_segment_areas_from_the_cache_equal_the_detectors_formula():
    """The areas DPC.run reports come from the cache's running weight totals (no work of their
    own) and equal :meth:`Detector.areas` exactly, through drags, turns and jumps."""
    cube = cube_of(np.uint16).with_origin((12.37, 9.81))
    dpc = DPC(cube, stream_first=False, progress=False)
    geometries = [(2.0, 8.0, 4, 0.0), (2.3, 8.0, 4, 0.0), (2.3, 7.4, 4, 13.0), (1.0, 6.0, 7, 200.0)]
    for weighting in ("area", "binary"):
        for inner, outer, n, rotation in geometries:
            detector = SegmentedDetector(inner, outer, n, rotation, weighting=weighting)
            dpc.segment_images(detector)
            counts = dpc._sums.segment_counts(_detector_key(detector))
            assert counts is not None  # answered by the cache, not recomputed
            np.testing.assert_array_equal(dpc.segment_areas(detector), detector.areas(cube))
    other = SegmentedDetector(1.5, 5.0, 3, 0.0)  # not the cache's last geometry: recomputed
    assert dpc._sums.segment_counts(_detector_key(other)) is None
    np.testing.assert_array_equal(dpc.segment_areas(other), other.areas(cube))
