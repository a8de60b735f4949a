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
    dpc = dw.DPC(cube, memory_budget=1000)
    det = dw.SegmentedDetector(2, 6, segments=4)
    needed = cached_pixels(cube, cube.origin, 6.0) * 6 * 5 * 2  # what the detector reaches
    with pytest.raises(CacheMemoryError, match=r"needs .*budget of 1000 B.*memory_budget=") as info:
        dpc.segment_images(det)
    assert isinstance(info.value, MemoryError)
    assert (info.value.needed, info.value.budget) == (needed, 1000)
    assert dpc._engine is None  # nothing was built


def test_a_tight_budget_shrinks_the_cache_and_sums_stay_exact(cube):
    det = dw.SegmentedDetector(2, 6, segments=4)
    budget = 130 * 6 * 5 * 2  # 130 of the 256 detector pixels (113 lie within radius 6)
    dpc = dw.DPC(cube, memory_budget=budget)
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


def test_explorer_over_budget_says_so(cube):
    with pytest.raises(CacheMemoryError, match="memory budget"):
        dw.Explorer(cube, memory_budget=1000)


def test_check_allocation_and_format_bytes():
    check_allocation(10, 10, "x", "y")
    with pytest.raises(CacheMemoryError, match=r"^thing needs 2\.0 GiB.*; shrink it$"):
        check_allocation(2 * 2**30, 2**30, "thing", "shrink it")
    assert [format_bytes(n) for n in (512, 1536, 3 * 2**40)] == ["512 B", "1.5 KiB", "3.0 TiB"]
