"""A PNG of the explorer's current view, for front ends without a widget manager.

GitHub's notebook view, nbviewer or an HTML export without widget state, and a PDF show the
richest output they can render; for the explorer that is this picture instead of ``VBox(...)``
(:mod:`.display` puts it in the explorer's display output). Drawing only: the panels are the
page's, in its order and with its colour maps (:mod:`.render`, as :func:`.export.figures`
draws them): the mean diffraction pattern (on the panel's log / linear / gamma scale, cropped
to the detector view's zoom) with the segment overlay and the detector rings, the phase, the
segment images, the CoM on the colour wheel and CoM x and y in the scan frame. Each panel is
scaled to fit :data:`PANEL` pixels (nearest neighbour up, box means down).
"""

from __future__ import annotations

import io
import math

import numpy as np

from ..core import DPCResult
from ..detectors import pixel_geometry, segment_labels
from . import export, render
from .settings import Settings

#: Size (pixels) of each panel's image area in the snapshot.
PANEL = 160
#: Height (pixels) of a title strip; gap between panels.
TITLE, GAP = 14, 6
#: Panels per row.
COLUMNS = 3
#: The page's segment overlay opacity (``.dpc-segments`` in ``js/src/explorer.css``).
OVERLAY_OPACITY = 0.4
RING, MASK_RING = (255, 255, 255), (0, 255, 255)
HEADER = "DPC explorer (dpc-widgets): the view when displayed; run the notebook to interact"


def detector_figure(
    mean_pattern: np.ndarray,
    settings: Settings,
    origin: tuple[float, float],
    detector_sampling: float,
    scale: str = "log",
    gamma: float = 0.5,
) -> np.ndarray:
    """The detector panel's pixels: the mean pattern on its scale (:func:`render.pattern_gray`)
    with the segments at the page's opacity (pixel-centre labels of the current geometry, as
    ``js/src/geometry.js`` draws them)."""
    pattern = render.pattern_gray(mean_pattern, float(np.max(mean_pattern)), scale, gamma)
    geometry = pixel_geometry(tuple(mean_pattern.shape), tuple(origin), detector_sampling)
    labels = segment_labels(
        geometry.radius,
        geometry.angle,
        settings.inner,
        settings.outer,
        settings.segments,
        math.radians(settings.rotation),
    )
    overlay = render.segment_rgba(labels)
    alpha = (overlay[..., 3:4] / 255.0) * OVERLAY_OPACITY
    out = pattern.copy()
    out[..., :3] = np.round(pattern[..., :3] * (1.0 - alpha) + overlay[..., :3] * alpha)
    return out


def snapshot_png(
    result: DPCResult,
    mean_pattern: np.ndarray,
    settings: Settings,
    origin: tuple[float, float],
    detector_sampling: float,
    *,
    pattern_scale: str = "log",
    pattern_gamma: float = 0.5,
    window: tuple[int, int, int, int] | None = None,
) -> bytes:
    """PNG bytes of the explorer's panels for ``result`` under ``settings``.

    Parameters
    ----------
    result : DPCResult
        The current results.
    mean_pattern : ndarray (Qx, Qy)
        The mean diffraction pattern (counts).
    settings : Settings
        The settings shown (radii in detector units, segment rotation in degrees, ``clip``).
    origin : (float, float)
        Detector centre (pixels, along Qx and Qy).
    detector_sampling : float
        Size of a detector pixel in detector units.
    pattern_scale, pattern_gamma : str, float
        The detector panel's intensity scale (:func:`render.pattern_gray`).
    window : (int, int, int, int), optional
        Detector pixels ``[i0, i1) x [j0, j1)`` in the zoomed view
        (:func:`.zoom.window_pixels`); None: the whole detector.

    Returns
    -------
    bytes
        An 8-bit RGB PNG of :data:`COLUMNS` x 2 panels under a one-line header.
    """
    from PIL import Image, ImageDraw, ImageFont

    figures = export.figures(result, mean_pattern, settings.clip)
    figures["mean_pattern"] = detector_figure(
        mean_pattern, settings, origin, detector_sampling, pattern_scale, pattern_gamma
    )
    if window is not None:
        i0, i1, j0, j1 = window
        figures["mean_pattern"] = figures["mean_pattern"][i0:i1, j0:j1]
        origin = (origin[0] - i0, origin[1] - j0)
    units = f" ({result.phase_units})" if result.phase_units else ""
    panels = [  # the page's order (js/src/view.js): the detector and the result first
        (f"mean diffraction ({pattern_scale}), detector", "mean_pattern"),
        (f"phase{units}", "phase"),
        ("segment images", "segments"),
        ("CoM (colour wheel)", "com_color"),
        ("CoM x (scan frame)", "com_x"),
        ("CoM y (scan frame)", "com_y"),
    ]
    rows = -(-len(panels) // COLUMNS)
    cell_w, cell_h = PANEL + GAP, TITLE + PANEL + GAP
    canvas = Image.new("RGB", (COLUMNS * cell_w + GAP, TITLE + rows * cell_h + GAP), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    draw.text((GAP, 2), HEADER, fill=(0, 0, 0), font=font)
    for k, (title, name) in enumerate(panels):
        row, column = divmod(k, COLUMNS)
        left, top = GAP + column * cell_w, TITLE + GAP + row * cell_h
        draw.text((left, top), title, fill=(60, 60, 60), font=font)
        image, scale = _fit(Image.fromarray(np.ascontiguousarray(figures[name][..., :3])))
        if name == "mean_pattern":  # drawn on the panel: rings beyond it are clipped
            _rings(ImageDraw.Draw(image), scale, settings, origin, detector_sampling)
        canvas.paste(image, (left, top + TITLE))
    out = io.BytesIO()
    canvas.save(out, format="PNG", compress_level=6)  # optimize: 1.03x smaller, 6x slower
    return out.getvalue()


def _fit(image):
    """``image`` scaled to fit PANEL x PANEL (aspect kept), and the scale (panel px / pixel)."""
    from PIL import Image

    scale = PANEL / max(image.size)
    size = tuple(max(1, round(n * scale)) for n in image.size)
    up = scale >= 1.0
    method = Image.Resampling.NEAREST if up else Image.Resampling.BOX
    return image.resize(size, method), scale


def _rings(draw, scale, settings, origin, detector_sampling) -> None:
    """The inner and outer rings (white) and the pixelated CoM's region (cyan), as the page
    (``centerOnScreen`` in ``js/src/geometry.js``: Qy rightwards, Qx downwards)."""
    x0, y0 = (origin[1] + 0.5) * scale, (origin[0] + 0.5) * scale
    radii = [(settings.inner, RING), (settings.outer, RING)]
    if settings.com_source == "pixelated" and settings.com_mask:
        radii += [(settings.com_inner, MASK_RING), (settings.com_outer, MASK_RING)]
    for radius, colour in radii:
        r = radius / detector_sampling * scale
        if math.isfinite(r) and r > 0:
            draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), outline=colour, width=1)
