"""Streaming reductions: one chunked pass over scan blocks per request, no cache.

This is the simple, memory-light path (bounded temporary memory per block, never a whole-cube
float copy). The interactive fast path is :class:`dpc_widgets.core.engine.PolarCache`, which
answers the same questions from a pixel-major cache.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ..detectors import pixel_geometry, segment_labels
from ..io import Datacube


class StreamingEngine:
    """Segment sums and intensity moments by chunked passes over ``cube.blocks()``.

    Parameters
    ----------
    cube : Datacube
        The data; read block by block, never modified.
    center : (float, float)
        Detector centre (qx, qy) in pixels for radii, angles and moments.
    xp : module
        Array module (numpy or cupy) for the arithmetic.
    """

    def __init__(self, cube: Datacube, center: tuple[float, float], xp: ModuleType = np):
        self.cube = cube
        self.center = center
        self.xp = xp
        geometry = pixel_geometry(cube.detector_shape, center, cube.detector_sampling)
        self._radius = geometry.radius.ravel()
        self._angle = geometry.angle.ravel()
        self._dx = geometry.dx.ravel()
        self._dy = geometry.dy.ravel()
        self.moments = self._weighted_sums(np.stack([np.ones_like(self._dx), self._dx, self._dy]))
        check_finite(self.moments[0], cube.scan_shape)

    def segment_sums(self, inner: float, outer: float, segments: int, rotation_rad: float):
        """Sums over each segment, shape (N, P) float64 (exact for integer data < 2**53)."""
        labels = segment_labels(self._radius, self._angle, inner, outer, segments, rotation_rad)
        weights = (labels[None] == np.arange(segments)[:, None]).astype(np.float64)
        return self._weighted_sums(weights)

    def annulus_moments(self, inner: float, outer: float):
        """(3, P) float64: sums of I, I*dx, I*dy over ``inner <= radius < outer``."""
        inside = ((self._radius >= inner) & (self._radius < outer)).astype(np.float64)
        return self._weighted_sums(np.stack([inside, inside * self._dx, inside * self._dy]))

    def _weighted_sums(self, weights: np.ndarray):
        xp = self.xp
        w = xp.asarray(weights.T)  # (K, M)
        n_pos = self.cube.scan_shape[0] * self.cube.scan_shape[1]
        out = xp.empty((weights.shape[0], n_pos), dtype=np.float64)
        k = weights.shape[1]
        for start, stop, block in self.cube.blocks():
            flat = xp.asarray(block).reshape(stop - start, k)
            out[:, start:stop] = (flat.astype(np.float64) @ w).T
        return out


def check_finite(totals, scan_shape: tuple[int, int]) -> None:
    """Raise ``ValueError`` naming the first scan position whose pattern sum is NaN or inf."""
    xp_totals = totals
    bad = ~np.isfinite(np.asarray(xp_totals.get() if hasattr(xp_totals, "get") else xp_totals))
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        rx, ry = divmod(index, scan_shape[1])
        raise ValueError(
            f"data contains NaN or inf values (first in the pattern at scan position "
            f"(rx, ry) = ({rx}, {ry})); clean or mask them before DPC"
        )
