"""The memory budget: large allocations are checked first and refused with a typed error."""

import numpy as np
import psutil
import pytest

import dpc_widgets as dw
from dpc_widgets.core import CacheMemoryError
from dpc_widgets.core.memory import DEFAULT_FRACTION, budget_bytes, check_allocation, format_bytes


@pytest.fixture(scope="module")
def cube():
    return dw.Datacube(np.random.default_rng(0).integers(0, 9, (6, 5, 16, 16), dtype=np.uint16))


def test_over_budget_is_a_typed_memory_error_naming_the_sizes(cube):
    dpc = dw.DPC(cube, memory_budget=1000)
    det = dw.SegmentedDetector(2, 6, segments=4)
    cache_bytes = 16 * 16 * 6 * 5 * 2
    with pytest.raises(
        CacheMemoryError, match=r"needs 15\.0 KiB.*budget of 1000 B.*memory_budget="
    ) as info:
        dpc.segment_images(det)
    assert isinstance(info.value, MemoryError)
    assert (info.value.needed, info.value.budget) == (cache_bytes, 1000)
    assert dpc._engine is None  # nothing was built


def test_within_budget_gives_the_exact_sums(cube):
    det = dw.SegmentedDetector(2, 6, segments=4)
    dpc = dw.DPC(cube, memory_budget=16 * 16 * 6 * 5 * 2)
    masks = det.masks(cube)
    expected = np.einsum("xyij,kij->kxy", cube.data.astype(np.int64), masks.astype(np.int64))
    np.testing.assert_array_equal(dpc.segment_images(det), expected)


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
