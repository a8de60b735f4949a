"""Numba kernels of :class:`~dpc_widgets.core.engine.PolarCache`: CPU, parallel over scan positions.

Imported only when numba is installed. Every kernel adds values in exactly the order the NumPy
path of the engine does (row by row, in the order of the given rows), so both paths return
bit-identical results, also for floating-point data.

Each kernel is serial, releases the GIL and works on a range of scan-position chunks (or tiles);
:func:`parallel` runs the ranges on a small pool of Python threads. (Numba's own ``prange``
thread pools spin while idle: on a busy two-core machine a spinning worker can take the core the
caller needs and turn a 0.1 ms update into a whole scheduler time slice, 8 ms here.)

Accumulator conventions: ``acc`` arrays are int64 for integer data and float64 for floating-point
data. Integer segment sums are first gathered in a narrower ``part`` array (int32 for 8- and
16-bit data) that is flushed into the int64 sums every ``flush`` rows, before it could overflow.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit

# Load pass: a task handles a tile of scan positions. Floating-point data: LOAD_FLOAT_TILE
# positions, transposed into a (K, tile) buffer (K detector pixels, read in runs of LOAD_RUN
# along each pattern; 512 KiB for a 128 x 128 float32 detector, the size of one core's L2
# here). Integer data: LOAD_INTEGER_TILE_BYTES per cached pixel, written into the cache in
# squares of TRANSPOSE_BLOCK values a side (see load_block_integer).
LOAD_FLOAT_TILE = 8
LOAD_INTEGER_TILE_BYTES = 128
LOAD_RUN = 32
TRANSPOSE_BLOCK = 16

# Values (rows x scan positions) below which a kernel runs on the calling thread only.
SERIAL_WORK = 2**19

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def threads() -> int:
    """Number of threads the kernels use (``NUMBA_NUM_THREADS``, default: the CPU count)."""
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


def parallel(kernel: Callable, n_items: int, *args, work: int, numbered: bool = False) -> None:
    """Run ``kernel(*args, start, stop)`` on contiguous parts of ``range(n_items)`` at once.

    The calling thread runs the first part; the others go to a pool of worker threads that
    sleep while idle. Returns when every part is done. Below ``SERIAL_WORK`` values to
    process (``work``), handing parts to other threads costs more than it saves: one part.
    With ``numbered``, the kernel is called as ``kernel(*args, part, start, stop)``, ``part``
    in ``range(threads())``: a kernel can then accumulate into its own row of an array.
    """
    n = min(threads(), n_items) if work >= SERIAL_WORK else 1
    if n <= 1:
        kernel(*args, *((0,) if numbered else ()), 0, n_items)
        return
    bounds = [(i * n_items) // n for i in range(n + 1)]
    pool = _worker_pool()
    parts = [(i,) if numbered else () for i in range(n)]
    futures = [pool.submit(kernel, *args, *parts[i], bounds[i], bounds[i + 1]) for i in range(1, n)]
    try:
        kernel(*args, *parts[0], bounds[0], bounds[1])
    finally:
        for future in futures:
            future.result()


def _worker_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(threads() - 1, thread_name_prefix="dpc-kernels")
        return _pool


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: it starts its own pool."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def load_tile(itemsize: int, integer: bool) -> int:
    """Scan positions per load tile for (``integer`` or floating-point) data of ``itemsize``
    bytes."""
    return max(8, LOAD_INTEGER_TILE_BYTES // itemsize) if integer else LOAD_FLOAT_TILE


@njit(cache=True, nogil=True)
def load_block(
    block, order, n_keep, wi, wj, out, start, raw, pattern, tile, part, t_start, t_stop
):  # pragma: no cover
    """Copy the tiles ``t_start:t_stop`` of ``block`` (n, K) into ``out[:, start:start + n]``.

    Floating-point data (integer data: :func:`load_block_integer`). Rows go in pixel order
    ``order``, the first ``n_keep`` of them only (a bounded cache); ``pattern[part, i]`` gets
    the sum of detector pixel ``i`` over the tiles' scan positions (in ``raw``'s dtype;
    ``part`` numbers the calling thread, see :func:`parallel`);
    ``raw[:, start:start + n]`` gets the whole-detector per-pattern sums of
    ``v``, ``v * wi`` and ``v * wj`` accumulated in that sorted order (``wi``, ``wj`` are
    sorted too). Each tile of ``tile`` scan positions is first transposed into a cache-resident
    (K, tile) buffer in detector order (adding each value to ``pattern[part]`` as it goes, a
    contiguous run), whose rows are then copied out and summed.
    """
    n, n_pix = block.shape
    buffer = np.empty((n_pix, tile), block.dtype)
    zero = raw.dtype.type(0)
    s0 = np.empty(tile, raw.dtype)
    s1 = np.empty(tile, raw.dtype)
    s2 = np.empty(tile, raw.dtype)
    sums = pattern[part]
    for t in range(t_start, t_stop):
        p0 = t * tile
        w = min(tile, n - p0)
        for k0 in range(0, n_pix, LOAD_RUN):
            k1 = min(n_pix, k0 + LOAD_RUN)
            for j in range(w):
                line = block[p0 + j]
                for k in range(k0, k1):
                    v = line[k]
                    buffer[k, j] = v
                    sums[k] += v
        s0[:] = 0
        s1[:] = 0
        s2[:] = 0
        for k in range(n_pix):
            src = buffer[order[k]]
            a = wi[k]
            b = wj[k]
            if k < n_keep:
                for j in range(w):
                    out[k, start + p0 + j] = src[j]
            for j in range(w):
                v = src[j] + zero
                s0[j] += v
                s1[j] += v * a
                s2[j] += v * b
        for j in range(w):
            raw[0, start + p0 + j] = s0[j]
            raw[1, start + p0 + j] = s1[j]
            raw[2, start + p0 + j] = s2[j]


@njit(cache=True, nogil=True)
def load_block_integer(
    block, order, n_keep, qy, base_i, base_j, out, start, raw, pattern, tile, part, t_start, t_stop
):  # pragma: no cover
    """:func:`load_block` for integer data: exact int64 moments from row and column sums.

    Each pattern (a contiguous row of ``block``, detector order, ``qy`` pixels per detector
    row) is read once for its row sums, column sums and ``pattern[part]`` sums; its moments
    are ``sum v``, ``sum_i (i - base_i) rowsum_i`` and ``sum_j (j - base_j) colsum_j``, exactly
    the per-pixel weighted sums in any order. While the pattern is still in the L1/L2 cache,
    its cached pixels (``order[:n_keep]``) are gathered into one row of a (tile, n_keep)
    buffer; the buffer is then transposed into ``out[:n_keep, start + p0:start + p0 + tile]``
    by :func:`_transpose_into` (``tile`` values per destination row and visit).
    """
    n, n_pix = block.shape
    qx = n_pix // qy
    zero = raw.dtype.type(0)
    cols = np.empty(qy, raw.dtype)
    compact = np.empty((tile, n_keep), block.dtype)
    square = np.empty((TRANSPOSE_BLOCK, TRANSPOSE_BLOCK), block.dtype)
    for t in range(t_start, t_stop):
        p0 = t * tile
        w = min(tile, n - p0)
        for j in range(w):
            row = block[p0 + j]
            cols[:] = 0
            s0 = zero
            s1 = zero
            for i in range(qx):
                offset = i * qy
                row_sum = zero
                for c in range(qy):
                    v = row[offset + c] + zero
                    row_sum += v
                    cols[c] += v
                    pattern[part, offset + c] += v
                s0 += row_sum
                s1 += row_sum * (i - base_i)
            s2 = zero
            for c in range(qy):
                s2 += cols[c] * (c - base_j)
            raw[0, start + p0 + j] = s0
            raw[1, start + p0 + j] = s1
            raw[2, start + p0 + j] = s2
            kept = compact[j]
            for k in range(n_keep):
                kept[k] = row[order[k]]
        _transpose_into(compact, w, n_keep, out, start + p0, square)


@njit(inline="always")
def _transpose_into(src, w, n_rows, out, col, square):  # pragma: no cover - compiled
    """``out[k, col + j] = src[j, k]`` for ``k < n_rows``, ``j < w``.

    In squares of ``TRANSPOSE_BLOCK`` values a side through the L1-resident ``square``:
    fixed trip counts, so both the reads of ``src`` and the writes of ``out`` are whole
    vector runs; the edges that do not fill a square go value by value.
    """
    b = TRANSPOSE_BLOCK
    k_full = n_rows - n_rows % b
    j_full = w - w % b
    for k0 in range(0, k_full, b):
        for j0 in range(0, j_full, b):
            for j in range(b):
                line = src[j0 + j]
                for k in range(b):
                    square[k, j] = line[k0 + k]
            for k in range(b):
                dst = out[k0 + k]
                for j in range(b):
                    dst[col + j0 + j] = square[k, j]
        for k in range(k0, k0 + b):
            for j in range(j_full, w):
                out[k, col + j] = src[j, k]
    for k in range(k_full, n_rows):
        for j in range(w):
            out[k, col + j] = src[j, k]


@njit(inline="always")
def _add_row(dst, src):  # pragma: no cover - compiled
    for j in range(dst.size):
        dst[j] += src[j]


@njit(inline="always")
def _add_scaled_row(dst, src, weight):  # pragma: no cover - compiled
    for j in range(dst.size):
        dst[j] += weight * src[j]


@njit(cache=True, nogil=True)
def update_segments(
    pix, rows, segs, weights, acc, part, flush, unit, chunk, c_start, c_stop
):  # pragma: no cover
    """Change segment weights: ``acc[s] = (acc[s] - removed[s]) + added[s]``.

    Over the scan-position chunks ``c_start:c_stop`` (``chunk`` positions each). Entry ``t``
    changes the weight of row ``rows[t]`` of ``pix`` in segment ``segs[t]`` by ``weights[t]``
    (a nonzero integer): ``added[s]`` is the sum of ``weights[t] * pix[rows[t]]`` over the
    entries with ``segs[t] == s`` and a positive weight, ``removed[s]`` that of
    ``-weights[t] * pix[rows[t]]`` over those with a negative one, each in the order of the
    entries (a weight of 1 adds the row itself). ``part`` is a 1-element array giving the
    partial-sum dtype, flushed every ``flush`` entries.

    ``unit > 1`` (integer data only, where the order of additions does not change the exact
    sums): rows of weight ``+-unit`` (a whole pixel in one segment: the bulk of a recompute)
    are added unscaled into partials of their own, multiplied by ``unit`` once per flush.
    ``unit = 0``: every weight is applied row by row (floating-point data: a fixed order).
    """
    n_labels, n_pos = acc.shape
    n_rows = rows.size
    for c in range(c_start, c_stop):
        p0 = c * chunk
        p1 = min(n_pos, p0 + chunk)
        w = p1 - p0
        added = np.zeros((n_labels, w), acc.dtype)
        removed = np.zeros((n_labels, w), acc.dtype)
        part_added = np.empty((n_labels, w), part.dtype)
        part_removed = np.empty((n_labels, w), part.dtype)
        whole_added = np.empty((n_labels, w), part.dtype)
        whole_removed = np.empty((n_labels, w), part.dtype)
        for g0 in range(0, n_rows, flush):
            part_added[:] = 0
            part_removed[:] = 0
            whole_added[:] = 0
            whole_removed[:] = 0
            for t in range(g0, min(n_rows, g0 + flush)):
                src = pix[rows[t], p0:p1]
                s = segs[t]
                weight = weights[t]
                if weight == 1:
                    _add_row(part_added[s], src)
                elif weight == -1:
                    _add_row(part_removed[s], src)
                elif unit > 1 and weight == unit:
                    _add_row(whole_added[s], src)
                elif unit > 1 and weight == -unit:
                    _add_row(whole_removed[s], src)
                elif weight > 0:
                    _add_scaled_row(part_added[s], src, weight)
                else:
                    _add_scaled_row(part_removed[s], src, -weight)
            added += part_added
            removed += part_removed
            if unit > 1:
                for label in range(n_labels):
                    for j in range(w):
                        added[label, j] += unit * acc.dtype.type(whole_added[label, j])
                        removed[label, j] += unit * acc.dtype.type(whole_removed[label, j])
        for label in range(n_labels):
            for j in range(w):
                acc[label, p0 + j] = (acc[label, p0 + j] - removed[label, j]) + added[label, j]


@njit(cache=True, nogil=True)
def update_moments(pix, rows, sign, wi, wj, acc, chunk, c_start, c_stop):  # pragma: no cover
    """Add (``sign[t] > 0``) or remove rows: ``acc = (acc - removed) + added``.

    Over the scan-position chunks ``c_start:c_stop``. ``acc`` is (3, P): sums of ``v``,
    ``v * wi[t]`` and ``v * wj[t]`` over the rows; ``wi``, ``wj`` are the weights of ``rows``
    (same length), in ``acc``'s dtype.
    """
    n_pos = acc.shape[1]
    zero = acc.dtype.type(0)
    for c in range(c_start, c_stop):
        p0 = c * chunk
        p1 = min(n_pos, p0 + chunk)
        w = p1 - p0
        added = np.zeros((3, w), acc.dtype)
        removed = np.zeros((3, w), acc.dtype)
        for t in range(rows.size):
            src = pix[rows[t], p0:p1]
            dst = added if sign[t] > 0 else removed
            a = wi[t]
            b = wj[t]
            for j in range(w):
                v = src[j] + zero
                dst[0, j] += v
                dst[1, j] += v * a
                dst[2, j] += v * b
        for m in range(3):
            for j in range(w):
                acc[m, p0 + j] = (acc[m, p0 + j] - removed[m, j]) + added[m, j]


def warm_calls(dtype: np.dtype) -> list[tuple]:
    """Tiny ``(kernel, args)`` calls typed like the engine's for cache dtype ``dtype``.

    The engine passes load blocks read-only, so one signature serves files and arrays alike.
    """
    dtype = np.dtype(dtype)
    integer = dtype.kind in "ui"
    acc = np.int64 if integer else np.float64
    part = np.int32 if integer and dtype.itemsize <= 2 else acc
    block = np.zeros((2, 6), dtype)
    block.flags.writeable = False
    order = np.arange(6, dtype=np.int64)
    pix = np.zeros((6, 2), dtype)
    raw, pattern, weights = np.zeros((3, 2), acc), np.zeros((1, 6), acc), np.zeros(2, acc)
    if integer:
        load = (load_block_integer, (block, order, 6, 3, 0, 0, pix, 0, raw, pattern, 8, 0, 0, 1))
    else:
        full = np.zeros(6, acc)
        load = (load_block, (block, order, 6, full, full, pix, 0, raw, pattern, 8, 0, 0, 1))
    rows, labels = np.arange(2, dtype=np.int64), np.zeros(2, np.int32)
    entry_weights = np.array([1, -3], np.int32)
    sums = np.zeros((2, 2), acc)
    return [
        load,
        (
            update_segments,
            (pix, rows, labels, entry_weights, sums, np.zeros(1, part), 1, 0, 2, 0, 1),
        ),
        (update_moments, (pix, rows, np.ones(2, np.int8), weights, weights, raw, 2, 0, 1)),
    ]
