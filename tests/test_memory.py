"""The memory budget: large allocations are checked first and refused with a typed error."""

import math

import numpy as np
import psutil
import pytest

import dpc_widgets as dw
from dpc_widgets.core import CacheMemoryError
from dpc_widgets.core.engine import cached_pixels
from dpc_widgets.core.memory import DEFAULT_FRACTION, budget_bytes, check_allocation, format_bytes


@pytest.fixture(scope="module")
def cube():
    return dw.Datacube(np.random.default_rng(0).integers(0, 9, (6, 5, 16, 16), dtype=np.uint16))


def test_over_budget_is_a_typed_memory_error_naming_the_sizes(cube):
    dpc = dw.DPC(cube, memory_budget=100, stream_first=False)  # not even binned 4x fits
    det = dw.SegmentedDetector(2, 6, segments=4)
    radius = dpc.plan_cache_radius(cube.origin)  # the useful radius: no disc, half the edge
    assert radius == 0.5 * 7.5
    needed = cached_pixels(cube, cube.origin, radius) * 6 * 5 * 2
    with pytest.raises(CacheMemoryError, match=r"needs .*binned 4x.*budget of 100 B.*memory_bu"):
        dpc.segment_images(det)
    with pytest.raises(CacheMemoryError, match=r"stream_run\(detector\)") as info:
        dpc.segment_images(det)
    assert isinstance(info.value, MemoryError)
    assert (info.value.needed, info.value.budget) == (needed, 100)
    assert dpc._engine is None  # nothing was built


def test_a_tight_budget_shrinks_the_cache_and_sums_stay_exact(cube):
    det = dw.SegmentedDetector(2, 6, segments=4, weighting="binary")  # pixels within radius 6
    budget = 130 * 6 * 5 * 2  # 130 of the 256 detector pixels (113 lie within radius 6)
    dpc = dw.DPC(cube, memory_budget=budget, stream_first=False)
    masks = det.masks(cube)
    expected = np.einsum("xyij,kij->kxy", cube.data.astype(np.int64), masks.astype(np.int64))
    np.testing.assert_array_equal(dpc.segment_images(det), expected)
    engine = dpc._engine
    assert engine.nbytes < budget + 64 * 256  # + the per-pixel tables
    assert 6.0 <= engine.cache_radius < math.inf
    # The whole-detector CoM still comes from the load pass, not the bounded cache.
    full = dw.DPC(cube).com(descan=None)
    np.testing.assert_array_equal(dpc.com(descan=None), full)


def test_default_budget_is_a_fraction_of_available_memory():
    available = psutil.virtual_memory().available
    assert abs(budget_bytes(None) - DEFAULT_FRACTION * available) < 0.05 * available


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (-5, ValueError), (1.5, TypeError),
                                              ("1G", TypeError), (True, TypeError)])  # fmt: skip
def test_bad_budgets_are_refused_at_construction(cube, value, error):
    with pytest.raises(error, match="memory_budget"):
        dw.DPC(cube, memory_budget=value)


def test_explorer_over_budget_opens_on_the_stream_and_says_so(cube):
    explorer = dw.Explorer(cube, memory_budget=100)  # the first view needs no cache
    assert explorer.results is not None and explorer.dpc._engine is None
    explorer.segments.value = 6  # needs the cache, which cannot fit
    assert "update failed: CacheMemoryError" in explorer.status.value
    assert "memory budget" in explorer.status.value


def test_check_allocation_and_format_bytes():
    check_allocation(10, 10, "x", "y")
    with pytest.raises(CacheMemoryError, match=r"^thing needs 2\.0 GiB.*; shrink it$"):
        check_allocation(2 * 2**30, 2**30, "thing", "shrink it")
    assert [format_bytes(n) for n in (512, 1536, 3 * 2**40)] == ["512 B", "1.5 KiB", "3.0 TiB"]
