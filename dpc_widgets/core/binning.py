"""The binned-detector fallback: a live view where even a useful cache does not fit the budget.

When the detector cache covering what a DPC user tunes does not fit the memory budget at full
resolution, :class:`BinnedCache` caches the detector binned ``2 x 2`` or ``4 x 4`` instead
(:func:`choose_binning` picks the smallest factor that fits). Each binned pixel holds the sum of
its ``b x b`` pixels; detector rows and columns beyond a multiple of ``b`` are left out. Its
sums are exactly the explicit mask sums of the binned data (the masks taken on the binned
pixels, radii in the same detector units), not those of the full-resolution detector: exact
full-resolution results are one streaming pass away (:meth:`dpc_widgets.core.DPC.stream_run`).

Coordinates: binned pixel ``I`` covers pixels ``b I .. b I + b - 1``, its centre lies at
``b I + (b - 1) / 2``; so a centre ``c`` (pixels) is ``(c - (b - 1) / 2) / b`` in binned pixels,
and offsets in binned pixels times ``b`` are offsets in pixels.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from ..io import Datacube
from ..io.datacube import chunk_rows
from ..io.values import check_integer_range, masked_nonfinite
from .engine import PolarCache, cache_dtype, cached_pixels
from .memory import CacheMemoryError, budget_bytes, format_bytes

#: Binning factors tried, in order.
BINNINGS = (2, 4)


def binned_dtype(dtype: np.dtype, factor: int) -> np.dtype:
    """The dtype of binned data: integers widened so that ``factor**2`` values cannot overflow
    (8-bit to 16-bit, 16-bit to 32-bit, wider to int64); floating point kept."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return dtype.newbyteorder("=")
    bits = np.iinfo(dtype).bits + 2 * math.ceil(math.log2(factor))
    for size in (16, 32):
        if bits <= size:
            return np.dtype(f"{'u' if dtype.kind == 'u' else 'i'}{size // 8}")
    return np.dtype(np.int64)


def bin_patterns(patterns: Any, factor: int) -> np.ndarray:
    """``patterns`` (..., Qx, Qy) summed over ``factor x factor`` pixel blocks.

    Sums are taken in int64 or float64 and stored in :func:`binned_dtype`; the last
    ``Qx % factor`` rows and ``Qy % factor`` columns are left out.
    """
    patterns = np.asarray(patterns)
    *lead, qx, qy = patterns.shape
    bx, by = qx // factor, qy // factor
    cropped = patterns[..., : bx * factor, : by * factor]
    blocks = cropped.reshape(*lead, bx, factor, by, factor)
    wide = np.float64 if patterns.dtype.kind == "f" else np.int64
    summed = blocks.sum(axis=(-3, -1), dtype=wide)
    return summed.astype(binned_dtype(patterns.dtype, factor))


class BinnedData:
    """A read-only array-like view of 4D data (Rx, Ry, Qx, Qy) with the detector binned.

    Slicing scan rows (``data[r0:r1]``, what :class:`Datacube` reads) reads them from the
    source and bins them; nothing else is held. ``chunks`` is the source's along the scan.
    """

    def __init__(self, source: Any, factor: int) -> None:
        self.source = source
        self.factor = int(factor)
        rx, ry, qx, qy = (int(n) for n in source.shape)
        self.shape = (rx, ry, qx // self.factor, qy // self.factor)
        self.dtype = binned_dtype(source.dtype, self.factor)
        self.chunks = (chunk_rows(source),)
        self._nonfinite: dict[tuple[int, int], int] = {}  # (row start, stop) -> NaN/inf count

    @property
    def nonfinite_pixels(self) -> int:
        """NaN / inf source pixels set to 0 in the scan rows read so far."""
        return sum(self._nonfinite.values())

    def __getitem__(self, rows: slice) -> np.ndarray:
        if not isinstance(rows, slice):
            raise TypeError(f"BinnedData reads scan-row slices only, got {rows!r}")
        block = self.source[rows]
        if hasattr(block, "compute"):  # dask: read this block now
            block = block.compute()
        check_integer_range(block, self.source.shape)  # before binning can wrap it
        binned = bin_patterns(block, self.factor)
        if binned.dtype.kind == "f" and not np.isfinite(binned).all():
            # NaN / inf source pixels count as 0 (io/values.py), not their whole bin
            block, count = masked_nonfinite(block)
            self._nonfinite[rows.indices(self.shape[0])[:2]] = count
            binned = bin_patterns(block, self.factor)
        return binned


def binned_center(center: tuple[float, float], factor: int) -> tuple[float, float]:
    """A detector centre (qx, qy) in pixels as binned pixels."""
    shift = (factor - 1) / 2
    return ((center[0] - shift) / factor, (center[1] - shift) / factor)


def binned_cube(cube: Datacube, factor: int) -> Datacube:
    """``cube`` with its detector binned (calibrations kept; detector pixels ``factor`` wider)."""
    data = BinnedData(cube.data, factor)
    qx, qy = data.shape[2:]
    cx, cy = binned_center(cube.origin, factor)
    return Datacube(
        data,
        energy=cube.energy,
        scan_sampling=cube.scan_sampling,
        scan_units=cube.scan_units,
        detector_sampling=cube.detector_sampling * factor,
        detector_units=cube.detector_units,
        origin=(min(max(cx, 0.0), qx - 1.0), min(max(cy, 0.0), qy - 1.0)),
    )


def cache_bytes(cube: Datacube, center: tuple[float, float], radius: float, factor: int) -> int:
    """Bytes of the pixel-major cache of radius ``radius`` (detector units) around ``center``
    (pixels) on the detector binned ``factor`` times (1: full resolution)."""
    if factor > 1:
        center = binned_center(center, factor)
        cube = binned_cube(cube, factor)
    n_pos = cube.scan_shape[0] * cube.scan_shape[1]
    return cached_pixels(cube, center, radius) * n_pos * cache_dtype(cube.dtype).itemsize


def choose_binning(
    cube: Datacube, center: tuple[float, float], radius: float, memory_budget: int | None
) -> int:
    """1 when the full-resolution cache of ``radius`` fits the budget, else the smallest factor
    of :data:`BINNINGS` whose binned cache fits.

    Raises
    ------
    CacheMemoryError
        When even the most binned cache exceeds the budget (the message names the sizes and the
        ways out).
    """
    budget = budget_bytes(memory_budget)
    full = cache_bytes(cube, center, radius, 1)
    if full <= budget:
        return 1
    for factor in BINNINGS:
        needed = cache_bytes(cube, center, radius, factor)
        if needed <= budget:
            return factor
    raise CacheMemoryError(
        f"the detector cache of radius {radius:g} {cube.detector_units} of the {cube.shape} "
        f"{cube.dtype} cube needs {format_bytes(full)} ({format_bytes(needed)} even with the "
        f"detector binned {BINNINGS[-1]}x), over the memory budget of {format_bytes(budget)}; "
        "give a larger memory_budget= (bytes), a smaller cache_radius=, use "
        "DPC.stream_run(detector) (one pass, no cache) or a Dask cluster",
        full,
        budget,
    )


class BinnedCache:
    """A :class:`~dpc_widgets.core.engine.PolarCache` of the binned detector, answering in the
    coordinates of the full-resolution one.

    Parameters
    ----------
    cube : Datacube
        The full-resolution data (read once, binned block by block).
    center : (float, float)
        Detector centre (qx, qy) in full-resolution pixels.
    factor : int
        Binning factor (2 or 4).
    xp : module
        :mod:`numpy` or :mod:`cupy`.
    **options
        ``cache_radius``, ``memory_budget``, ``progress``, ``on_progress``, ``use_numba`` of
        :class:`~dpc_widgets.core.engine.PolarCache`.

    Attributes
    ----------
    binning : int
        The factor.
    center : (float, float)
        As given (full-resolution pixels).
    moments : array (3, P), float64
        ``sum I``, ``sum I dx``, ``sum I dy`` with ``dx, dy`` the offsets of the binned pixels'
        centres from ``center`` in full-resolution pixels.
    pattern_sum : ndarray (Qx // factor, Qy // factor)
        Sum of the binned patterns.
    """

    def __init__(
        self,
        cube: Datacube,
        center: tuple[float, float],
        factor: int,
        xp: ModuleType = np,
        **options: Any,
    ) -> None:
        self.binning = int(factor)
        self.center = (float(center[0]), float(center[1]))
        binned = binned_cube(cube, self.binning)
        self._engine = PolarCache(binned, binned_center(self.center, self.binning), xp, **options)
        self.moments = self._scaled(self._engine.moments)
        self.pattern_sum = self._engine.pattern_sum
        #: NaN / inf source pixels set to 0 (each alone, not its whole bin: io/values.py)
        self.nonfinite_pixels = binned.data.nonfinite_pixels

    @property
    def cache_radius(self) -> float:
        """Every pixel with a smaller radius (detector units) is cached (binned)."""
        return self._engine.cache_radius

    @property
    def nbytes(self) -> int:
        """Bytes held by the binned cache."""
        return self._engine.nbytes

    @property
    def use_numba(self) -> bool:
        """Whether the next operation runs on the numba kernels."""
        return self._engine.use_numba

    @property
    def last_update(self) -> str:
        """How the last call was answered (see :class:`PolarCache`)."""
        return self._engine.last_update

    def covers(self, outer: float) -> bool:
        """Whether every binned pixel with ``radius < outer`` is cached."""
        return self._engine.covers(outer)

    def segment_sums(
        self, inner: float, outer: float, segments: int, rotation_rad: float, subsample: int = 1
    ):
        """Segment sums on the binned detector (see :meth:`PolarCache.segment_sums`; area
        weights are those of the binned pixels)."""
        return self._engine.segment_sums(inner, outer, segments, rotation_rad, subsample)

    def annulus_moments(self, inner: float, outer: float):
        """Annulus moments on the binned detector, offsets in full-resolution pixels."""
        return self._scaled(self._engine.annulus_moments(inner, outer))

    def _scaled(self, moments):
        scale = self._engine.xp.asarray([1.0, self.binning, self.binning])[:, None]
        return moments * scale
