"""``Datacube``: validation, calibration, origin, chunked access; inputs are never modified."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpc_widgets.io import Datacube


def cube_data(shape=(3, 4, 10, 8), dtype=np.float32, seed=0) -> np.ndarray:
    values = np.random.default_rng(seed).random(shape) * 1000
    return values.astype(dtype)


def soft_disk(shape, center, radius, width=0.7) -> np.ndarray:
    """A disk with a smooth (tanh) edge: its sampled centroid is its centre to ~1e-3 px."""
    i, j = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    r = np.hypot(i - center[0], j - center[1])
    return 0.5 * (1.0 - np.tanh((r - radius) / width))


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("shape", [(4, 5, 6), (2, 3, 4, 5, 6), (7,), ()])
def test_not_4d(shape):
    with pytest.raises(ValueError, match=rf"must be 4D .*got shape {re.escape(str(tuple(shape)))}"):
        Datacube(np.zeros(shape, dtype=np.float32))


def test_empty_axis():
    with pytest.raises(ValueError, match=r"empty axis: shape \(2, 0, 3, 3\)"):
        Datacube(np.zeros((2, 0, 3, 3)))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128, bool, object, "U3", "M8[s]"])
def test_non_intensity_dtypes(dtype):
    with pytest.raises(TypeError, match=rf"got dtype {re.escape(str(np.dtype(dtype)))}"):
        Datacube(np.zeros((2, 2, 3, 3), dtype=dtype))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float16, np.float64])
def test_intensity_dtypes(dtype):
    assert Datacube(np.ones((1, 2, 3, 4), dtype=dtype)).dtype == np.dtype(dtype)


def test_nested_list_becomes_array():
    cube = Datacube([[[[1, 2], [3, 4]]]])
    assert isinstance(cube.data, np.ndarray)
    assert cube.shape == (1, 1, 2, 2)


@pytest.mark.parametrize("name", ["scan_sampling", "detector_sampling", "energy"])
@pytest.mark.parametrize("value", [0, -1.5, float("nan"), float("inf"), -float("inf")])
def test_bad_sampling_values(name, value):
    with pytest.raises(ValueError, match=rf"{name}.* must be positive and finite, got {value}"):
        Datacube(cube_data(), **{name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (name, value)
        for name in ("scan_sampling", "detector_sampling", "energy")
        for value in ("1.0", True, [1.0], 1j, None)
        if not (name == "energy" and value is None)  # energy=None means "unknown"
    ],
)
def test_non_numeric_sampling(name, value):
    with pytest.raises(TypeError, match=rf"{name}.* must be a real number, got"):
        Datacube(cube_data(), **{name: value})


def test_unknown_units():
    with pytest.raises(ValueError, match=r"unknown scan units 'Angstrom'"):
        Datacube(cube_data(), scan_units="Angstrom")
    with pytest.raises(ValueError, match=r"unknown detector units 'rad'"):
        Datacube(cube_data(), detector_units="rad")
    with pytest.raises(ValueError, match=r"unknown detector units 'A'"):
        Datacube(cube_data(), detector_units="A")


# --------------------------------------------------------------------------- origin
@pytest.mark.parametrize(("qx", "qy"), [(10, 8), (9, 7)])
def test_default_origin_is_fftshift_centre(qx, qy):
    assert Datacube(np.ones((1, 1, qx, qy))).origin == (qx // 2, qy // 2)


@pytest.mark.parametrize("origin", [(-0.1, 2), (9.01, 0), (0, 7.5), (float("nan"), 1), (3, 1e9)])
def test_origin_outside_detector(origin):
    with pytest.raises(ValueError, match=r"origin .* lies outside the detector of shape \(10, 8\)"):
        Datacube(cube_data(), origin=origin)


def test_origin_on_the_edges_is_accepted():
    assert Datacube(cube_data(), origin=(0, 7)).origin == (0.0, 7.0)
    assert Datacube(cube_data(), origin=np.array([9.0, 0.0])).origin == (9.0, 0.0)


@pytest.mark.parametrize("origin", ["centre", "Mean"])
def test_origin_bad_string(origin):
    with pytest.raises(ValueError, match=rf"got '{origin}'"):
        Datacube(cube_data(), origin=origin)


@pytest.mark.parametrize("origin", [(1, 2, 3), 5, (1, "x"), ("a", "b")])
def test_origin_not_a_pair(origin):
    with pytest.raises(TypeError, match=r"origin must be a pair \(qx, qy\)"):
        Datacube(cube_data(), origin=origin)


@pytest.mark.parametrize("center", [(20.3, 23.7), (31.85, 12.1), (24.0, 20.0)])
def test_origin_mean_recovers_off_centre_disk(center):
    shape = (5, 6, 48, 40)
    disk = soft_disk(shape[2:], center, radius=6.5)
    scale = np.random.default_rng(1).uniform(0.5, 2.0, size=shape[:2])  # varying dose
    data = (scale[:, :, None, None] * 1000 * disk).astype(np.float32)
    cube = Datacube(data, origin="mean")
    error = np.hypot(cube.origin[0] - center[0], cube.origin[1] - center[1])
    assert error < 0.05, (cube.origin, center)


def test_origin_mean_integer_disk_is_exact():
    data = np.zeros((2, 3, 16, 16), dtype=np.uint16)
    i, j = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
    data[..., np.hypot(i - 5, j - 11) <= 3] = 60000  # sums overflow uint16: float64 inside
    assert Datacube(data, origin="mean").origin == pytest.approx((5.0, 11.0), abs=1e-12)


def test_origin_mean_needs_intensity():
    with pytest.raises(ValueError, match=r"mean pattern has no intensity"):
        Datacube(np.zeros((2, 2, 4, 4)), origin="mean")


def test_with_origin_shares_data_and_revalidates():
    data = cube_data()
    cube = Datacube(data, scan_sampling=0.3, scan_units="nm")
    moved = cube.with_origin((1.5, 2.5))
    assert moved.data is data
    assert moved.origin == (1.5, 2.5)
    assert (moved.scan_sampling, moved.scan_units) == (0.3, "nm")
    assert cube.origin == (5.0, 4.0)
    with pytest.raises(ValueError, match=r"outside the detector"):
        cube.with_origin((100, 0))


# --------------------------------------------------------------------------- calibration
def test_shape_properties_and_calibration():
    cube = Datacube(
        cube_data(dtype=np.uint16),
        energy=200e3,
        scan_sampling=0.5,
        scan_units="nm",
        detector_sampling=1.0,
        detector_units="mrad",
    )
    assert (cube.shape, cube.scan_shape, cube.detector_shape) == ((3, 4, 10, 8), (3, 4), (10, 8))
    assert cube.nbytes == 3 * 4 * 10 * 8 * 2
    assert cube.scan_pixel_size() == 0.5
    assert cube.scan_pixel_size("A") == pytest.approx(5.0)
    assert cube.detector_pixel_size() == 1.0
    assert cube.detector_pixel_size("A^-1") == pytest.approx(1e-3 / 0.0250793, rel=1e-5)
    with pytest.raises(ValueError, match=r"cannot convert scan sampling from 'nm' to 'px'"):
        cube.scan_pixel_size("px")
    no_energy = Datacube(cube_data(), detector_sampling=1.0, detector_units="mrad")
    with pytest.raises(ValueError, match=r"needs the beam energy"):
        no_energy.detector_pixel_size("A^-1")


def test_frozen():
    cube = Datacube(cube_data())
    with pytest.raises(AttributeError):
        cube.scan_sampling = 2.0


# --------------------------------------------------------------------------- blocks
def check_blocks(cube: Datacube, data: np.ndarray, max_bytes: int) -> int:
    """Blocks tile the scan exactly once, in order, with whole rows; returns their count."""
    rx, ry, qx, qy = data.shape
    row_bytes = ry * qx * qy * data.dtype.itemsize
    expected_rows = max(1, min(rx, max_bytes // row_bytes))
    position, count, parts = 0, 0, []
    for start, stop, block in cube.blocks(max_bytes=max_bytes):
        assert start == position and stop > start
        assert start % ry == 0 and (stop % ry == 0)
        assert block.shape == (stop - start, qx, qy)
        assert block.dtype == data.dtype
        assert stop - start == min(expected_rows * ry, rx * ry - start)
        parts.append(np.asarray(block))
        position, count = stop, count + 1
    assert position == rx * ry
    np.testing.assert_array_equal(np.concatenate(parts), data.reshape(rx * ry, qx, qy))
    return count


@pytest.mark.parametrize(
    ("max_bytes", "n_blocks"),
    [(1, 5), (95, 5), (96, 5), (191, 5), (192, 3), (288, 2), (480, 1), (10**9, 1), (1e3, 1)],
)
def test_blocks_cover_the_scan_once(max_bytes, n_blocks):
    data = cube_data(shape=(5, 3, 4, 2))  # one row: 3 * 4 * 2 * 4 = 96 bytes
    assert check_blocks(Datacube(data), data, max_bytes) == n_blocks


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(*(st.integers(1, 6) for _ in range(4))),
    max_bytes=st.integers(1, 4000),
    dtype=st.sampled_from([np.uint8, np.int16, np.float32, np.float64]),
)
def test_blocks_property(shape, max_bytes, dtype):
    data = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    check_blocks(Datacube(data), data, max_bytes)


@pytest.mark.parametrize(
    ("max_bytes", "error"),
    [(0, ValueError), (-5, ValueError), (0.5, ValueError), ("big", TypeError),
     (True, TypeError), (None, TypeError)],
)  # fmt: skip
def test_blocks_bad_max_bytes(max_bytes, error):
    cube = Datacube(cube_data())
    with pytest.raises(error, match=r"max_bytes must be"):
        cube.blocks(max_bytes)  # checked on the call, before iterating


def test_mean_pattern_matches_numpy():
    data = cube_data(shape=(7, 5, 6, 4), dtype=np.uint16)
    np.testing.assert_allclose(
        Datacube(data).mean_pattern(), data.mean(axis=(0, 1), dtype=np.float64), rtol=1e-12
    )


# --------------------------------------------------------------------------- inputs untouched
def test_input_array_not_mutated():
    data = cube_data(shape=(4, 5, 12, 10), dtype=np.float32)
    data[..., 3, 4] += 50
    before = data.copy()
    data.flags.writeable = False  # any write attempt would raise
    cube = Datacube(data, origin="mean")
    cube.mean_pattern()
    for _, _, block in cube.blocks(max_bytes=300):
        block.sum()
    cube.with_origin(None)
    np.testing.assert_array_equal(data, before)
    assert cube.data is data


def test_works_with_h5py_dataset(tmp_path):
    data = cube_data(shape=(4, 3, 9, 7), dtype=np.uint16, seed=3)
    with h5py.File(tmp_path / "cube.h5", "w") as f:
        f.create_dataset("frames", data=data, chunks=(1, 3, 9, 7))
    with h5py.File(tmp_path / "cube.h5", "r") as f:
        cube = Datacube(f["frames"], origin="mean", scan_sampling=2.0, scan_units="A")
        assert cube.data is not None and isinstance(cube.data, h5py.Dataset)
        assert cube.shape == data.shape and cube.dtype == np.uint16
        check_blocks(cube, data, max_bytes=200)
        mean = data.mean(axis=(0, 1), dtype=np.float64)
        np.testing.assert_allclose(cube.mean_pattern(), mean, rtol=1e-12)
        expected = ((mean.sum(1) * np.arange(9)).sum(), (mean.sum(0) * np.arange(7)).sum())
        assert cube.origin == pytest.approx(tuple(np.array(expected) / mean.sum()), rel=1e-12)


def test_cupy_array():
    cp = pytest.importorskip("cupy")
    data = cube_data()
    cube = Datacube(cp.asarray(data), origin="mean")
    np.testing.assert_allclose(cube.mean_pattern(), data.mean(axis=(0, 1)), rtol=1e-6)
    start, stop, block = next(cube.blocks())
    assert isinstance(block, cp.ndarray) and (start, stop) == (0, 12)


# --------------------------------------------------------------------------- origin="disc"
class RecordingArray:
    """An array-like that records every slice read along Rx (like an h5py.Dataset)."""

    def __init__(self, data, chunks=None):
        self._data, self.shape, self.dtype, self.chunks = data, data.shape, data.dtype, chunks
        self.reads: list[tuple[int, int]] = []

    def __getitem__(self, key):
        self.reads.append((key.start or 0, key.stop))
        return self._data[key]


def disc_cube_data(shape=(40, 5, 48, 40), center=(30.3, 9.6), radius=6.5) -> np.ndarray:
    disk = soft_disk(shape[2:], center, radius)
    scale = np.random.default_rng(1).uniform(0.5, 2.0, size=shape[:2])
    return (scale[:, :, None, None] * 1000 * disk + 5).astype(np.float32)


@pytest.mark.parametrize("center", [(30.3, 9.6), (24.0, 20.0), (5.2, 33.9)])
def test_origin_disc_finds_the_disc_off_centre(center):
    cube = Datacube(disc_cube_data(center=center), origin="disc")
    assert cube.disc is not None and cube.disc.found
    assert cube.origin == cube.disc.center
    error = np.hypot(cube.origin[0] - center[0], cube.origin[1] - center[1])
    assert error < 0.02, (cube.origin, center)
    assert abs(cube.disc.radius - 6.5) < 0.1


def test_origin_geometric_and_none_are_the_same():
    data = disc_cube_data()
    assert Datacube(data, origin="geometric").origin == (24.0, 20.0)
    assert Datacube(data).origin == (24.0, 20.0)
    assert Datacube(data).disc is None


def test_origin_disc_without_a_disc_warns_and_uses_the_geometric_centre():
    with pytest.warns(UserWarning, match=r"origin='disc': no bright-field disc.*geometric centre"):
        cube = Datacube(np.full((2, 2, 10, 8), 3.0), origin="disc")
    assert cube.origin == (5.0, 4.0)
    assert cube.disc is not None and not cube.disc.found


def test_origin_disc_centre_outside_the_detector_falls_back():
    data = np.zeros((2, 2, 40, 40), dtype=np.float32)
    data[..., :] = soft_disk((40, 40), (-4.0, 20.0), 12.0) * 100  # centre beyond row 0
    with pytest.warns(UserWarning, match=r"disc centre \(-4.0\d, 20.00\) lies outside"):
        cube = Datacube(data, origin="disc")
    assert cube.origin == (20.0, 20.0)


def test_origin_disc_reads_a_bounded_sample_of_whole_rows(monkeypatch):
    import dpc_widgets.io.datacube as datacube_module

    data = disc_cube_data(shape=(200, 3, 48, 40))  # 23 KiB per row
    array = RecordingArray(data)
    monkeypatch.setattr(datacube_module, "DISC_SAMPLE_ROWS", 10)
    cube = Datacube(array, origin="disc")
    assert len(array.reads) == 10 and all(r1 - r0 == 1 for r0, r1 in array.reads)
    starts = [r0 for r0, _ in array.reads]
    assert starts[0] == 0 and starts[-1] == 199  # spread over the whole scan
    assert np.hypot(cube.origin[0] - 30.3, cube.origin[1] - 9.6) < 0.02
    array.reads.clear()
    row_bytes = 3 * 48 * 40 * 4
    monkeypatch.setattr(datacube_module, "DISC_SAMPLE_BYTES", 4 * row_bytes)
    Datacube(array, origin="disc")
    assert len(array.reads) == 4  # the byte bound wins


def test_sampled_mean_pattern():
    data = disc_cube_data(shape=(12, 4, 16, 14))
    cube = Datacube(data)
    np.testing.assert_allclose(cube.mean_pattern(), data.mean(axis=(0, 1)), rtol=1e-6)
    np.testing.assert_allclose(cube.mean_pattern(10_000), data.mean(axis=(0, 1)), rtol=1e-6)
    np.testing.assert_allclose(
        cube.mean_pattern(8), data[[0, 11]].mean(axis=(0, 1)), rtol=1e-6
    )  # 8 positions: 2 rows of 4, first and last
    np.testing.assert_allclose(cube.mean_pattern(1), data[[0]].mean(axis=(0, 1)), rtol=1e-6)
    row_bytes = 4 * 16 * 14 * 4
    np.testing.assert_allclose(
        cube.mean_pattern(max_bytes=3 * row_bytes), data[[0, 6, 11]].mean(axis=(0, 1)), rtol=1e-6
    )
    with pytest.raises(TypeError, match=r"max_positions must be an integer, got 2.5"):
        cube.mean_pattern(2.5)
    with pytest.raises(ValueError, match=r"max_bytes must be at least 1, got 0"):
        cube.mean_pattern(max_bytes=0)


def test_sampled_mean_pattern_reads_whole_chunks():
    data = disc_cube_data(shape=(40, 3, 16, 14))
    array = RecordingArray(data, chunks=(4, 3, 16, 14))
    cube = Datacube(array)
    mean = cube.mean_pattern(3 * 8)  # 8 rows: 2 chunks of 4
    assert array.reads == [(0, 4), (36, 40)]
    np.testing.assert_allclose(mean, data[[0, 1, 2, 3, 36, 37, 38, 39]].mean(axis=(0, 1)))
    array.reads.clear()
    cube.mean_pattern(3 * 2)  # less than a chunk: part of the middle chunk only
    assert array.reads == [(20, 22)]


def test_sampled_mean_pattern_of_dask_array():
    da = pytest.importorskip("dask.array")
    data = disc_cube_data(shape=(20, 3, 16, 14), center=(6.4, 8.2), radius=3.0)
    cube = Datacube(da.from_array(data, chunks=(5, 3, 16, 14)), origin="disc")
    assert np.hypot(cube.origin[0] - 6.4, cube.origin[1] - 8.2) < 0.02
    np.testing.assert_allclose(
        cube.mean_pattern(3 * 10),
        data[[0, 1, 2, 3, 4, 15, 16, 17, 18, 19]].mean(axis=(0, 1)),
        rtol=1e-6,
    )
