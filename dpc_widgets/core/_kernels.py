"""Numba kernels of :class:`~dpc_widgets.core.engine.PolarCache` (CPU, parallel over scan positions).

Imported only when numba is installed. Every kernel adds values in exactly the order the NumPy
path of the engine does (row by row, in the order of the given rows), so both paths return
bit-identical results, also for floating-point data.

Accumulator conventions: ``acc`` arrays are int64 for integer data and float64 for floating-point
data; ``zero`` is a 0-d array of that dtype (adding it converts a value to the accumulator type).
Integer segment sums are first gathered in a narrower ``part`` array (int32 for 8- and 16-bit data)
that is flushed into the int64 sums every ``flush`` rows, before it could overflow.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Scan positions transposed per task in the load pass: 32 uint16 values = one 64-byte cache line.
LOAD_TILE = 32


@njit(parallel=True, cache=True)
def load_block(block, order, wi, wj, out, start, raw):  # pragma: no cover - compiled
    """Copy ``block`` (n, K) into ``out[:, start:start + n]`` in pixel order ``order``.

    Also sets ``raw[:, start:start + n]`` to the per-pattern sums of ``v``, ``v * wi`` and
    ``v * wj`` accumulated in the sorted pixel order (``wi``, ``wj`` are already sorted).
    """
    n, n_pix = block.shape
    zero = raw.dtype.type(0)
    for t in prange((n + LOAD_TILE - 1) // LOAD_TILE):
        p0 = t * LOAD_TILE
        w = min(LOAD_TILE, n - p0)
        s0 = np.zeros(w, raw.dtype)
        s1 = np.zeros(w, raw.dtype)
        s2 = np.zeros(w, raw.dtype)
        for k in range(n_pix):
            src = order[k]
            a = wi[k]
            b = wj[k]
            for j in range(w):
                x = block[p0 + j, src]
                out[k, start + p0 + j] = x
                v = x + zero
                s0[j] += v
                s1[j] += v * a
                s2[j] += v * b
        for j in range(w):
            raw[0, start + p0 + j] = s0[j]
            raw[1, start + p0 + j] = s1[j]
            raw[2, start + p0 + j] = s2[j]


@njit(inline="always")
def _add_row(dst, src):  # pragma: no cover - compiled
    for j in range(dst.size):
        dst[j] += src[j]


@njit(inline="always")
def _add_row_twice(dst1, dst2, src):  # pragma: no cover - compiled
    for j in range(dst1.size):
        v = src[j]
        dst1[j] += v
        dst2[j] += v


@njit(parallel=True, cache=True)
def update_segments(pix, rows, old, new, acc, part, flush, chunk):  # pragma: no cover - compiled
    """Move rows between segments: ``acc[s] = (acc[s] - removed[s]) + added[s]``.

    ``removed[s]`` is the sum of the rows ``rows[t]`` of ``pix`` with ``old[t] == s`` and
    ``added[s]`` that of the rows with ``new[t] == s`` (label -1: no segment), each summed in
    the order of ``rows``. ``part`` is a 1-element array giving the partial-sum dtype.
    """
    n_labels, n_pos = acc.shape
    n_rows = rows.size
    for c in prange((n_pos + chunk - 1) // chunk):
        p0 = c * chunk
        p1 = min(n_pos, p0 + chunk)
        w = p1 - p0
        added = np.zeros((n_labels, w), acc.dtype)
        removed = np.zeros((n_labels, w), acc.dtype)
        part_added = np.empty((n_labels, w), part.dtype)
        part_removed = np.empty((n_labels, w), part.dtype)
        for g0 in range(0, n_rows, flush):
            part_added[:] = 0
            part_removed[:] = 0
            for t in range(g0, min(n_rows, g0 + flush)):
                src = pix[rows[t], p0:p1]
                s = old[t]
                a = new[t]
                if s >= 0 and a >= 0:
                    _add_row_twice(part_removed[s], part_added[a], src)
                elif a >= 0:
                    _add_row(part_added[a], src)
                elif s >= 0:
                    _add_row(part_removed[s], src)
            added += part_added
            removed += part_removed
        for label in range(n_labels):
            for j in range(w):
                acc[label, p0 + j] = (acc[label, p0 + j] - removed[label, j]) + added[label, j]


@njit(parallel=True, cache=True)
def update_moments(pix, rows, sign, wi, wj, acc, chunk):  # pragma: no cover - compiled
    """Add (``sign[t] > 0``) or remove rows: ``acc = (acc - removed) + added``.

    ``acc`` is (3, P): sums of ``v``, ``v * wi[t]`` and ``v * wj[t]`` over the rows; ``wi``,
    ``wj`` are the weights of ``rows`` (same length), in ``acc``'s dtype.
    """
    n_pos = acc.shape[1]
    zero = acc.dtype.type(0)
    for c in prange((n_pos + chunk - 1) // chunk):
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
