"""HyperSpy's own formats, read with rosettasciio: ``.hspy`` (HDF5) and ``.zspy`` (zarr).

Both hold one or more signals under ``/Experiments/<title>``; the 4D one is used (or the one
whose title is ``dataset=``). rsciio returns the data as a dask array over the stored dataset
(``lazy=True``): opening reads the metadata and axes only.

Orientation
-----------
HyperSpy stores a 4D ``Signal2D`` in array order ``(y, x | ky, kx)``: navigation axes first
(slow scan axis ``y``, then fast ``x``), then the signal's rows and columns. That is taken as
``(Rx, Ry, Qx, Qy)`` unchanged, with each axis's ``scale`` and ``units`` as its calibration:
no axis is reordered or flipped (a negative ``scale`` is passed on as stored, and
:mod:`dpc_widgets.io.calibration` warns about it). A 4D signal whose last two axes are not
the signal axes (``navigate`` True for them) is refused.

Metadata
--------
``metadata.Acquisition_instrument.TEM.beam_energy`` (keV, stored as eV here) and
``...camera_length`` (mm).

Imports
-------
``rsciio.hspy`` imports h5py and ``packaging`` (and hdf5plugin, if installed, when reading);
``rsciio.zspy`` imports zarr and numcodecs. Both are imported only when such a file is opened.
A ``.zspy`` written by rsciio's ``file_writer`` needs zarr 2 (rsciio 0.15 writes with
``zarr.storage.NestedDirectoryStore``, which zarr 3 lacks); reading works with zarr 2 and 3.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

from .base import Format, FormatError, Opened, Opener, OpenOptions
from .rosetta import from_signal, pick_4d, read_signals

ORIENTATION = (
    "array order (y, x | ky, kx) = (Rx, Ry, Qx, Qy); no flips (a negative scale is kept "
    "and warned about)"
)
ZSPY_TITLE = "HyperSpy zarr (.zspy, directory store or zip)"
CALIBRATIONS = "scan and detector scale and units per axis, beam energy, camera length"


def check_signal_axes_last(signal: dict, path: Path) -> None:
    """Refuse a 4D signal whose navigation axes are not the first two array axes.

    Raises
    ------
    FormatError
        Naming the file and the axes' ``navigate`` flags.
    """
    flags = [axis.get("navigate") for axis in signal.get("axes", [])]
    if len(flags) == 4 and None not in flags and flags != [True, True, False, False]:
        raise FormatError(
            f"the 4D signal in '{path}' has navigate flags {flags} in array order; expected "
            "[True, True, False, False] (scan axes first, then the detector's)"
        )


def _open(module: str, title: str, **reader_kwargs: object) -> Opener:
    def open_file(path: Path, options: OpenOptions) -> Opened:
        signals = read_signals(module, path, title, **reader_kwargs)
        signal = pick_4d(signals, path, options)
        check_signal_axes_last(signal, path)
        return from_signal(signal, path, options)

    open_file.__name__ = f"open_{module}"
    open_file.__doc__ = (
        f"Open a {title} file: its 4D signal (or the one titled ``dataset=``), lazily, with "
        "the calibration of its axes and metadata."
    )
    return open_file


open_hspy = _open("hspy", "HyperSpy HDF5 (.hspy)")
_open_zspy = _open("zspy", ZSPY_TITLE, mode="r")


def open_zspy(path: Path, options: OpenOptions) -> Opened:
    """Open a ``.zspy`` directory store or zip file, read-only.

    rsciio opens a store ``"r+"`` when lazy unless told otherwise, so it is given
    ``mode="r"``; for a zip it logs that ``mode`` is not supported, yet needs it with zarr 3
    (a read-only zip store refuses ``"r+"``), so that log message is silenced.

    Raises
    ------
    FormatError
        For a path that is neither a directory nor a zip file, or not a HyperSpy store.
    """
    if path.is_dir():
        return _open_zspy(path, options)
    if zipfile.is_zipfile(path):
        zspy_logger = logging.getLogger("rsciio.zspy._api")
        level = zspy_logger.level
        zspy_logger.setLevel(logging.ERROR)
        try:
            return _open_zspy(path, options)
        finally:
            zspy_logger.setLevel(level)
    raise FormatError(f"'{path}' is not a .zspy store (neither a zarr directory nor a zip file)")


FORMATS = (
    Format(
        "hspy",
        "HyperSpy HDF5 (.hspy)",
        (".hspy",),
        open_hspy,
        None,
        True,
        CALIBRATIONS,
        ORIENTATION,
    ),
    Format(
        "zspy",
        ZSPY_TITLE,
        (".zspy",),
        open_zspy,
        None,
        True,
        CALIBRATIONS,
        ORIENTATION,
        directory=True,
    ),
)
