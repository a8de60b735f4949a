"""One streaming pass over a cube: exact detector sums without any cache.

Each block of scan rows (:meth:`Datacube.blocks`) goes through one fused reduction that yields,
for every pattern, the whole-detector moments (``sum v``, ``sum v dx``, ``sum v dy``), the
sums of every segment of the detector geometries asked for, and the moments over the annuli
asked for; over the scan it yields the pattern sum (the mean pattern). Nothing but these sums
is kept: memory is a few values per scan position, whatever the cube's size. This answers the
first image after one pass (the pixel-major cache of :class:`~dpc_widgets.core.engine.PolarCache`
can be filled afterwards) and gives exact full-resolution results where only a binned cache
fits (:meth:`dpc_widgets.core.DPC.stream_run`).

Every sum is over exactly the pixels of the explicit mask with their weights: a pixel's weight
in each segment is :func:`~dpc_widgets.detectors.segment_weights` (1 in the segment of
:func:`~dpc_widgets.detectors.segment_labels`, the formula of the masks, for binary masks;
sub-sample counts for area weights, divided by ``subsample**2`` at the end, exactly); an annulus
holds the pixels with ``inner <= radius < outer``.

Order of additions. Integer data is summed in int64, exact in any order: over runs of pixels
``k0 <= k < k1`` of one detector row (flat detector index ``k = i * Qy + j``) with the same
label, and the whole-detector moments from detector-row and -column sums. Floating-point data
is summed in float64 with the pixels in the order of the detector cache's rows (by radius,
``np.argsort(radius, kind="stable")``), each sum adding one value after the other: exactly the
additions of a freshly computed :class:`~dpc_widgets.core.engine.PolarCache` (its load pass
and a recomputed annulus), so a first view from the stream and the same view from a new cache
agree bit for bit. The numba kernels (:mod:`~dpc_widgets.core._stream_kernels`) answer blocks
once they are ready (:mod:`~dpc_widgets.core.warmup`), the NumPy path before: both return
bit-identical sums and moments. The pattern sum of floating-point data is exact up to rounding
(the kernel's threads sum parts of the scan).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from ..backend import to_module, to_numpy
from ..detectors import pixel_geometry, segment_weights
from ..io import Datacube
from ..io.datacube import DEFAULT_BLOCK_BYTES
from ..io.values import masked_nonfinite
from .engine import (
    _column_sum,
    _masked_block,
    cache_dtype,
    masked_pattern_sum,
    read_only,
    scale_sums,
)
from .warmup import kernels_ready, wait_until_settled

#: A segment geometry: (inner, outer, segments, rotation in radians, sub-samples per pixel side),
#: radii in detector units; 1 sub-sample: binary masks, more: area weights.
SegmentKey = tuple[float, float, int, float, int]
#: An annulus: (inner, outer) in detector units.
AnnulusKey = tuple[float, float]
# Bytes of float64 temporaries per step of the NumPy path.
_CHUNK_BYTES = 16 * 2**20
# Seconds the pass waits at most for numba's disk cache to answer (it takes about half a second).
_SETTLE_S = 5.0


class NotStreamedError(LookupError):
    """A geometry that the streaming pass did not compute (:class:`StreamedSums` answers only
    the geometries it was asked for)."""


def segment_key(
    inner: float, outer: float, segments: int, rotation_rad: float, subsample: int = 1
) -> SegmentKey:
    """The normalised key of a segment geometry (as :class:`PolarCache` keys it)."""
    return (float(inner), float(outer), int(segments), float(rotation_rad), int(subsample))


@dataclasses.dataclass(frozen=True)
class StreamPlan:
    """The geometries one pass computes, laid out for the kernels and the NumPy path.

    Attributes
    ----------
    segments : tuple of SegmentKey
        Segment geometries; geometry ``g``'s segment ``s`` is slot ``offsets[g] + s``.
    annuli : tuple of AnnulusKey
        Annuli; annulus ``a`` is slot ``a`` of the annulus moments.
    offsets : tuple of int
        First slot of each segment geometry.
    n_slots : int
        Number of segment slots.
    integer : bool
        Integer data: the geometries as runs (``seg_runs``, ``ann_runs``); floating-point data:
        as weighted entries in the cache's pixel order (``order``, ``wi``, ``wj``,
        ``seg_ptr``, ``seg_slot``, ``seg_w``, ``ann_in``). The other layout's arrays are empty.
    seg_runs : ndarray (R, 4) int64
        ``(k0, k1, slot, weight)`` for each run of pixels of one detector row with the same
        integer weight (sub-samples) in a segment, sorted by ``k0``.
    ann_runs : ndarray (A, 4) int64
        ``(k0, k1, annulus, detector row)`` for each run of an annulus, sorted by ``k0``.
    order : ndarray (K,) int64
        Pixels by radius (stable): the detector cache's row order.
    wi, wj : ndarray (K,) float64
        Pixel offsets ``i - base_i``, ``j - base_j`` in that order.
    seg_ptr : ndarray (K + 1,) int64
        Pixel ``t`` (in that order) has the entries ``seg_ptr[t]:seg_ptr[t + 1]``.
    seg_slot, seg_w : ndarray (E,) int64, float64
        Each entry's slot and integer weight (sub-samples), slots ascending per pixel.
    ann_in : ndarray (A, K) bool
        Whether each pixel lies in annulus ``a``, in that order.
    """

    segments: tuple[SegmentKey, ...]
    annuli: tuple[AnnulusKey, ...]
    offsets: tuple[int, ...]
    n_slots: int
    integer: bool
    seg_runs: np.ndarray
    ann_runs: np.ndarray
    order: np.ndarray
    wi: np.ndarray
    wj: np.ndarray
    seg_ptr: np.ndarray
    seg_slot: np.ndarray
    seg_w: np.ndarray
    ann_in: np.ndarray

    @classmethod
    def build(
        cls,
        cube: Datacube,
        center: tuple[float, float],
        segments: Sequence[SegmentKey] = (),
        annuli: Sequence[AnnulusKey] = (),
    ) -> StreamPlan:
        """The plan of ``segments`` and ``annuli`` around ``center`` (qx, qy in pixels)."""
        segments = tuple(dict.fromkeys(segment_key(*key) for key in segments))
        annuli = tuple(dict.fromkeys((float(a), float(b)) for a, b in annuli))
        geometry = pixel_geometry(cube.detector_shape, center, cube.detector_sampling)
        radius, angle = geometry.radius.ravel(), geometry.angle.ravel()
        qy = cube.detector_shape[1]
        offsets = tuple(int(v) for v in np.cumsum([0] + [key[2] for key in segments])[:-1])
        n_slots = sum(key[2] for key in segments)
        integer = cache_dtype(cube.dtype).kind in "ui"
        none = np.zeros(0, dtype=np.int64)
        sampling = cube.detector_sampling
        dx, dy = geometry.dx.ravel(), geometry.dy.ravel()

        def weights(pixels: np.ndarray) -> np.ndarray:  # (len(pixels), n_slots) sub-samples
            parts = [
                segment_weights(
                    dx[pixels],
                    dy[pixels],
                    sampling,
                    *key,
                    radius=radius[pixels],
                    angle=angle[pixels],
                )
                for key in segments
            ]
            return np.concatenate(parts + [np.zeros((pixels.size, 0), np.int16)], axis=1)

        if integer:
            runs, ann = [], []
            every = np.arange(radius.size)
            for slot, column in enumerate(weights(every).T):
                k0, k1, weight = _runs(np.where(column > 0, column, -1), qy)
                runs.append(np.stack([k0, k1, np.full(k0.size, slot), weight], axis=1))
            for index, (inner, outer) in enumerate(annuli):
                inside = np.where((radius >= inner) & (radius < outer), index, -1)
                k0, k1, label = _runs(inside, qy)
                ann.append(np.stack([k0, k1, label, k0 // qy], axis=1))
            layout = (_sorted_runs(runs, 4), _sorted_runs(ann, 4), none, none, none)
            layout += (none, none, np.zeros(0, np.float64), np.zeros((0, 0), bool))
        else:
            order = np.argsort(radius, kind="stable")
            r = radius[order]
            base = (math.floor(center[0]), math.floor(center[1]))
            wi, wj = np.divmod(order, qy)
            dense = weights(order)
            pixel, slot = np.nonzero(dense)  # pixel by pixel, slots ascending
            ptr = np.searchsorted(pixel, np.arange(order.size + 1)).astype(np.int64)
            inside = [(r >= inner) & (r < outer) for inner, outer in annuli]
            layout = (
                np.zeros((0, 3), np.int64),
                np.zeros((0, 4), np.int64),
                order.astype(np.int64),
                (wi - base[0]).astype(np.float64),
                (wj - base[1]).astype(np.float64),
                ptr,
                slot.astype(np.int64),
                dense[pixel, slot].astype(np.float64),
                np.array(inside, dtype=bool).reshape(len(annuli), order.size),
            )
        return cls(segments, annuli, offsets, n_slots, integer, *layout)


def _runs(labels: np.ndarray, qy: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs ``(k0, k1, label)`` of equal labels >= 0 within detector rows of ``qy`` pixels."""
    n = labels.size
    starts = np.ones(n, dtype=bool)
    starts[1:] = labels[1:] != labels[:-1]
    starts[::qy] = True
    k0 = np.flatnonzero(starts)
    k1 = np.append(k0[1:], n)
    label = labels[k0].astype(np.int64)
    keep = label >= 0
    return k0[keep], k1[keep], label[keep]


def _sorted_runs(parts: list[np.ndarray], width: int) -> np.ndarray:
    if not parts:
        return np.zeros((0, width), dtype=np.int64)
    runs = np.concatenate(parts).astype(np.int64)
    return np.ascontiguousarray(runs[np.argsort(runs[:, 0], kind="stable")])


class StreamedSums:
    """What one streaming pass computed: exact sums of the geometries it was asked for.

    Answers like a :class:`~dpc_widgets.core.engine.PolarCache` for those geometries (same
    arguments, same arrays) and raises :class:`NotStreamedError` for any other. Built by
    :func:`stream_pass`.

    Attributes
    ----------
    center : (float, float)
        Detector centre (qx, qy) in pixels of the radii, angles and moments.
    pattern_sum : ndarray (Qx, Qy)
        Sum of all patterns (int64 for integer data, float64 otherwise).
    moments : array (3, P), float64
        Per scan position: ``sum I``, ``sum I dx``, ``sum I dy`` over the whole detector.
    cache_radius : float
        0.0: no detector pixel is cached.
    last_update : str
        ``"streamed"``.
    """

    cache_radius = 0.0
    last_update = "streamed"
    nonfinite_pixels = 0  # NaN / inf pixels the pass set to 0 (set by stream_pass)

    def __init__(
        self,
        plan: StreamPlan,
        center: tuple[float, float],
        pattern_sum: np.ndarray,
        moments,
        segments: dict[SegmentKey, Any],
        annuli: dict[AnnulusKey, Any],
    ) -> None:
        self.plan = plan
        self.center = center
        self.pattern_sum = pattern_sum
        self.moments = moments
        self._segments = segments
        self._annuli = annuli

    @property
    def nbytes(self) -> int:
        """Bytes held by the sums."""
        held = [self.moments, *self._segments.values(), *self._annuli.values()]
        return int(sum(a.nbytes for a in held) + self.pattern_sum.nbytes)

    def covers(self, outer: float) -> bool:
        """False: nothing is cached (only the geometries streamed are answered)."""
        return False

    def answers(
        self, segments: Sequence[SegmentKey] = (), annuli: Sequence[AnnulusKey] = ()
    ) -> bool:
        """Whether every geometry of ``segments`` and ``annuli`` was streamed."""
        whole = (0.0, math.inf)
        return all(segment_key(*key) in self._segments for key in segments) and all(
            (float(a), float(b)) in self._annuli or (a, b) == whole for a, b in annuli
        )

    def segment_sums(
        self, inner: float, outer: float, segments: int, rotation_rad: float, subsample: int = 1
    ):
        """The (N, P) segment sums of a streamed geometry (a new array, as
        :meth:`PolarCache.segment_sums` returns them).

        Raises
        ------
        NotStreamedError
            For a geometry the pass did not compute.
        """
        key = segment_key(inner, outer, segments, rotation_rad, subsample)
        if key not in self._segments:
            raise NotStreamedError(f"segment geometry {key} was not streamed")
        return scale_sums(self._segments[key], key[4])

    def annulus_moments(self, inner: float, outer: float):
        """The (3, P) float64 moments over a streamed annulus (or the whole detector)."""
        key = (float(inner), float(outer))
        if key == (0.0, math.inf):
            return self.moments.copy()
        if key not in self._annuli:
            raise NotStreamedError(f"annulus {key} was not streamed")
        return self._annuli[key].copy()


def stream_pass(
    cube: Datacube,
    center: tuple[float, float],
    *,
    segments: Sequence[SegmentKey] = (),
    annuli: Sequence[AnnulusKey] = (),
    xp: ModuleType = np,
    use_numba: bool | None = None,
    max_block_bytes: int = DEFAULT_BLOCK_BYTES,
    progress: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> StreamedSums:
    """One pass over ``cube``: moments, pattern sum and the sums of ``segments`` and ``annuli``.

    Parameters
    ----------
    cube : Datacube
        The data, read once block by block and never modified.
    center : (float, float)
        Detector centre (qx, qy) in pixels.
    segments : sequence of (inner, outer, segments, rotation_rad[, subsample])
        Segment geometries to sum (radii in detector units, rotation in radians, sub-samples
        per pixel side: 1, the default, for binary masks).
    annuli : sequence of (inner, outer)
        Annuli whose moments to sum (detector units).
    xp : module
        :mod:`numpy` or :mod:`cupy`: the array module of the results (the pass runs on the CPU).
    use_numba : bool, optional
        ``None``: the numba kernel answers each block once it is ready, the NumPy path before;
        ``True`` waits for it; ``False`` never uses it.
    max_block_bytes : int
        Size of the blocks read.
    progress : bool
        Show a ``tqdm.auto`` progress bar when the pass takes over a second.
    on_progress : callable, optional
        Called as ``on_progress(done, total)`` (scan positions) after each block.

    Returns
    -------
    StreamedSums

    Raises
    ------
    DataRangeError
        If finite floating-point values sum to inf (naming the scan position), or integers
        could overflow int64 sums (:mod:`dpc_widgets.io.values`). NaN / inf pixels are set
        to 0 and counted (``StreamedSums.nonfinite_pixels``).
    ImportError
        If ``use_numba=True`` and numba is not installed.
    """
    center = (float(center[0]), float(center[1]))
    plan = StreamPlan.build(cube, center, segments, annuli)
    reducer = _Reducer(cube, center, plan)
    if use_numba:
        from .warmup import numba_installed, wait_for_kernels

        if not numba_installed():
            raise ImportError("use_numba=True needs numba: pip install numba")
        wait_for_kernels("stream", reducer.dtype)
    bar = _progress_bar(reducer.n_pos) if progress else None
    nonfinite = 0  # NaN / inf pixels set to 0 (io/values.py)
    for start, stop, block in cube.blocks(max_block_bytes):
        if nonfinite:  # NaN / inf met before (dead pixels repeat): mask up front
            block, count = masked_nonfinite(to_numpy(block))
            nonfinite += count
        flat = np.ascontiguousarray(to_numpy(block)).reshape(stop - start, -1)
        flat = read_only(flat.astype(reducer.dtype, copy=False))
        reducer.add(flat, start, use_numba is not False)
        if not reducer.integer:
            cleaned = _masked_block(reducer.raw[:, start:stop], block, start, cube.scan_shape)
            if cleaned is not None:  # again without its NaN / inf pixels
                nonfinite += cleaned[1]
                flat = read_only(cleaned[0].reshape(stop - start, -1).astype(reducer.dtype))
                reducer.add(flat, start, use_numba is not False)
                _masked_block(reducer.raw[:, start:stop], flat, start, cube.scan_shape)
        if bar is not None:
            bar.update(stop - start)
        if on_progress is not None:
            on_progress(stop, reducer.n_pos)
    if bar is not None:
        bar.close()
    if nonfinite:  # NaN / inf reached the pattern sums: sum the masked data once more
        reducer.pattern = masked_pattern_sum(cube, max_block_bytes)[None]
    result = reducer.result(xp)
    result.nonfinite_pixels = nonfinite
    return result


def _progress_bar(total: int):
    """A ``tqdm.auto`` bar over ``total`` scan positions, shown after a second (imported only
    when asked for: it takes a tenth of a second)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="streaming pass", unit="patterns", delay=1.0, leave=False)


class _Reducer:
    """The accumulators of one pass and the two ways of adding a block to them."""

    def __init__(self, cube: Datacube, center: tuple[float, float], plan: StreamPlan) -> None:
        self.cube, self.center, self.plan = cube, center, plan
        self.dtype = cache_dtype(cube.dtype)
        self.integer = plan.integer
        self.acc = np.dtype(np.int64 if self.integer else np.float64)
        self.qx, self.qy = cube.detector_shape
        self.base = (math.floor(center[0]), math.floor(center[1]))
        self.n_pos = cube.scan_shape[0] * cube.scan_shape[1]
        self.raw = np.zeros((3, self.n_pos), self.acc)
        self.seg = np.zeros((plan.n_slots, self.n_pos), self.acc)
        self.ann = np.zeros((3 * len(plan.annuli), self.n_pos), self.acc)
        self.pattern = np.zeros((1, self.qx * self.qy), self.acc)
        if self.integer:  # each slot's / annulus's pixels (the NumPy path gathers them)
            runs, ann = plan.seg_runs, plan.ann_runs
            self.slot_pixels = [
                _weighted_pixels(runs[runs[:, 2] == s]) for s in range(plan.n_slots)
            ]
            self.ann_pixels = [_pixels(ann[ann[:, 2] == a]) for a in range(len(plan.annuli))]

    def add(self, flat: np.ndarray, start: int, numba: bool) -> None:
        """Add the patterns ``flat`` (n, K) of flat scan indices ``start:start + n``: on the
        numba kernel when ``numba`` and it is ready, else chunk by chunk on the NumPy path
        until it becomes ready.

        Until the kernel is known to be missing from numba's disk cache it is waited for:
        loading it takes about half a second of interpreter time, which the NumPy path
        competing for the interpreter would only stretch.
        """
        if numba:
            wait_until_settled("stream", self.dtype, timeout=_SETTLE_S)
        done = 0
        while done < flat.shape[0]:
            if numba and kernels_ready("stream", self.dtype):
                self.numba(flat[done:], start + done)
                return
            done += self.numpy_chunk(flat[done:], start + done)

    # ------------------------------------------------------------------ numba
    def numba(self, flat: np.ndarray, start: int) -> None:
        from . import _kernels, _stream_kernels

        threads = _kernels.threads()
        if self.pattern.shape[0] < threads:  # one row of pattern sums per kernel thread
            grown = np.zeros((threads, self.pattern.shape[1]), self.acc)
            grown[: self.pattern.shape[0]] = self.pattern
            self.pattern = grown
        plan = self.plan
        sums = (self.raw, self.seg, self.ann, self.pattern, start)
        if self.integer:
            kernel = _stream_kernels.stream_block_integer
            args = (flat, self.qy, *self.base, plan.seg_runs, plan.ann_runs, *sums)
            n_items = flat.shape[0]
        else:
            kernel = _stream_kernels.stream_block_float
            geometry = (plan.order, plan.wi, plan.wj, plan.seg_ptr, plan.seg_slot, plan.seg_w)
            geometry += (plan.ann_in,)
            tile = _stream_kernels.float_tile(flat.itemsize)
            args = (flat, *geometry, *sums, tile)
            n_items = -(-flat.shape[0] // tile)
        _kernels.parallel(kernel, n_items, *args, work=flat.size, numbered=True)

    # ------------------------------------------------------------------ NumPy
    def numpy_chunk(self, flat: np.ndarray, start: int) -> int:
        """Add the first patterns of ``flat`` on the NumPy path (as many as have at most
        ``_CHUNK_BYTES`` of temporaries); returns how many."""
        per_pos = flat.shape[1] * (8 if self.integer else 32)
        chunk = flat[: max(1, _CHUNK_BYTES // per_pos)]
        q = slice(start, start + chunk.shape[0])
        if self.integer:
            self._integer_chunk(chunk, q)
        else:
            self._float_chunk(chunk, q)
        return chunk.shape[0]

    def _integer_chunk(self, chunk: np.ndarray, q: slice) -> None:
        """Exact int64 sums (any order gives the same integers)."""
        n = chunk.shape[0]
        patterns = chunk.reshape(n, self.qx, self.qy)
        rows = patterns.sum(axis=2, dtype=np.int64)
        cols = patterns.sum(axis=1, dtype=np.int64)
        self.raw[0, q] = rows.sum(axis=1)
        self.raw[1, q] = rows @ (np.arange(self.qx) - self.base[0])
        self.raw[2, q] = cols @ (np.arange(self.qy) - self.base[1])
        for slot, (pixels, weights) in enumerate(self.slot_pixels):
            if weights is None:
                self.seg[slot, q] = chunk[:, pixels].sum(axis=1, dtype=np.int64)
            else:
                self.seg[slot, q] = chunk[:, pixels].astype(np.int64) @ weights
        for index, pixels in enumerate(self.ann_pixels):
            values = chunk[:, pixels].astype(np.int64)
            i, j = np.divmod(pixels, self.qy)
            self.ann[3 * index, q] = values.sum(axis=1)
            self.ann[3 * index + 1, q] = values @ (i - self.base[0])
            self.ann[3 * index + 2, q] = values @ (j - self.base[1])
        self.pattern[0] += chunk.sum(axis=0, dtype=np.int64)

    def _float_chunk(self, chunk: np.ndarray, q: slice) -> None:
        """float64 sums over the pixels in the cache's order, one value after the other."""
        plan = self.plan
        values = chunk.astype(np.float64)
        rows = np.ascontiguousarray(values.T)[plan.order]  # (K, n), pixels by radius
        wi, wj = plan.wi[:, None], plan.wj[:, None]
        self.raw[:, q] = self._weighted(rows, wi, wj)
        pixel = np.repeat(np.arange(plan.order.size), np.diff(plan.seg_ptr))
        for slot in range(plan.n_slots):
            pick = plan.seg_slot == slot
            picked, weights = rows[pixel[pick]], plan.seg_w[pick]
            if not bool((weights == 1).all()):
                picked = picked * weights[:, None]
            self.seg[slot, q] = _column_sum(np, picked, self.acc)
        for a, inside in enumerate(plan.ann_in):
            self.ann[3 * a : 3 * a + 3, q] = self._weighted(rows[inside], wi[inside], wj[inside])
        self.pattern[0] += values.sum(axis=0)

    def _weighted(self, rows: np.ndarray, wi: np.ndarray, wj: np.ndarray) -> np.ndarray:
        """(3, n) column sums of ``rows``, ``rows * wi`` and ``rows * wj`` (rows in order)."""
        return np.stack(
            [
                _column_sum(np, rows, self.acc),
                _column_sum(np, rows * wi, self.acc),
                _column_sum(np, rows * wj, self.acc),
            ]
        )

    # ------------------------------------------------------------------ result
    def result(self, xp: ModuleType) -> StreamedSums:
        plan = self.plan
        segments = {
            key: to_module(self.seg[offset : offset + key[2]], xp)
            for key, offset in zip(plan.segments, plan.offsets, strict=True)
        }
        annuli = {
            key: to_module(self._moments(self.ann[3 * a : 3 * a + 3]), xp)
            for a, key in enumerate(plan.annuli)
        }
        pattern = self.pattern.sum(axis=0).reshape(self.qx, self.qy)
        moments = to_module(self._moments(self.raw), xp)
        return StreamedSums(plan, self.center, pattern, moments, segments, annuli)

    def _moments(self, raw: np.ndarray) -> np.ndarray:
        """float64 (sum v, sum v dx, sum v dy) from (sum v, sum v wi, sum v wj)."""
        total = raw[0].astype(np.float64)
        fx = self.center[0] - self.base[0]
        fy = self.center[1] - self.base[1]
        return np.stack(
            [total, raw[1].astype(np.float64) - fx * total, raw[2].astype(np.float64) - fy * total]
        )


def _weighted_pixels(runs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The pixels of ``runs`` (k0, k1, slot, weight) in increasing order and their int64
    weights (None when every weight is 1)."""
    pixels = _pixels(runs)
    weights = np.repeat(runs[:, 3], runs[:, 1] - runs[:, 0]).astype(np.int64)
    order = np.argsort(pixels, kind="stable")
    if bool((weights == 1).all()):
        return pixels[order], None
    return pixels[order], weights[order]


def _pixels(runs: np.ndarray) -> np.ndarray:
    """The pixels of ``runs`` (k0, k1, ...) in increasing order."""
    if runs.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.arange(k0, k1) for k0, k1 in runs[:, :2]])
