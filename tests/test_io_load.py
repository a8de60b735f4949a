"""``dpc_widgets.load``: py4DSTEM/EMD, generic HDF5, .npy and .npz files, read-only."""

from __future__ import annotations

import gc
import hashlib
import os

import h5py
import numpy as np
import pytest
from _py4dstem_layout import write_py4dstem_h5

from dpc_widgets.io import Datacube, load

SHAPE = (3, 4, 8, 6)
DISC = (3.0, 2.0)  # where make_data puts the bright-field disc (pixels)


def make_data(shape=SHAPE, dtype=np.uint16, seed=0, disc=DISC) -> np.ndarray:
    """Random patterns: counts 0..20, plus a 3 x 3 disc of 1000 counts centred on ``disc``.

    The noise is point-symmetric about ``disc`` wherever the mirror pixel exists, so the disc
    centre is exactly ``disc``: what ``load``'s default ``origin="disc"`` must find.
    """
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 20, size=shape).astype(np.float64)
    ci, cj = (int(c) for c in disc)
    hi, hj = min(ci, shape[2] - 1 - ci), min(cj, shape[3] - 1 - cj)
    window = data[..., ci - hi : ci + hi + 1, cj - hj : cj + hj + 1]
    window += window[..., ::-1, ::-1].copy()
    data[..., ci - 1 : ci + 2, cj - 1 : cj + 2] += 1000
    return data.astype(dtype)


def write_emd(path, data=None, **kwargs):
    kwargs = {"r_pixel_size": 0.5, "r_units": "A", "q_pixel_size": 1.25, "q_units": "mrad"} | kwargs
    write_py4dstem_h5(path, make_data() if data is None else data, **kwargs)
    return path


def write_h5(path, datasets: dict) -> None:
    with h5py.File(path, "w") as f:
        for name, array in datasets.items():
            f.create_dataset(name, data=array)


def digest(path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns


def open_for_writing_fails(path) -> bool:
    """True while this process still holds ``path`` open read-only."""
    try:
        h5py.File(path, "r+").close()
    except OSError as err:
        assert "already open" in str(err)
        return True
    return False


# --------------------------------------------------------------------------- py4DSTEM / EMD
@pytest.mark.parametrize("root_name", ["root", "4DSTEM_experiment"])
def test_py4dstem_round_trip(tmp_path, root_name):
    data = make_data()
    path = write_emd(tmp_path / "cube.h5", data, root_name=root_name)
    cube = load(path)
    assert isinstance(cube, Datacube)
    assert isinstance(cube.data, h5py.Dataset)
    assert cube.data.name == f"/{root_name}/datacube/data"
    assert cube.data.file.mode == "r"
    np.testing.assert_array_equal(cube.data[()], data)
    assert cube.dtype == np.uint16
    assert (cube.scan_sampling, cube.scan_units) == (0.5, "A")
    assert (cube.detector_sampling, cube.detector_units) == (1.25, "mrad")
    assert cube.energy is None
    assert cube.origin == pytest.approx(DISC, abs=1e-9)  # the default origin is the disc
    assert cube.disc.found


@pytest.mark.parametrize("extension", [".hdf5", ".emd", ".H5"])
def test_hdf5_extensions(tmp_path, extension):
    cube = load(str(write_emd(tmp_path / f"cube{extension}")))
    assert cube.shape == SHAPE


@pytest.mark.parametrize(
    ("file_units", "ours"), [("A", "A"), ("\u00c5", "A"), ("\u212b", "A"), ("nm", "nm"),
                             ("pixels", "px")]
)  # fmt: skip
def test_scan_unit_strings(tmp_path, file_units, ours):
    cube = load(write_emd(tmp_path / "cube.h5", r_units=file_units))
    assert cube.scan_units == ours


@pytest.mark.parametrize(
    ("file_units", "ours"),
    [("mrad", "mrad"), ("A^-1", "A^-1"), ("1/A", "A^-1"), ("\u00c5^-1", "A^-1"),
     ("pixels", "px")],
)  # fmt: skip
def test_detector_unit_strings(tmp_path, file_units, ours):
    cube = load(write_emd(tmp_path / "cube.h5", q_units=file_units))
    assert cube.detector_units == ours


def test_unknown_unit_strings_raise_unless_overridden(tmp_path):
    path = write_emd(tmp_path / "cube.h5", r_units="furlong", q_units="degrees")
    with pytest.raises(ValueError, match=r"unknown scan units 'furlong'.*scan_units="):
        load(path)
    with pytest.raises(ValueError, match=r"unknown detector units 'degrees'.*detector_units="):
        load(path, scan_units="nm")
    cube = load(path, scan_units="nm", detector_units="mrad")
    assert (cube.scan_sampling, cube.scan_units) == (0.5, "nm")
    assert (cube.detector_sampling, cube.detector_units) == (1.25, "mrad")


def calibration_of(path, **kwargs) -> tuple:
    """Scan and detector calibration of ``load(path)``; the file is closed on return."""
    cube = load(path, **kwargs)
    return cube.scan_sampling, cube.scan_units, cube.detector_sampling, cube.detector_units


def test_calibration_group_wins_then_dims_are_the_fallback(tmp_path):
    path = write_emd(tmp_path / "cube.h5", r_units="nm", q_units="A^-1")
    with h5py.File(path, "r+") as f:
        f["root/datacube/dim0"][1] = 9.0
        f["root/datacube/dim2"][1] = 0.03
        f["root/datacube/dim2"].attrs["units"] = "mrad"
    assert calibration_of(path) == (0.5, "nm", 1.25, "A^-1")

    with h5py.File(path, "r+") as f:
        del f["root/metadatabundle/calibration/R_pixel_size"]
        del f["root/metadatabundle/calibration/Q_pixel_units"]
    assert calibration_of(path) == (9.0, "nm", 1.25, "mrad")

    with h5py.File(path, "r+") as f:
        del f["root/metadatabundle"]
    assert calibration_of(path) == pytest.approx((9.0, "nm", 0.03, "mrad"))

    with h5py.File(path, "r+") as f:
        for i in range(4):
            del f[f"root/datacube/dim{i}"]
    assert calibration_of(path) == (1.0, "px", 1.0, "px")


def test_datacube_found_by_attributes_not_path(tmp_path):
    path = write_emd(tmp_path / "cube.h5", root_name="experiment")
    with h5py.File(path, "r+") as f:
        f.move("experiment/datacube", "experiment/nested_tree/my_scan")
        f.create_dataset("decoy_4d", data=np.zeros((2, 2, 2, 2)))  # not a DataCube: ignored
    cube = load(path)
    assert cube.data.name == "/experiment/nested_tree/my_scan/data"
    assert (cube.scan_sampling, cube.detector_units) == (0.5, "mrad")


def test_several_datacubes_need_dataset(tmp_path):
    path = write_emd(tmp_path / "cube.h5")
    with h5py.File(path, "r+") as f:
        f.copy("root/datacube", "root/second")
        f["root/second/data"][0, 0, 0, 0] = 4321
    with pytest.raises(
        ValueError, match=r"several 4D py4DSTEM DataCubes.*/root/datacube.*/root/second"
    ):
        load(path)
    for name in ("/root/second", "root/second/data"):
        cube = load(path, dataset=name)
        assert cube.data[0, 0, 0, 0] == 4321
        assert (cube.scan_sampling, cube.scan_units) == (0.5, "A")


# --------------------------------------------------------------------------- generic HDF5
def test_generic_hdf5_single_4d_dataset(tmp_path):
    data = make_data(dtype=np.float32)
    path = tmp_path / "generic.h5"
    write_h5(path, {"meta/image": np.ones((4, 5)), "scans/run1/frames": data})
    cube = load(path)
    assert cube.data.name == "/scans/run1/frames"
    np.testing.assert_array_equal(cube.data[()], data)
    assert (cube.scan_units, cube.detector_units) == ("px", "px")


def test_generic_hdf5_several_4d_datasets(tmp_path):
    path = tmp_path / "generic.h5"
    write_h5(path, {"a": make_data(seed=1), "group/b": make_data(seed=2), "c": np.ones(3)})
    with pytest.raises(ValueError, match=r"several 4D datasets.*'/a'.*'/group/b'.*dataset="):
        load(path)
    cube = load(path, dataset="group/b")
    np.testing.assert_array_equal(cube.data[()], make_data(seed=2))
    with pytest.raises(ValueError, match=r"'missing' in .* does not exist.*'/a'"):
        load(path, dataset="missing")
    with pytest.raises(ValueError, match=r"'c' in .* is not a 4D dataset"):
        load(path, dataset="c")
    with pytest.raises(ValueError, match=r"'group' in .* is not a 4D dataset"):
        load(path, dataset="group")
    with pytest.raises(TypeError, match=r"dataset must be a string.*3"):
        load(path, dataset=3)


def test_generic_hdf5_without_4d_dataset(tmp_path):
    path = tmp_path / "generic.h5"
    write_h5(path, {"x": np.ones((2, 3, 4)), "y": np.ones((2, 2, 2, 2, 2))})
    with pytest.raises(ValueError, match=r"generic.h5' holds no 4D dataset"):
        load(path)


def test_in_memory_reads_and_closes(tmp_path):
    data = make_data()
    path = write_emd(tmp_path / "cube.h5", data)
    cube = load(path, in_memory=True)
    assert type(cube.data) is np.ndarray
    np.testing.assert_array_equal(cube.data, data)
    assert cube.scan_units == "A"
    assert not open_for_writing_fails(path)


def test_file_stays_open_while_used_then_closes(tmp_path):
    data = make_data()
    path = write_emd(tmp_path / "cube.h5", data)
    cube = load(path)
    gc.collect()
    assert open_for_writing_fails(path)  # held open (read-only) by the Datacube's dataset
    total = sum(int(block.sum(dtype=np.int64)) for _, _, block in cube.blocks(max_bytes=500))
    assert total == int(data.sum(dtype=np.int64))
    del cube
    gc.collect()
    assert not open_for_writing_fails(path)


# --------------------------------------------------------------------------- NumPy files
def test_npy_is_memory_mapped_read_only(tmp_path):
    data = make_data(dtype=np.float32)
    path = tmp_path / "cube.npy"
    np.save(path, data)
    cube = load(path)
    assert isinstance(cube.data, np.memmap)
    assert cube.data.mode == "r"
    assert not cube.data.flags.writeable
    np.testing.assert_array_equal(cube.data, data)
    _, _, block = next(cube.blocks())
    assert isinstance(block, np.memmap)  # blocks are views on the map, not copies
    in_ram = load(path, in_memory=True)
    assert type(in_ram.data) is np.ndarray
    np.testing.assert_array_equal(in_ram.data, data)


def test_npy_errors(tmp_path):
    path = tmp_path / "cube.npy"
    np.save(path, make_data())
    with pytest.raises(ValueError, match=r"dataset='x' does not apply to a \.npy file"):
        load(path, dataset="x")
    np.save(path, np.ones((4, 5, 6)))
    with pytest.raises(ValueError, match=r"shape \(4, 5, 6\); expected 4D"):
        load(path)
    np.save(path, np.array([{"a": 1}] * 16, dtype=object).reshape(2, 2, 2, 2), allow_pickle=True)
    with pytest.raises(ValueError, match=r"cannot read '.*cube\.npy' as a \.npy array"):
        load(path)


def test_npz(tmp_path):
    data = make_data(dtype=np.float64)
    path = tmp_path / "cube.npz"
    np.savez(path, frames=data, mask=np.ones((8, 6)))
    cube = load(path)
    assert type(cube.data) is np.ndarray
    np.testing.assert_array_equal(cube.data, data)
    np.savez_compressed(path, first=data, second=data + 1, mask=np.ones((8, 6)))
    with pytest.raises(ValueError, match=r"several 4D arrays: \['first', 'second'\]"):
        load(path)
    np.testing.assert_array_equal(load(path, dataset="second").data, data + 1)
    with pytest.raises(ValueError, match=r"has no array 'third'.*\['first', 'mask', 'second'\]"):
        load(path, dataset="third")
    with pytest.raises(ValueError, match=r"array 'mask' in .* has shape \(8, 6\); expected 4D"):
        load(path, dataset="mask")
    np.savez(path, mask=np.ones((8, 6)))
    with pytest.raises(ValueError, match=r"holds no 4D array"):
        load(path)


# --------------------------------------------------------------------------- overrides
def test_overrides_replace_file_values(tmp_path):
    path = write_emd(tmp_path / "cube.h5")
    cube = load(
        path,
        energy=300e3,
        scan_sampling=2.0,
        scan_units="nm",
        detector_sampling=0.01,
        detector_units="A^-1",
        origin=(3.5, 2.5),
    )
    assert cube.energy == 300e3
    assert (cube.scan_sampling, cube.scan_units) == (2.0, "nm")
    assert (cube.detector_sampling, cube.detector_units) == (0.01, "A^-1")
    assert cube.origin == (3.5, 2.5)
    only_energy = load(path, energy=200e3)
    assert only_energy.detector_pixel_size("A^-1") == pytest.approx(1.25e-3 / 0.0250793, rel=1e-5)
    npy = tmp_path / "cube.npy"
    np.save(npy, make_data())
    assert load(npy, scan_sampling=0.2, scan_units="A").scan_pixel_size("nm") == pytest.approx(0.02)


def test_origin_mean_through_load(tmp_path):
    data = np.zeros((2, 2, 9, 9), dtype=np.float32)
    data[..., 6, 2] = 5.0
    path = write_emd(tmp_path / "cube.h5", data)
    assert load(path, origin="mean").origin == (6.0, 2.0)


@pytest.mark.parametrize("kind", ["emd", "npy"])
def test_default_origin_is_the_disc(tmp_path, kind):
    data = make_data(shape=(3, 4, 24, 20), disc=(17.0, 5.0))  # far from the centre (12, 10)
    path = tmp_path / ("c.h5" if kind == "emd" else "c.npy")
    write_emd(path, data) if kind == "emd" else np.save(path, data)
    cube = load(path)
    assert cube.origin == pytest.approx((17.0, 5.0), abs=1e-9)
    assert cube.disc.found and cube.disc.radius == pytest.approx(1.5, abs=0.3)
    assert load(path, origin=None).origin == (12.0, 10.0)  # explicit origin wins
    assert load(path, origin="geometric").origin == (12.0, 10.0)
    assert load(path, origin=(3.5, 2.5)).disc is None


def test_default_origin_without_a_disc_warns_and_is_geometric(tmp_path):
    path = tmp_path / "flat.npy"
    np.save(path, np.full((2, 3, 8, 6), 7, dtype=np.uint16))
    with pytest.warns(UserWarning, match=r"no bright-field disc.*geometric centre \(4.0, 3.0\)"):
        cube = load(path)
    assert cube.origin == (4.0, 3.0)


def test_default_origin_reads_a_bounded_sample(tmp_path):
    # 96 rows of 1 MiB: the disc estimate reads at most DISC_SAMPLE_ROWS rows and 32 MiB
    from dpc_widgets.io import datacube as datacube_module

    data = np.zeros((96, 16, 128, 128), dtype=np.uint16)
    i, j = np.indices((128, 128))
    data[:, :] = np.where(np.hypot(i - 40, j - 90) <= 12, 1000, 3).astype(np.uint16)
    path = tmp_path / "big.npy"
    np.save(path, data)
    read: list = []
    real = datacube_module.Datacube.mean_pattern

    def recording(self, *args, **kwargs):
        read.append((args, kwargs))
        return real(self, *args, **kwargs)

    datacube_module.Datacube.mean_pattern = recording
    try:
        cube = load(path)
    finally:
        datacube_module.Datacube.mean_pattern = real
    assert read == [((64 * 16,), {"max_bytes": 32 * 2**20})]
    assert cube.origin == pytest.approx((40.0, 90.0), abs=1e-9)
    ranges = cube._sample_ranges(64 * 16, 32 * 2**20)
    assert sum(r1 - r0 for r0, r1 in ranges) * 16 * 128 * 128 * 2 <= 32 * 2**20


def test_unknown_keyword_is_a_type_error(tmp_path):
    path = write_emd(tmp_path / "cube.h5")
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) 'scan_step'"):
        load(path, scan_step=1.0)
    with pytest.raises(ValueError, match=r"unknown scan units 'pm'"):
        load(path, scan_units="pm")
    with pytest.raises(ValueError, match=r"energy \(eV\) must be positive"):
        load(path, energy=-1)


# --------------------------------------------------------------------------- bad files
def test_missing_file(tmp_path):
    path = tmp_path / "nope" / "cube.h5"
    with pytest.raises(FileNotFoundError, match=r"no such file: '.*nope/cube\.h5'"):
        load(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fake.h5", r"'.*fake\.h5' is not an HDF5 file"),
        ("fake.emd", r"'.*fake\.emd' is not an HDF5 file"),
        ("fake.npy", r"'.*fake\.npy' is not a NumPy \.npy file"),
        ("fake.npz", r"'.*fake\.npz' is not a NumPy \.npz file"),
    ],
)
def test_text_file_with_data_extension(tmp_path, name, expected):
    path = tmp_path / name
    path.write_text("this is not a data file\n" * 20)
    with pytest.raises(ValueError, match=expected):
        load(path)


def test_truncated_hdf5(tmp_path):
    path = write_emd(tmp_path / "cube.h5", make_data(shape=(4, 4, 16, 16)))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cannot open '.*cube\.h5' as HDF5") as info:
        load(path)
    assert isinstance(info.value.__cause__, OSError)


def test_truncated_npy(tmp_path):
    path = tmp_path / "cube.npy"
    np.save(path, make_data())
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cannot read '.*cube\.npy' as a \.npy array"):
        load(path)


def test_unsupported_extension_and_directory(tmp_path):
    path = tmp_path / "cube.xyz"
    path.write_bytes(b"\0" * 64)
    with pytest.raises(
        ValueError, match=r"unsupported file extension '\.xyz'.*\.npy, \.npz, .*\.h5.*format="
    ):
        load(path)
    folder = tmp_path / "folder.h5"
    folder.mkdir()
    with pytest.raises(ValueError, match=r"folder\.h5' is not a regular file"):
        load(folder)
    with pytest.raises(TypeError, match=r"path must be a str or os.PathLike, got 42"):
        load(42)


# --------------------------------------------------------------------------- read-only
@pytest.mark.parametrize("kind", ["emd", "generic", "npy", "npz"])
def test_files_are_never_modified(tmp_path, kind):
    data = make_data()
    path = tmp_path / {"emd": "c.h5", "generic": "c.hdf5", "npy": "c.npy", "npz": "c.npz"}[kind]
    if kind == "emd":
        write_emd(path, data)
    elif kind == "generic":
        write_h5(path, {"frames": data})
    elif kind == "npy":
        np.save(path, data)
    else:
        np.savez(path, frames=data)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # a stamp a write would change
    before = digest(path)
    cube = load(path, origin="mean")
    for _, _, block in cube.blocks(max_bytes=700):
        assert block.shape[1:] == (8, 6)
    if kind != "npz":  # .npz is read into RAM; the others are views of the file
        with pytest.raises((ValueError, OSError), match="read-only|no write intent"):
            cube.data[0, 0, 0, 0] = 1
    del cube
    gc.collect()
    assert digest(path) == before


def test_compressed_generic_hdf5_reads_through_hdf5plugin(tmp_path):
    """A fresh process that never imports hdf5plugin itself reads a Zstd-compressed dataset."""
    import subprocess
    import sys

    import hdf5plugin

    data = make_data()
    path = tmp_path / "compressed.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("frames", data=data, chunks=(1, *data.shape[1:]), **hdf5plugin.Zstd())
    code = (
        "import sys, numpy as np, dpc_widgets; "
        "cube = dpc_widgets.load(sys.argv[1], origin=(0, 0)); "
        "print(int(np.asarray(cube.data[()], dtype=np.int64).sum()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert int(out.stdout) == int(data.astype(np.int64).sum())
