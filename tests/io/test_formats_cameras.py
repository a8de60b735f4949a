"""Camera/detector formats read through rosettasciio (and h5py for TopSpin), read-only and lazy.

Every test writes its own small file of the format, with known content and calibration, in
``tmp_path``: with rsciio's writers where they exist (blockfile, TVIPS), else byte by byte from
the format's layout (Merlin, EMPAD, DE MRC, TopSpin).
"""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import h5py
import numpy as np
import pytest
from _camera_files import mib_header, write_hdr, write_mib
from _common import digest, load_quietly

from dpc_widgets.io import load
from dpc_widgets.io.formats import FormatError

RNG = np.random.default_rng(7)


def check_lazy_blocks(cube, expected: np.ndarray) -> None:
    """Lazy dask data whose blocks and mean pattern match ``expected`` (Rx, Ry, Qx, Qy)."""
    assert isinstance(cube.data, da.Array)
    rx, ry, qx, qy = expected.shape
    flat = expected.reshape(rx * ry, qx, qy)
    seen = 0
    for start, stop, block in cube.blocks(max_bytes=1):
        assert isinstance(block, np.ndarray)
        np.testing.assert_array_equal(block, flat[start:stop])
        seen = stop
    assert seen == rx * ry
    np.testing.assert_allclose(cube.mean_pattern(), expected.mean(axis=(0, 1), dtype=np.float64))


# --------------------------------------------------------------------------- Merlin .mib
def test_merlin_scan_shape_orientation_and_flip(tmp_path):
    raw = RNG.integers(0, 4096, size=(12, 6, 8)).astype(np.uint16)  # 12 frames of 6 rows x 8
    path = write_mib(tmp_path / "scan.mib", raw)
    before = digest(path)
    cube, messages = load_quietly(path, scan_shape=(3, 4))
    assert cube.shape == (3, 4, 6, 8)  # (Rx, Ry, Qx = rows, Qy = columns)
    assert cube.dtype == np.uint16 and cube.dtype.isnative
    # frames in scan order, Ry fastest; rsciio flips each frame up-down (Qx reversed)
    expected = raw.reshape(3, 4, 6, 8)[:, :, ::-1, :]
    np.testing.assert_array_equal(np.asarray(cube.data), expected)
    np.testing.assert_array_equal(np.asarray(cube.data[1, 2]), raw[1 * 4 + 2][::-1])
    assert (cube.scan_units, cube.detector_units, cube.energy) == ("px", "px", None)
    assert messages == []
    check_lazy_blocks(cube, expected)
    assert digest(path) == before


@pytest.mark.parametrize("pixel", ["U08", "U32"])
def test_merlin_pixel_depths(tmp_path, pixel):
    top = 255 if pixel == "U08" else 2**24
    raw = RNG.integers(0, top, size=(4, 5, 3)).astype(np.uint32)
    path = write_mib(tmp_path / "d.mib", raw, pixel=pixel)
    cube = load(path, scan_shape=(2, 2))
    assert cube.dtype == (np.uint8 if pixel == "U08" else np.uint32)
    np.testing.assert_array_equal(np.asarray(cube.data), raw.reshape(2, 2, 5, 3)[:, :, ::-1])


def test_merlin_quad_header(tmp_path):
    raw = RNG.integers(0, 4096, size=(4, 8, 8)).astype(np.uint16)
    path = write_mib(tmp_path / "quad.mib", raw, quad=True)
    cube = load(path, scan_shape=(2, 2))
    np.testing.assert_array_equal(np.asarray(cube.data), raw.reshape(2, 2, 8, 8)[:, :, ::-1])


def test_merlin_hdr_path_opens_its_mib_and_guesses_the_scan(tmp_path):
    raw = RNG.integers(0, 4096, size=(6, 4, 4)).astype(np.uint16)
    mib = write_mib(tmp_path / "acq.mib", raw)
    hdr = write_hdr(tmp_path / "acq.hdr", frames=6, per_trigger=3)
    before = digest(mib), digest(hdr)
    cube, messages = load_quietly(hdr)
    # rsciio: 3 frames per trigger = one scan row of 3 positions -> (Rx, Ry) = (2, 3)
    assert cube.shape == (2, 3, 4, 4)
    np.testing.assert_array_equal(np.asarray(cube.data), raw.reshape(2, 3, 4, 4)[:, :, ::-1])
    assert any("guessed" in m and "scan_shape" in m for m in messages)
    assert (digest(mib), digest(hdr)) == before


def test_merlin_scan_from_timestamps(tmp_path):
    raw = RNG.integers(0, 4096, size=(6, 4, 4)).astype(np.uint16)
    times = np.array([0.0, 0.001, 0.002, 0.1, 0.101, 0.102])  # a flyback pause every 3 frames
    path = write_mib(tmp_path / "t.mib", raw, times=times)
    cube, _ = load_quietly(path)
    assert cube.shape == (2, 3, 4, 4)


def test_merlin_flat_frames_need_scan_shape(tmp_path):
    path = write_mib(tmp_path / "flat.mib", RNG.integers(0, 9, size=(6, 4, 4)))
    with pytest.raises(FormatError, match=r"flat\.mib.*scan_shape"):
        load(path)


def test_merlin_more_frames_than_scan_uses_the_first(tmp_path):
    raw = RNG.integers(0, 4096, size=(7, 4, 4)).astype(np.uint16)
    path = write_mib(tmp_path / "extra.mib", raw)
    cube, messages = load_quietly(path, scan_shape=(2, 3))
    np.testing.assert_array_equal(np.asarray(cube.data), raw[:6].reshape(2, 3, 4, 4)[:, :, ::-1])
    assert any("holds 7 frames" in m for m in messages)
    with pytest.raises(FormatError, match=r"needs 12 frames.*extra\.mib.*holds 7"):
        load(path, scan_shape=(3, 4))


def test_merlin_truncated(tmp_path):
    path = write_mib(tmp_path / "cut.mib", RNG.integers(0, 9, size=(4, 4, 4)))
    path.write_bytes(path.read_bytes()[:-10])
    before = digest(path)
    with pytest.raises(FormatError, match=r"cut\.mib.*truncated"):
        load(path, scan_shape=(2, 2))
    assert digest(path) == before


def test_merlin_hdr_without_mib(tmp_path):
    hdr = write_hdr(tmp_path / "lonely.hdr", frames=4, per_trigger=2)
    with pytest.raises(FormatError, match=r"lonely\.hdr.*lonely\.mib.*does not exist"):
        load(hdr)


def test_merlin_text_file(tmp_path):
    path = tmp_path / "notes.mib"
    path.write_text("this is not a detector file\n" * 40)
    with pytest.raises(FormatError, match=r"notes\.mib.*not a Merlin"):
        load(path)


def test_merlin_raw_frames_refused(tmp_path):
    path = tmp_path / "raw.mib"
    path.write_bytes(mib_header(1, 4, 4, pixel="R64") + bytes(4 * 4 * 8))
    with pytest.raises(FormatError, match=r"raw\.mib.*R64"):
        load(path, scan_shape=(1, 1))


# --------------------------------------------------------------------------- blockfile
def write_blo(path: Path, data: np.ndarray, sy: float, sx: float, pixel_cm: float) -> Path:
    from rsciio.blockfile import file_writer

    ny, nx, side, _ = data.shape
    axes = [
        {"name": "y", "size": ny, "scale": sy, "offset": 0.0, "units": "nm", "navigate": True},
        {"name": "x", "size": nx, "scale": sx, "offset": 0.0, "units": "nm", "navigate": True},
        {"name": "dy", "size": side, "scale": pixel_cm, "offset": 0.0, "units": "cm"},
        {"name": "dx", "size": side, "scale": pixel_cm, "offset": 0.0, "units": "cm"},
    ]
    for axis in axes[2:]:
        axis["navigate"] = False
    header = {"Beam_energy": 200000, "Camera_length": 1500, "Note": "written by a test"}
    signal = {
        "data": data,
        "axes": axes,
        "metadata": {},
        "original_metadata": {"blockfile_header": header},
        "attributes": {"_lazy": False},
    }
    file_writer(str(path), signal, show_progressbar=False)
    return path


def test_blockfile_round_trip_and_calibration(tmp_path):
    data = RNG.integers(0, 256, size=(3, 4, 6, 6)).astype(np.uint8)  # NY=3 rows, NX=4
    path = write_blo(tmp_path / "sped.blo", data, sy=2.5, sx=2.0, pixel_cm=0.02)
    before = digest(path)
    cube, messages = load_quietly(path)
    assert cube.shape == (3, 4, 6, 6) and cube.dtype == np.uint8
    np.testing.assert_array_equal(np.asarray(cube.data), data)
    assert cube.energy == 200000.0  # header: volts
    assert (cube.scan_sampling, cube.scan_units) == (2.5, "nm")  # Rx's step: SY
    assert any("scan steps differ" in m for m in messages)
    # 0.02 cm pixel (SDP = 100 / 0.02 = 5000) at 150 mm (header 1500 x 0.1 mm)
    assert cube.detector_units == "mrad"
    assert cube.detector_sampling == pytest.approx(0.2 / 150 * 1e3, rel=1e-12)
    check_lazy_blocks(cube, data)
    assert digest(path) == before


def test_blockfile_camera_length_override(tmp_path):
    data = RNG.integers(0, 256, size=(2, 2, 4, 4)).astype(np.uint8)
    path = write_blo(tmp_path / "b.blo", data, sy=1.0, sx=1.0, pixel_cm=0.05)
    cube = load(path, camera_length=250.0)
    assert cube.detector_sampling == pytest.approx(0.5 / 250 * 1e3, rel=1e-12)


def test_blockfile_truncated_and_not_a_blockfile(tmp_path):
    data = RNG.integers(0, 256, size=(3, 3, 8, 8)).astype(np.uint8)
    path = write_blo(tmp_path / "cut.blo", data, sy=1.0, sx=1.0, pixel_cm=0.02)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(FormatError, match=r"cut\.blo.*truncated"):
        load(path)
    text = tmp_path / "text.blo"
    text.write_text("hello\n" * 1000)
    with pytest.raises(FormatError, match=r"text\.blo.*not a NanoMegas blockfile"):
        load(text)


# --------------------------------------------------------------------------- EMPAD
EMPAD_XML = """<root name="acquisition_1">
<timestamp timestamp="1559820600.164675" isoformat="2019-06-06T13:30:00.164675"/>
<type>scan</type><pix_x>{pix_x}</pix_x><pix_y>{pix_y}</pix_y>
<raw_file filename="{raw}"/>
<iom_measurements>
<optics.get_cameralength>0.7225</optics.get_cameralength>
<source.get_voltage>300000.0</source.get_voltage>
<optics.get_full_scan_field_of_view>[{fov_y}, {fov_x}]</optics.get_full_scan_field_of_view>
<calibrated_pixelsize>2e-10</calibrated_pixelsize>
</iom_measurements></root>
"""


def write_empad(tmp_path: Path, frames: np.ndarray, rows: int, cols: int) -> tuple[Path, Path]:
    """An EMPAD .xml + .raw pair: frames (n, 130, 128) float32, scan rows x cols, 4 nm step."""
    raw = tmp_path / f"scan_x{cols}_y{rows}.raw"
    frames.astype("<f4").tofile(raw)
    xml = tmp_path / "acquisition.xml"
    text = EMPAD_XML.format(
        pix_x=cols, pix_y=rows, raw=raw.name, fov_y=rows * 4e-9, fov_x=cols * 4e-9
    )
    xml.write_text(text.replace("\n", ""))  # as the EMPAD software writes it: one line
    return xml, raw


def test_empad_round_trip_and_calibration(tmp_path):
    frames = RNG.random((12, 130, 128), dtype=np.float32)
    xml, raw = write_empad(tmp_path, frames, rows=3, cols=4)
    before = digest(xml), digest(raw)
    cube, messages = load_quietly(xml)
    assert cube.shape == (3, 4, 128, 128) and cube.dtype == np.float32
    expected = frames[:, :128].reshape(3, 4, 128, 128)  # the 2 metadata rows dropped
    np.testing.assert_array_equal(np.asarray(cube.data), expected)
    assert cube.energy == 300000.0
    assert cube.scan_units == "nm" and cube.scan_sampling == pytest.approx(4.0, rel=1e-9)
    # calibrated_pixelsize 2e-10 -> 0.2 1/nm (rsciio) -> 0.02 A^-1
    assert cube.detector_units == "A^-1"
    assert cube.detector_sampling == pytest.approx(0.02, rel=1e-12)
    assert messages == []
    check_lazy_blocks(cube, expected)
    assert (digest(xml), digest(raw)) == before


def test_empad_one_row_scan_keeps_four_axes(tmp_path):
    frames = RNG.random((4, 130, 128), dtype=np.float32)
    xml, _ = write_empad(tmp_path, frames, rows=1, cols=4)  # rsciio squeezes the row axis
    cube = load(xml)
    assert cube.shape == (1, 4, 128, 128)
    np.testing.assert_array_equal(np.asarray(cube.data), frames[None, :, :128])
    assert cube.scan_sampling == pytest.approx(4.0, rel=1e-9)


def test_empad_series_with_scan_shape(tmp_path):
    frames = RNG.random((6, 130, 128), dtype=np.float32)
    raw = tmp_path / "series_x6.raw"
    frames.tofile(raw)
    xml = tmp_path / "series.xml"
    xml.write_text(
        '<root name="s"><type>series</type><raw_file filename="series_x6.raw"/>'
        "<scan_parameters><series_count>6</series_count></scan_parameters></root>"
    )
    with pytest.raises(FormatError, match=r"series\.xml.*scan_shape"):
        load(xml)
    cube = load(xml, scan_shape=(2, 3))
    np.testing.assert_array_equal(np.asarray(cube.data), frames[:, :128].reshape(2, 3, 128, 128))
    assert (cube.scan_units, cube.detector_units, cube.energy) == ("px", "px", None)


def test_empad_bad_inputs(tmp_path):
    frames = RNG.random((12, 130, 128), dtype=np.float32)
    xml, raw = write_empad(tmp_path, frames, rows=3, cols=4)
    raw.write_bytes(raw.read_bytes()[: -128 * 130 * 4])
    with pytest.raises(FormatError, match=r"scan_x4_y3\.raw.*truncated"):
        load(xml)
    raw.unlink()
    with pytest.raises(FileNotFoundError, match=r"scan_x4_y3\.raw.*acquisition\.xml"):
        load(xml)
    text = tmp_path / "other.xml"
    text.write_text("not xml at all <<<")
    with pytest.raises(FormatError, match=r"other\.xml.*not an EMPAD"):
        load(text)
    unrelated = tmp_path / "unrelated.xml"
    unrelated.write_text("<config><a>1</a></config>")
    with pytest.raises(FormatError, match=r"unrelated\.xml.*raw_file"):
        load(unrelated)


# --------------------------------------------------------------------------- TVIPS
def write_tvips(path: Path, frames: np.ndarray, pixel_size: int = 3, **kwargs) -> Path:
    from rsciio.tvips import file_writer

    n, height, width = frames.shape
    axes = [
        {"name": "time", "size": n, "scale": 1.0, "offset": 0, "units": "ms", "navigate": True},
        {"name": "dy", "size": height, "scale": 1.0, "offset": 0, "units": "1/nm"},
        {"name": "dx", "size": width, "scale": 1.0, "offset": 0, "units": "1/nm"},
    ]
    for axis in axes[1:]:
        axis["navigate"] = False
    signal = {
        "data": frames,
        "axes": axes,
        "metadata": {
            "Acquisition_instrument": {"TEM": {"beam_energy": 300}},
            "Signal": {"signal_type": "electron_diffraction"},
        },
        "original_metadata": {},
        "attributes": {"_lazy": False},
    }
    file_writer(str(path), signal, show_progressbar=False, **kwargs)
    with open(path, "r+b") as file:  # the general header's pixel size (u4 at byte 36)
        file.seek(36)
        file.write(np.uint32(pixel_size).tobytes())
    return path


def test_tvips_round_trip_and_calibration(tmp_path):
    frames = RNG.integers(0, 60000, size=(12, 5, 7)).astype(np.uint16)
    path = write_tvips(tmp_path / "movie_000.tvips", frames)
    before = digest(path)
    cube, messages = load_quietly(path, scan_shape=(3, 4))
    assert cube.shape == (3, 4, 5, 7) and cube.dtype == np.uint16
    np.testing.assert_array_equal(np.asarray(cube.data), frames.reshape(3, 4, 5, 7))
    assert cube.energy == 300000.0  # high tension 300 kV
    assert (cube.detector_sampling, cube.detector_units) == (pytest.approx(0.3), "A^-1")
    assert (cube.scan_sampling, cube.scan_units) == (1.0, "px")  # TVIPS stores no scan step
    assert messages == []
    check_lazy_blocks(cube, frames.reshape(3, 4, 5, 7))
    assert digest(path) == before
    # rsciio's reader agrees on data, energy and pixel size
    from rsciio.tvips import file_reader

    (signal,) = file_reader(str(path), scan_shape=(3, 4))
    np.testing.assert_array_equal(signal["data"], np.asarray(cube.data))
    assert signal["metadata"]["Acquisition_instrument"]["TEM"]["beam_energy"] == 300
    assert signal["axes"][-1]["scale"] == 3 and signal["axes"][-1]["units"] == "1/nm"


def test_tvips_split_stream(tmp_path):
    frames = RNG.integers(0, 60000, size=(12, 5, 7)).astype(np.uint16)
    write_tvips(tmp_path / "split_000.tvips", frames, max_file_size=256 + 3 * (64 + 70))
    parts = sorted(tmp_path.glob("split_*.tvips"))
    assert len(parts) > 2
    cube = load(parts[0], scan_shape=(4, 3))
    np.testing.assert_array_equal(np.asarray(cube.data), frames.reshape(4, 3, 5, 7))
    with pytest.raises(FormatError, match=r"split_001\.tvips.*_000"):
        load(parts[1], scan_shape=(1, 1))


def test_tvips_bad_inputs(tmp_path):
    frames = RNG.integers(0, 60000, size=(4, 5, 7)).astype(np.uint16)
    path = write_tvips(tmp_path / "a_000.tvips", frames)
    with pytest.raises(FormatError, match=r"a_000\.tvips.*scan_shape"):
        load(path)
    with pytest.raises(FormatError, match=r"a_000\.tvips"):
        load(path, scan_shape=(3, 3))
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(FormatError, match=r"a_000\.tvips"):
        load(path, scan_shape=(2, 2))
    text = tmp_path / "text_000.tvips"
    text.write_text("x" * 2000)
    with pytest.raises(FormatError, match=r"text_000\.tvips.*not a TVIPS"):
        load(text, scan_shape=(2, 2))


# --------------------------------------------------------------------------- DE MRC movies
def write_mrc(path: Path, frames: np.ndarray) -> Path:
    """An MRC file (mode 6, uint16) holding frames (NZ, NY, NX), as DE's software writes it."""
    nz, ny, nx = frames.shape
    header = np.zeros(256, dtype="<u4")
    header[:4] = (nx, ny, nz, 6)
    header[7:10] = (nx, ny, nz)  # MX, MY, MZ
    header[16:19] = (1, 2, 3)  # MAPC, MAPR, MAPS
    raw = bytearray(header.tobytes())
    raw[208:212] = b"MAP "
    raw[212:214] = b"DD"
    path.write_bytes(bytes(raw) + frames.astype("<u2").tobytes())
    return path


DE_INFO = {
    "Scan - Enable": "Enable",
    "Scan - Type": "Raster",
    "Scan - Size X": "4",
    "Scan - Size Y": "3",
    "Image Size X (pixels)": "8",
    "Image Size Y (pixels)": "6",
    "Specimen Pixel Size X (nanometers)": "0.5",
    "Specimen Pixel Size Y (nanometers)": "0.5",
    "Diffraction Pixel Size X": "0.25",
    "Diffraction Pixel Size Y": "0.25",
    "Instrument Accelerating Voltage (V)": "300000",
    "Instrument Project Camera Length (centimeters)": "20",
}


def write_info(path: Path, info: dict) -> Path:
    path.write_text("".join(f"{key:<64}= {value}\n" for key, value in info.items()))
    return path


def test_de_movie_with_info_file(tmp_path):
    frames = RNG.integers(0, 60000, size=(12, 6, 8)).astype(np.uint16)
    movie = write_mrc(tmp_path / "20250101_00042_movie.mrc", frames)
    info = write_info(tmp_path / "20250101_00042_info.txt", DE_INFO)
    before = digest(movie), digest(info)
    cube, messages = load_quietly(movie)
    assert cube.shape == (3, 4, 6, 8) and cube.dtype == np.uint16  # Rx = Scan Size Y
    expected = frames.reshape(3, 4, 6, 8)  # scan order, x fastest; frames as stored
    np.testing.assert_array_equal(np.asarray(cube.data), expected)
    assert (cube.scan_sampling, cube.scan_units) == (0.5, "nm")
    assert (cube.detector_sampling, cube.detector_units) == (pytest.approx(0.025), "A^-1")
    assert cube.energy == 300000.0
    assert messages == []
    check_lazy_blocks(cube, expected)
    assert (digest(movie), digest(info)) == before


def test_mrc_stack_needs_scan_shape(tmp_path):
    frames = RNG.integers(0, 60000, size=(6, 4, 5)).astype(np.uint16)
    path = write_mrc(tmp_path / "stack.mrc", frames)
    with pytest.raises(FormatError, match=r"stack\.mrc.*scan_shape"):
        load(path)
    cube = load(path, scan_shape=(2, 3))
    np.testing.assert_array_equal(np.asarray(cube.data), frames.reshape(2, 3, 4, 5))
    assert (cube.scan_units, cube.detector_units) == ("px", "px")
    with pytest.raises(FormatError, match=r"needs 9 frames.*stack\.mrc.*holds 6"):
        load(path, scan_shape=(3, 3))


def test_mrc_bad_inputs(tmp_path):
    frames = RNG.integers(0, 60000, size=(6, 4, 5)).astype(np.uint16)
    path = write_mrc(tmp_path / "cut.mrc", frames)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(FormatError, match=r"cut\.mrc.*truncated"):
        load(path, scan_shape=(2, 3))
    text = tmp_path / "text.mrc"
    text.write_text("not an image\n" * 200)
    with pytest.raises(FormatError, match=r"text\.mrc.*not an MRC"):
        load(text, scan_shape=(1, 1))


# --------------------------------------------------------------------------- TopSpin .app5
def _frame_xml(scale: float, x: float, y: float) -> str:
    axis = (
        '<Offset Serializer="Double" Version="1">0</Offset>'
        f'<Scale Serializer="Double" Version="1">{scale!r}</Scale>'
        '<Type Serializer="CalibrationTypeSerializer" Version="1">'
        '<Index Serializer="Int32" Version="1">2</Index>'
        '<Text Serializer="String" Version="1">Angle</Text></Type>'
    )
    return (
        '<?xml version="1.0" encoding="utf-16"?>'
        '<Metadata Serializer="SeriesItemSerializer" Version="1">'
        '<Calibration Serializer="ImageCalibrationSerializer" Version="1">'
        f'<X Serializer="ArrayCalibrationSerializer" Version="1">{axis}</X>'
        f'<Y Serializer="ArrayCalibrationSerializer" Version="1">{axis}</Y></Calibration>'
        '<Metadata Serializer="DictionarySerializer" Version="1"><Item>'
        '<Name Serializer="String" Version="1">RequestedBeamPosition</Name>'
        '<Value Serializer="ImagePositionSerializer" Version="1">'
        f'<X Serializer="Double" Version="1">{x!r}</X>'
        f'<Y Serializer="Double" Version="1">{y!r}</Y></Value></Item></Metadata></Metadata>'
    )


def _experiment_xml(guid: str) -> str:
    def item(name, value):
        return (
            f'<Item><Name Serializer="String" Version="1">{name}</Name>'
            f'<Value Serializer="Double" Version="1">{value}</Value></Item>'
        )

    return (
        '<?xml version="1.0" encoding="utf-16"?><Metadata>'
        f"<Id>{guid}</Id><Title>test</Title>"
        f"<HardwareSettings>{item('HighVoltage', 200000)}"
        f"{item('DiffractionCameraLength', 0.14)}</HardwareSettings></Metadata>"
    )


GUID_EXP = "18d9446f-22bf-4fb1-8d13-338174e75d20"
GUID_4D = "3526f008-a687-41fb-a21e-c21362241492"
GUID_2D = "b0212ada-90b1-4117-8ed5-355717e4910b"


def write_app5(path: Path, data: np.ndarray, step_m: float, angle_rad: float, extra_4d=False):
    """An exported .app5: one experiment group with a 4D result and a 2D image."""
    rows, cols = data.shape[:2]
    with h5py.File(path, "w") as f:
        f["Version"] = b"1"
        exp = f.create_group(GUID_EXP)
        exp["Metadata"] = np.bytes_(_experiment_xml(GUID_EXP))
        exp[GUID_2D] = RNG.random((rows, cols))
        names = [GUID_4D, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"] if extra_4d else [GUID_4D]
        for name in names:
            group = exp.create_group(name)
            for i in range(rows * cols):
                x, y = (i % cols) * step_m, (i // cols) * step_m
                group[f"{i}/Data"] = data[i // cols, i % cols]
                group[f"{i}/Metadata"] = np.bytes_(_frame_xml(angle_rad, x, y))
    return path


def test_topspin_picks_the_4d_result(tmp_path):
    data = RNG.random((3, 4, 6, 5)).astype(np.float32)
    path = write_app5(tmp_path / "exp.app5", data, step_m=2e-9, angle_rad=1.5e-4)
    before = digest(path)
    cube, messages = load_quietly(path)
    assert cube.shape == (3, 4, 6, 5) and cube.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(cube.data), data)
    assert (cube.scan_sampling, cube.scan_units) == (pytest.approx(2.0), "nm")
    assert (cube.detector_sampling, cube.detector_units) == (pytest.approx(0.15), "mrad")
    assert cube.energy == 200000.0
    assert any(GUID_4D in m and "4D" in m for m in messages)
    check_lazy_blocks(cube, data)
    assert digest(path) == before
    # rsciio's own (eager) reader agrees on data and calibration
    from rsciio.topspin import file_reader

    (signal,) = [s for s in file_reader(str(path), show_progressbar=False) if s["data"].ndim == 4]
    np.testing.assert_array_equal(signal["data"], data)
    assert [a["size"] for a in signal["axes"]] == [3, 4, 6, 5]
    assert signal["axes"][0]["scale"] == pytest.approx(2.0)


def test_topspin_several_4d_results(tmp_path):
    data = RNG.random((2, 3, 4, 4)).astype(np.float32)
    path = write_app5(tmp_path / "two.app5", data, 1e-9, 1e-4, extra_4d=True)
    with pytest.raises(FormatError, match=r"two\.app5.*several.*" + GUID_4D):
        load(path)
    cube = load(path, dataset=f"{GUID_EXP}/{GUID_4D}")
    np.testing.assert_array_equal(np.asarray(cube.data), data)
    with pytest.raises(FormatError, match=r"two\.app5.*4D results"):
        load(path, dataset=f"{GUID_EXP}/{GUID_2D}")


def test_topspin_not_hdf5(tmp_path):
    path = tmp_path / "text.app5"
    path.write_text("plain text\n")
    with pytest.raises(FormatError, match=r"text\.app5.*not an HDF5"):
        load(path)


def test_in_memory_reads_numpy(tmp_path):
    raw = RNG.integers(0, 4096, size=(4, 3, 3)).astype(np.uint16)
    path = write_mib(tmp_path / "m.mib", raw)
    cube = load(path, scan_shape=(2, 2), in_memory=True)
    assert isinstance(cube.data, np.ndarray) and cube.dtype.isnative
    np.testing.assert_array_equal(cube.data, raw.reshape(2, 2, 3, 3)[:, :, ::-1])
