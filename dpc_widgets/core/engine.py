"""The interactive fast path: a pixel-major, radius-sorted cache with incremental detector sums.

One chunked pass over the cube copies it into a (K, P) array, K detector pixels sorted by radius
times P = Rx * Ry scan positions, in the data's own dtype (so every annulus is one slab of rows and
each row is one pixel over the whole scan). The same pass yields the per-pattern intensity moments
over the whole detector. A bounded cache keeps only the pixels inside a cache radius (K is then
the number of pixels with ``radius < cache_radius``): detector sums reaching no farther are
exactly those of the full cache, and asking for more raises :class:`OutsideCacheError`.

Detector sums are then kept as state: the integer weight of every row in every segment for the
current geometry (:func:`dpc_widgets.detectors.segment_weights`: 0 or 1 for binary masks,
sub-sample counts 0..64 for area weights) and the sums of each segment in those units. A new
geometry touches only the rows whose weights changed (a radius drag the pixels near the moved
edge, a rotation drag those near the old and new segment borders) and moves the difference,
``acc = (acc - removed) + added`` with ``removed``/``added`` the rows times their lost/gained
weights; it recomputes from scratch when that is cheaper (more changed rows than rows in the
annulus, or another number of segments or weighting). Update cost grows with the number of
changed rows (or annulus rows) times P, never with the detector size. Area-weighted sums are
returned divided by ``subsample**2`` (a power of two: exact).

Exactness: integer data is summed in integers (int64 results, int32 partial sums flushed before
they could overflow, also with the weights), so every result equals the explicit (weighted) mask
sum exactly. Floating-point data is
summed in float64; incremental updates round once per changed row, and a full recompute (which
resets any drift) runs whenever the rows moved incrementally since the last one exceed
``REFRESH_FACTOR`` times the annulus size, so the drift stays below that of a few from-scratch sums
forever. The NumPy and numba paths add the same values in the same order and agree bit for bit.

Data values (:mod:`dpc_widgets.io.values`): NaN / inf pixels count as 0 and are counted
(``nonfinite_pixels``; a block is looked at again only when one of its pattern totals is not
finite, so clean data pays nothing); integer data whose sums could overflow int64 (int64,
uint64 from about 2**53 on small detectors) and finite floats whose sums overflow float64 raise
:class:`~dpc_widgets.io.values.DataRangeError`.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from ..backend import to_module, to_numpy
from ..detectors import (
    border_width,
    near_segment_border,
    pixel_geometry,
    segment_labels,
    segment_weights,
    weighted_reach,
)
from ..io import Datacube
from ..io.datacube import DEFAULT_BLOCK_BYTES
from ..io.values import DataRangeError, masked_nonfinite
from .memory import check_allocation
from .warmup import kernels_ready, numba_installed, wait_for_kernels, wait_until_settled

# Float data: recompute from scratch once incrementally moved rows exceed this times the annulus.
REFRESH_FACTOR = 64
# Bytes of temporaries per step of the NumPy/CuPy path (it works on chunks of scan positions).
_XP_CHUNK_BYTES = 16 * 2**20
# Bytes of partial sums per numba task (they stay in the L2/L3 caches).
_NUMBA_CHUNK_BYTES = 2 * 2**20
_NO_ROWS = np.zeros(0, dtype=np.int64)
_NO_SIGN = np.zeros(0, dtype=np.int8)


class OutsideCacheError(ValueError):
    """A detector reaching pixels beyond the cache radius of a bounded :class:`PolarCache`.

    Attributes
    ----------
    outer : float
        The radius asked for (detector units).
    cache_radius : float
        The cache's radius (detector units): every pixel with a smaller radius is cached.
    """

    def __init__(self, outer: float, cache_radius: float) -> None:
        super().__init__(
            f"outer radius {outer:g} reaches beyond the cache radius {cache_radius:g} "
            "(detector units); build a cache with a larger cache_radius"
        )
        self.outer = outer
        self.cache_radius = cache_radius


def cached_pixels(cube: Datacube, center: tuple[float, float], cache_radius: float) -> int:
    """How many detector pixels a cache of ``cache_radius`` (detector units) holds.

    Pixels with ``radius < cache_radius`` around ``center`` (qx, qy in pixels) are cached.
    """
    geometry = pixel_geometry(cube.detector_shape, center, cube.detector_sampling)
    return int(np.count_nonzero(geometry.radius < cache_radius))


def slab_rows(
    radius: np.ndarray,
    n_cached: int,
    cache_radius: float,
    inner: float,
    outer: float,
    whole_detector_ok: bool = False,
) -> tuple[int, int]:
    """Row range [k0, k1) of the pixels with ``inner <= radius < outer`` in a radius-sorted
    cache holding the first ``n_cached`` of the sorted pixel ``radius`` values.

    Raises :class:`OutsideCacheError` when the range reaches beyond the cached rows (unless it
    is the whole detector and ``whole_detector_ok``).
    """
    k0 = int(np.searchsorted(radius, inner, side="left"))
    k1 = max(k0, int(np.searchsorted(radius, outer, side="left")))
    whole = k0 == 0 and k1 == radius.size
    if k1 > n_cached and not (whole and whole_detector_ok):
        raise OutsideCacheError(float(outer), cache_radius)
    return k0, k1


def numba_available() -> bool:
    """True when numba is installed (it enables the fused parallel CPU kernels)."""
    return numba_installed()


def cache_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype the cache stores data of ``dtype`` in: native byte order; uint64 as int64
    (the same bits; exact while values and sums stay below 2**63)."""
    dtype = np.dtype(dtype).newbyteorder("=")
    return np.dtype(np.int64) if dtype == np.uint64 else dtype


def numba_ready(dtype: np.dtype) -> bool:
    """True when the numba kernels of the cache for cache dtype ``dtype`` are ready here.

    The first call for a dtype starts making them ready in the background (from numba's disk
    cache, else compiled in a low-priority child process: :mod:`dpc_widgets.core.warmup`) and
    returns False; later calls return True once that is done. False for good when numba is not
    installed or fails to compile.
    """
    return kernels_ready("cache", dtype)


def wait_for_numba(dtype: np.dtype, timeout: float | None = None) -> bool:
    """Block until the kernels for ``dtype`` are ready (see :func:`numba_ready`)."""
    return wait_for_kernels("cache", dtype, timeout)


@dataclasses.dataclass
class _SegmentState:
    """Weights and sums of the last segment geometry (the integer pixel weights live in
    ``PolarCache._weights``; sums are in sub-sample units: ``subsample**2`` per pixel)."""

    key: tuple[float, float, int, float, int]
    k0: int
    k1: int
    sums: Any  # (N, P) accumulator
    counts: np.ndarray  # sub-samples per segment
    drift_rows: int = 0


@dataclasses.dataclass
class _AnnulusState:
    key: tuple[float, float]
    k0: int
    k1: int
    sums: Any  # (3, P) accumulator: sum v, v * wi, v * wj
    drift_rows: int = 0


class PolarCache:
    """Pixel-major, radius-sorted copy of a cube answering detector sums in milliseconds.

    Parameters
    ----------
    cube : Datacube
        The data, read once block by block (``cube.blocks``) and never modified.
    center : (float, float)
        Detector centre (qx, qy) in pixels; radii, angles and moments are taken around it.
    xp : module
        :mod:`numpy` or :mod:`cupy`. With CuPy the cache lives on the GPU (each block is uploaded
        once) and every operation is a CuPy array operation.
    use_numba : bool, optional
        Use the parallel numba kernels (NumPy only). ``None``: when numba is installed and its
        kernels for this dtype are ready (:mod:`dpc_widgets.core.warmup`: loaded from numba's
        disk cache, or compiled in a child process, seconds on an empty cache); until then the
        NumPy path answers, block by block and call by call, with bit-identical results.
    max_block_bytes : int
        Size of the blocks read from the cube in the load pass.
    cache_radius : float
        Keep only the pixels with ``radius < cache_radius`` (detector units) in the cache;
        ``math.inf`` (default) keeps the whole detector.
    memory_budget : int, optional
        Bytes the pixel-major copy may take; default: 40 % of the memory available when the
        cache is built (see :mod:`dpc_widgets.core.memory`).
    progress : bool
        Show a ``tqdm.auto`` progress bar during the load pass when it takes over a second.
    on_progress : callable, optional
        Called as ``on_progress(done, total)`` (scan positions) after each block of the load
        pass (e.g. to drive a progress bar in a widget).

    Attributes
    ----------
    pattern_sum : ndarray (Qx, Qy)
        Sum of all patterns (int64 for integer data: exact; float64 otherwise), from the load
        pass: the mean pattern without a pass of its own.
    moments : array (3, P), float64
        Per scan position (flat index ``rx * Ry + ry``): ``sum I``, ``sum I * dx`` and
        ``sum I * dy`` over the whole detector, ``dx, dy`` the pixel offsets from ``center``.
    cache_radius : float
        Every pixel with a smaller radius (detector units) is cached; ``math.inf`` when the
        whole detector is.
    last_update : str
        How the last :meth:`segment_sums` or :meth:`annulus_moments` call was answered:
        ``"cached"`` (same geometry), ``"incremental"`` or ``"recompute"``.
    nonfinite_pixels : int
        NaN / inf pixels of the data, set to 0 in every sum (the data is not modified).

    Raises
    ------
    DataRangeError
        A ``ValueError``: finite floats whose pattern sums overflow float64 (naming the first
        scan position (rx, ry)), or integers whose sums could overflow int64 (naming the dtype
        and value); see :mod:`dpc_widgets.io.values`.
    ValueError
        If ``use_numba=True`` with a non-NumPy ``xp``.
    ImportError
        If ``use_numba=True`` and numba is not installed.
    CacheMemoryError
        A ``MemoryError`` raised before anything large is allocated, when the pixel-major copy
        would exceed the memory budget; the message names both sizes.

    Notes
    -----
    Memory: ``nbytes`` is about the cube's size (8-byte integers are stored as int64 bits; all
    others in their own dtype, native byte order). Segment membership is computed with
    :func:`dpc_widgets.detectors.segment_labels` on the sorted pixel radii and angles, so the sums
    agree pixel for pixel with ``SegmentedDetector.masks``. Updates are serialised by a lock
    (calls from several threads are safe, and never overlap).
    """

    def __init__(
        self,
        cube: Datacube,
        center: tuple[float, float],
        xp: ModuleType = np,
        *,
        use_numba: bool | None = None,
        max_block_bytes: int = DEFAULT_BLOCK_BYTES,
        cache_radius: float = math.inf,
        memory_budget: int | None = None,
        progress: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        if use_numba and xp is not np:
            raise ValueError(f"use_numba=True needs xp=numpy, got xp={xp.__name__}")
        if use_numba and not numba_available():
            raise ImportError("use_numba=True needs numba: pip install numba")
        self.cube = cube
        self.center = (float(center[0]), float(center[1]))
        self.xp = xp
        self._numba_mode = "auto" if use_numba is None and xp is np else bool(use_numba)
        self.last_update = "recompute"
        self._lock = threading.Lock()

        geometry = pixel_geometry(cube.detector_shape, self.center, cube.detector_sampling)
        order = np.argsort(geometry.radius.ravel(), kind="stable")
        self._order = order
        self._radius = geometry.radius.ravel()[order]
        self._angle = geometry.angle.ravel()[order]
        self._weights = np.zeros((order.size, 0), dtype=np.int16)  # (K, N) of the last key
        self._border_width: np.ndarray | None = None  # per sorted pixel, for area weights

        dtype = cache_dtype(cube.dtype)
        self._integer = dtype.kind in "ui"
        self._dtype = dtype
        self._acc = np.dtype(np.int64 if self._integer else np.float64)
        # Moment weights: pixel index minus the integer part of the centre (exact in integers).
        qy = cube.detector_shape[1]
        self._base = (math.floor(self.center[0]), math.floor(self.center[1]))
        wi, wj = np.divmod(order, qy)
        self._wi = (wi - self._base[0]).astype(self._acc)
        self._wj = (wj - self._base[1]).astype(self._acc)
        # Integer segment sums use int32 partials for 8/16-bit data, flushed every `flush` rows.
        if self._integer and dtype.itemsize <= 2:
            info = np.iinfo(dtype)
            self._part = np.dtype(np.int32)
            self._flush = int(np.iinfo(np.int32).max // max(abs(int(info.min)), int(info.max)))
        else:
            self._part = self._acc
            self._flush = max(1, order.size)

        n_pos = cube.scan_shape[0] * cube.scan_shape[1]
        self._n_pos = n_pos
        if not cache_radius > 0:
            raise ValueError(
                f"cache_radius must be positive (detector units), got {cache_radius!r}"
            )
        self._n_cached = int(np.searchsorted(self._radius, cache_radius, side="left"))
        self.cache_radius = float(cache_radius) if self._n_cached < order.size else math.inf
        check_allocation(
            self._n_cached * n_pos * dtype.itemsize,
            memory_budget,
            f"the pixel-major cache of the {cube.shape} {cube.dtype} cube",
            "give a larger memory_budget= (bytes) if the machine has the memory, or open a "
            "smaller part of the data (crop the scan or bin the detector)",
        )
        self._pix = xp.empty((self._n_cached, n_pos), dtype=dtype)
        self.moments = self._to_moments(self._load(max_block_bytes, progress, on_progress))
        self._segments: _SegmentState | None = None
        self._annulus: _AnnulusState | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (a Dask worker may move or spill a cache): the module by name, no lock."""
        state = self.__dict__.copy()
        state["xp"] = self.xp.__name__
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["xp"] = importlib.import_module(state["xp"])
        state["_lock"] = threading.Lock()
        self.__dict__.update(state)

    # ------------------------------------------------------------------ public
    @property
    def use_numba(self) -> bool:
        """Whether the next operation runs on the numba kernels (else on the NumPy path)."""
        if self._numba_mode == "auto":
            return numba_ready(self._dtype)
        return self._numba_mode

    @property
    def nbytes(self) -> int:
        """Bytes held: the pixel-major copy, the moments and the per-pixel tables."""
        held = [self._pix, self.moments]
        if self._segments is not None:
            held.append(self._segments.sums)
        if self._annulus is not None:
            held.append(self._annulus.sums)
        host = [self._order, self._radius, self._angle, self._weights, self._wi, self._wj]
        if self._border_width is not None:
            host.append(self._border_width)
        return int(sum(a.nbytes for a in held) + sum(a.nbytes for a in host))

    def segment_sums(
        self, inner: float, outer: float, segments: int, rotation_rad: float, subsample: int = 1
    ):
        """Sum of every segment at every scan position: exact (weighted) mask sums.

        Parameters
        ----------
        inner, outer : float
            Annulus radii in the cube's detector units (``inner <= radius < outer``).
        segments : int
            Number of segments N (validated by the detector classes).
        rotation_rad : float
            Rotation offset in radians (see :func:`dpc_widgets.detectors.segment_labels`).
        subsample : int
            1: binary masks (pixel-centre rule); ``s > 1``: area weights counted on ``s x s``
            sub-samples (:func:`dpc_widgets.detectors.segment_weights`).

        Returns
        -------
        array (N, P)
            A new array. ``subsample == 1``: int64 for integer data, float64 for floating-point
            data. Else float64 ``(sum over pixels of count * I) / subsample**2``, the numerator
            exact for integer data (int64) and the division exact (a power of two).
        """
        key = (float(inner), float(outer), int(segments), float(rotation_rad), int(subsample))
        with self._lock:
            return scale_sums(self._segment_sums(key), key[4])

    def segment_counts(
        self, inner: float, outer: float, segments: int, rotation_rad: float, subsample: int = 1
    ) -> np.ndarray | None:
        """Each segment's weights summed over the detector (its area in sub-sample units,
        int64, shape (N,)) when the last :meth:`segment_sums` was of this geometry, else None.

        Kept up to date with the sums (no work of its own): every pixel with a weight in the
        annulus is in the cache whenever its sums are.
        """
        key = (float(inner), float(outer), int(segments), float(rotation_rad), int(subsample))
        with self._lock:
            state = self._segments
            return None if state is None or state.key != key else state.counts.copy()

    def _segment_sums(self, key: tuple[float, float, int, float, int]):
        """The accumulated (N, P) sums in sub-sample units (the state's own array)."""
        state = self._segments
        if state is not None and state.key == key:
            self.last_update = "cached"
            return state.sums
        k0, k1 = self._slab(*self._reach(key))
        if state is None or state.key[2] != key[2] or state.key[4] != key[4]:
            self._segments = self._recompute_segments(key, k0, k1)
            return self._segments.sums

        # Rows whose weights may change: those near the old or new radii when only the radii
        # moved, else everything in the old or the new annulus.
        if state.key[3] == key[3]:
            m = weighted_reach(self.cube.detector_sampling, key[4])
            ranges = _merge(
                [
                    self._rows_between(state.key[0], key[0], m),
                    self._rows_between(state.key[1], key[1], m),
                ]
            )
        else:
            ranges = [(min(k0, state.k0), max(k1, state.k1))]
        rows = np.concatenate([np.arange(a, b) for a, b in ranges] + [_NO_ROWS])
        if key[4] > 1 and state.key[:2] == key[:2]:
            rows = self._turned_rows(rows, state.key[3], key)
        old = self._weights[rows]
        new = self._weights_of(rows, key)
        moved = np.flatnonzero((old != new).any(axis=1))
        too_many = moved.size >= k1 - k0
        drifted = not self._integer and state.drift_rows + moved.size > REFRESH_FACTOR * (k1 - k0)
        if too_many or drifted:
            self._segments = self._recompute_segments(key, k0, k1)
            return self._segments.sums

        rows, old, new = rows[moved], old[moved], new[moved]
        self._weights[rows] = new
        delta = new.astype(np.int32) - old
        state.counts += delta.sum(axis=0, dtype=np.int64)
        self._move_rows(state.sums, *_entries(rows, delta))
        empty = np.flatnonzero(state.counts == 0)
        if empty.size:
            state.sums[self.xp.asarray(empty)] = 0  # no rounding residue in empty segments
        state.key, state.k0, state.k1 = key, k0, k1
        state.drift_rows += rows.size
        self.last_update = "incremental"
        return state.sums

    def _turned_rows(self, rows: np.ndarray, rotation: float, key) -> np.ndarray:
        """Of ``rows``, those whose area weights may change when only the rotation changes
        (from ``rotation`` to ``key``'s): near an old or a new segment border, or with a new
        centre segment. Every other pixel lies wholly in its centre's segment both times, and
        its ring-edge weight depends on the radii alone."""
        n, new_rotation = key[2], key[3]
        radius, angle = self._radius[rows], self._angle[rows]
        r_px = radius / self.cube.detector_sampling
        # the angular segment of the centre, also for a pixel whose centre lies outside the
        # annulus while some of its sub-samples lie inside (the ring edges' pixels)
        centre = segment_labels(radius, angle, 0.0, math.inf, n, new_rotation)
        old_centre = segment_labels(radius, angle, 0.0, math.inf, n, rotation)
        keep = centre != old_centre
        if self._border_width is None:
            self._border_width = border_width(self._radius / self.cube.detector_sampling)
        width = self._border_width[rows]
        keep |= near_segment_border(r_px, angle, n, rotation, width)
        keep |= near_segment_border(r_px, angle, n, new_rotation, width)
        return rows[keep]

    def _reach(self, key) -> tuple[float, float]:
        """Radii between which the pixel centres of a weighted annulus lie (detector units)."""
        m = weighted_reach(self.cube.detector_sampling, key[4])
        return key[0] - m, key[1] + m

    def _rows_between(self, r0: float, r1: float, margin: float) -> tuple[int, int]:
        """Sorted rows with centre radius in ``[min - margin, max + margin]`` (all when equal
        radii and no margin: none)."""
        lo, hi = min(r0, r1), max(r0, r1)
        if margin == 0:
            return (
                int(np.searchsorted(self._radius, lo, side="left")),
                int(np.searchsorted(self._radius, hi, side="left")),
            )
        if r0 == r1:
            return (0, 0)
        return (
            int(np.searchsorted(self._radius, lo - margin, side="left")),
            min(self._n_cached, int(np.searchsorted(self._radius, hi + margin, side="right"))),
        )

    def covers(self, outer: float) -> bool:
        """Whether every pixel with ``radius < outer`` (detector units) is cached."""
        return int(np.searchsorted(self._radius, outer, side="left")) <= self._n_cached

    def annulus_moments(self, inner: float, outer: float):
        """Per-pattern ``sum I``, ``sum I * dx``, ``sum I * dy`` over ``inner <= radius < outer``.

        Parameters
        ----------
        inner, outer : float
            Annulus radii in the cube's detector units.

        Returns
        -------
        array (3, P), float64
            A new array; ``dx``, ``dy`` are pixel offsets from ``center``.
        """
        with self._lock:
            return self._annulus_moments((float(inner), float(outer)))

    def _annulus_moments(self, key: tuple[float, float]):
        state = self._annulus
        if state is not None and state.key == key:
            self.last_update = "cached"
            return self._to_moments(state.sums)
        k0, k1 = self._slab(*key, whole_detector_ok=True)
        if k0 == 0 and k1 == self._order.size:
            self.last_update = "cached"
            return self.moments.copy()  # the whole detector: the load pass's sums
        if state is not None:
            # Rings to add (+1) and to remove (-1) on the inner and outer edges.
            pieces = [
                (k0, state.k0, +1) if k0 < state.k0 else (state.k0, k0, -1),
                (state.k1, k1, +1) if k1 > state.k1 else (k1, state.k1, -1),
            ]
            pieces = [(a, b, s) for a, b, s in pieces if a < b]
            moved = sum(b - a for a, b, _ in pieces)
            overlap = max(k0, state.k0) < min(k1, state.k1)
            drifted = not self._integer and state.drift_rows + moved > REFRESH_FACTOR * (k1 - k0)
            if overlap and moved < k1 - k0 and not drifted:
                rows = np.concatenate([np.arange(a, b) for a, b, _ in pieces] + [_NO_ROWS])
                sign = np.concatenate(
                    [np.full(b - a, s, np.int8) for a, b, s in pieces] + [_NO_SIGN]
                )
                self._move_moments(state.sums, rows, sign)
                state.key, state.k0, state.k1 = key, k0, k1
                state.drift_rows += moved
                self.last_update = "incremental"
                return self._to_moments(state.sums)
        sums = self.xp.zeros((3, self._n_pos), dtype=self._acc)
        rows = np.arange(k0, k1)
        self._move_moments(sums, rows, np.ones(rows.size, dtype=np.int8))
        self._annulus = _AnnulusState(key, k0, k1, sums)
        self.last_update = "recompute"
        return self._to_moments(sums)

    # ------------------------------------------------------------------ geometry
    def _slab(self, inner: float, outer: float, whole_detector_ok: bool = False) -> tuple[int, int]:
        """Sorted-row range [k0, k1) of the pixels with ``inner <= radius < outer``.

        Raises :class:`OutsideCacheError` when the range reaches beyond the cached rows
        (unless it is the whole detector and ``whole_detector_ok``).
        """
        return slab_rows(
            self._radius, self._n_cached, self.cache_radius, inner, outer, whole_detector_ok
        )

    def _weights_of(self, rows: np.ndarray, key) -> np.ndarray:
        """(len(rows), N) int16 sub-sample counts of ``rows`` in each segment of ``key``."""
        inner, outer, n, rotation, subsample = key
        i, j = np.divmod(self._order[rows], self.cube.detector_shape[1])
        return segment_weights(
            i - self.center[0],
            j - self.center[1],
            self.cube.detector_sampling,
            inner,
            outer,
            n,
            rotation,
            subsample,
            radius=self._radius[rows],
            angle=self._angle[rows],
        )

    def _recompute_segments(self, key, k0: int, k1: int) -> _SegmentState:
        if self._weights.shape[1] != key[2]:
            self._weights = np.zeros((self._order.size, key[2]), dtype=np.int16)
        elif self._segments is not None:
            self._weights[self._segments.k0 : self._segments.k1] = 0
        rows = np.arange(k0, k1)
        new = self._weights_of(rows, key)
        self._weights[k0:k1] = new
        sums = self.xp.zeros((key[2], self._n_pos), dtype=self._acc)
        self._move_rows(sums, *_entries(rows, new.astype(np.int32)))
        counts = new.sum(axis=0, dtype=np.int64)
        self.last_update = "recompute"
        return _SegmentState(key, k0, k1, sums, counts)

    # ------------------------------------------------------------------ arithmetic
    def _move_rows(self, sums, rows: np.ndarray, segs: np.ndarray, weights: np.ndarray) -> None:
        """``sums[s] = (sums[s] - removed[s]) + added[s]``: entry ``t`` adds ``weights[t]``
        times row ``rows[t]`` to segment ``segs[t]`` (removes, for a negative weight).

        Integer data (exact in any order): the rows of the largest weight (whole pixels of an
        area-weighted recompute) are summed unscaled and multiplied once."""
        if rows.size == 0:
            return
        heaviest = max(1, int(np.abs(weights).max()))
        unit = heaviest if self._integer and heaviest > 1 else 0
        if self.use_numba:
            from . import _kernels

            n = sums.shape[0]
            chunk = _numba_chunk(self._n_pos, 4 * n * (self._part.itemsize + self._acc.itemsize))
            # Integer partials hold at most `flush` unit-weight rows; floats are not flushed.
            flush = max(1, self._flush // heaviest) if self._part != self._acc else rows.size
            args = (
                self._pix,
                rows.astype(np.int64),
                segs.astype(np.int32),
                weights.astype(np.int32),
                sums,
                np.zeros(1, self._part),
                flush,
                unit,
                chunk,
            )
            work = rows.size * self._n_pos
            _kernels.parallel(_kernels.update_segments, -(-self._n_pos // chunk), *args, work=work)
            return
        xp = self.xp
        groups: dict[tuple[int, int], list] = {}
        for sign in (-1, 1):
            for s in np.unique(segs[np.sign(weights) == sign]):
                pick = (segs == s) & (np.sign(weights) == sign)
                picked, w = rows[pick], np.abs(weights[pick])
                parts = []
                if unit:
                    whole = w == unit
                    if whole.any():
                        parts.append((xp.asarray(picked[whole]), None, unit))
                    picked, w = picked[~whole], w[~whole]
                if picked.size:
                    ones = bool((w == 1).all())
                    scale = None if ones else xp.asarray(w.astype(self._acc))[:, None]
                    parts.append((xp.asarray(picked), scale, 1))
                groups[(int(s), sign)] = parts
        for p0, p1 in self._chunks(self._n_pos, rows.size * self._acc.itemsize):
            for s in sorted({s for s, _ in groups}):
                block = sums[s, p0:p1]
                for sign in (-1, 1):
                    for picked, scale, factor in groups.get((s, sign), ()):
                        values = self._pix[picked, p0:p1]
                        if scale is not None:
                            values = values.astype(self._acc) * scale
                        part = _column_sum(xp, values, self._acc)
                        if factor != 1:
                            part = part * factor
                        block = block - part if sign < 0 else block + part
                sums[s, p0:p1] = block

    def _move_moments(self, sums, rows: np.ndarray, sign: np.ndarray) -> None:
        """``sums = (sums - removed) + added`` over weighted rows (``sign`` +1 adds, -1 removes)."""
        if rows.size == 0:
            return
        if self.use_numba:
            from . import _kernels

            chunk = _numba_chunk(self._n_pos, 6 * self._acc.itemsize)
            args = (self._pix, rows.astype(np.int64), sign, self._wi[rows], self._wj[rows], sums)
            n_chunks = -(-self._n_pos // chunk)
            work = 3 * rows.size * self._n_pos
            _kernels.parallel(_kernels.update_moments, n_chunks, *args, chunk, work=work)
            return
        xp = self.xp
        parts = [(rows[sign == s], s) for s in (-1, 1) if np.any(sign == s)]
        for p0, p1 in self._chunks(self._n_pos, 2 * rows.size * self._acc.itemsize):
            block = sums[:, p0:p1]
            for part_rows, s in parts:
                slab = self._pix[xp.asarray(part_rows), p0:p1]
                partial = self._weighted(slab, self._wi[part_rows], self._wj[part_rows])
                block = block - partial if s < 0 else block + partial
            sums[:, p0:p1] = block

    def _weighted(self, slab, wi: np.ndarray, wj: np.ndarray):
        """(3, w) column sums of ``slab``, ``slab * wi`` and ``slab * wj`` (rows in order)."""
        xp = self.xp
        values = slab.astype(self._acc)
        wi = xp.asarray(wi)[:, None]
        wj = xp.asarray(wj)[:, None]
        return xp.stack(
            [
                _column_sum(xp, values, self._acc),
                _column_sum(xp, values * wi, self._acc),
                _column_sum(xp, values * wj, self._acc),
            ]
        )

    def _integer_moments(self, flat):
        """(3, n) exact sums of ``v``, ``v * wi``, ``v * wj`` of integer patterns ``flat`` (n, K)
        from their detector-row and -column sums (any order gives the same integers)."""
        xp = self.xp
        qx, qy = self.cube.detector_shape
        patterns = flat.reshape(-1, qx, qy)
        rows = patterns.sum(axis=2, dtype=np.int64)
        cols = patterns.sum(axis=1, dtype=np.int64)
        wi = xp.arange(qx, dtype=np.int64) - self._base[0]
        wj = xp.arange(qy, dtype=np.int64) - self._base[1]
        return xp.stack([rows.sum(axis=1), (rows * wi).sum(axis=1), (cols * wj).sum(axis=1)])

    def _chunks(self, n_pos: int, bytes_per_pos: int) -> list[tuple[int, int]]:
        """Scan-position ranges for the array path (larger steps on a GPU)."""
        budget = _XP_CHUNK_BYTES if self.xp is np else 32 * _XP_CHUNK_BYTES
        return _xp_chunks(n_pos, bytes_per_pos, budget)

    def _to_moments(self, raw):
        """float64 (sum v, sum v dx, sum v dy) from accumulated (sum v, sum v wi, sum v wj)."""
        total = raw[0].astype(np.float64)
        fx = self.center[0] - self._base[0]
        fy = self.center[1] - self._base[1]
        return self.xp.stack(
            [total, raw[1].astype(np.float64) - fx * total, raw[2].astype(np.float64) - fy * total]
        )

    # ------------------------------------------------------------------ load pass
    def _load(self, max_block_bytes: int, progress: bool, on_progress):
        """Fill the pixel-major copy block by block; return the (3, P) whole-detector sums."""
        from tqdm.auto import tqdm

        xp = self.xp
        raw = xp.empty((3, self._n_pos), dtype=self._acc)
        n_pix = self._order.size
        # Per-thread pattern sums, detector order (the numba path may take over mid-pass).
        threads = _kernels_threads() if self._numba_mode is not False and numba_available() else 1
        pattern = np.zeros((threads, n_pix), dtype=self._acc)
        n_keep = self._n_cached
        order = xp.asarray(self._order if not self._integer else self._order[:n_keep])
        if self._numba_mode == "auto":  # see dpc_widgets.core.streaming: waiting beats competing
            wait_until_settled("cache", self._dtype, timeout=5.0)
        bar = tqdm(
            total=self._n_pos,
            desc="building the detector cache",
            unit="patterns",
            delay=1.0,
            disable=not progress,
            leave=False,
        )
        self.nonfinite_pixels = 0  # NaN / inf pixels set to 0 (io/values.py)
        masked = False
        for start, stop, block in self.cube.blocks(max_block_bytes):
            bar.update(stop - start)
            if masked:  # NaN / inf met before (dead pixels repeat): mask up front
                block, count = masked_nonfinite(to_numpy(block))
                self.nonfinite_pixels += count
            self._load_block(block, start, stop, order, raw, pattern)
            if not self._integer:
                cleaned = _masked_block(raw[:, start:stop], block, start, self.cube.scan_shape)
                if cleaned is not None:  # again without its NaN / inf pixels
                    block, count = cleaned
                    self.nonfinite_pixels += count
                    masked = True
                    self._load_block(block, start, stop, order, raw, pattern)
                    _masked_block(raw[:, start:stop], block, start, self.cube.scan_shape)
            if on_progress is not None:
                on_progress(stop, self._n_pos)
        bar.close()
        if masked:  # NaN / inf reached the pattern sums: sum the masked data once more
            pattern = masked_pattern_sum(self.cube, max_block_bytes)[None]
        self.pattern_sum = pattern.sum(axis=0).reshape(self.cube.detector_shape)
        return raw

    def _load_block(self, block, start: int, stop: int, order, raw, pattern) -> None:
        """Copy the patterns of ``block`` (flat scan indices ``start:stop``) into the cache;
        their whole-detector sums into ``raw``, their pixel sums added to ``pattern``."""
        xp = self.xp
        n_pix = self._order.size
        n_keep = self._n_cached
        if self.use_numba:
            from . import _kernels

            flat = np.ascontiguousarray(to_numpy(block)).reshape(stop - start, n_pix)
            flat = flat.astype(self._dtype, copy=False)  # native byte order / int64 bits
            flat = read_only(flat)  # one compiled signature for files and arrays
            tile = _kernels.load_tile(flat.itemsize, self._integer)
            n_tiles = -(-(stop - start) // tile)
            if self._integer:
                qy = self.cube.detector_shape[1]
                kernel = _kernels.load_block_integer
                args = (flat, self._order, n_keep, qy, *self._base, self._pix, start, raw)
            else:
                kernel = _kernels.load_block
                args = (flat, self._order, n_keep, self._wi, self._wj, self._pix, start, raw)
            _kernels.parallel(kernel, n_tiles, *args, pattern, tile, work=flat.size, numbered=True)
            return
        flat = to_module(block, xp).reshape(stop - start, n_pix)
        flat = flat.astype(self._dtype, copy=False)
        per_pos = n_pix * (3 * self._acc.itemsize if not self._integer else 8)
        for p0, p1 in self._chunks(stop - start, per_pos):
            # A contiguous transpose, then whole rows gathered in sorted order.
            # Integer data: only the cached rows (its moments come from ``flat``).
            rows = xp.ascontiguousarray(flat[p0:p1].T)[order]
            self._pix[:, start + p0 : start + p1] = rows[:n_keep]
            if not self._integer:
                raw[:, start + p0 : start + p1] = self._weighted(rows, self._wi, self._wj)
        if self._integer:
            raw[:, start:stop] = self._integer_moments(flat)
        pattern[0] += to_numpy(flat.sum(axis=0, dtype=self._acc))


def scale_sums(sums, subsample: int):
    """A new array of segment sums from sums in sub-sample units: a copy for ``subsample == 1``,
    else float64 ``sums / subsample**2`` (exact division by a power of two)."""
    if subsample == 1:
        return sums.copy()
    return sums.astype(np.float64) / float(subsample * subsample)


def _entries(rows: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nonzero ``delta[t, s]`` of rows ``rows[t]`` as entries (row, segment, weight), row by
    row, segments ascending within a row (the order the sums add them in)."""
    t, seg = np.nonzero(delta)
    return rows[t], seg.astype(np.int32), delta[t, seg].astype(np.int32)


def read_only(array: np.ndarray) -> np.ndarray:
    """``array`` itself when read-only, else a read-only view of it (numba compiles a separate
    signature for writable arrays; the kernels take read-only inputs only)."""
    if not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    return view


def _kernels_threads() -> int:
    from . import _kernels

    return _kernels.threads()


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of half-open integer ranges, sorted, empty ones dropped."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(r for r in ranges if r[0] < r[1]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _numba_chunk(n_pos: int, bytes_per_pos: int) -> int:
    """Scan positions per kernel chunk: long contiguous row reads (2048 to 8192 values) with
    the chunk's partial sums within ``_NUMBA_CHUNK_BYTES``; chunks spread evenly on threads."""
    from . import _kernels

    threads = _kernels.threads()
    chunk = min(8192, max(2048, _NUMBA_CHUNK_BYTES // max(1, bytes_per_pos)))
    tasks = -(-n_pos // chunk)
    tasks = -(-tasks // threads) * threads
    chunk = -(-n_pos // tasks)
    return -(-chunk // 64) * 64 if chunk > 64 else chunk


def _xp_chunks(n_pos: int, bytes_per_pos: int, budget: int) -> list[tuple[int, int]]:
    """Ranges of scan positions for the array path, each at least 2 wide when ``n_pos >= 2``."""
    width = max(2, budget // max(1, bytes_per_pos))
    n = max(1, n_pos // width)
    bounds = [(i * n_pos) // n for i in range(n + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _column_sum(xp: ModuleType, values, dtype: np.dtype):
    """Sum over axis 0, adding the rows one after the other (as the numba kernels do).

    NumPy reduces a C-ordered (n, w) array along axis 0 row by row when ``w >= 2``; a single
    column would be summed pairwise, so it goes through the sequential ``cumsum``.
    """
    if values.shape[1] == 1 and values.shape[0] > 0:
        return values.cumsum(axis=0, dtype=dtype)[-1]
    return values.sum(axis=0, dtype=dtype)


def masked_pattern_sum(cube, max_block_bytes: int = DEFAULT_BLOCK_BYTES) -> np.ndarray:
    """float64 sum of all patterns (Qx * Qy,) with NaN / inf pixels counted as 0: one more pass,
    taken only when a pass met such pixels (its own pattern sums hold NaN)."""
    total = np.zeros(math.prod(cube.detector_shape), dtype=np.float64)
    for start, stop, block in cube.blocks(max_block_bytes):
        flat = to_numpy(block).reshape(stop - start, -1)
        summed = flat.sum(axis=0, dtype=np.float64)
        if not np.isfinite(summed).all():
            summed = masked_nonfinite(flat)[0].sum(axis=0, dtype=np.float64)
        total += summed
    return total


def _masked_block(sums, block, start: int, scan_shape: tuple[int, int]):
    """``None`` when every per-pattern sum of ``block`` (``sums`` (3, n): total and first
    moments) is finite; else ``(masked, count)``: the block with its NaN / inf pixels set to 0
    (a copy) and their number.

    Raises
    ------
    DataRangeError
        If a pattern of finite values has an infinite sum (too large for float64 sums), naming
        its scan position.
    """
    sums = to_numpy(sums)
    totals = sums[0]
    bad = np.flatnonzero(~np.isfinite(sums).all(axis=0))
    if bad.size == 0:
        return None
    masked, count = masked_nonfinite(to_numpy(block))
    if count == 0:  # finite values, infinite sums
        index = start + int(bad[0])
        rx, ry = divmod(index, scan_shape[1])
        raise DataRangeError(
            f"the pattern at scan position (rx, ry) = ({rx}, {ry}) sums to {totals[bad[0]]} "
            f"(first moments {sums[1, bad[0]]}, {sums[2, bad[0]]}): its values are too large "
            "for float64 sums"
        )
    return masked, count
