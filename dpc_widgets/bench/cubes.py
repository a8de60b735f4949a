"""Benchmark cubes: their specs, the cache directory and how they are generated.

Cubes are written once (scan row by scan row, as ``.npy`` files) under ``$DPC_BENCH_CACHE`` or
``~/.cache/dpc-widgets-bench`` and memory-mapped read-only on later runs.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np

from ..io import Datacube

# Bright-field disc radius of the benchmark patterns, as a fraction of the detector width Qx.
DISC_RADIUS = 0.2
# Default bounded cache of the benchmark: this many disc radii (1.5 x 0.2 = 0.3 of Qx).
CACHE_DISCS = 1.5


@dataclasses.dataclass(frozen=True)
class CubeSpec:
    """A benchmark cube: scan (Rx, Ry) x detector (Qx, Qy) in ``dtype``."""

    name: str
    shape: tuple[int, int, int, int]
    dtype: str

    @property
    def nbytes(self) -> int:
        """Size of the cube in bytes."""
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize

    def label(self) -> str:
        """One-line description for the report."""
        rx, ry, qx, qy = self.shape
        return f"{self.name}: {rx}x{ry} scan x {qx}x{qy} detector, {self.dtype}"

    def path(self, directory: Path | None = None) -> Path:
        """Where the cube's ``.npy`` file lives (see :func:`cache_dir`)."""
        directory = cache_dir() if directory is None else directory
        rx, ry, qx, qy = self.shape
        return directory / f"{self.name}_{rx}x{ry}x{qx}x{qy}_{self.dtype}_v1.npy"


SIZES = {
    "S": CubeSpec("S", (32, 32, 96, 96), "float32"),
    "M": CubeSpec("M", (128, 128, 128, 128), "float32"),
    "L": CubeSpec("L", (256, 256, 128, 128), "uint16"),
}


def default_cache_radius(q: int) -> float:
    """The benchmark's bounded cache radius (pixels): 1.5 disc radii, 0.3 of the width ``q``."""
    return CACHE_DISCS * DISC_RADIUS * q


def cache_dir() -> Path:
    """``$DPC_BENCH_CACHE`` or ``~/.cache/dpc-widgets-bench``."""
    return Path(os.environ.get("DPC_BENCH_CACHE", Path.home() / ".cache" / "dpc-widgets-bench"))


def bench_cube(spec: CubeSpec, directory: Path | None = None) -> np.ndarray:
    """The cube of ``spec`` as a read-only memory map, generated on first use.

    Patterns: a bright disk (radius :data:`DISC_RADIUS` times Qx) displaced by a smooth
    deflection field across the scan, plus uniform noise; written scan row by scan row (bounded
    memory).
    """
    path = spec.path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        data = np.load(path, mmap_mode="r")
        if data.shape == spec.shape and data.dtype == np.dtype(spec.dtype):
            return data
    rx, ry, qx, qy = spec.shape
    partial = path.with_suffix(".partial.npy")
    out = np.lib.format.open_memmap(partial, mode="w+", dtype=spec.dtype, shape=spec.shape)
    rng = np.random.default_rng(0)
    i = np.arange(qx, dtype=np.float32)[:, None] - qx / 2
    j = np.arange(qy, dtype=np.float32)[None, :] - qy / 2
    level = 2000.0 if np.dtype(spec.dtype).kind in "ui" else 1.0
    for x in range(rx):
        shift = 0.03 * qx * np.sin(2 * np.pi * np.arange(ry) / 16.0 + x / 5.0)  # (ry,)
        radius = np.hypot(i[None] - shift[:, None, None], j[None] - 0.5 * shift[:, None, None])
        disk = (radius < DISC_RADIUS * qx) * np.float32(level)
        if np.dtype(spec.dtype).kind in "ui":
            noise = rng.integers(0, 64, size=(ry, qx, qy), dtype=np.uint16)
            out[x] = (disk + noise).astype(spec.dtype)
        else:
            out[x] = disk + rng.random((ry, qx, qy), dtype=np.float32) * 0.05
    out.flush()
    del out
    partial.replace(path)
    return np.load(path, mmap_mode="r")


def random_cube(shape: tuple[int, int, int, int], seed: int = 0) -> Datacube:
    """A uint16 cube of uniform noise (generated in scan rows, for the scaling series)."""
    rng = np.random.default_rng(seed)
    data = np.empty(shape, dtype=np.uint16)
    for x in range(shape[0]):
        data[x] = rng.integers(0, 1024, size=shape[1:], dtype=np.uint16)
    return Datacube(data)
