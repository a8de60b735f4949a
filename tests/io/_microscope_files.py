"""Writers of small microscope-software files with known content, for the format tests.

HyperSpy ``.hspy`` and ``.zspy`` go through rosettasciio's own writers. DigitalMicrograph,
Velox and TIA have no writer in rosettasciio: the files are laid out here from the formats'
structure as the readers parse it (DM4's tag tree; Velox's HDF5 groups with JSON metadata;
TIA's binary ``.ser`` series and the ``.emi``'s ``<ObjectInfo>`` XML).
"""

from __future__ import annotations

import json
import shutil
import struct
import uuid
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np


# --------------------------------------------------------------------------- HyperSpy
def hyperspy_signal(
    data: np.ndarray,
    scan: tuple[float, str] = (0.5, "nm"),
    detector: tuple[float, str] = (0.02, "1/nm"),
    energy_kev: float | None = 300.0,
    camera_length_mm: float | None = 120.0,
    title: str = "cube",
) -> dict:
    """The signal dictionary rsciio's hspy/zspy writers need for a 4D ``Signal2D``."""
    names = ("y", "x", "ky", "kx")
    axes = [
        {
            "name": name,
            "size": int(size),
            "scale": (scan if i < 2 else detector)[0],
            "offset": 0.0,
            "units": (scan if i < 2 else detector)[1],
            "navigate": i < 2,
        }
        for i, (name, size) in enumerate(zip(names, data.shape, strict=True))
    ]
    tem = {}
    if energy_kev is not None:
        tem["beam_energy"] = energy_kev
    if camera_length_mm is not None:
        tem["camera_length"] = camera_length_mm
    metadata = {"General": {"title": title}, "Signal": {"signal_type": ""}}
    if tem:
        metadata["Acquisition_instrument"] = {"TEM": tem}
    return {
        "data": data,
        "axes": axes,
        "metadata": metadata,
        "original_metadata": {},
        "tmp_parameters": {},
        "attributes": {"_lazy": False},
        "package_info": {"name": "dpc_widgets-tests", "version": "0"},
        "learning_results": {},
        "models": {},
    }


def write_hspy(path: Path, signal: dict) -> Path:
    from rsciio.hspy import file_writer

    file_writer(str(path), signal)
    return path


def write_zspy(path: Path, signal: dict, zip_store: bool = False) -> Path:
    """A ``.zspy`` directory store (or a zip of one).

    rsciio 0.15's ``zspy.file_writer`` opens ``zarr.storage.NestedDirectoryStore``, which zarr 3
    lacks; its ``ZspyWriter`` is given a zarr-2-format group opened here instead, which is the
    layout the writer makes with zarr 2.
    """
    import zarr
    from rsciio._hierarchical import version
    from rsciio.zspy._api import ZspyWriter

    target = path.with_name(path.name + ".dir") if zip_store else path
    root = zarr.open_group(str(target), mode="w", zarr_format=2)
    root.attrs["file_format"] = "ZSpy"
    root.attrs["file_format_version"] = version
    group = root.require_group("Experiments").require_group(signal["metadata"]["General"]["title"])
    # zarr 3.1 warns on rsciio's zarr-2 call `require_dataset`; zarr 3.4 (Python >= 3.12, e.g.
    # Colab's 3.13) has dropped it: the writer gets zarr 3's `require_array`, which it aliased
    patched = not hasattr(zarr.Group, "require_dataset")
    if patched:
        zarr.Group.require_dataset = zarr.Group.require_array
    try:
        _write_zspy_group(ZspyWriter, root, signal, group)
    finally:
        if patched:
            del zarr.Group.require_dataset
    if zip_store:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            for item in sorted(target.rglob("*")):
                if item.is_file():
                    archive.write(item, item.relative_to(target).as_posix())
        shutil.rmtree(target)
    return path


def _write_zspy_group(writer_class, root, signal: dict, group) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        writer = writer_class(
            root,
            signal,
            group,
            chunks=None,
            compressor=None,
            write_dataset=True,
            show_progressbar=False,
        )
        writer.write()


# --------------------------------------------------------------------------- Velox EMD
def write_velox(
    path: Path,
    frames: np.ndarray,
    scan_size: tuple[int, int] | None,
    pixel_size: float = 2e8,
    pixel_unit: str = "1/m",
    voltage: float = 200e3,
    camera_length_m: float = 0.115,
    version_format: str = "Velox",
    haadf: np.ndarray | None = None,
    scan_area: tuple[str, str, str, str] | None = None,
) -> Path:
    """A Velox EMD holding ``frames`` (N, rows, columns) as one camera image stack.

    Layout as rsciio's ``emd`` reader reads it: ``/Version`` (JSON in a 1-element bytes
    dataset), ``/Data/Image/<uuid>/Data`` stored ``(rows, columns, frames)`` and
    ``/Data/Image/<uuid>/Metadata``, the JSON as bytes in a ``(n, 1)`` uint8 dataset.
    """
    metadata = {
        "Acquisition": {"AcquisitionStartDatetime": {"DateTime": "1700000000"}},
        "BinaryResult": {
            "DetectorIndex": "0",
            "PixelSize": {"width": str(pixel_size), "height": str(pixel_size)},
            "PixelUnitX": pixel_unit,
            "PixelUnitY": pixel_unit,
            "Offset": {"x": "0", "y": "0"},
        },
        "Detectors": {"Detector-0": {"DetectorName": "BM-Ceta", "ExposureTime": "0.001"}},
        "Optics": {
            "AccelerationVoltage": str(voltage),
            "CameraLength": str(camera_length_m),
        },
        "Scan": {"DwellTime": "0.001"},
    }
    if scan_size is not None:
        metadata["Scan"]["ScanSize"] = {"height": str(scan_size[0]), "width": str(scan_size[1])}
    if scan_area is not None:
        metadata["Scan"]["ScanArea"] = dict(
            zip(("top", "bottom", "left", "right"), scan_area, strict=True)
        )
    raw = np.frombuffer(json.dumps(metadata).encode("utf-8"), dtype=np.uint8)
    with h5py.File(path, "w") as file:
        version = json.dumps({"format": version_format, "version": "11"}).encode("utf-8")
        file.create_dataset("Version", data=np.array([version]))
        image = file.create_group(f"Data/Image/{uuid.UUID(int=7).hex}")
        image.create_dataset("Data", data=np.moveaxis(frames, 0, -1), chunks=(*frames.shape[1:], 1))
        image.create_dataset("Metadata", data=raw.reshape(-1, 1))
        if haadf is not None:
            haadf_metadata = json.loads(json.dumps(metadata))
            haadf_metadata["BinaryResult"].update(
                {"DetectorIndex": "1", "PixelUnitX": "m", "PixelUnitY": "m"}
            )
            haadf_metadata["Detectors"]["Detector-1"] = {"DetectorName": "HAADF"}
            raw_haadf = np.frombuffer(json.dumps(haadf_metadata).encode("utf-8"), dtype=np.uint8)
            second = file.create_group(f"Data/Image/{uuid.UUID(int=8).hex}")
            second.create_dataset("Data", data=haadf[:, :, np.newaxis], chunks=(*haadf.shape, 1))
            second.create_dataset("Metadata", data=raw_haadf.reshape(-1, 1))
    return path


# --------------------------------------------------------------------------- TIA .emi/.ser
def emi_xml(high_tension_kv: float, camera_length_m: float, mode: str) -> bytes:
    """One ``<ObjectInfo>`` block as TIA writes it into an ``.emi``."""
    rows = [("High tension", high_tension_kv, "kV"), ("Camera length", camera_length_m, "m")]
    data = "".join(
        f"<Data><Label>{label}</Label><Value>{value!r}</Value><Unit>{unit}</Unit></Data>"
        for label, value, unit in rows
    )
    data += f"<Data><Label>Mode</Label><Value>{mode}</Value><Unit></Unit></Data>"
    return (
        "<ObjectInfo><AcquireDate>Thu Nov 02 10:00:00 2023</AcquireDate>"
        f"<ExperimentalDescription><Root>{data}</Root></ExperimentalDescription>"
        "<AcquireInfo><CameraNamePath>BM-Ceta</CameraNamePath></AcquireInfo>"
        "</ObjectInfo>"
    ).encode()


def ser_bytes(
    frames: np.ndarray,
    scan_steps: tuple[float, ...],
    detector_step: float,
    units: str = "meters",
    gap: int = 0,
    padding: int = 0,
) -> bytes:
    """A TIA ``.ser`` series of 2D elements: ``frames`` (*scan, rows, columns), scan C-ordered.

    Layout (little-endian, version 0x0220: 64-bit offsets): the header (``DataTypeID``
    0x4122 for 2D elements, ``TagTypeID`` 0x4142 for XY position tags), one dimension record
    per scan axis, fastest first (``Dim-1``), with its step in ``units``; the data-offset and
    tag-offset arrays; then each element (its calibration, data type code, size and pixels,
    stored bottom row first) followed by its position tag and ``padding`` zero bytes. ``gap``
    more bytes follow the first element only (then the elements are not equally spaced).
    """
    scan, (rows, columns) = frames.shape[:-2], frames.shape[-2:]
    codes = {
        np.dtype("<u2"): 2,
        np.dtype("<u1"): 1,
        np.dtype("<i2"): 5,
        np.dtype("<i4"): 6,
        np.dtype("<f4"): 7,
    }
    stored = frames.astype(frames.dtype.newbyteorder("<"))
    code = codes[stored.dtype]
    total = int(np.prod(scan))
    header = struct.pack("<HHHIIII", 0x4949, 0x0197, 0x0220, 0x4122, 0x4142, total, total)
    dims = b""
    for size, step in zip(scan[::-1], scan_steps[::-1], strict=True):  # Dim-1 is the fastest
        dims += struct.pack("<IddI", size, 0.0, step, 0) + struct.pack("<I", 4) + b"Scan"
        dims += struct.pack("<I", len(units)) + units.encode()
    offsets_at = len(header) + 12 + len(dims)
    elements_at = offsets_at + 2 * 8 * total
    frame_bytes = stored[(0,) * len(scan)].nbytes
    element_bytes = 50 + frame_bytes + 24 + padding
    data_offsets = [elements_at + n * element_bytes + (gap if n else 0) for n in range(total)]
    body = []
    for n, index in enumerate(np.ndindex(*scan)):
        body.append(
            struct.pack(
                "<ddIddIHII", 0.0, detector_step, 0, 0.0, detector_step, 0, code, columns, rows
            )
        )
        body.append(np.ascontiguousarray(stored[index][::-1, :]).tobytes())
        fast = index[-1] * scan_steps[-1]
        slow = index[0] * scan_steps[0] if len(scan) > 1 else 0.0
        body.append(struct.pack("<HHIdd", 0x4142, 0, n, fast, slow) + b"\x00" * padding)
        if n == 0:
            body.append(b"\x00" * gap)
    return b"".join(
        [
            header,
            struct.pack("<QI", offsets_at, len(scan)),
            dims,
            struct.pack(f"<{total}Q", *data_offsets),
            struct.pack(f"<{total}Q", *[offset + 50 + frame_bytes for offset in data_offsets]),
            *body,
        ]
    )


def write_tia(
    stem: Path,
    frames: np.ndarray,
    scan_step: tuple[float, float] = (-2e-10, 2e-10),
    detector_step: float = 5e7,
    high_tension_kv: float = 300.0,
    camera_length_m: float = 0.1,
    write_ser: bool = True,
    preview: np.ndarray | None = None,
    gap: int = 0,
    padding: int = 0,
) -> tuple[Path, Path]:
    """``<stem>.emi`` and a ``.ser`` holding ``frames`` (Rx, Ry, rows, columns).

    ``Dim-1`` is the fast scan axis (Ry, step ``scan_step[1]`` m) and ``Dim-2`` the slow one
    (Rx, step ``scan_step[0]`` m; negative: runs backwards); the frames' pixel is
    ``detector_step`` (1/m). With ``preview`` (N, rows, columns), a time series of frames is
    ``<stem>_1.ser`` and the 4D series ``<stem>_2.ser``; else the 4D series is ``_1.ser``.
    ``gap`` and ``padding`` space the 4D series' elements (see :func:`ser_bytes`). Returns the
    ``.emi`` and the 4D series' ``.ser``.
    """
    emi = stem.with_suffix(".emi")
    objects = [emi_xml(high_tension_kv, camera_length_m, "STEM nP SA Zoom Diffraction")]
    if preview is not None:
        objects.append(objects[0])
        stem.with_name(stem.name + "_1.ser").write_bytes(ser_bytes(preview, (1.0,), 1e8, ""))
    ser_path = stem.with_name(f"{stem.name}_{len(objects)}.ser")
    emi.write_bytes(b"\x00" * 16 + b"\x00".join(objects) + b"\x00" * 16)
    if write_ser:
        ser_path.write_bytes(ser_bytes(frames, scan_step, detector_step, gap=gap, padding=padding))
    return emi, ser_path


# --------------------------------------------------------------------------- DigitalMicrograph
class _DMTags:
    """A DM tag tree: big-endian structure, little-endian values (``is_little_endian=1``).

    DM4 writes lengths and counts as 8-byte integers and gives each group and data tag its
    size; DM3 uses 4-byte integers and no sizes.
    """

    SIMPLE = {"i2": 2, "i4": 3, "u2": 4, "u4": 5, "f4": 6, "f8": 7, "u1": 10, "i8": 11}

    def __init__(self, version: int) -> None:
        self.version = version
        self.q = "q" if version == 4 else "i"

    @staticmethod
    def name(tag_name: str) -> bytes:
        raw = tag_name.encode("utf-8")
        return struct.pack(">h", len(raw)) + raw

    def group(self, tag_name: str, entries: list[bytes]) -> bytes:
        content = b"".join(entries)
        if self.version == 4:
            head = struct.pack(">BBqq", 0, 1, len(content) + 8, len(entries))
        else:
            head = struct.pack(">BBi", 0, 1, len(entries))
        return struct.pack(">B", 20) + self.name(tag_name) + head + content

    def _data(self, tag_name: str, info: list[int], payload: bytes) -> bytes:
        q = self.q
        body = b"%%%%" + struct.pack(f">{q}{len(info)}{q}", len(info), *info) + payload
        size = struct.pack(">q", len(body)) if self.version == 4 else b""
        return struct.pack(">B", 21) + self.name(tag_name) + size + body

    def value(self, tag_name: str, value: float, kind: str) -> bytes:
        return self._data(
            tag_name, [self.SIMPLE[kind]], np.array(value, dtype="<" + kind).tobytes()
        )

    def text(self, tag_name: str, value: str) -> bytes:
        chars = np.array([ord(c) for c in value], dtype="<u2")
        return self._data(tag_name, [20, self.SIMPLE["u2"], len(chars)], chars.tobytes())

    def array(self, tag_name: str, values: np.ndarray) -> bytes:
        flat = np.ascontiguousarray(values).reshape(-1)
        kind = flat.dtype.newbyteorder("<").str[1:]
        payload = flat.astype("<" + kind).tobytes()
        return self._data(tag_name, [20, self.SIMPLE[kind], flat.size], payload)

    def file(self, root_entries: list[bytes]) -> bytes:
        root = struct.pack(f">BB{self.q}", 0, 1, len(root_entries)) + b"".join(root_entries)
        body = root + b"\x00" * 8
        head_size = 16 if self.version == 4 else 12
        return struct.pack(f">i{self.q}i", self.version, head_size + len(body), 1) + body


# DM ImageData.DataType codes
_DM_TYPES = {
    np.dtype("uint16"): 10,
    np.dtype("float32"): 2,
    np.dtype("int32"): 7,
    np.dtype("uint8"): 6,
}


def write_dm4(
    path: Path,
    data: np.ndarray,
    scan: tuple[float, str] = (0.25, "nm"),
    detector: tuple[float, str] = (0.5, "mrad"),
    voltage_v: float = 300e3,
    camera_length_mm: float = 145.0,
    version: int = 4,
) -> Path:
    """A DM4 (or DM3) file with one 4D image ``data`` (Rx, Ry, Qx, Qy) and its calibration.

    DM lists dimensions fastest first: (Qy, Qx, Ry, Rx). The tags are those rsciio's reader
    uses: ``ImageList/<group>/ImageData/{Calibrations,Data,DataType,Dimensions}``,
    ``ImageTags/Microscope Info/{Voltage, STEM Camera Length, Illumination Mode}``, ``Name``.
    """
    dm = _DMTags(version)
    dm_dims = data.shape[::-1]
    calibrations = [
        dm.group(
            "",
            [
                dm.value("Origin", 0.0, "f4"),
                dm.value("Scale", (detector if k < 2 else scan)[0], "f4"),
                dm.text("Units", (detector if k < 2 else scan)[1]),
            ],
        )
        for k in range(4)
    ]
    image_data = dm.group(
        "ImageData",
        [
            dm.group(
                "Calibrations",
                [
                    dm.group(
                        "Brightness",
                        [
                            dm.value("Origin", 0.0, "f4"),
                            dm.value("Scale", 1.0, "f4"),
                            dm.text("Units", ""),
                        ],
                    ),
                    dm.group("Dimension", calibrations),
                ],
            ),
            dm.array("Data", data),
            dm.value("DataType", _DM_TYPES[data.dtype], "i4"),
            dm.group("Dimensions", [dm.value("", int(n), "u4") for n in dm_dims]),
            dm.value("PixelDepth", data.dtype.itemsize, "u4"),
        ],
    )
    image_tags = dm.group(
        "ImageTags",
        [
            dm.group(
                "Microscope Info",
                [
                    dm.text("Illumination Mode", "STEM"),
                    dm.value("STEM Camera Length", camera_length_mm, "f4"),
                    dm.value("Voltage", voltage_v, "f8"),
                ],
            )
        ],
    )
    image = dm.group("", [image_data, image_tags, dm.text("Name", "cube")])
    path.write_bytes(dm.file([dm.group("ImageList", [image])]))
    return path
