"""The detector view's zoom: the Python mirror of ``js/src/geometry.js`` (viewTransform, fitView,
zoomAt, elementAt), for the kernel's default view, the radial profile's range and pixel checks.

Coordinates: the detector point ``(u, v)`` is in continuous pixel units, pixel ``[i, j]``
spanning ``[i, i + 1) x [j, j + 1)`` (its centre is ``(i + 0.5, j + 0.5)``; the detector centre
``(cx, cy)`` in pixels is the point ``(cx + 0.5, cy + 0.5)``). A detector of ``rows x cols``
pixels fills the panel at ``s0`` CSS px per pixel (``cols * s0`` wide, ``rows * s0`` high);
zoomed by ``zoom`` about ``focus = (fu, fv)`` (the point in the middle of the panel) the point
``(u, v)`` is drawn at ``(left, top) = (v s + ox, u s + oy)`` with ``s = s0 zoom``,
``ox = cols s0 / 2 - fv s`` and ``oy = rows s0 / 2 - fu s``.

"fit disc" (the default view): centred on the detector centre, half as wide as
``max(FIT_DISC_RADII disc radii, FIT_OUTER_MARGIN x outer radius)`` when the disc radius is
below ``SMALL_DISC`` of the detector's shorter side, else the whole detector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Largest zoom (a 128 px detector then shows 2 px across).
MAX_ZOOM = 64.0
#: "fit disc" shows this many disc radii either side of the centre ...
FIT_DISC_RADII = 3.0
#: ... and at least the outer ring times this ...
FIT_OUTER_MARGIN = 1.15
#: ... when the disc radius is below this fraction of the shorter side; else the whole detector.
SMALL_DISC = 1.0 / 8.0


@dataclass(frozen=True)
class View:
    """A detector view: ``s`` CSS px per pixel, offsets ``ox``, ``oy`` (CSS px), zoom, focus."""

    s: float
    ox: float
    oy: float
    zoom: float
    focus: tuple[float, float]

    def to_screen(self, u: float, v: float) -> tuple[float, float]:
        """Display point ``(left, top)`` in CSS px of the detector point ``(u, v)``."""
        return (v * self.s + self.ox, u * self.s + self.oy)

    def to_detector(self, left: float, top: float) -> tuple[float, float]:
        """Detector point ``(u, v)`` under the display point ``(left, top)``."""
        return ((top - self.oy) / self.s, (left - self.ox) / self.s)


def clamp_zoom(zoom: float) -> float:
    """Zoom clipped to ``[1, MAX_ZOOM]``; 1 for a non-finite value."""
    return min(max(zoom, 1.0), MAX_ZOOM) if math.isfinite(zoom) else 1.0


def clamp_focus(
    shape: tuple[int, int], zoom: float, focus: tuple[float, float] | list[float]
) -> tuple[float, float]:
    """The focus moved so the view at ``zoom`` stays on the detector (its middle when unset)."""

    def clamp(f: float | None, n: int) -> float:
        half = n / (2.0 * zoom)
        return min(max(f, half), n - half) if f is not None and math.isfinite(f) else n / 2.0

    focus = list(focus) + [None, None]
    return (clamp(focus[0], shape[0]), clamp(focus[1], shape[1]))


def view_transform(
    shape: tuple[int, int], s0: float, zoom: float, focus: tuple[float, float] | list[float]
) -> View:
    """The view of a ``shape`` detector shown whole at ``s0`` px per pixel, zoomed about focus."""
    z = clamp_zoom(zoom)
    fu, fv = clamp_focus(shape, z, focus)
    s = s0 * z
    rows, cols = shape
    return View(s, cols * s0 / 2.0 - fv * s, rows * s0 / 2.0 - fu * s, z, (fu, fv))


def fit_view(
    shape: tuple[int, int],
    center: tuple[float, float],
    disc_px: float | None,
    outer_px: float = 0.0,
) -> tuple[float, tuple[float, float]]:
    """The "fit disc" view ``(zoom, focus)``.

    Parameters
    ----------
    shape : (int, int)
        Detector pixels (Qx, Qy).
    center : (float, float)
        Detector centre in pixels (qx, qy).
    disc_px : float or None
        Bright-field disc radius in pixels (None or <= 0: unknown, the whole detector).
    outer_px : float
        The detector's outer radius in pixels (kept in view).
    """
    rows, cols = shape
    n = min(rows, cols)
    if disc_px is None or not disc_px > 0 or disc_px >= n * SMALL_DISC:
        return 1.0, (rows / 2.0, cols / 2.0)
    outer = outer_px if math.isfinite(outer_px) else 0.0
    half = max(FIT_DISC_RADII * disc_px, FIT_OUTER_MARGIN * outer, 1.0)
    zoom = clamp_zoom(n / (2.0 * half))
    return zoom, clamp_focus(shape, zoom, (center[0] + 0.5, center[1] + 0.5))


def zoom_at(
    view: View, shape: tuple[int, int], left: float, top: float, factor: float
) -> tuple[float, tuple[float, float]]:
    """The view ``(zoom, focus)`` after zooming by ``factor`` about the point (left, top)."""
    u, v = view.to_detector(left, top)
    zoom = clamp_zoom(view.zoom * factor)
    k = view.zoom / zoom
    focus = (u - (u - view.focus[0]) * k, v - (v - view.focus[1]) * k)
    return zoom, clamp_focus(shape, zoom, focus)


def element_at(
    view: View, shape: tuple[int, int], left: float, top: float
) -> tuple[int, int] | None:
    """Detector pixel ``[i, j]`` under the display point, or None outside the detector."""
    u, v = view.to_detector(left, top)
    i, j = math.floor(u), math.floor(v)
    return (i, j) if 0 <= i < shape[0] and 0 <= j < shape[1] else None


def visible_radii(
    shape: tuple[int, int],
    zoom: float,
    focus: tuple[float, float] | list[float],
    center: tuple[float, float],
) -> tuple[float, float]:
    """Smallest and largest distance (pixels) from the detector centre of the area in view.

    The view spans ``rows / zoom`` by ``cols / zoom`` pixels about the (clamped) focus; the
    smallest distance is 0 when the centre is in view.
    """
    z = clamp_zoom(zoom)
    fu, fv = clamp_focus(shape, z, focus)
    hu, hv = shape[0] / (2.0 * z), shape[1] / (2.0 * z)
    cu, cv = center[0] + 0.5, center[1] + 0.5
    du = max(fu - hu - cu, 0.0, cu - (fu + hu))
    dv = max(fv - hv - cv, 0.0, cv - (fv + hv))
    far_u = max(abs(fu - hu - cu), abs(fu + hu - cu))
    far_v = max(abs(fv - hv - cv), abs(fv + hv - cv))
    return math.hypot(du, dv), math.hypot(far_u, far_v)


def window_pixels(
    shape: tuple[int, int], zoom: float, focus: tuple[float, float] | list[float]
) -> tuple[int, int, int, int]:
    """Pixel bounds ``(i0, i1, j0, j1)`` (``[i0, i1) x [j0, j1)``) covering the view."""
    z = clamp_zoom(zoom)
    fu, fv = clamp_focus(shape, z, focus)
    hu, hv = shape[0] / (2.0 * z), shape[1] / (2.0 * z)
    i0, i1 = max(math.floor(fu - hu + 1e-9), 0), min(math.ceil(fu + hu - 1e-9), shape[0])
    j0, j1 = max(math.floor(fv - hv + 1e-9), 0), min(math.ceil(fv + hv - 1e-9), shape[1])
    return i0, i1, j0, j1
