"""Write the HDF5 layout that ``py4DSTEM.save`` produces for a DataCube (EMD 1.0), with h5py only.

Layout (EMD 1.0 as written by py4DSTEM 0.14)::

    /                      attrs emd_group_type='file', version_major=1, version_minor=0
    /<root_name>           attrs emd_group_type='root', python_class='Root'
        datacube/          attrs emd_group_type='array', python_class='DataCube'
            data           the 4D array (Rx, Ry, Qx, Qy)
            dim0..dim3     [0, step], attrs name (Rx, Ry, Qx, Qy) and units
        metadatabundle/    attrs emd_group_type='metadatabundle'
            calibration/   attrs emd_group_type='metadata', python_class='Calibration'
                R_pixel_size, R_pixel_units, Q_pixel_size, Q_pixel_units, QR_flip
                           scalar datasets (strings as UTF-8 bytes), each with attr ``type``
"""

from __future__ import annotations

import os

import h5py
import numpy as np


def write_py4dstem_h5(
    path: str | os.PathLike,
    data: np.ndarray,
    *,
    r_pixel_size: float,
    r_units: str,
    q_pixel_size: float,
    q_units: str,
    root_name: str = "root",
) -> str:
    """Write ``data`` (Rx, Ry, Qx, Qy) as a py4DSTEM DataCube; return the data's HDF5 path."""
    with h5py.File(path, "w") as f:
        f.attrs["emd_group_type"] = "file"
        f.attrs["version_major"] = 1
        f.attrs["version_minor"] = 0
        root = f.create_group(root_name)
        root.attrs["emd_group_type"] = "root"
        root.attrs["python_class"] = "Root"
        cube = root.create_group("datacube")
        cube.attrs["emd_group_type"] = "array"
        cube.attrs["python_class"] = "DataCube"
        cube.create_dataset("data", data=data)
        dims = (("Rx", r_pixel_size, r_units), ("Ry", r_pixel_size, r_units))
        dims += (("Qx", q_pixel_size, q_units), ("Qy", q_pixel_size, q_units))
        for i, (name, step, units) in enumerate(dims):
            dim = cube.create_dataset(f"dim{i}", data=np.array([0.0, step]))
            dim.attrs["name"] = name
            dim.attrs["units"] = units
        bundle = root.create_group("metadatabundle")
        bundle.attrs["emd_group_type"] = "metadatabundle"
        calibration = bundle.create_group("calibration")
        calibration.attrs["emd_group_type"] = "metadata"
        calibration.attrs["python_class"] = "Calibration"
        items = {
            "R_pixel_size": float(r_pixel_size),
            "R_pixel_units": r_units,
            "Q_pixel_size": float(q_pixel_size),
            "Q_pixel_units": q_units,
            "QR_flip": False,
        }
        for key, value in items.items():
            if isinstance(value, str):
                item = calibration.create_dataset(key, data=value.encode("utf-8"))
                item.attrs["type"] = b"string"
            elif isinstance(value, bool):
                item = calibration.create_dataset(key, data=value, dtype=bool)
                item.attrs["type"] = b"bool"
            else:
                item = calibration.create_dataset(key, data=value)
                item.attrs["type"] = b"number"
        return cube["data"].name
