"""The detector cache of a scan still being recorded: filled block by block as rows arrive.

:class:`GrowingCache` is a :class:`~dpc_widgets.core.engine.PolarCache` over a cube with a
:class:`~dpc_widgets.io.feed.RowFeed` (``cube.feed``, set by :mod:`dpc_widgets.live`). It is made
with the rows already there (one pass over them) and then subscribes to the feed: each new block
of rows is copied into the pixel-major cache once, as it arrives (the load pass's own
``_load_block``: the same values and whole-detector moments as an offline cache), and the sums of
the last segment geometry and annulus are extended to the new scan positions, so the next drag
is as incremental as offline. Positions not yet received hold zeros.

Exactness: a finished scan's cache holds the same pixels, moments and (integer) pattern sum as a
:class:`PolarCache` of the same data, and integer segment sums are exact in any order, so every
result equals the offline one bit for bit. For floating-point data the sums extended per block
add in another order; when the feed finishes they are dropped and recomputed in the offline
order, and the pattern sum is summed again (one pass), so a finished scan agrees bit for bit too.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np

from ..io import Datacube
from ..io.values import masked_nonfinite
from .engine import (
    DEFAULT_BLOCK_BYTES,
    PolarCache,
    _kernels_threads,
    masked_pattern_sum,
    numba_available,
)

#: Bytes of the float64 products one step of a segment-sum extension may hold.
_EXTEND_BYTES = 32 * 2**20
#: Integer sums below this magnitude are exact in float64 (whatever the order of additions).
_EXACT_FLOAT = 2.0**53


class GrowingCache(PolarCache):
    """A :class:`PolarCache` of a cube whose rows arrive over time (``cube.feed``).

    Parameters are :class:`PolarCache`'s; ``cube.feed`` must be set.

    Attributes
    ----------
    rows_filled : int
        Scan rows in the cache (all of them once the feed finished).

    Notes
    -----
    The cache stays subscribed while it lives (the feed holds it weakly); :meth:`close` stops
    it early. A block arrives on the feed's thread and is added under the cache's lock, so a
    computation sees either none or all of it.
    """

    def __init__(
        self,
        cube: Datacube,
        center: tuple[float, float],
        xp: ModuleType = np,
        *,
        max_block_bytes: int = DEFAULT_BLOCK_BYTES,
        on_progress: Callable[[int, int], None] | None = None,
        **options,
    ) -> None:
        if cube.feed is None:
            raise ValueError("GrowingCache needs a cube with a feed (a scan being recorded)")
        self._block_bytes = max_block_bytes
        self._on_progress = on_progress
        self.rows_filled = 0
        super().__init__(cube, center, xp, max_block_bytes=max_block_bytes, **options)
        cube.feed.subscribe(self._add_rows, load=self._load_ready, on_finish=self._finished)

    # ------------------------------------------------------------------ filling
    def _load(self, max_block_bytes: int, progress: bool, on_progress):
        """Set up empty sums (no rows yet: the feed's rows come through :meth:`_load_ready`)."""
        xp = self.xp
        self._pix = xp.zeros(self._pix.shape, dtype=self._pix.dtype)  # unreceived: zeros
        self._raw = xp.zeros((3, self._n_pos), dtype=self._acc)
        threads = _kernels_threads() if self._numba_mode is not False and numba_available() else 1
        self._pattern = np.zeros((threads, self._order.size), dtype=self._acc)
        keep = self._order if not self._integer else self._order[: self._n_cached]
        self._order_device = xp.asarray(keep)
        self.nonfinite_pixels = 0
        self.pattern_sum = np.zeros(self.cube.detector_shape, dtype=self._acc)
        return self._raw

    def _load_ready(self, rows: int) -> None:
        """Load the first ``rows`` scan rows (those the feed had when the cache was made)."""
        ry = self.cube.scan_shape[1]
        step = self.cube.rows_per_block(self._block_bytes)
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            self._add_rows(r0, r1, self.cube._rows(r0, r1))
            if self._on_progress is not None:
                self._on_progress(r1 * ry, rows * ry)

    def _add_rows(self, r0: int, r1: int, block) -> None:
        """Copy scan rows ``r0:r1`` (patterns ``block``) into the cache and extend the sums."""
        ry = self.cube.scan_shape[1]
        start, stop = r0 * ry, r1 * ry
        with self._lock:
            if not self._integer:
                block, count = masked_nonfinite(block)
                self.nonfinite_pixels += count
            self._load_block(block, start, stop, self._order_device, self._raw, self._pattern)
            self.moments[:, start:stop] = self._to_moments(self._raw[:, start:stop])
            self.pattern_sum = self._pattern.sum(axis=0).reshape(self.cube.detector_shape)
            self._extend_segments(start, stop)
            self._extend_annulus(start, stop)
            self.rows_filled = r1

    def _finished(self) -> None:
        """The scan ended: floating-point sums again in the offline order (see the module)."""
        if self._integer:
            return
        with self._lock:
            self._segments = None
            self._annulus = None
            self.pattern_sum = masked_pattern_sum(self.cube)

    def close(self) -> None:
        """Stop following the feed (the rows in the cache stay)."""
        self.cube.feed.unsubscribe(self)

    # ------------------------------------------------------------------ the sums held
    def _extend_segments(self, start: int, stop: int) -> None:
        """The last segment geometry's sums at positions ``start:stop``, from its weights."""
        state = self._segments
        if state is None:
            return
        weights = self._weights[state.k0 : state.k1]
        state.sums[:, start:stop] = self._weighted_columns(
            weights.T, state.k0, state.k1, start, stop
        )

    def _extend_annulus(self, start: int, stop: int) -> None:
        """The last annulus's (sum v, sum v wi, sum v wj) at positions ``start:stop``."""
        state = self._annulus
        if state is None:
            return
        k0, k1 = state.k0, state.k1
        ones = np.ones(k1 - k0, dtype=np.int64)
        weights = np.stack([ones, self._wi[k0:k1], self._wj[k0:k1]]).astype(np.int64)
        state.sums[:, start:stop] = self._weighted_columns(weights, k0, k1, start, stop)

    def _weighted_columns(self, weights: np.ndarray, k0: int, k1: int, start: int, stop: int):
        """``weights (m, k1 - k0) @ pix[k0:k1, start:stop]`` in the accumulator dtype.

        Integer data: exact. The product runs in float64 (BLAS) when no partial sum can reach
        2**53 (then every partial sum is an integer float64 holds exactly), else in int64.
        """
        xp = self.xp
        m = weights.shape[0]
        out = xp.zeros((m, stop - start), dtype=self._acc)
        if k1 <= k0 or stop <= start:
            return out
        exact_float = True
        if self._integer:
            largest = self._largest_value()
            exact_float = float(np.abs(weights).sum(axis=1).max()) * largest < _EXACT_FLOAT
        compute = np.float64 if exact_float else np.int64
        w = xp.asarray(weights.astype(compute))
        step = max(1, _EXTEND_BYTES // max(1, (k1 - k0) * 8))
        for p0 in range(start, stop, step):
            p1 = min(stop, p0 + step)
            values = self._pix[k0:k1, p0:p1].astype(compute)
            product = w @ values
            out[:, p0 - start : p1 - start] = product.astype(self._acc)
        return out

    def _largest_value(self) -> float:
        """The largest magnitude the cache's integer dtype holds."""
        info = np.iinfo(self._dtype)
        return float(max(abs(int(info.min)), int(info.max)))


__all__ = ["GrowingCache"]
