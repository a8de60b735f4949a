"""Small deterministic test cubes shared by the test modules."""

from __future__ import annotations

import numpy as np

from dpc_widgets import Datacube


def random_cube(shape=(6, 7, 24, 20), dtype=np.float32, seed=0, **calibration) -> Datacube:
    """A random Datacube with a bright central disk (so CoM and segments carry signal)."""
    rng = np.random.default_rng(seed)
    rx, ry, qx, qy = shape
    i, j = np.meshgrid(np.arange(qx) - qx // 2, np.arange(qy) - qy // 2, indexing="ij")
    disk = (np.hypot(i, j) < min(qx, qy) / 3).astype(np.float64)
    base = rng.random(shape) * 50 + disk * 400
    if np.dtype(dtype).kind in "ui":
        top = np.iinfo(dtype).max
        data = np.clip(base * (top / 900), 0, top).astype(dtype)
    else:
        data = base.astype(dtype)
    return Datacube(data, **calibration)
