"""Microscope-software formats read through rosettasciio: HyperSpy, DigitalMicrograph, Velox, TIA.

Each test writes a small file with known content and calibration (see ``_microscope_files``),
loads it with :func:`dpc_widgets.load` and checks values, axis order, dtype and calibration
exactly; bad files must raise typed errors naming the file, and no file may be modified.
"""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
from _common import digest, load_quietly
from _microscope_files import (
    hyperspy_signal,
    write_dm4,
    write_hspy,
    write_tia,
    write_velox,
    write_zspy,
)

from dpc_widgets.io import load
from dpc_widgets.io.formats import FormatError, OpenOptions, find_format
from dpc_widgets.io.formats.rosetta import apply_mapping
from dpc_widgets.io.formats.velox import is_velox

pytest.importorskip("rsciio")

SHAPE = (3, 4, 5, 6)  # (Rx, Ry, Qx, Qy): every axis a different length


def make_data(dtype=np.uint16, seed=1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1000, size=SHAPE).astype(dtype)


def opened(path: Path, **options):
    return find_format(path).open(path, OpenOptions(**options))


def as_numpy(array) -> np.ndarray:
    return np.asarray(array.compute() if hasattr(array, "compute") else array)


def assert_blocks_equal(cube, data: np.ndarray) -> None:
    """``cube.blocks()`` yields NumPy blocks that tile the data in scan order."""
    rows = []
    for start, stop, block in cube.blocks(max_bytes=data[0, 0].nbytes * data.shape[1]):
        assert isinstance(block, np.ndarray)
        assert stop - start == block.shape[0]
        rows.append(block)
    np.testing.assert_array_equal(np.concatenate(rows), data.reshape(-1, *data.shape[2:]))


# --------------------------------------------------------------------------- HyperSpy
def write_hyperspy(kind: str, path: Path, signal: dict) -> Path:
    if kind == "hspy":
        return write_hspy(path / "cube.hspy", signal)
    return write_zspy(path / "cube.zspy", signal, zip_store=kind == "zspy-zip")


@pytest.mark.parametrize("kind", ["hspy", "zspy", "zspy-zip"])
def test_hyperspy_round_trip(tmp_path, kind):
    data = make_data()
    path = write_hyperspy(kind, tmp_path, hyperspy_signal(data))
    before = digest(path)
    cube, notes = load_quietly(path)
    assert notes == []
    assert find_format(path).name == kind.split("-")[0]
    assert isinstance(cube.data, da.Array)  # lazy: nothing read yet
    assert cube.shape == SHAPE and cube.dtype == np.uint16
    np.testing.assert_array_equal(as_numpy(cube.data), data)
    assert (cube.scan_sampling, cube.scan_units) == (0.5, "nm")
    assert cube.detector_units == "A^-1"
    assert cube.detector_sampling == pytest.approx(0.002, rel=1e-12)  # 0.02 1/nm
    assert cube.energy == 300e3
    assert opened(path).camera_length == 120.0
    assert_blocks_equal(cube, data)
    del cube
    assert digest(path) == before


def test_hyperspy_in_memory_and_dataset(tmp_path):
    data = make_data(np.float32)
    path = write_hspy(tmp_path / "cube.hspy", hyperspy_signal(data, title="scan 1"))
    cube = load(path, in_memory=True)
    assert isinstance(cube.data, np.ndarray) and cube.dtype == np.float32
    np.testing.assert_array_equal(cube.data, data)
    np.testing.assert_array_equal(as_numpy(load(path, dataset="scan 1").data), data)
    with pytest.raises(FormatError, match=r"no signal 'other'.*scan 1"):
        load(path, dataset="other")


def test_hyperspy_without_metadata_and_pixel_units(tmp_path):
    data = make_data()
    signal = hyperspy_signal(
        data,
        scan=(1.0, "<undefined>"),
        detector=(1.0, "px"),
        energy_kev=None,
        camera_length_mm=None,
    )
    cube, _ = load_quietly(write_hspy(tmp_path / "bare.hspy", signal))
    assert cube.energy is None
    assert (cube.detector_sampling, cube.detector_units) == (1.0, "px")
    assert cube.scan_units == "px"  # no scan calibration: Datacube's default


def test_hyperspy_negative_scale_warns_and_keeps_order(tmp_path):
    data = make_data()
    signal = hyperspy_signal(data)
    signal["axes"][1]["scale"] = -0.5  # Ry runs backwards
    cube, notes = load_quietly(write_hspy(tmp_path / "flipped.hspy", signal))
    np.testing.assert_array_equal(as_numpy(cube.data), data)
    assert cube.scan_sampling == 0.5
    assert any("Ry axis has a negative step" in note and "flipped.hspy" in note for note in notes)


def test_hyperspy_signal_axes_must_be_last(tmp_path):
    signal = hyperspy_signal(make_data())
    for axis, navigate in zip(signal["axes"], (False, False, True, True), strict=True):
        axis["navigate"] = navigate
    path = write_hspy(tmp_path / "swapped.hspy", signal)
    with pytest.raises(FormatError, match=r"swapped\.hspy.*navigate"):
        load(path)


def test_hyperspy_3d_signal_is_refused(tmp_path):
    signal = hyperspy_signal(make_data())
    signal["data"] = signal["data"][0]
    signal["axes"] = signal["axes"][1:]
    path = write_hspy(tmp_path / "stack.hspy", signal)
    with pytest.raises(FormatError, match=r"stack\.hspy.*no 4D signal"):
        load(path)


# --------------------------------------------------------------------------- DigitalMicrograph
@pytest.mark.parametrize("version", [4, 3])
def test_digitalmicrograph_round_trip(tmp_path, version):
    data = make_data()
    path = write_dm4(tmp_path / f"cube.dm{version}", data, version=version)
    before = digest(path)
    cube, notes = load_quietly(path)
    assert notes == []
    assert find_format(path).name == "digitalmicrograph"
    assert isinstance(cube.data, da.Array)
    assert cube.shape == SHAPE and cube.dtype == np.uint16
    np.testing.assert_array_equal(as_numpy(cube.data), data)
    assert (cube.scan_sampling, cube.scan_units) == (0.25, "nm")
    assert (cube.detector_sampling, cube.detector_units) == (0.5, "mrad")
    assert cube.energy == 300e3
    assert opened(path).camera_length == 145.0
    assert_blocks_equal(cube, data)
    del cube
    assert digest(path) == before


def test_digitalmicrograph_units_and_float_data(tmp_path):
    data = make_data(np.float32)
    path = write_dm4(tmp_path / "k.dm4", data, scan=(2.0, "\u00c5"), detector=(0.125, "1/nm"))
    cube = load(path, in_memory=True)
    assert isinstance(cube.data, np.ndarray) and cube.dtype == np.float32
    np.testing.assert_array_equal(cube.data, data)
    assert (cube.scan_sampling, cube.scan_units) == (2.0, "A")
    assert (cube.detector_sampling, cube.detector_units) == (0.0125, "A^-1")


def test_digitalmicrograph_truncated(tmp_path):
    path = write_dm4(tmp_path / "cut.dm4", make_data())
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(FormatError, match=r"cut\.dm4"):
        load(path)


# --------------------------------------------------------------------------- Velox EMD
def frames_of(data: np.ndarray) -> np.ndarray:
    return data.reshape(-1, *data.shape[2:])


def test_velox_round_trip(tmp_path):
    data = make_data()
    path = write_velox(tmp_path / "velox.emd", frames_of(data), scan_size=(3, 4))
    before = digest(path)
    cube, notes = load_quietly(path)
    assert find_format(path).name == "velox"
    assert isinstance(cube.data, da.Array)
    assert cube.shape == SHAPE and cube.dtype == np.uint16
    np.testing.assert_array_equal(as_numpy(cube.data), data)
    assert cube.detector_units == "A^-1"
    assert cube.detector_sampling == pytest.approx(0.02, rel=1e-9)  # 2e8 1/m
    assert cube.scan_units == "px"  # Velox frames carry no scan step
    assert cube.energy == pytest.approx(200e3, rel=1e-12)
    assert opened(path).camera_length == pytest.approx(115.0, rel=1e-12)
    assert any("Scan.ScanSize" in note for note in notes)
    assert_blocks_equal(cube, data)
    del cube
    assert digest(path) == before


def test_velox_stack_beside_a_stem_image(tmp_path):
    data = make_data()
    haadf = np.arange(12, dtype=np.uint16).reshape(3, 4)
    path = write_velox(tmp_path / "both.emd", frames_of(data), (3, 4), haadf=haadf)
    cube, _ = load_quietly(path)
    np.testing.assert_array_equal(as_numpy(cube.data), data)
    cube, _ = load_quietly(path, dataset="BM-Ceta")
    np.testing.assert_array_equal(as_numpy(cube.data), data)
    with pytest.raises(FormatError, match=r"both\.emd.*no signal 'Ceta'.*BM-Ceta.*HAADF"):
        load(path, dataset="Ceta")


def test_velox_scan_shape(tmp_path):
    data = make_data()
    path = write_velox(tmp_path / "noscan.emd", frames_of(data), scan_size=None)
    with pytest.raises(FormatError, match=r"noscan\.emd.*12 frames.*scan_shape"):
        load(path)
    cube, notes = load_quietly(path, scan_shape=(3, 4))
    np.testing.assert_array_equal(as_numpy(cube.data), data)
    assert not any("ScanSize" in note for note in notes)
    in_memory = load(path, scan_shape=(3, 4), in_memory=True)
    assert isinstance(in_memory.data, np.ndarray)
    np.testing.assert_array_equal(in_memory.data, data)
    other = load(path, scan_shape=(4, 3))
    np.testing.assert_array_equal(as_numpy(other.data), data.reshape(4, 3, 5, 6))
    with pytest.raises(FormatError, match=r"12 frames.*\(5, 5\)"):
        load(path, scan_shape=(5, 5))
    wrong = write_velox(tmp_path / "wrong.emd", frames_of(data), scan_size=(2, 2))
    with pytest.raises(FormatError, match=r"wrong\.emd.*12 frames.*\[\(2, 2\)\] do not match"):
        load(wrong)


def test_velox_scan_area(tmp_path):
    data = make_data()
    # a 6 x 16 scan frame of which rows 1/6..4/6 and columns 0.25..0.5 were scanned: 3 x 4
    area = ("0.1666666667", "0.6666666667", "0.25", "0.5")
    path = write_velox(tmp_path / "area.emd", frames_of(data), (6, 16), scan_area=area)
    cube, notes = load_quietly(path)
    np.testing.assert_array_equal(as_numpy(cube.data), data)
    assert any("scan shape (3, 4)" in note for note in notes)
    full = write_velox(
        tmp_path / "full.emd", frames_of(data), (3, 4), scan_area=("0", "1", "0", "1")
    )
    np.testing.assert_array_equal(as_numpy(load_quietly(full)[0].data), data)


def test_velox_sniff_against_other_emd(tmp_path):
    from _py4dstem_layout import write_py4dstem_h5

    data = make_data()
    velox = write_velox(tmp_path / "a.emd", frames_of(data), scan_size=(3, 4))
    kit = write_velox(tmp_path / "b.emd", frames_of(data), (3, 4), version_format="DevelopersKit")
    py4dstem = tmp_path / "c.emd"
    write_py4dstem_h5(
        py4dstem, data, r_pixel_size=0.5, r_units="A", q_pixel_size=1.0, q_units="mrad"
    )
    text = tmp_path / "d.emd"
    text.write_text("not hdf5")
    assert is_velox(velox) and is_velox(kit)
    assert not is_velox(py4dstem) and not is_velox(text)
    assert find_format(py4dstem).name == "py4dstem"
    np.testing.assert_array_equal(as_numpy(load_quietly(kit)[0].data), data)
    with pytest.raises(FormatError, match=r"c\.emd.*not a Velox EMD"):
        load(py4dstem, format="velox")


# --------------------------------------------------------------------------- TIA
def test_tia_round_trip_with_flipped_scan_axis(tmp_path):
    data = make_data()
    emi, ser = write_tia(tmp_path / "series", data)
    before = digest(emi), digest(ser)
    cube, notes = load_quietly(emi)
    assert find_format(emi).name == "tia"
    assert isinstance(cube.data, np.ndarray)  # a read-only np.memmap (see tia.py)
    assert cube.shape == SHAPE and cube.dtype == np.uint16
    np.testing.assert_array_equal(cube.data, data)  # stored order (rows re-reversed by rsciio)
    assert cube.scan_units == "nm"
    assert cube.scan_sampling == pytest.approx(0.2, rel=1e-12)  # |-2e-10 m|
    assert cube.detector_units == "A^-1"
    assert cube.detector_sampling == pytest.approx(0.005, rel=1e-12)  # 5e7 1/m
    assert cube.energy == 300e3
    assert opened(emi).camera_length == pytest.approx(100.0, rel=1e-12)
    flips = [note for note in notes if "negative step" in note]
    assert len(flips) == 1 and "Rx axis" in flips[0] and "series.emi" in flips[0]
    assert "stored order" in flips[0]
    assert_blocks_equal(cube, data)
    assert (digest(emi), digest(ser)) == before


def test_tia_ser_alone(tmp_path):
    data = make_data()
    _, ser = write_tia(tmp_path / "series", data)
    cube, notes = load_quietly(ser)
    np.testing.assert_array_equal(cube.data, data)
    assert cube.energy is None
    assert cube.detector_units == "px"
    assert any("without its .emi" in note and "series_1.ser" in note for note in notes)


@pytest.mark.parametrize("alone", [False, True])
@pytest.mark.parametrize(("dtype", "padding"), [(np.uint16, 0), (np.int16, 0), (np.float32, 12)])
def test_tia_memory_map_matches_rsciio(tmp_path, dtype, padding, alone):
    from rsciio.tia import file_reader

    from dpc_widgets.io.formats.tia import _read_signals

    emi, ser = write_tia(tmp_path / "series", make_data(dtype), padding=padding)
    path = ser if alone else emi
    before = digest(emi), digest(ser)
    data = opened(path).data
    assert isinstance(data, np.memmap) and not data.flags.writeable  # lazy, read-only
    assert data.shape == SHAPE and data.dtype == dtype
    (reference,) = file_reader(str(path), lazy=False)
    np.testing.assert_array_equal(data, reference["data"])
    assert data.strides[-2] < 0  # rows reversed as a view, as rsciio does
    (signal,) = _read_signals(path, not alone)
    keys = ("offset", "scale", "units", "size")
    assert [{key: axis[key] for key in keys} for axis in signal["axes"]] == [
        {key: axis[key] for key in keys} for axis in reference["axes"]
    ]
    assert (digest(emi), digest(ser)) == before


def test_tia_non_uniform_records_read_into_memory(tmp_path):
    data = make_data()
    emi, ser = write_tia(tmp_path / "gappy", data, gap=16)
    before = digest(emi), digest(ser)
    lazy, _ = write_tia(tmp_path / "plain", data)
    cube, notes = load_quietly(emi)
    assert not isinstance(cube.data, np.memmap)
    np.testing.assert_array_equal(cube.data, data)
    assert any("not equally spaced" in note and "gappy_1.ser" in note for note in notes)
    fallback, reference = opened(emi), opened(lazy)
    assert (fallback.scan, fallback.detector) == (reference.scan, reference.detector)
    assert (fallback.energy, fallback.camera_length) == (reference.energy, reference.camera_length)
    assert (digest(emi), digest(ser)) == before


def test_tia_missing_ser(tmp_path):
    emi, _ = write_tia(tmp_path / "lonely", make_data(), write_ser=False)
    with pytest.raises(FileNotFoundError, match=r"lonely\.emi.*lonely_1\.ser"):
        load(emi)


def test_tia_picks_the_4d_series(tmp_path):
    data = make_data()
    preview = make_data(seed=2)[0]  # a time series of 4 frames: 3D, not picked
    emi, ser = write_tia(tmp_path / "two", data, preview=preview)
    assert ser.name == "two_2.ser"
    cube, _ = load_quietly(emi)
    np.testing.assert_array_equal(cube.data, data)
    preview_only, _ = write_tia(tmp_path / "only", data, preview=preview, write_ser=False)
    with pytest.raises(FormatError, match=r"only\.emi.*no 4D signal"):
        load(preview_only)


def test_tia_truncated_ser(tmp_path):
    emi, ser = write_tia(tmp_path / "cut", make_data())
    ser.write_bytes(ser.read_bytes()[:40])
    with pytest.raises(FormatError, match=r"cut\.emi"):
        load(emi)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", ["junk.hspy", "junk.dm4", "junk.dm3", "junk.emi", "junk.ser"])
def test_text_file_with_format_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("this is not a microscope file\n" * 10)
    before = digest(path)
    with pytest.raises(FormatError, match=name.replace(".", r"\.")):
        load(path)
    assert digest(path) == before


def test_text_file_named_zspy(tmp_path):
    path = tmp_path / "junk.zspy"
    path.write_text("not zarr")
    with pytest.raises(FormatError, match=r"junk\.zspy.*neither a zarr directory nor a zip"):
        load(path)


def test_empty_directory_named_zspy(tmp_path):
    path = tmp_path / "empty.zspy"
    path.mkdir()
    with pytest.raises(FormatError, match=r"empty\.zspy"):
        load(path)
    assert list(path.iterdir()) == []


# --------------------------------------------------------------------------- shared pieces
def test_registry_order_for_emd():
    from dpc_widgets.io.formats import FORMATS

    names = [spec.name for spec in FORMATS if ".emd" in spec.extensions]
    assert names == ["velox", "prismatic", "py4dstem", "hdf5"]


def test_apply_mapping_matches_hyperspy_key_spelling():
    signal = {
        "metadata": {"General": {"title": "t"}},
        "original_metadata": {"Info": {"High tension_kV": 200.0, "Camera length_m": "bad"}},
        "mapping": {
            "Info.High_tension_kV": ("Acquisition_instrument.TEM.beam_energy", None),
            "Info.Camera_length_m": ("Acquisition_instrument.TEM.camera_length", float),
            "Info.Missing": ("General.title", None),
        },
    }
    out = apply_mapping(signal)
    assert out["metadata"] == {
        "General": {"title": "t"},
        "Acquisition_instrument": {"TEM": {"beam_energy": 200.0}},
    }
    assert signal["metadata"] == {"General": {"title": "t"}}  # not modified in place
