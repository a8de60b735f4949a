"""DPC.run and the explorer on every dataset a microscope produces (issue 17, part 4).

Each case ends as a result (with what could not be determined said in ``RotationResult`` and
the explorer's status line) or as a typed error naming the value; inputs are never modified.
"""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
from _cubes import random_cube
from test_binning import disc_cube

import dpc_widgets as dw
from dpc_widgets import DPC, Datacube, SegmentedDetector
from dpc_widgets.core.binning import cache_bytes
from dpc_widgets.core.engine import PolarCache
from dpc_widgets.core.streaming import stream_pass
from dpc_widgets.io.values import DataRangeError, integer_limit, needs_range_check
from dpc_widgets.widgets import Explorer

SOURCES = ("segmented", "monolithic", "pixelated")
# said once, on the rotation line (not in the status line too)
VACUUM_NOTE = (
    "undetermined (CoM field is zero everywhere: a vacuum or reference scan?); using 0.0&deg;"
)
pytestmark = pytest.mark.filterwarnings("ignore:the 180-degree choice")


def disc_pattern(shape=(16, 16), radius=4.0, center=None, value=100.0) -> np.ndarray:
    qx, qy = shape
    cx, cy = center if center is not None else (qx // 2, qy // 2)
    i, j = np.meshgrid(np.arange(qx) - cx, np.arange(qy) - cy, indexing="ij")
    return (np.hypot(i, j) <= radius) * value


def vacuum(scan=(6, 7), detector=(16, 16), dtype=np.float64) -> np.ndarray:
    """The same disc, centred on the detector, in every pattern: CoM zero everywhere."""
    return np.broadcast_to(disc_pattern(detector), (*scan, *detector)).astype(dtype)


def run_all(data, detector=None, **options) -> dict[str, dw.DPCResult]:
    """``DPC.run`` with every CoM source on a fresh core; checks the results are finite and
    the input unchanged."""
    kept = np.array(data, copy=True)
    cube = Datacube(data)
    if detector is None:
        detector = SegmentedDetector(0.0, max(cube.detector_shape) / 2, 4)
    results = {}
    for source in SOURCES:
        result = DPC(cube, progress=False).run(detector, com_source=source, **options)
        for name in ("segment_images", "com", "com_rotated", "phase"):
            assert np.isfinite(getattr(result, name)).all(), (source, name)
        assert result.phase.shape == cube.scan_shape
        results[source] = result
    np.testing.assert_array_equal(np.asarray(data), kept)
    return results


def explore(data, **options) -> Explorer:
    kept = np.array(data, copy=True)
    explorer = Explorer(data, **options)
    assert "dpc-status-error" not in explorer.status.value, explorer.status.value
    np.testing.assert_array_equal(np.asarray(data), kept)
    return explorer


# ---------------------------------------------------------------------- vacuum / reference scans
@pytest.mark.parametrize("dtype", [np.float64, np.uint16])
def test_vacuum_scan_is_a_result_with_the_rotation_undetermined(dtype):
    results = run_all(vacuum(dtype=dtype))
    # segments of unequal area give a constant (uniform) signal on vacuum; the pixelated CoM
    # (descan "constant") is zero
    reasons = ("CoM field is zero everywhere", "CoM field has no curl and no divergence (uniform)")
    for source, result in results.items():
        assert result.rotation.determined is False, source
        assert result.rotation.reason in reasons, source
        assert (result.angle_deg, result.transpose) == (0.0, False)
    assert results["pixelated"].rotation.reason == reasons[0]
    np.testing.assert_array_equal(results["pixelated"].phase, 0.0)  # zero field: flat phase
    manual = run_all(vacuum(), rotation=30.0)["pixelated"]
    assert manual.rotation.determined is False and manual.angle_deg == 30.0


def test_explorer_opens_on_a_vacuum_scan_and_says_the_rotation_is_undetermined():
    explorer = explore(vacuum(), com_source="pixelated")
    info = explorer.controls.rotation_info
    assert VACUUM_NOTE in info.value and "dpc-status-warning" in info.value
    assert "undetermined" not in explorer.status.value  # once, where it belongs
    explorer.com_source.value = "segmented"  # still answers after a change
    assert VACUUM_NOTE in info.value
    explorer.auto_rotation.value = False
    explorer.scan_rotation.value = 30.0  # a manual angle is the one used
    assert "reference scan?); using 30.0&deg;" in info.value


def test_process_on_a_vacuum_file_records_the_undetermined_rotation(tmp_path, capsys):
    from dpc_widgets.cli import main

    path = tmp_path / "vacuum.npy"
    np.save(path, vacuum(dtype=np.uint16))
    assert main(["process", str(path), "--out", str(tmp_path), "--com-source", "pixelated"]) == 0
    assert "processed 1 file" in capsys.readouterr().out
    with h5py.File(tmp_path / "vacuum_dpc.h5", "r") as f:
        assert not f.attrs["solved_rotation_determined"]
        assert f.attrs["solved_rotation_reason"] == "CoM field is zero everywhere"
        assert f.attrs["applied_rotation_deg"] == 0.0
        np.testing.assert_array_equal(f["phase"][()], 0.0)


@pytest.mark.parametrize("detector", [(3, 5), (1, 32), (1, 1), (2, 2)])
def test_tiny_and_non_square_detectors(detector):
    rng = np.random.default_rng(3)
    data = rng.random((5, 6, *detector))
    run_all(data)
    run_all(np.ones((5, 6, *detector)))  # zero CoM from a degenerate geometry: a result
    explorer = explore(np.ones((5, 6, *detector)))
    assert "undetermined" in explorer.controls.rotation_info.value


# ---------------------------------------------------------------------- blanked / empty patterns
def test_blanked_rows_and_all_zero_patterns_are_masked():
    data = np.array(random_cube(shape=(8, 9, 16, 16), dtype=np.float64).data)
    data[3] = 0.0  # a blanked scan row
    data[5, 4] = 0.0  # one empty pattern
    results = run_all(data)
    com = results["pixelated"].com
    np.testing.assert_array_equal(com[:, 3], 0.0)  # no intensity: CoM 0, left out of descan
    np.testing.assert_array_equal(com[:, 5, 4], 0.0)
    np.testing.assert_array_equal(results["segmented"].segment_images[:, 3], 0.0)


def test_all_zero_data():
    for result in run_all(np.zeros((4, 5, 8, 8), np.uint16)).values():
        assert result.rotation.determined is False
        np.testing.assert_array_equal(result.phase, 0.0)
    explore(np.zeros((4, 5, 8, 8), np.uint16))


# ---------------------------------------------------------------------- NaN / inf pixels
def nan_data() -> np.ndarray:
    data = np.array(random_cube(shape=(6, 7, 16, 16), dtype=np.float32).data)
    data[1, 2, 3, 4] = np.nan
    data[4, 0, 8, 8] = np.inf
    data[5, 6, 0, 0] = -np.inf
    return data


def test_nan_and_inf_pixels_give_the_results_of_zeros_there():
    data = nan_data()
    zeroed = np.where(np.isfinite(data), data, 0).astype(np.float32)
    got, expected = run_all(data), run_all(zeroed)
    for source in SOURCES:
        np.testing.assert_array_equal(got[source].com, expected[source].com)
        np.testing.assert_array_equal(got[source].phase, expected[source].phase)
    dpc = DPC(Datacube(data), progress=False)
    dpc.run(SegmentedDetector(1.0, 6.0, 4))
    assert dpc.nonfinite_pixels == 3
    dpc.build_cache(dpc.origin)  # the cache's load pass counts them too
    assert dpc._engine.nonfinite_pixels == 3


def test_a_dead_pixel_in_every_pattern_across_blocks():
    """NaN at one pixel of every pattern (a dead pixel stored as NaN), read in many blocks:
    the blocks after the first are masked up front; counts and sums as for zeros there."""
    data = np.array(random_cube(shape=(6, 7, 16, 16), dtype=np.float64).data)
    data[:, :, 3, 4] = np.nan
    cube, zeroed = Datacube(data), Datacube(np.where(np.isnan(data), 0.0, data))
    key = (1.0, 6.0, 4, 0.3)
    for use_numba in (False, None):
        options = dict(segments=(key,), use_numba=use_numba, max_block_bytes=3000)
        streamed = stream_pass(cube, cube.origin, **options)  # 7 patterns per block
        expected = stream_pass(zeroed, cube.origin, **options)
        cache = PolarCache(cube, cube.origin, use_numba=use_numba, max_block_bytes=3000)
        assert streamed.nonfinite_pixels == cache.nonfinite_pixels == 6 * 7
        for got in (streamed, cache):
            np.testing.assert_array_equal(got.moments, expected.moments)
            np.testing.assert_array_equal(got.segment_sums(*key), expected.segment_sums(*key))
            # summed again in a pass of its own (NumPy's order): equal to rounding
            np.testing.assert_allclose(got.pattern_sum, expected.pattern_sum, rtol=1e-13)
        np.testing.assert_array_equal(streamed.pattern_sum, cache.pattern_sum)
    dpc = DPC(cube, progress=False)
    dpc.run(SegmentedDetector(1.0, 6.0, 4))
    assert dpc.nonfinite_pixels == 6 * 7


def test_explorer_counts_nan_and_inf_pixels_in_its_status():
    explorer = explore(nan_data())
    assert "3 NaN/inf pixels set to 0" in explorer.status.value


def test_nan_pixels_on_the_binned_detector_mask_only_themselves():
    cube = disc_cube(np.float64)
    data = np.array(cube.data)
    data[2, 3, 20, 21] = np.nan
    full, binned = (cache_bytes(cube, cube.origin, 1.25 * cube.disc.radius, f) for f in (1, 2))
    dpc = DPC(Datacube(data, origin=cube.origin), memory_budget=(full + binned) // 2)
    det = SegmentedDetector(3.0, 10.0, 4)
    dpc.run(det)  # the first view: one streaming pass
    dpc.run(SegmentedDetector(3.5, 10.0, 4))  # needs the (binned) cache
    assert dpc.binning == 2 and dpc.nonfinite_pixels == 1
    zeroed = np.where(np.isnan(data), 0.0, data)
    clean = DPC(Datacube(zeroed, origin=cube.origin), memory_budget=(full + binned) // 2)
    clean.run(det)
    np.testing.assert_array_equal(
        dpc.run(SegmentedDetector(3.5, 10.0, 4)).segment_images,
        clean.run(SegmentedDetector(3.5, 10.0, 4)).segment_images,
    )


def test_float_values_too_large_for_float64_sums_are_a_typed_error():
    data = np.full((3, 3, 8, 8), 1e308)
    with pytest.raises(DataRangeError, match=r"\(rx, ry\) = \(0, 0\) sums to inf"):
        run_all(data)
    with pytest.raises(DataRangeError, match="too large for float64 sums"):
        Explorer(data)


# ---------------------------------------------------------------------- saturated / clipped discs
def test_saturated_and_clipped_discs():
    top = np.iinfo(np.uint16).max
    rng = np.random.default_rng(0)
    shifts = rng.normal(0.0, 0.7, (6, 6, 2))
    data = np.zeros((6, 6, 20, 20), np.uint16)
    for index in np.ndindex(6, 6):
        centre = (17.0 + shifts[index][0], 10.0 + shifts[index][1])  # clipped by the edge
        data[index] = np.minimum(disc_pattern((20, 20), 5.0, centre, 1e6), top)  # saturated
    results = run_all(data, detector=SegmentedDetector(1.0, 4.0, 4))
    assert all(r.rotation.determined for r in results.values())
    explore(data)


# ---------------------------------------------------------------------- line scans, one pattern
@pytest.mark.parametrize("scan", [(1, 12), (12, 1)])
def test_line_scans_integrate_along_the_line(scan):
    rng = np.random.default_rng(1)
    shifts = np.cumsum(rng.normal(0, 0.3, 12))
    data = np.stack(
        [disc_pattern((16, 16), 4.0, (8.0 + s, 8.0 - s), 100.0) for s in shifts]
    ).reshape(*scan, 16, 16)
    for result in run_all(data).values():
        assert result.rotation.determined is False
        assert "line scan" in result.rotation.reason
        along = 0 if scan[1] == 1 else 1
        values = 2 * math.pi * result.com_rotated[along].ravel()
        expected = np.concatenate([[0.0], np.cumsum(0.5 * (values[1:] + values[:-1]))])
        np.testing.assert_allclose(result.phase.ravel(), expected - expected.mean(), atol=1e-9)
    explorer = explore(data)
    assert "a line scan or a single pattern" in explorer.controls.rotation_info.value


def test_a_single_pattern():
    for result in run_all(vacuum(scan=(1, 1)) + 1.0).values():
        assert result.rotation.determined is False
        np.testing.assert_array_equal(result.phase, [[0.0]])
    explore(random_cube(shape=(1, 1, 12, 12)).data)


# ---------------------------------------------------------------------- integer range
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.uint32, np.int32])
def test_integers_at_their_maximum_sum_exactly(dtype):
    """At the dtype's extremes the integer sums equal float64 sums of the same values, which
    are exact here (every partial sum below 2**53)."""
    info = np.iinfo(dtype)
    assert not needs_range_check(dtype, (6, 6, 16, 16))  # every value's sums fit int64
    data = np.full((6, 6, 16, 16), info.max, dtype)
    data[::2, :, :8] = info.min
    detector = SegmentedDetector(0.0, 8.0, 4)
    results = run_all(data, detector=detector)
    exact = run_all(data.astype(np.float64), detector=detector)
    for source in SOURCES:
        np.testing.assert_array_equal(results[source].segment_images, exact[source].segment_images)
        np.testing.assert_array_equal(results[source].com, exact[source].com)
    if info.bits == 32:
        assert results["segmented"].segment_images.max() > 2**32  # beyond int32


def test_each_integer_dtype_is_checked_where_its_worst_case_can_overflow_int64():
    """B = max(Qx Qy max(Qx, Qy), 16 Rx Ry) (io/values.py): the worst case max|value| * B
    against 2**63 - 1, per dtype and shape."""
    small, huge = (64, 64, 256, 256), (4, 4, 2048, 2048)
    assert integer_limit(small) == (2**63 - 1) // (256 * 256 * 256)
    assert integer_limit((4096, 4096, 8, 8)) == (2**63 - 1) // (16 * 4096 * 4096)
    assert integer_limit((2, 2, 8, 8)) == (2**63 - 1) // (8 * 8 * 256)  # area weights
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32):
        assert not needs_range_check(dtype, small)
    for dtype in (np.uint64, np.int64):
        assert needs_range_check(dtype, small)
    assert needs_range_check(np.uint32, huge) and needs_range_check(np.int32, huge)
    assert not needs_range_check(np.uint16, huge)
    assert not needs_range_check(np.float32, huge)


def test_uint64_and_int64_sum_exactly_below_the_limit():
    limit = integer_limit((4, 5, 8, 8))
    for dtype in (np.uint64, np.int64):
        data = np.full((4, 5, 8, 8), limit, dtype)
        data[1:3, 2:, 2:6, 1:4] = 7
        dpc = DPC(Datacube(data), progress=False)
        images = dpc.segment_images(SegmentedDetector(0.0, 8.0, 4))
        total = data.astype(object).sum(axis=(2, 3))  # Python integers: exact
        np.testing.assert_array_equal(images.sum(axis=0), total.astype(np.float64))


@pytest.mark.parametrize(
    ("dtype", "value"),
    [(np.uint64, 2**64 - 1), (np.uint64, 2**63), (np.int64, 2**62), (np.int64, -(2**62))],
)
def test_integers_beyond_the_limit_are_a_typed_error_naming_dtype_and_value(dtype, value):
    data = np.full((4, 5, 8, 8), 3, dtype)
    data[2, 3, 4, 5] = value
    kept = data.copy()
    name = np.dtype(dtype).name
    for source in SOURCES:
        with pytest.raises(DataRangeError, match=rf"{name} data holds the value {value}:"):
            DPC(Datacube(data)).run(SegmentedDetector(0.0, 4.0, 4), com_source=source)
    with pytest.raises(DataRangeError, match=rf"{name} data holds the value {value}:"):
        Explorer(data)
    np.testing.assert_array_equal(data, kept)


# ---------------------------------------------------------------------- dtypes and layouts
def test_float16_big_endian_non_contiguous_and_fortran_give_the_native_results():
    base = np.array(random_cube(shape=(6, 8, 16, 16), dtype=np.float32).data)
    reference = run_all(base)
    variants = {
        "big-endian": base.astype(">f4"),
        "fortran": np.asfortranarray(base),
        "non-contiguous": np.repeat(base, 2, axis=1)[:, ::2],  # as cube[:, ::2]
    }
    np.testing.assert_array_equal(variants["non-contiguous"], base)
    for name, data in variants.items():
        got = run_all(data)
        for source in SOURCES:
            np.testing.assert_array_equal(got[source].phase, reference[source].phase, name)
    half = base.astype(np.float16)
    got, expected = run_all(half), run_all(half.astype(np.float32))  # the same values
    for source in SOURCES:
        np.testing.assert_array_equal(got[source].com, expected[source].com)
    explore(half)
    explore(base[:, ::2])  # a strided view of the scan
