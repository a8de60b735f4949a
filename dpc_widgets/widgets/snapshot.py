"""A PNG of the explorer's current view, for front ends without a widget manager.

GitHub's notebook view, nbviewer or an HTML export without widget state, and a PDF show the
richest output they can render; for the explorer that is this picture instead of ``VBox(...)``
(:mod:`.display` puts it in the explorer's display output). Drawing only: the panels are the
page's, in its order and with its colour maps (:mod:`.render`, as :func:`.export.figures`
draws them): the mean diffraction pattern (on the panel's log / linear / gamma scale, cropped to
the detector view's zoom) with the segment overlay, their indices and the
detector rings, the phase, the segment images (framed in their segments' colours, with their
indices), the CoM on the colour wheel (with the |CoM| that saturates it) and CoM x and y in the
scan frame (diverging, symmetric about 0), each scan panel with its colour bar, range and unit.
Each panel is scaled to fit :data:`PANEL` pixels (nearest neighbour up, box means down).
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


#: Rows of panels (title, figure name), in the page's order (``js/src/view.js``): the detector
#: and the result first.
LAYOUT = (
    (
        ("detector (log mean pattern)", "mean_pattern"),
        ("phase", "phase"),
        ("segment images", "segments"),
    ),
    (
        ("CoM (colour wheel)", "com_color"),
        ("CoM x (scan frame)", "com_x"),
        ("CoM y (scan frame)", "com_y"),
    ),
)
#: Cells per row.
COLUMNS = 3
#: Height (pixels) of a colour bar, and of the strip under a panel holding it and its labels.
BAR, STRIP = 6, 22


def panel_origin(name: str) -> tuple[int, int]:
    """Top-left pixel (row, column) of the named panel's image area in the snapshot."""
    for row, panels in enumerate(LAYOUT):
        for column, (_, figure) in enumerate(panels):
            if figure == name:
                top = TITLE + GAP + row * (TITLE + PANEL + STRIP + GAP) + TITLE
                return top, GAP + column * (PANEL + GAP)
    raise ValueError(f"no snapshot panel named {name!r}")


def unit_text(units: str) -> str:
    """A unit as the snapshot writes it: "A" as Å, "A^-1" as 1/Å, none as "arb."."""
    return {"A": "\u00c5", "A^-1": "1/\u00c5", "": "arb."}.get(units, units)


def _number(value: float) -> str:
    """4 significant digits, as the page's ``fmt``."""
    return f"{value:.4g}"


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
        An 8-bit RGB PNG of the panels in :data:`LAYOUT` under a one-line header, each scan
        panel with its colour bar (range and unit), the segment tiles framed in their
        segments' colours with their indices.
    """
    from PIL import Image, ImageDraw, ImageFont

    clip = settings.clip
    figures = export.figures(result, mean_pattern, clip)
    figures["mean_pattern"] = detector_figure(
        mean_pattern, settings, origin, detector_sampling, pattern_scale, pattern_gamma
    )
    if window is not None:
        i0, i1, j0, j1 = window
        figures["mean_pattern"] = figures["mean_pattern"][i0:i1, j0:j1]
        origin = (origin[0] - i0, origin[1] - j0)
    com = result.com_rotated
    com_units = unit_text(result.com_units)
    bars = {
        name: (render.DIVERGING_LUT, *render.symmetric_range(*render.clip_range(c, clip)), "0")
        for name, c in (("com_x", com[0]), ("com_y", com[1]))
    }
    low, high = render.clip_range(result.phase, clip)
    bars["phase"] = (render.SEQUENTIAL_LUT, low, high, "")
    phase_unit = unit_text(result.phase_units)
    units = {"com_x": com_units, "com_y": com_units, "phase": phase_unit, "segments": "counts"}
    width = GAP + COLUMNS * (PANEL + GAP)
    height = TITLE + GAP + len(LAYOUT) * (TITLE + PANEL + STRIP + GAP)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    draw.text((GAP, 2), HEADER, fill=(0, 0, 0), font=font)
    for panels in LAYOUT:
        for title, name in panels:
            top, left = panel_origin(name)
            if name == "phase":
                title = f"phase ({phase_unit})"
            elif name == "mean_pattern":
                title = f"detector ({pattern_scale} mean pattern)"
            draw.text((left, top - TITLE), title, fill=(60, 60, 60), font=font)
            strip = top + PANEL + 2
            if name == "segments":
                _tiles(canvas, draw, font, result.segment_images, clip, top, left)
                lut, low, high, middle = render.SEQUENTIAL_LUT, "tile min", "tile max", ""
                _bar(canvas, draw, font, (strip, left), lut, (low, middle, high), units[name])
                continue
            image, scale = _fit(Image.fromarray(np.ascontiguousarray(figures[name])))
            # non-finite pixels (rows of a live scan not received) over the page's hatch
            image = Image.fromarray(render.over_no_data(np.asarray(image)))
            if name == "mean_pattern":  # drawn on the panel: rings beyond it are clipped
                on_image = ImageDraw.Draw(image)
                _rings(on_image, scale, settings, origin, detector_sampling)
                _indices(on_image, font, scale, settings, origin, detector_sampling)
            canvas.paste(image, (left, top))
            if name in bars:
                lut, low, high, middle = bars[name]
                labels = (_number(low), middle, _number(high))
                _bar(canvas, draw, font, (strip, left), lut, labels, units[name])
            elif name == "com_color":
                vmax = render.magnitude_max(com, clip)
                text = f"full colour at |CoM| >= {_number(vmax)} {com_units}"
                draw.text((left, strip), text, fill=(0, 0, 0), font=font)
    out = io.BytesIO()
    canvas.save(out, format="PNG", compress_level=6)  # optimize: 1.03x smaller, 6x slower
    return out.getvalue()


def _bar(canvas, draw, font, at, lut, labels, unit) -> None:
    """A colour bar of :data:`PANEL` x :data:`BAR` pixels at ``at`` (top, left) with its
    labels (low, middle, high) under it, the unit after the high one."""
    from PIL import Image

    top, left = at
    bar = render.bar(PANEL, lut)[..., :3].repeat(BAR, axis=0)
    canvas.paste(Image.fromarray(np.ascontiguousarray(bar)), (left, top))
    low, middle, high = labels
    y = top + BAR + 1
    draw.text((left, y), low, fill=(0, 0, 0), font=font)
    # no anchor=: Pillow's bitmap font (no FreeType, Pillow < 10.1) takes none
    label = f"{high} {unit}"
    right = left + PANEL - draw.textlength(label, font=font)
    draw.text((right, y), label, fill=(0, 0, 0), font=font)
    width = draw.textlength(middle, font=font)
    x = left + PANEL / 2 - width / 2
    if middle and x + width + 4 <= right and x - 4 >= left + draw.textlength(low, font=font):
        draw.text((x, y), middle, fill=(0, 0, 0), font=font)


def _tiles(canvas, draw, font, images, clip, top, left) -> None:
    """The segment images in :func:`~.render.tile_layout`'s grid in one cell, each in the
    sequential map between its ``clip`` percentiles, framed in its segment's colour with its
    index in a badge of that colour (as the page)."""
    from PIL import Image

    columns, _, tile = render.tile_layout(len(images), PANEL)
    frame, gap = render.TILE_FRAME, render.TILE_GAP
    for k, image in enumerate(images):
        row, column = divmod(k, columns)
        x = left + column * (tile + 2 * frame + gap)
        y = top + row * (tile + 2 * frame + gap)
        rgba = render.sequential(image, *render.clip_range(image, clip))
        picture = Image.fromarray(np.ascontiguousarray(rgba))
        scale = tile / max(picture.size)
        size = tuple(max(1, round(n * scale)) for n in picture.size)
        up = scale >= 1.0
        method = Image.Resampling.NEAREST if up else Image.Resampling.BOX
        picture = Image.fromarray(render.over_no_data(np.asarray(picture.resize(size, method))))
        colour = tuple(int(c) for c in render.PALETTE[k % len(render.PALETTE)])
        w, h = picture.size
        draw.rectangle((x, y, x + w + 2 * frame - 1, y + h + 2 * frame - 1), fill=colour)
        canvas.paste(picture, (x + frame, y + frame))
        label = str(k)
        box = draw.textbbox((0, 0), label, font=font)
        bw, bh = box[2] - box[0] + 4, box[3] - box[1] + 4
        draw.rectangle((x, y, x + bw, y + bh), fill=colour)
        luma = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
        ink = (0, 0, 0) if luma > 140 else (255, 255, 255)
        draw.text((x + 2 - box[0], y + 2 - box[1]), label, fill=ink, font=font)


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


def label_radius(n: int, inner: float, outer: float) -> float | None:
    """Radius (px) of the segment index labels on an annulus from ``inner`` to ``outer`` px, as
    ``labelRadius`` in ``js/src/tiles.js``: its middle where each sector has 16 px of arc there,
    else 9 px outside the outer edge where that has room, else None (no labels)."""
    if not (n > 0 and outer > inner):
        return None
    middle = 0.5 * (inner + outer)
    if 2.0 * math.pi * middle / n >= 16.0:
        return middle
    outside = outer + 9.0
    return outside if 2.0 * math.pi * outside / n >= 16.0 else None


def _indices(draw, font, scale, settings, origin, detector_sampling) -> None:
    """Each segment's index in a square of its colour at the middle of its sector, as the
    page (``drawSegmentIndices`` in ``js/src/tiles.js``: segment k's mid angle
    ``2 pi (k + 1/2) / N`` less the rotation, measured from +Qx (down) towards +Qy (right))."""
    x0, y0 = (origin[1] + 0.5) * scale, (origin[0] + 0.5) * scale
    n = settings.segments
    r = label_radius(n, *(v / detector_sampling * scale for v in (settings.inner, settings.outer)))
    if r is None:
        return
    for k in range(n):
        phi = 2.0 * math.pi * (k + 0.5) / n - math.radians(settings.rotation)
        x, y = x0 + r * math.sin(phi), y0 + r * math.cos(phi)
        colour = tuple(int(c) for c in render.PALETTE[k % len(render.PALETTE)])
        luma = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
        draw.rectangle((x - 6, y - 6, x + 6, y + 6), fill=colour)
        ink = (0, 0, 0) if luma > 140 else (255, 255, 255)
        box = draw.textbbox((0, 0), str(k), font=font)
        at = (x - (box[0] + box[2]) / 2, y - (box[1] + box[3]) / 2)
        draw.text(at, str(k), fill=ink, font=font)
