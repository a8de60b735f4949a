"""fpd HDF5, Prismatic EMD, Dectris Arina/EIGER and zarr stores through ``dpc_widgets.load``.

Every test writes its own small files with known content and calibration, loads them, checks
data, axis order, dtype and calibration exactly, and checks that the files are unchanged.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
import pytest
import zarr
from _common import digest, load_quietly

from dpc_widgets.io import load
from dpc_widgets.io.formats import FORMATS, FormatError, find_format
from dpc_widgets.io.formats.fpd import SqueezedDataset

SHAPE = (3, 4, 8, 6)  # (Rx, Ry, Qx, Qy)


def make_data(shape=SHAPE, dtype=np.uint16, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1000, size=shape).astype(dtype)


def blocks_array(cube) -> np.ndarray:
    parts = [np.asarray(block) for _, _, block in cube.blocks(max_bytes=1)]
    return np.concatenate(parts).reshape(cube.shape)


def write_vector(group, name, step, n, units):
    vector = group.create_dataset(name, data=np.arange(n) * step)
    vector.attrs["units"] = units
    return vector


# --------------------------------------------------------------------------- fpd
def write_fpd(path, data, five_d=False, extra=None, scan_step=5.48, scan_units="nm"):
    with h5py.File(path, "w") as f:
        group = f.create_group("fpd_expt/fpd_data")
        stored = data[:, :, None] if five_d else data
        group.create_dataset("data", data=stored, chunks=(1, *stored.shape[1:]))
        sy, sx, qy, qx = data.shape
        write_vector(group, "dim1", scan_step, sy, scan_units)
        write_vector(group, "dim2", scan_step, sx, scan_units)
        dims = [(1.0, qy, "pixels"), (1.0, qx, "pixels")]
        if five_d:
            dims.insert(0, (1.0, 1, "channel"))
        for i, (step, n, units) in enumerate(dims, start=3):
            write_vector(group, f"dim{i}", step, n, units)
        for name, array in (extra or {}).items():
            f.create_dataset(f"fpd_expt/{name}/data", data=array)
    return path


def test_fpd_4d(tmp_path):
    data = make_data()
    path = write_fpd(tmp_path / "scan.hdf5", data)
    before = digest(path)
    cube, notes = load_quietly(path)
    assert notes == []
    assert isinstance(cube.data, h5py.Dataset) and cube.data.name == "/fpd_expt/fpd_data/data"
    np.testing.assert_array_equal(cube.data[()], data)
    assert cube.dtype == np.uint16
    assert (cube.scan_sampling, cube.scan_units) == (5.48, "nm")
    assert (cube.detector_sampling, cube.detector_units) == (1.0, "px")
    cube.data.file.close()
    assert digest(path) == before


def test_fpd_5d_squeezed_lazily_with_note(tmp_path):
    data = make_data(dtype=np.uint8)
    dac = make_data(seed=1)
    path = write_fpd(tmp_path / "scan.h5", data, five_d=True, extra={"DAC": dac})
    before = digest(path)
    assert find_format(path).name == "fpd"
    cube, notes = load_quietly(path, scan_units="A")
    assert len(notes) == 1 and "/fpd_expt/DAC/data" in notes[0] and "dataset=" in notes[0]
    assert isinstance(cube.data, SqueezedDataset)
    assert cube.data.chunks == (1, 4, 8, 6) and cube.rows_per_block(1) == 1
    assert cube.shape == SHAPE and cube.dtype == np.uint8
    np.testing.assert_array_equal(cube.data[()], data)
    np.testing.assert_array_equal(cube.data[1, 2], data[1, 2])
    np.testing.assert_array_equal(cube.data[..., 3], data[..., 3])
    np.testing.assert_array_equal(np.asarray(cube.data), data)
    np.testing.assert_array_equal(blocks_array(cube), data)
    assert (cube.scan_sampling, cube.scan_units) == (5.48, "A")  # user's units, file's step
    other, notes = load_quietly(path, dataset="/fpd_expt/DAC/data")
    np.testing.assert_array_equal(other.data[()], dac)
    assert notes == [] and other.scan_units == "px"
    memory, _ = load_quietly(path, in_memory=True)
    assert isinstance(memory.data, np.ndarray)
    np.testing.assert_array_equal(memory.data, data)
    cube.data.file.close()
    other.data.file.close()
    assert digest(path) == before


# --------------------------------------------------------------------------- Prismatic
def write_prismatic(path, cubes, units=("[Å]", "[Å^-1]"), energy_kev=80.0, reverse=False):
    with h5py.File(path, "w") as f:
        f.attrs["version_major"] = 0
        f.attrs["version_minor"] = 5
        params = f.create_group(
            "4DSTEM_simulation/metadata/metadata_0/original/simulation_parameters"
        )
        params.attrs["E"] = np.float32(energy_kev)
        for depth, data in enumerate(cubes):
            group = f.create_group(f"4DSTEM_simulation/data/datacubes/CBED_array_depth{depth:04d}")
            group.attrs["emd_group_type"] = 1
            stored = data.transpose(3, 2, 1, 0) if reverse else data
            group.create_dataset("datacube", data=stored, chunks=(1, 1, *stored.shape[2:]))
            rx, ry, qx, qy = data.shape
            write_vector(group, "dim1", 0.25, rx, units[0])
            write_vector(group, "dim2", 0.25, ry, units[0])
            write_vector(group, "dim3", 0.0625, qx, units[1])
            write_vector(group, "dim4", 0.0625, qy, units[1])
    return path


def test_prismatic_depths_calibration_energy(tmp_path):
    first, second = make_data(dtype=np.float32), make_data(dtype=np.float32, seed=1)
    path = write_prismatic(tmp_path / "sim.h5", [first, second])
    before = digest(path)
    assert find_format(path).name == "prismatic"
    cube, notes = load_quietly(path)
    assert len(notes) == 1 and "CBED_array_depth0000" in notes[0] and "2 output depths" in notes[0]
    assert cube.data.name == "/4DSTEM_simulation/data/datacubes/CBED_array_depth0000/datacube"
    np.testing.assert_array_equal(cube.data[()], first)
    assert cube.dtype == np.float32
    assert (cube.scan_sampling, cube.scan_units) == (0.25, "A")
    assert (cube.detector_sampling, cube.detector_units) == (0.0625, "A^-1")
    assert cube.energy == 80e3
    deeper, notes = load_quietly(path, dataset="CBED_array_depth0001")
    assert notes == []
    np.testing.assert_array_equal(deeper.data[()], second)
    with pytest.raises(FormatError, match="CBED_array_depth0007.*depths"):
        load(path, dataset="CBED_array_depth0007")
    cube.data.file.close()
    deeper.data.file.close()
    assert digest(path) == before


def test_prismatic_old_units_and_emd_extension(tmp_path):
    data = make_data(dtype=np.float32)
    path = write_prismatic(tmp_path / "sim.emd", [data], units=("[n_m]", "[n_m^-1]"))
    assert find_format(path).name == "prismatic"
    cube, notes = load_quietly(path, in_memory=True)
    assert notes == []
    np.testing.assert_array_equal(cube.data, data)
    assert (cube.scan_sampling, cube.scan_units) == (0.25, "nm")
    assert (cube.detector_sampling, cube.detector_units) == (0.00625, "A^-1")


def test_prismatic_reversed_axes_transposed_lazily(tmp_path):
    data = make_data(dtype=np.float32)
    path = write_prismatic(tmp_path / "sim.h5", [data], reverse=True)
    cube, notes = load_quietly(path)
    assert any("reverse" in note for note in notes)
    assert cube.shape == SHAPE and hasattr(cube.data, "compute")
    np.testing.assert_array_equal(blocks_array(cube), data)


# --------------------------------------------------------------------------- Arina / EIGER
def write_arina(
    folder: Path, frames: np.ndarray, split=(10,), sidecar=None, name="scan", energy=300e3
):
    """A master with ExternalLinks to bitshuffle-LZ4 data files; returns the master's path."""
    master = folder / f"{name}_master.h5"
    bounds = [0, *split, len(frames)]
    with h5py.File(master, "w") as f:
        data = f.create_group("entry/data")
        detector = f.create_group("entry/instrument/detector")
        for key, value in (
            ("x_pixel_size", 1e-4),
            ("y_pixel_size", 1e-4),
            ("detector_distance", 0.0),
        ):
            detector.create_dataset(key, data=value).attrs["units"] = "m"
        specific = detector.create_group("detectorSpecific")
        specific.create_dataset("photon_energy", data=energy).attrs["units"] = "eV"
        specific.create_dataset("number_of_excluded_pixels", data=np.uint32(0))
        for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True), start=1):
            file_name = f"{name}_data_{i:06d}.h5"
            with h5py.File(folder / file_name, "w") as part:
                part.create_dataset(
                    "entry/data/data",
                    data=frames[start:stop],
                    chunks=(1, *frames.shape[1:]),
                    **hdf5plugin.Bitshuffle(cname="lz4"),
                )
            data[f"data_{i:06d}"] = h5py.ExternalLink(file_name, "/entry/data/data")
    if sidecar is not None:
        with h5py.File(folder / f"{name}.h5", "w") as f:
            group = f.create_group("STEM Metadata")
            for key, value in sidecar.items():
                group.attrs[key] = value
    return master


SIDECAR = {
    "NumPixelsX": np.int64(4),
    "NumPixelsY": np.int64(3),
    "Pixel Size": np.array([0.5]),
    "Camera Length": np.array([0.125]),
    "High Tension": np.array([200e3]),
    "IsPixelSizeCalibrated": np.array([1], dtype=np.uint8),
}


def test_arina_pair_with_sidecar(tmp_path):
    data = make_data(dtype=np.uint32)
    frames = data.reshape(12, 8, 6)
    master = write_arina(tmp_path, frames, split=(5,), sidecar=SIDECAR)
    with h5py.File(tmp_path / "scan_data_000001.h5", "r") as f:
        assert "32008" in f["entry/data/data"]._filters  # really bitshuffle-LZ4 compressed
    before = digest(tmp_path)
    assert find_format(master).name == "arina"
    cube, notes = load_quietly(master)
    assert len(notes) == 1 and "125 mm" in notes[0]
    assert hasattr(cube.data, "compute") and cube.shape == SHAPE and cube.dtype == np.uint32
    np.testing.assert_array_equal(np.asarray(cube.data[1:3].compute()), data[1:3])
    np.testing.assert_array_equal(blocks_array(cube), data)  # across the data-file boundary
    assert (cube.scan_sampling, cube.scan_units) == (0.5, "nm")
    assert cube.detector_units == "mrad"
    assert cube.detector_sampling == pytest.approx(0.1 / 125 * 1e3, rel=1e-12)
    assert cube.energy == 300e3  # the master's photon_energy wins over the sidecar's
    memory, _ = load_quietly(master, in_memory=True)
    np.testing.assert_array_equal(memory.data, data)
    del cube
    assert digest(tmp_path) == before


def test_arina_without_sidecar_needs_scan_shape(tmp_path):
    data = make_data(shape=(2, 6, 8, 6), dtype=np.uint16)
    master = write_arina(tmp_path, data.reshape(12, 8, 6), split=(7,))
    with pytest.raises(FormatError, match=r"12 frames.*scan_shape=\(Rx, Ry\)"):
        load(master)
    cube, notes = load_quietly(master, scan_shape=(2, 6))
    assert len(notes) == 1 and "no camera length" in notes[0]  # the pixel stays in px
    np.testing.assert_array_equal(blocks_array(cube), data)
    assert (cube.scan_units, cube.detector_units) == ("px", "px")  # no camera length
    with pytest.raises(FormatError, match=r"scan shape \(5, 5\).*needs 25"):
        load(master, scan_shape=(5, 5))


def test_arina_without_metadata_square_count_opens_square_with_a_warning(tmp_path):
    data = make_data(shape=(4, 4, 8, 6), dtype=np.uint16)
    master = write_arina(tmp_path, data.reshape(16, 8, 6), split=(7,))
    before = digest(tmp_path)
    cube, notes = load_quietly(master)
    square = [note for note in notes if "square 4x4 scan" in note]
    assert len(square) == 1 and "16 frames" in square[0] and "scan_shape=" in square[0]
    assert cube.shape == (4, 4, 8, 6)
    np.testing.assert_array_equal(blocks_array(cube), data)  # frames in acquisition order
    with pytest.warns(UserWarning, match=r"square 4x4 scan"):
        load(master)
    # scan_shape= still wins, without the note
    cube, notes = load_quietly(master, scan_shape=(2, 8))
    assert cube.shape == (2, 8, 8, 6) and not any("square" in note for note in notes)
    np.testing.assert_array_equal(blocks_array(cube), data.reshape(2, 8, 8, 6))
    memory, _ = load_quietly(master, in_memory=True)
    np.testing.assert_array_equal(memory.data, data)
    del cube
    assert digest(tmp_path) == before


def test_arina_without_metadata_other_counts_still_need_scan_shape(tmp_path):
    master = write_arina(tmp_path, make_data(shape=(3, 5, 8, 6)).reshape(15, 8, 6), split=(7,))
    with pytest.raises(FormatError, match=r"15 frames, not a square number.*scan_shape="):
        load(master)


def test_arina_missing_data_file(tmp_path):
    master = write_arina(tmp_path, make_data(dtype=np.uint16).reshape(12, 8, 6), split=(6,))
    missing = tmp_path / "scan_data_000002.h5"
    missing.unlink()
    before = digest(tmp_path)
    with pytest.raises(FormatError, match="scan_data_000002.h5.*missing") as err:
        load(master, scan_shape=(3, 4))
    assert str(master) in str(err.value)
    assert digest(tmp_path) == before


def test_arina_data_file_or_sidecar_given(tmp_path):
    master = write_arina(tmp_path, make_data(dtype=np.uint16).reshape(12, 8, 6), sidecar=SIDECAR)
    for wrong in (tmp_path / "scan_data_000001.h5", tmp_path / "scan.h5"):
        with pytest.raises(FormatError, match=f"open its master '{master}'"):
            load(wrong)


# --------------------------------------------------------------------------- zarr
def test_zarr_directory_store_with_attrs(tmp_path):
    data = make_data()
    path = tmp_path / "cube.zarr"
    array = zarr.create_array(path, shape=SHAPE, chunks=(2, 4, 8, 6), dtype=data.dtype)
    array[...] = data
    array.attrs.update(
        {"scan_sampling": 0.5, "scan_units": "nm", "detector_sampling": 1.5,
         "detector_units": "mrad", "energy": 200e3}
    )  # fmt: skip
    before = digest(path)
    cube, notes = load_quietly(path)
    assert notes == []
    assert isinstance(cube.data, zarr.Array) and cube.rows_per_block(1) == 2
    np.testing.assert_array_equal(cube.data[...], data)
    assert isinstance(cube.data[0:2], np.ndarray)
    np.testing.assert_array_equal(blocks_array(cube), data)
    assert cube.dtype == np.uint16
    assert (cube.scan_sampling, cube.scan_units) == (0.5, "nm")
    assert (cube.detector_sampling, cube.detector_units) == (1.5, "mrad")
    assert cube.energy == 200e3
    assert digest(path) == before


def test_zarr_group_zip_and_dataset(tmp_path):
    data, other = make_data(), make_data(seed=3)
    path = tmp_path / "cubes.zarr"
    group = zarr.open_group(path, mode="w")
    group.create_array("raw/frames", data=data, chunks=(1, 4, 8, 6))
    group.create_array("image", data=np.zeros((3, 4)))
    cube, notes = load_quietly(path)
    assert notes == [] and (cube.scan_units, cube.detector_units) == ("px", "px")
    np.testing.assert_array_equal(cube.data[...], data)
    group.create_array("binned", data=other)
    with pytest.raises(FormatError, match="several 4D zarr arrays"):
        load(path)
    np.testing.assert_array_equal(load(path, dataset="binned").data[...], other)
    with pytest.raises(FormatError, match=r"'image' in the zarr store .* has shape \(3, 4\)"):
        load(path, dataset="image")
    zipped = tmp_path / "cube.zip"
    with zarr.storage.ZipStore(zipped, mode="w") as store:
        zarr.create_array(store, data=data, chunks=(1, 4, 8, 6))
    before = digest(zipped)
    assert find_format(zipped).name == "zarr"
    np.testing.assert_array_equal(load(zipped, in_memory=True).data, data)
    np.testing.assert_array_equal(blocks_array(load(zipped)), data)
    assert digest(zipped) == before


def test_zarr_3d_array_refused(tmp_path):
    path = tmp_path / "frames.zarr"
    zarr.create_array(path, data=np.zeros((12, 8, 6), dtype=np.uint16))
    before = digest(path)
    with pytest.raises(
        FormatError, match=r"'.*frames.zarr' holds a 3D array of shape \(12, 8, 6\)"
    ):
        load(path)
    group = tmp_path / "group.zarr"
    zarr.open_group(group, mode="w").create_array("frames", data=np.zeros((12, 8, 6)))
    with pytest.raises(FormatError, match=r"no 4D array.*frames \(12, 8, 6\)"):
        load(group)
    assert digest(path) == before


# --------------------------------------------------------------------------- wrong content
@pytest.mark.parametrize("name", ["scan_master.h5", "notes.zarr", "notes.zip", "sim.emd"])
def test_not_what_the_extension_says(tmp_path, name):
    path = tmp_path / name
    path.write_text("not a 4D-STEM file\n")
    before = digest(path)
    with pytest.raises(FormatError, match=str(path)):
        load(path)
    assert digest(path) == before


def test_empty_directory_named_zarr(tmp_path):
    path = tmp_path / "empty.zarr"
    path.mkdir()
    with pytest.raises(FormatError, match="empty.zarr"):
        load(path)


def test_h5_detection_order(tmp_path):
    data = make_data()
    arina = write_arina(tmp_path, data.reshape(12, 8, 6))
    fpd = write_fpd(tmp_path / "fpd.h5", data)
    prismatic = write_prismatic(tmp_path / "sim.h5", [data.astype(np.float32)])
    generic = tmp_path / "plain.h5"
    with h5py.File(generic, "w") as f:
        f["cube"] = data
    found = [find_format(p).name for p in (arina, fpd, prismatic, generic)]
    assert found == ["arina", "fpd", "prismatic", "hdf5"]
    names = [spec.name for spec in FORMATS]
    h5 = [n for n in names if n in ("arina", "fpd", "prismatic", "py4dstem", "hdf5")]
    assert h5 == ["arina", "fpd", "prismatic", "py4dstem", "hdf5"]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_formats_2_and_3(tmp_path, zarr_format):
    data = make_data(dtype=np.float32)
    path = tmp_path / "cube.zarr"
    zarr.create_array(path, data=data, chunks=(1, 2, 8, 6), zarr_format=zarr_format)
    before = digest(path)
    cube = load(path)
    assert cube.dtype == np.float32 and cube.data.chunks == (1, 2, 8, 6)
    np.testing.assert_array_equal(blocks_array(cube), data)
    assert digest(path) == before


def test_arina_format_forced_on_other_hdf5(tmp_path):
    path = write_fpd(tmp_path / "fpd.h5", make_data())
    with pytest.raises(FormatError, match=f"'{path}' is not a Dectris Arina/EIGER master"):
        load(path, format="arina")
    with pytest.raises(ValueError, match="does not apply"):
        load(path, format="arina", dataset="x")
