"""Prismatic simulation output (EMD 0.x HDF5, ``.h5`` / ``.emd``).

Layout (as Prismatic's ``fileIO.cpp`` writes it): one group per output depth,
``4DSTEM_simulation/data/datacubes/CBED_array_depthNNNN`` (with a tag such as ``_fp0000`` when
frozen phonons are saved apart), holding the 4D dataset ``datacube`` (``data`` in some
versions) and the axis vectors ``dim1 .. dim4`` named ``R_x``, ``R_y``, ``Q_x``, ``Q_y`` with
``units`` attributes in brackets: ``[Å]`` and ``[Å^-1]`` today, letters joined by underscores
(``[n_m]``) in older files; the brackets and underscores are removed before the usual unit
mapping. The beam energy is the ``E`` attribute (keV) of
``4DSTEM_simulation/metadata/metadata_0/original/simulation_parameters``.

The default is the first depth, announced in a note when there are several; ``dataset=`` takes
a group name (``CBED_array_depth0003``) or an HDF5 path.

Orientation: Prismatic writes the probe positions first, ``(R_x, R_y, Q_x, Q_y)`` ("ordered by
ax, ay so that it aligns with py4DSTEM"), which is our (Rx, Ry, Qx, Qy): the array is used as
stored. Should the ``dimN`` lengths match the data's shape only in reverse order (a file
written with the axes reversed), the array is transposed lazily (a dask view) and a note says
so. No flips.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..._lazy import lazy_import
from .base import Axis, Format, FormatError, Opened, OpenOptions
from .hdf5 import HDF5_EXTENSIONS, as_float, as_str, read_hdf5

h5py = lazy_import("h5py")

ROOT = "4DSTEM_simulation"
DATACUBES = f"{ROOT}/data/datacubes"
PARAMETERS = f"{ROOT}/metadata/metadata_0/original/simulation_parameters"
DATA_NAMES = ("datacube", "data")


def is_prismatic(path: Path) -> bool:
    """True for an HDF5 file with a top-level group ``4DSTEM_simulation``."""
    try:
        with h5py.File(path, "r") as file:
            return isinstance(file.get(ROOT), h5py.Group)
    except OSError:
        return False


def prismatic_units(units: str) -> str:
    """A Prismatic unit string without brackets and joining underscores (``[n_m]`` -> ``nm``)."""
    found = re.findall(r"\[(.+?)\]", units)
    text = " ".join(found) if found else units
    return text.replace("_", "").strip()


def _cube_groups(file: h5py.File) -> list[str]:
    group = file.get(DATACUBES)
    if not isinstance(group, h5py.Group):
        return []
    return sorted(
        name
        for name, node in group.items()
        if name.startswith("CBED_array_depth") and isinstance(node, h5py.Group)
    )


def _data_of(group: h5py.Group) -> h5py.Dataset | None:
    for name in DATA_NAMES:
        node = group.get(name)
        if isinstance(node, h5py.Dataset):
            return node
    return None


def _select(file: h5py.File, options: OpenOptions, path: Path) -> Opened:
    depths = _cube_groups(file)
    notes: list[str] = []
    if options.dataset is not None:
        name = options.dataset
        node = file.get(f"{DATACUBES}/{name}") if "/" not in name else file.get(name)
        if isinstance(node, h5py.Group):
            node = _data_of(node)
        if not isinstance(node, h5py.Dataset):
            raise FormatError(
                f"Prismatic file '{path}' has no 4D-STEM output {name!r}; depths: {depths}"
            )
    else:
        if not depths:
            raise FormatError(
                f"Prismatic file '{path}' holds no 4D output ({DATACUBES}/CBED_array_depth*); "
                "was it simulated with save4DOutput?"
            )
        node = _data_of(file[f"{DATACUBES}/{depths[0]}"])
        if node is None:
            raise FormatError(
                f"'{DATACUBES}/{depths[0]}' in Prismatic file '{path}' has no dataset "
                f"{' or '.join(DATA_NAMES)}"
            )
        if len(depths) > 1:
            notes.append(
                f"'{path}': Prismatic file with {len(depths)} output depths; using {depths[0]!r}. "
                f"Pick another with dataset=<name>, one of {depths}"
            )
    if node.ndim != 4:
        raise FormatError(
            f"{node.name!r} in Prismatic file '{path}' has shape {node.shape}; expected 4D "
            "(R_x, R_y, Q_x, Q_y)"
        )
    if node.dtype.kind not in "uif":
        raise FormatError(
            f"{node.name!r} in Prismatic file '{path}' holds {node.dtype} values (complex output "
            "waves?); DPC needs intensities"
        )
    axes = _dims(node.parent, path)
    lengths = [None if vector is None else vector[0] for vector in axes]
    data: Any = node
    if _matches(lengths[::-1], node.shape) and not _matches(lengths, node.shape):
        import dask.array as da

        data = da.from_array(node, chunks=node.chunks or "auto").transpose(3, 2, 1, 0)
        notes.append(
            f"'{path}': the dimN vectors of {node.name!r} run in reverse array order; "
            "the data are transposed (lazily) to (R_x, R_y, Q_x, Q_y)"
        )
    calibration = [None if vector is None else vector[1] for vector in axes]
    return Opened(
        data,
        scan=(calibration[0], calibration[1]),
        detector=(calibration[2], calibration[3]),
        energy=_energy(file),
        notes=tuple(notes),
    )


def _matches(lengths: list[int | None], shape: tuple[int, ...]) -> bool:
    return all(n is None or n == size for n, size in zip(lengths, shape, strict=True))


def _dims(group: h5py.Group, path: Path) -> list[tuple[int, Axis | None] | None]:
    """(length, calibration) of ``dim1 .. dim4`` of a depth group (None where absent)."""
    out: list[tuple[int, Axis | None] | None] = []
    for i in range(1, 5):
        vector = group.get(f"dim{i}")
        if not (isinstance(vector, h5py.Dataset) and vector.ndim == 1):
            out.append(None)
            continue
        units = vector.attrs.get("units")
        axis = None
        if vector.shape[0] >= 2 and vector.dtype.kind in "uif" and units is not None:
            start, stop = vector[:2]
            axis = Axis(
                as_float(stop - start, f"dim{i} step", vector), prismatic_units(as_str(units))
            )
        out.append((vector.shape[0], axis))
    return out


def _energy(file: h5py.File) -> float | None:
    group = file.get(PARAMETERS)
    if not isinstance(group, h5py.Group) or "E" not in group.attrs:
        return None
    kev = as_float(group.attrs["E"], "simulation parameter E (keV)", group)
    return kev * 1e3 if kev > 0 else None


def open_prismatic(path: Path, options: OpenOptions) -> Opened:
    """The 4D output of one depth of a Prismatic simulation, with calibration and energy.

    Parameters
    ----------
    path : Path
        The ``.h5`` or ``.emd`` file, opened read-only.
    options : OpenOptions
        ``dataset=`` a depth group name (``CBED_array_depth0001``) or an HDF5 path.

    Returns
    -------
    Opened
        The ``h5py.Dataset`` (a dask transpose if its axes are stored reversed), scan step in Å
        and detector step in Å^-1 as the ``dimN`` vectors state them, and the beam energy in eV.
    """
    return read_hdf5(path, options, _select)


FORMATS = (
    Format(
        "prismatic",
        "Prismatic EMD",
        HDF5_EXTENSIONS,
        open_prismatic,
        is_prismatic,
        True,
        "scan step (Å), detector step (Å^-1) from dim1..dim4, beam energy (parameter E)",
        "stored (R_x, R_y, Q_x, Q_y) = (Rx, Ry, Qx, Qy), no flips; first depth by default",
    ),
)
