"""Virtual detectors on the diffraction plane: pure geometry, no data access.

Geometry conventions (those of py4DSTEM's DPC tutorial)
-------------------------------------------------------
- A detector pixel (i, j) sits at offset ``(i - cx, j - cy)`` pixels from the centre ``(cx, cy)``;
  ``x`` runs along axis Qx (axis 2 of the cube) and ``y`` along Qy.
- Its radius is ``hypot(i - cx, j - cy) * detector_sampling`` in the cube's detector units; a pixel
  belongs to the annulus when ``inner <= radius < outer``.
- Its segment angle is ``theta = (arctan2(j - cy, i - cx) + rotation) % 2pi`` and its segment is
  ``floor(N * theta / 2pi)`` (0-based), so segment k spans ``theta`` in
  ``[2 pi k / N, 2 pi (k + 1) / N)``. A larger ``rotation`` turns the segments clockwise in the
  (x, y) plane: segment k's centre lies at physical angle ``2 pi (k + 1/2) / N - rotation``.

Frames of a segmented DPC vector
--------------------------------
The segmented DPC vector ``S = sum_k I_k e(2 pi k / N)`` (``e(a) = (cos a, sin a)``,
:attr:`SegmentedDetector.directions`) weights segment k along ``2 pi k / N``, while the segment
itself points along ``u_k = e(2 pi k / N + delta)`` with ``delta = pi / N - rotation``
(:attr:`SegmentedDetector.frame_deg`). For a small shift ``c`` of the bright-field disc (in the
detector frame) ``I_k = I + A u_k . c``, and for N >= 3 ``sum_k e(a_k) e(a_k + delta)^T =
(N / 2) R(-delta)``, so ``S = A (N / 2) R(-delta) c``: turning ``S`` by ``+delta``
(``R(delta) S``, :func:`dpc_widgets.core.rotation.rotate_com` with ``frame_deg``) gives a vector
along ``c`` in the detector frame (Qx, Qy). That is the vector the scan rotation is solved on.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .physics import finite_real

if TYPE_CHECKING:
    from .io import Datacube

TWO_PI = 2.0 * math.pi


@dataclasses.dataclass(frozen=True)
class PixelGeometry:
    """Position of every detector pixel relative to a centre.

    Attributes
    ----------
    dx, dy : ndarray, shape (Qx, Qy), float64
        Offsets from the centre along Qx and Qy, in pixels.
    radius : ndarray, shape (Qx, Qy), float64
        Distance from the centre in the cube's detector units.
    angle : ndarray, shape (Qx, Qy), float64
        ``arctan2(dy, dx)`` in radians, in (-pi, pi].
    edge : float
        Distance from the centre to the nearest detector edge, in detector units: annuli whose
        outer radius exceeds it are cut off by the detector.
    """

    dx: np.ndarray
    dy: np.ndarray
    radius: np.ndarray
    angle: np.ndarray
    edge: float


@functools.lru_cache(maxsize=16)
def pixel_geometry(
    detector_shape: tuple[int, int], center: tuple[float, float], sampling: float
) -> PixelGeometry:
    """Pixel offsets, radii and angles of a detector (cached; arrays are read-only)."""
    qx, qy = detector_shape
    cx, cy = center
    dx = np.broadcast_to((np.arange(qx, dtype=np.float64) - cx)[:, None], (qx, qy))
    dy = np.broadcast_to((np.arange(qy, dtype=np.float64) - cy)[None, :], (qx, qy))
    radius = np.hypot(dx, dy) * sampling
    angle = np.arctan2(dy, dx)
    edge = min(cx + 0.5, cy + 0.5, qx - 0.5 - cx, qy - 0.5 - cy) * sampling
    for array in (radius, angle):
        array.flags.writeable = False
    return PixelGeometry(dx=dx, dy=dy, radius=radius, angle=angle, edge=float(edge))


def segment_labels(radius, angle, inner: float, outer: float, segments: int, rotation: float):
    """Segment index of each pixel: ``floor(N * theta / 2pi)`` in the annulus, -1 outside.

    Works on NumPy or CuPy arrays of any (matching) shape; this one formula defines the segments
    for the masks and for every fast path of the compute core.

    Parameters
    ----------
    radius, angle : array
        Pixel radii (detector units) and angles ``arctan2(dy, dx)`` (radians).
    inner, outer : float
        Annulus radii in detector units; a pixel is inside when ``inner <= radius < outer``.
    segments : int
        Number of segments N.
    rotation : float
        Rotation offset in radians.

    Returns
    -------
    array of int32, same shape as ``radius``
    """
    theta = (angle + rotation) % TWO_PI
    labels = (theta * (segments / TWO_PI)).astype(np.int32)
    # theta just below 2 pi can round up to N; it belongs to the last segment.
    labels = labels.clip(0, segments - 1)
    inside = (radius >= inner) & (radius < outer)
    return (labels + 1) * inside - 1  # -1 outside the annulus


class Detector(abc.ABC):
    """A virtual detector: an integer label (segment) for every detector pixel."""

    inner: float
    outer: float
    center: tuple[float, float] | None

    @property
    @abc.abstractmethod
    def n_segments(self) -> int:
        """Number of segments (images) the detector produces."""

    @property
    @abc.abstractmethod
    def rotation_rad(self) -> float:
        """Rotation offset in radians."""

    def resolved_center(self, cube: Datacube) -> tuple[float, float]:
        """The detector centre in pixels: ``center`` if given, else the cube's origin."""
        return cube.origin if self.center is None else self.center

    def geometry(self, cube: Datacube) -> PixelGeometry:
        """Pixel geometry of ``cube``'s detector around this detector's centre."""
        return pixel_geometry(
            cube.detector_shape, self.resolved_center(cube), cube.detector_sampling
        )

    def check_fits(self, cube: Datacube) -> None:
        """Warn (``RuntimeWarning``) when the outer radius reaches beyond the detector edge.

        The annulus is then clipped to the pixels that exist (a documented fallback, not an
        error); an infinite outer radius means "everything" and does not warn.
        """
        edge = self.geometry(cube).edge
        if math.isfinite(self.outer) and self.outer > edge:
            warnings.warn(
                f"outer radius {self.outer:g} {cube.detector_units} reaches beyond the detector "
                f"edge at {edge:g} {cube.detector_units} from the centre; the annulus is "
                "clipped to the detector",
                RuntimeWarning,
                stacklevel=3,
            )

    def labels(self, cube: Datacube) -> np.ndarray:
        """Segment index (0..N-1) of every pixel, -1 outside the annulus; shape (Qx, Qy).

        Calls :meth:`check_fits` first.
        """
        self.check_fits(cube)
        geometry = self.geometry(cube)
        return segment_labels(
            geometry.radius,
            geometry.angle,
            self.inner,
            self.outer,
            self.n_segments,
            self.rotation_rad,
        )

    def masks(self, cube: Datacube) -> np.ndarray:
        """Boolean masks, shape (N, Qx, Qy): ``masks[k]`` is True on segment k."""
        labels = self.labels(cube)
        return labels[None] == np.arange(self.n_segments, dtype=np.int32)[:, None, None]

    def centroids(self, cube: Datacube) -> np.ndarray:
        """Pixel centroid of each segment, shape (N, 2) as (qx, qy) in pixels.

        An empty segment gets the detector centre (it carries no weight anyway).
        """
        labels = self.labels(cube).ravel()
        inside = labels >= 0
        n = self.n_segments
        count = np.bincount(labels[inside], minlength=n).astype(np.float64)
        qx, qy = cube.detector_shape
        ii, jj = np.divmod(np.flatnonzero(inside), qy)
        sx = np.bincount(labels[inside], weights=ii, minlength=n)
        sy = np.bincount(labels[inside], weights=jj, minlength=n)
        center = np.asarray(self.resolved_center(cube), dtype=np.float64)
        out = np.tile(center, (n, 1))
        full = count > 0
        out[full, 0] = sx[full] / count[full]
        out[full, 1] = sy[full] / count[full]
        return out


def _check_radii(inner: float, outer: float) -> tuple[float, float]:
    for name, value in (("inner", inner), ("outer", outer)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} radius must be a real number, got {value!r}")
        if math.isnan(value) or value < 0 or (name == "inner" and math.isinf(value)):
            raise ValueError(f"{name} radius must be a number >= 0, got {value!r}")
    if inner >= outer:
        raise ValueError(f"inner radius {inner!r} must be smaller than outer radius {outer!r}")
    return float(inner), float(outer)


def _check_center(center) -> tuple[float, float] | None:
    if center is None:
        return None
    try:
        cx, cy = (float(v) for v in center)
    except (TypeError, ValueError):
        raise TypeError(f"center must be a pair (qx, qy) in pixels, got {center!r}") from None
    if not (math.isfinite(cx) and math.isfinite(cy)):
        raise ValueError(f"center must be finite, got {center!r}")
    return cx, cy


@dataclasses.dataclass(frozen=True)
class AnnularDetector(Detector):
    """One annulus ``inner <= radius < outer`` (radii in the cube's detector units).

    ``outer`` may be ``math.inf`` (everything beyond ``inner``).

    ``center`` is (qx, qy) in pixels; ``None`` uses the cube's origin.
    """

    inner: float
    outer: float
    center: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        inner, outer = _check_radii(self.inner, self.outer)
        object.__setattr__(self, "inner", inner)
        object.__setattr__(self, "outer", outer)
        object.__setattr__(self, "center", _check_center(self.center))

    @property
    def n_segments(self) -> int:
        return 1

    @property
    def rotation_rad(self) -> float:
        return 0.0


@dataclasses.dataclass(frozen=True)
class SegmentedDetector(Detector):
    """An annulus cut into N equal angular segments, as in py4DSTEM's DPC tutorial.

    Parameters
    ----------
    inner, outer : float
        Annulus radii in the cube's detector units (mrad, A^-1 or px), ``0 <= inner < outer``.
    segments : int
        Number of segments N, 1 to 64.
    rotation : float
        Rotation offset of the segments in degrees (see the module docstring for the sign); any
        finite value, kept as given and used modulo 360 (reduced in degrees, exactly).
    center : (float, float), optional
        Detector centre (qx, qy) in pixels; ``None`` uses the cube's origin.

    Examples
    --------
    The tutorial's detector: ``SegmentedDetector(10, 25, 4, rotation=45 + 15)`` on a cube with
    ``detector_units="mrad"``.
    """

    inner: float
    outer: float
    segments: int = 4
    rotation: float = 0.0
    center: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        inner, outer = _check_radii(self.inner, self.outer)
        object.__setattr__(self, "inner", inner)
        object.__setattr__(self, "outer", outer)
        if isinstance(self.segments, bool) or not isinstance(self.segments, (int, np.integer)):
            raise TypeError(f"segments must be an integer, got {self.segments!r}")
        if not 1 <= self.segments <= 64:
            raise ValueError(f"segments must be between 1 and 64, got {self.segments!r}")
        object.__setattr__(self, "segments", int(self.segments))
        rotation = finite_real(self.rotation, "rotation")
        object.__setattr__(self, "rotation", rotation)
        object.__setattr__(self, "center", _check_center(self.center))

    @property
    def n_segments(self) -> int:
        return self.segments

    @property
    def rotation_rad(self) -> float:
        """The rotation offset in radians, reduced modulo 360 degrees first (exactly, in
        degrees: an offset of 1e17 degrees keeps its precision)."""
        return math.radians(math.fmod(self.rotation, 360.0))

    @property
    def directions(self) -> np.ndarray:
        """Unit vectors (N, 2) that weight the segment sums in segmented DPC.

        Segment k points along ``2 pi k / N``, so for N = 4 the segmented CoM is exactly the
        tutorial's ``(I0 - I2, I1 - I3)`` and for any even N it is
        ``sum_k (I_k - I_{k+N/2}) (cos 2 pi k / N, sin 2 pi k / N)`` over k < N/2.
        Entries within 1e-12 of zero are set to exactly zero.
        """
        phi = TWO_PI * np.arange(self.segments) / self.segments
        out = np.stack([np.cos(phi), np.sin(phi)], axis=1)
        out[np.abs(out) < 1e-12] = 0.0
        return out

    @property
    def frame_deg(self) -> float:
        """Angle of the segment frame in the detector frame: ``180 / N - rotation`` degrees.

        The segmented DPC vector ``S`` (:attr:`directions`, the tutorial's ``(I0 - I2, I1 - I3)``
        for N = 4) has its x component along segment 0's *index* direction ``2 pi k / N``, but
        segment 0's centre lies at ``180 / N - rotation`` degrees in the detector (Qx, Qy)
        frame (module docstring). ``rotate_com(S, frame_deg)`` expresses ``S`` in the detector
        frame, where its scan rotation is the physical one (the same as for the pixelated CoM).
        Zero for the tutorial's N = 4 and ``rotation = 45``. The offset is reduced modulo 360
        degrees first (exactly).
        """
        return 180.0 / self.segments - math.fmod(self.rotation, 360.0)
