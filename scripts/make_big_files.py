"""Write large but sparse 4D-STEM files for measuring open times (not tests).

Each function writes one file (or store) of about 8 GiB *logical* size into a folder, while only
a few chunks are written: the rest are absent (zarr) or unallocated (HDF5) and read back as
zeros, so the files take a few MiB on disk and seconds to write. Opening such a file costs what
opening a full one costs (headers and chunk indexes only), which is what we measure.

Usage::

    python scripts/make_big_files.py OUT_FOLDER [zarr] [arina]
    python -c "import time, dpc_widgets as d; t = time.perf_counter(); \
        d.load('OUT_FOLDER/big.zarr'); print(time.perf_counter() - t)"

Formats (one function each): ``zarr`` (``big.zarr``, a directory store), ``arina``
(``big_master.h5`` with ``big_data_NNNNNN.h5`` files and a ``big.h5`` sidecar) and ``mib``
(``big.mib``, a Merlin file: every frame header written, pixels only in a few scan rows).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

GIB = 2**30


def make_zarr(folder: Path, shape: tuple[int, int, int, int] = (256, 256, 256, 256)) -> Path:
    """An 8 GiB ``uint16`` zarr v3 directory store, ``big.zarr``, with 4 chunks written.

    Parameters
    ----------
    folder : Path
        Where to write (created if absent).
    shape : (int, int, int, int)
        (Rx, Ry, Qx, Qy); the default is 8 GiB of ``uint16``.

    Returns
    -------
    Path
        The store. Chunks are (1, 16, Qx, Qy) (2 MiB by default); chunks never written are
        absent and read as zeros. The array's attributes carry a calibration in the convention
        :mod:`dpc_widgets.io.formats.zarr_store` reads.
    """
    import zarr

    path = Path(folder) / "big.zarr"
    array = zarr.create_array(
        path, shape=shape, chunks=(1, 16, *shape[2:]), dtype=np.uint16, fill_value=0,
        overwrite=True,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    for rx in (0, shape[0] // 2):
        array[rx, :32] = rng.integers(0, 1000, size=(32, *shape[2:]), dtype=np.uint16)
    array.attrs.update(
        {"scan_sampling": 0.5, "scan_units": "nm", "detector_sampling": 0.25,
         "detector_units": "mrad", "energy": 300e3}
    )  # fmt: skip
    return path


def make_arina(
    folder: Path,
    scan: tuple[int, int] = (240, 240),
    frame: tuple[int, int] = (192, 192),
    frames_per_file: int = 1000,
) -> Path:
    """An Arina-like master with ExternalLinks to bitshuffle-LZ4 data files (7.9 GiB logical).

    Parameters
    ----------
    folder : Path
        Where to write (created if absent).
    scan : (int, int)
        (Rx, Ry), written to the ``STEM Metadata`` sidecar ``big.h5`` as NumPixelsY/NumPixelsX.
    frame : (int, int)
        Detector shape; frames are ``uint32``, one per chunk, as the detector writes them.
    frames_per_file : int
        Frames per data file (the detector's ``nimages_per_file``; 1000 by default).

    Returns
    -------
    Path
        ``big_master.h5``. Only the first frame of each data file is written; the other chunks
        are unallocated and read as zeros.
    """
    import h5py
    import hdf5plugin

    folder = Path(folder)
    total = scan[0] * scan[1]
    master = folder / "big_master.h5"
    with h5py.File(master, "w") as f:
        data = f.create_group("entry/data")
        detector = f.create_group("entry/instrument/detector")
        for key in ("x_pixel_size", "y_pixel_size"):
            detector.create_dataset(key, data=1e-4).attrs["units"] = "m"
        specific = detector.create_group("detectorSpecific")
        specific.create_dataset("photon_energy", data=300e3).attrs["units"] = "eV"
        rng = np.random.default_rng(0)
        for i, start in enumerate(range(0, total, frames_per_file), start=1):
            n = min(frames_per_file, total - start)
            name = f"big_data_{i:06d}.h5"
            with h5py.File(folder / name, "w") as part:
                stack = part.create_dataset(
                    "entry/data/data", shape=(n, *frame), dtype=np.uint32,
                    chunks=(1, *frame), **hdf5plugin.Bitshuffle(cname="lz4"),
                )  # fmt: skip
                stack[0] = rng.integers(0, 100, size=frame, dtype=np.uint32)
            data[f"data_{i:06d}"] = h5py.ExternalLink(name, "/entry/data/data")
    with h5py.File(folder / "big.h5", "w") as f:
        group = f.create_group("STEM Metadata")
        group.attrs["NumPixelsX"] = np.int64(scan[1])
        group.attrs["NumPixelsY"] = np.int64(scan[0])
        group.attrs["Pixel Size"] = np.array([0.5])
        group.attrs["Camera Length"] = np.array([0.115])
    return master


def make_mib(folder: Path, shape: tuple[int, int, int, int] = (256, 256, 256, 256)) -> Path:
    """An 8 GiB Merlin ``.mib`` (``big.mib``), 16-bit: every frame's header, a few rows' pixels.

    Parameters
    ----------
    folder : Path
        Where to write (created if absent).
    shape : (int, int, int, int)
        (Rx, Ry, Qx, Qy); open it with ``load(path, scan_shape=shape[:2])``.

    Returns
    -------
    Path
        The file: a sparse file whose frames are headers (one page each on disk) followed by
        unwritten (zero) pixels, except scan rows 0 and Rx // 2, which hold random counts.
    """
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "io"))
    from _camera_files import MIB_DTYPES, mib_header

    rx, ry, qx, qy = shape
    path = Path(folder) / "big.mib"
    frame = len(mib_header(1, qx, qy)) + qx * qy * 2
    rng = np.random.default_rng(0)
    with path.open("wb") as file:
        file.truncate(rx * ry * frame)
        for index in range(rx * ry):
            file.seek(index * frame)
            file.write(mib_header(index + 1, qx, qy))
            if index // ry in (0, rx // 2):
                counts = rng.integers(0, 1000, size=(qx, qy)).astype(MIB_DTYPES["U16"])
                file.write(counts.tobytes())
    return path


MAKERS = {"zarr": make_zarr, "arina": make_arina, "mib": make_mib}


def main(argv: list[str] | None = None) -> None:
    """Command line: ``make_big_files.py OUT_FOLDER [FORMAT ...]`` (all formats by default)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="output folder (created if absent)")
    parser.add_argument("formats", nargs="*", help=f"formats to write: {', '.join(MAKERS)}")
    args = parser.parse_args(argv)
    unknown = [name for name in args.formats if name not in MAKERS]
    if unknown:
        parser.error(f"unknown format(s) {unknown}; known: {', '.join(MAKERS)}")
    args.folder.mkdir(parents=True, exist_ok=True)
    for name in args.formats or MAKERS:
        path = MAKERS[name](args.folder)
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
