"""Numba kernels of the streaming pass (:mod:`dpc_widgets.core.streaming`): CPU, serial per call.

Imported only when numba is installed; a module of its own so that numba's disk cache of the
cache kernels (:mod:`~dpc_widgets.core._kernels`) and of these is independent. Integer data
goes through :func:`stream_block_integer` (exact int64 sums, any order), floating-point data
through :func:`stream_block_float`, which adds values in the order of the NumPy path of
:mod:`~dpc_widgets.core.streaming` and of a freshly computed detector cache (see "Order of
additions" there), so all of them return bit-identical sums and moments. Both release the GIL;
:func:`dpc_widgets.core._kernels.parallel` runs them on parts of a block at once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# stream_block_float transposes tiles whose rows are TILE_BYTES (one cache line) per detector
# pixel, reading RUN pixels along each pattern at a time (16: measured fastest here).
TILE_BYTES = 64
RUN = 16


@njit(cache=True, nogil=True)
def stream_block_integer(
    block, qy, base_i, base_j, seg_runs, ann_runs, raw, seg, ann, pattern, start, part, p0, p1
):  # pragma: no cover - compiled
    """Reduce the integer patterns ``p0:p1`` of ``block`` (n, K), detector order, ``qy`` per row.

    For each pattern ``q = start + p``, in int64 (``zero``: 0 in ``raw``'s dtype):

    - ``raw[:, q]``: whole-detector ``sum v``, ``sum v (i - base_i)``, ``sum v (j - base_j)``
      from the detector-row sums ``rs_i`` and column sums ``cols_j``;
    - ``seg[slot, q]``: the sum over the runs ``seg_runs[r] = (k0, k1, slot, weight)`` (pixels
      ``k0 <= k < k1`` of one detector row, each counted ``weight`` times), in the order of
      the runs;
    - ``ann[3 slot + m, q]``: ``sum v``, ``sum v (i - base_i)`` and ``sum v (j - base_j)`` over
      the runs ``ann_runs[r] = (k0, k1, slot, i)`` (``i``: their detector row);
    - ``pattern[part, k] += v`` (``part`` numbers the calling thread).
    """
    n_pix = block.shape[1]
    qx = n_pix // qy
    zero = raw.dtype.type(0)
    cols = np.empty(qy, raw.dtype)
    tseg = np.empty(seg.shape[0], raw.dtype)
    tann = np.empty(ann.shape[0], raw.dtype)
    pat = pattern[part]
    for p in range(p0, p1):
        row = block[p]
        cols[:] = zero
        s0 = zero
        s1 = zero
        for i in range(qx):
            off = i * qy
            rs = zero
            for c in range(qy):
                v = row[off + c] + zero
                rs += v
                cols[c] += v
                pat[off + c] += v
            s0 += rs
            s1 += rs * (i - base_i)
        s2 = zero
        for c in range(qy):
            s2 += cols[c] * (c - base_j)
        q = start + p
        raw[0, q] = s0
        raw[1, q] = s1
        raw[2, q] = s2
        tseg[:] = zero
        for r in range(seg_runs.shape[0]):
            slot = seg_runs[r, 2]
            t = zero
            for k in range(seg_runs[r, 0], seg_runs[r, 1]):
                t += row[k] + zero
            tseg[slot] += t * seg_runs[r, 3]
        for s in range(tseg.size):
            seg[s, q] = tseg[s]
        tann[:] = zero
        for r in range(ann_runs.shape[0]):
            k0 = ann_runs[r, 0]
            slot = 3 * ann_runs[r, 2]
            wi = ann_runs[r, 3] - base_i
            off = ann_runs[r, 3] * qy
            t0 = tann[slot]
            t1 = tann[slot + 1]
            t2 = tann[slot + 2]
            for k in range(k0, ann_runs[r, 1]):
                v = row[k] + zero
                t0 += v
                t1 += v * wi
                t2 += v * (k - off - base_j)
            tann[slot] = t0
            tann[slot + 1] = t1
            tann[slot + 2] = t2
        for s in range(tann.size):
            ann[s, q] = tann[s]


@njit(cache=True, nogil=True)
def stream_block_float(
    block,
    order,
    wi,
    wj,
    seg_ptr,
    seg_slot,
    seg_w,
    ann_in,
    raw,
    seg,
    ann,
    pattern,
    start,
    tile,
    part,
    t0,
    t1,
):  # pragma: no cover - compiled
    """Reduce the floating-point patterns of tiles ``t0:t1`` (``tile`` patterns each) of
    ``block`` (n, K) in float64.

    Pixels are visited in the order ``order`` (by radius: the detector cache's row order);
    ``wi``, ``wj``, the entries ``seg_ptr`` (K + 1), ``seg_slot``, ``seg_w`` and ``ann_in``
    (A, K) are in that order too. For each pattern ``q = start + p``: ``raw[:, q]`` gets
    ``sum v``, ``sum v wi``, ``sum v wj`` over the whole detector; ``seg[seg_slot[e], q]`` the
    sum of ``v`` (weight 1) or ``seg_w[e] * v`` over its pixels' entries ``e``;
    ``ann[3 a + m, q]`` the moments over the pixels with ``ann_in[a, t]``; each sum adds one
    value after the other in that order. ``pattern[part, k]`` adds each pattern's pixel ``k``.
    A tile is first transposed into a cache-resident (K, tile) buffer, so that each pixel's
    values over the tile's patterns are added at once (as the cache's load pass does).
    """
    n, n_pix = block.shape
    zero = raw.dtype.type(0)
    buffer = np.empty((n_pix, tile), block.dtype)
    sums = np.empty((3, tile), raw.dtype)
    tseg = np.empty((seg.shape[0], tile), raw.dtype)
    tann = np.empty((ann.shape[0], tile), raw.dtype)
    pat = pattern[part]
    for t in range(t0, t1):
        p0 = t * tile
        w = min(tile, n - p0)
        for k0 in range(0, n_pix, RUN):
            k1 = min(n_pix, k0 + RUN)
            for j in range(w):
                for k in range(k0, k1):
                    v = block[p0 + j, k]
                    buffer[k, j] = v
                    pat[k] += v + zero
        sums[:] = zero
        tseg[:] = zero
        tann[:] = zero
        for i in range(n_pix):
            src = buffer[order[i]]
            a = wi[i]
            b = wj[i]
            for j in range(w):
                v = src[j] + zero
                sums[0, j] += v
                sums[1, j] += v * a
                sums[2, j] += v * b
            for e in range(seg_ptr[i], seg_ptr[i + 1]):
                label = seg_slot[e]
                weight = seg_w[e]
                if weight == 1.0:
                    for j in range(w):
                        tseg[label, j] += src[j] + zero
                else:
                    for j in range(w):
                        tseg[label, j] += weight * (src[j] + zero)
            for m in range(ann_in.shape[0]):
                if ann_in[m, i]:
                    for j in range(w):
                        v = src[j] + zero
                        tann[3 * m, j] += v
                        tann[3 * m + 1, j] += v * a
                        tann[3 * m + 2, j] += v * b
        for j in range(w):
            q = start + p0 + j
            for m in range(3):
                raw[m, q] = sums[m, j]
            for s in range(tseg.shape[0]):
                seg[s, q] = tseg[s, j]
            for s in range(tann.shape[0]):
                ann[s, q] = tann[s, j]


def float_tile(itemsize: int) -> int:
    """Patterns per tile of :func:`stream_block_float`: 64 bytes (one cache line) per pixel."""
    return max(8, TILE_BYTES // itemsize)


def warm_calls(dtype: np.dtype) -> list[tuple]:
    """Tiny ``(kernel, args)`` calls typed like the real ones for cache dtype ``dtype``.

    Blocks are passed read-only (:mod:`~dpc_widgets.core.streaming` makes them so), so one
    compiled signature serves memory-mapped files and arrays alike.
    """
    dtype = np.dtype(dtype)
    integer = dtype.kind in "ui"
    acc = np.int64 if integer else np.float64
    block = np.zeros((2, 6), dtype)
    block.flags.writeable = False
    raw, seg, ann = np.zeros((3, 2), acc), np.zeros((1, 2), acc), np.zeros((3, 2), acc)
    pattern = np.zeros((1, 6), acc)
    if integer:
        seg_runs = np.array([[0, 2, 0, 1]], dtype=np.int64)
        ann_runs = np.array([[3, 5, 0, 1]], dtype=np.int64)
        args = (block, 3, 1, 1, seg_runs, ann_runs, raw, seg, ann, pattern, 0, 0, 0, 2)
        return [(stream_block_integer, args)]
    order, weights = np.arange(6, dtype=np.int64), np.zeros(6, np.float64)
    ptr, slots = np.arange(7, dtype=np.int64), np.zeros(6, np.int64)
    inside = np.ones((1, 6), np.bool_)
    tile = float_tile(dtype.itemsize)
    geometry = (order, weights, weights, ptr, slots, np.ones(6, np.float64), inside)
    args = (block, *geometry, raw, seg, ann, pattern, 0, tile, 0, 0, 1)
    return [(stream_block_float, args)]
