"""Open 4D-STEM files as a :class:`Datacube`, read-only and without reading them whole.

The formats, their adapters and detection live in :mod:`dpc_widgets.io.formats`; the file's
calibration becomes :class:`Datacube` keywords in :mod:`dpc_widgets.io.calibration`. The table
of formats is in :func:`load`'s docstring and in ``docs/formats.md``.
"""

from __future__ import annotations

import errno
import os
import warnings
from pathlib import Path
from typing import Any

from ..physics import integer_at_least, positive_finite
from .calibration import datacube_keywords
from .datacube import Datacube
from .formats import FORMATS, OpenOptions, find_format
from .source import FileSource

CALIBRATION_KEYWORDS = (
    "scan_sampling",
    "scan_units",
    "detector_sampling",
    "detector_units",
    "origin",
)


def load(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    dataset: str | None = None,
    energy: float | None = None,
    camera_length: float | None = None,
    scan_shape: tuple[int, int] | None = None,
    in_memory: bool = False,
    **calibration: Any,
) -> Datacube:
    """Open a 4D-STEM file as a :class:`Datacube` with axes (Rx, Ry, Qx, Qy).

    Parameters
    ----------
    path : str or path-like
        The file (or zarr directory store). It is opened read-only and never modified.
    format : str, optional
        A format name from the table below; by default the format is detected from the
        extension and, where several formats share it, from the content.
    dataset : str, optional
        Which 4D array to use when the file holds several (an HDF5 path, an ``.npz`` key, a
        signal title, a zarr array path).
    energy : float, optional
        Beam energy in eV; wins over the file's.
    camera_length : float, optional
        Camera length in mm; wins over the file's. Turns a detector pixel stored as a length
        into an angle.
    scan_shape : (int, int), optional
        (Rx, Ry) for files that store a flat list of frames.
    in_memory : bool
        Read the data into RAM and release the file, instead of keeping it open for lazy,
        chunked access.
    **calibration
        ``scan_sampling``, ``scan_units``, ``detector_sampling``, ``detector_units`` and
        ``origin`` as in :class:`Datacube`. Each one given replaces the file's value as is.
        ``origin`` defaults to ``"disc"``: the centre of the bright-field disc found in the mean
        pattern of a bounded sample of scan rows (a few tens of MiB however large the file);
        without a clear disc, the geometric centre ``(Qx // 2, Qy // 2)`` with a
        :class:`UserWarning` saying so. Pass ``origin=None`` for the geometric centre.

    Returns
    -------
    Datacube

    Raises
    ------
    TypeError
        For an unknown keyword argument, or an argument of the wrong type.
    FileNotFoundError
        If ``path`` does not exist.
    OSError
        For a symbolic link loop or a broken link (named).
    ValueError
        For an unsupported extension or format name; a file that is not of the format its
        extension says, or is truncated or corrupt (:class:`~dpc_widgets.io.FormatError`, a
        ``ValueError``); no 4D array, or several without a documented default; an unknown unit
        string in the file (named, with the keyword that overrides it); and for every invalid
        value :class:`Datacube` refuses.

    Notes
    -----
    Formats (``format=`` name: extensions; lazy; calibrations read; orientation):

    FORMATS_TABLE
    """
    unknown = [key for key in calibration if key not in CALIBRATION_KEYWORDS]
    if unknown:
        raise TypeError(
            f"load() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"calibration keywords are {CALIBRATION_KEYWORDS}"
        )
    if dataset is not None and not isinstance(dataset, str):
        raise TypeError(f"dataset must be a string (HDF5 path or .npz key), got {dataset!r}")
    path = _existing_path(path)
    spec = find_format(path, format)
    if path.is_dir() and not spec.directory:
        raise ValueError(f"'{path}' is not a regular file (a {spec.title} file is no directory)")
    options = OpenOptions(dataset=dataset, in_memory=bool(in_memory), scan_shape=_shape(scan_shape))
    opened = spec.open(path, options)
    overrides = {key: value for key, value in calibration.items() if key != "origin"}
    if energy is not None:
        overrides["energy"] = energy
    if camera_length is not None:
        camera_length = positive_finite(camera_length, "camera_length (mm)")
    keywords, notes = datacube_keywords(opened, path, overrides, camera_length)
    for note in (*opened.notes, *notes):
        warnings.warn(note, UserWarning, stacklevel=2)
    source = FileSource(str(path.resolve()), spec.name, dataset, options.scan_shape)
    return Datacube(
        opened.data, origin=calibration.get("origin", "disc"), source=source, **keywords
    )


def _existing_path(path: Any) -> Path:
    try:
        path = Path(os.fspath(path))
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {path!r}") from None
    if not path.exists():
        if path.is_symlink():  # a link to nothing, or to itself through others
            try:
                path.resolve(strict=True)
            except RuntimeError:  # Python < 3.13 reports a loop so
                raise OSError(errno.ELOOP, "symbolic link loop", str(path)) from None
            except OSError as err:
                if err.errno == errno.ELOOP:  # Python 3.13 reports a loop so
                    raise OSError(errno.ELOOP, "symbolic link loop", str(path)) from None
                raise OSError(
                    err.errno, f"broken symbolic link ({err.strerror})", str(path)
                ) from None
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    return path


def _shape(scan_shape: Any) -> tuple[int, int] | None:
    if scan_shape is None:
        return None
    try:
        rx, ry = scan_shape
    except (TypeError, ValueError):
        raise TypeError(
            f"scan_shape must be a pair (Rx, Ry) of integers, got {scan_shape!r}"
        ) from None
    return integer_at_least(rx, "scan_shape[0]", 1), integer_at_least(ry, "scan_shape[1]", 1)


def _formats_table() -> str:
    rows = [
        f"- ``{spec.name}`` ({spec.title}): {', '.join(spec.extensions)}; "
        f"{'lazy' if spec.lazy else 'read whole'}; {spec.calibrations}; {spec.orientation}."
        for spec in FORMATS
    ]
    return "\n    ".join(rows)


if load.__doc__:
    load.__doc__ = load.__doc__.replace("FORMATS_TABLE", _formats_table())
