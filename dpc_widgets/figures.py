"""Matplotlib figures for notebooks and reports: scan images, the detector, CoM vectors, curves.

Drawing only, on top of the core's results: every function takes arrays (and the
:class:`~dpc_widgets.io.Datacube` for calibrations) and returns a :class:`matplotlib.figure.Figure`
with axes or a scale bar, a colour bar and units (written by
:func:`dpc_widgets.physics.unit_text`: Å, Å⁻¹, mrad, rad). In Jupyter a figure shows when it is
a cell's last value (or passed to ``display``); it is closed to pyplot, so it shows once; in a
script, ``fig.savefig(path)``. Images are drawn as the explorer draws them: array axis 0 (x)
downwards, axis 1 (y) rightwards.

Colour maps: the explorer's own (``widgets/render.py``, from colorcet's tables):
:data:`IMAGE_CMAP` (CET-L1, grey with lightness linear in L*) for intensities and phases,
:data:`SIGNED_CMAP` (CET-D1A, blue-white-red) for signed quantities such as CoM components and
segment differences, centred on zero; vector fields
on the explorer's colour wheel (hue = direction, brightness = magnitude up to the value that
saturates it, written on the wheel's legend).

matplotlib (>= 3.7) is a dependency of the package; ``import dpc_widgets`` does not import it,
this module does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors as mcolors
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from .core import RotationResult
from .detectors import SegmentedDetector
from .io import Datacube
from .physics import unit_text
from .widgets import render

#: intensities and phases: the explorer's sequential map (CET-L1)
IMAGE_CMAP = mcolors.ListedColormap(render.SEQUENTIAL_LUT / 255.0, name="dpc-cet-l1")
#: signed quantities, centred on zero: the explorer's diverging map (CET-D1A)
SIGNED_CMAP = mcolors.ListedColormap(render.DIVERGING_LUT / 255.0, name="dpc-cet-d1a")
PANEL_INCHES = 2.6  #: width of one image panel
DPI = 100


def _finish(figure: Figure) -> Figure:
    plt.close(figure)  # displayed once: as the cell's value, not again by pyplot's inline hook
    return figure


def _check_clip(clip: float) -> float:
    if isinstance(clip, bool) or not isinstance(clip, (int, float)) or not 0.0 <= clip < 50.0:
        raise ValueError(f"clip must be a percentage in [0, 50), got clip={clip!r}")
    return float(clip)


def nice_length(span: float) -> float:
    """A round scale-bar length (1, 2 or 5 times a power of ten), the nearest to a quarter of
    ``span`` (on a log scale) that is at most half of it.

    Parameters
    ----------
    span : float
        Width of the field, in its units; positive and finite.

    Returns
    -------
    float
        In the units of ``span``, at most ``span / 2``.
    """
    if not (isinstance(span, (int, float)) and math.isfinite(span) and span > 0):
        raise ValueError(f"nice_length needs a positive finite span, got span={span!r}")
    target = span / 4.0
    power = 10.0 ** math.floor(math.log10(target))
    lengths = [step * power for step in (1.0, 2.0, 5.0, 10.0) if step * power <= span / 2.0]
    return min(lengths, key=lambda length: abs(math.log(length / target)))


def _scale_bar(ax, cube: Datacube | None, columns: int) -> None:
    """A scale bar in scan units at the lower left, when the scan is calibrated."""
    if cube is None or cube.scan_units == "px":
        return
    length = nice_length(columns * cube.scan_sampling)
    bar = AnchoredSizeBar(
        ax.transData,
        length / cube.scan_sampling,
        f"{length:g} {unit_text(cube.scan_units)}",
        "lower left",
        pad=0.3,
        color="white",
        frameon=True,
        size_vertical=max(columns / 60.0, 0.5),
        fontproperties={"size": 8},
    )
    bar.patch.set(facecolor="black", alpha=0.45, edgecolor="none")  # legible on any colour
    ax.add_artist(bar)


def _limits(image: np.ndarray, signed: bool, clip: float) -> tuple[float, float]:
    if signed:
        top = float(render.percentiles(np.abs(image), (100.0 - clip,))[0])
        top = top if top > 0 else 1.0
        return -top, top
    low, high = render.clip_range(image, clip)
    return (low, high) if high > low else (low - 0.5, low + 0.5)


def images(
    panels: Mapping[str, np.ndarray],
    cube: Datacube | None = None,
    *,
    units: str = "",
    signed: bool = False,
    clip: float = 0.5,
    columns: int | None = None,
) -> Figure:
    """Scan images side by side, each with a colour bar in ``units`` and a scale bar.

    Parameters
    ----------
    panels : mapping of str to ndarray (Rx, Ry)
        Title and image; the images are not modified.
    cube : Datacube, optional
        For the scan step (scale bar in its units; none for an uncalibrated scan).
    units : str
        Unit code of the values (``"A^-1"``, ``"rad"``, ``"arb."``...), on the colour bars.
    signed : bool
        Diverging :data:`SIGNED_CMAP` centred on zero (limits ``±`` the ``100 - clip``
        percentile of ``|value|``) instead of grey between the ``clip`` and ``100 - clip``
        percentiles.
    clip : float
        Percent of the values clipped at each end, in [0, 50).
    columns : int, optional
        Panels per row (default: all in one row, at most 4).

    Returns
    -------
    matplotlib.figure.Figure
    """
    clip = _check_clip(clip)
    if not panels:
        raise ValueError("images needs at least one panel, got none")
    count = len(panels)
    columns = columns or min(count, 4)
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(PANEL_INCHES * columns + 0.6, PANEL_INCHES * rows + 0.2),
        dpi=DPI,
        squeeze=False,
        layout="constrained",
    )
    for ax, (title, image) in zip(axes.flat, panels.items(), strict=False):
        image = np.asarray(image, dtype=np.float64)
        if image.ndim != 2:
            raise ValueError(f"panel {title!r} must be a 2D image, got shape {image.shape}")
        vmin, vmax = _limits(image, signed, clip)
        shown = ax.imshow(
            image,
            cmap=SIGNED_CMAP if signed else IMAGE_CMAP,
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
        )
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
        _scale_bar(ax, cube, image.shape[1])
        bar = figure.colorbar(shown, ax=ax, shrink=0.85, pad=0.02)
        bar.set_label(unit_text(units) if units else "", fontsize=9)
        bar.ax.tick_params(labelsize=8)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return _finish(figure)


def _detector_extent(cube: Datacube, shape: tuple[int, int]) -> list[float]:
    """imshow extent (left, right, bottom, top) in detector units around the origin: qy
    rightwards, qx downwards."""
    ox, oy = cube.origin
    s = cube.detector_sampling
    return [(-0.5 - oy) * s, (shape[1] - 0.5 - oy) * s, (shape[0] - 0.5 - ox) * s, (-0.5 - ox) * s]


def diffraction(
    pattern: np.ndarray,
    cube: Datacube,
    detector: SegmentedDetector | None = None,
    *,
    units: str = "",
    masks: bool = True,
) -> Figure:
    """A diffraction pattern on a log scale, in detector units, with a segmented detector on it.

    Parameters
    ----------
    pattern : ndarray (Qx, Qy)
        E.g. the mean pattern (``DPC.mean_pattern``); not modified.
    cube : Datacube
        Detector calibration and origin (the axes are ``qx``, ``qy`` from the origin).
    detector : SegmentedDetector, optional
        Drawn as its rings and its segments in the explorer's colours, each labelled with its
        index; with ``masks``, each segment's weights also as an inset framed in its colour.
    units : str
        Unit code of the intensities, on the colour bar (e.g. ``"counts"``).
    masks : bool
        Draw the insets of the segment masks (only with ``detector``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    pattern = np.asarray(pattern, dtype=np.float64)
    if pattern.shape != tuple(cube.detector_shape):
        raise ValueError(
            f"pattern shape {pattern.shape} is not the cube's detector shape "
            f"{tuple(cube.detector_shape)}"
        )
    n = detector.n_segments if detector is not None and masks else 0
    inset_columns = 2 if n > 4 else 1
    inset_rows = math.ceil(n / inset_columns) if n else 0
    figure = plt.figure(figsize=(5.2 + 1.3 * inset_columns * (n > 0), 4.2), dpi=DPI)
    grid = figure.add_gridspec(
        max(inset_rows, 1),
        1 + inset_columns * (n > 0),
        width_ratios=[4.0] + [1.0] * inset_columns * (n > 0),
        left=0.1,
        right=0.97,
        wspace=0.15,
        hspace=0.35,
    )
    ax = figure.add_subplot(grid[:, 0])
    top = float(pattern.max()) if np.any(pattern > 0) else 1.0
    norm = mcolors.LogNorm(vmin=top / render.LOG_RANGE, vmax=top, clip=True)
    extent = _detector_extent(cube, pattern.shape)
    shown = ax.imshow(
        np.maximum(pattern, top / render.LOG_RANGE),
        cmap=IMAGE_CMAP,
        norm=norm,
        extent=extent,
        interpolation="nearest",
    )
    du = unit_text(cube.detector_units)
    ax.set_xlabel(f"$q_y$ ({du})")
    ax.set_ylabel(f"$q_x$ ({du})")
    bar = figure.colorbar(shown, ax=ax, shrink=0.8, pad=0.02)
    bar.set_label(f"intensity{f' ({unit_text(units)})' if units else ''}, log scale", fontsize=9)
    if detector is not None:
        _draw_segments(ax, cube, detector, extent)
        reach = 1.6 * detector.outer if math.isfinite(detector.outer) else math.inf
        _zoom(ax, extent, reach)
        if n:
            insets = _draw_masks(figure, grid, detector.masks(cube), extent, inset_columns)
            for inset in insets:
                _zoom(inset, extent, 1.1 * detector.outer if math.isfinite(reach) else reach)
    return _finish(figure)


def _zoom(ax, extent: list[float], reach: float) -> None:
    """Show ``±reach`` (detector units) around the origin, within the detector."""
    left, right, bottom, top = extent
    ax.set_xlim(max(left, -reach), min(right, reach))
    ax.set_ylim(min(bottom, reach), max(top, -reach))  # qx downwards


def _segment_color(k: int) -> tuple[float, float, float]:
    return tuple(render.PALETTE[k % len(render.PALETTE)] / 255.0)


def _draw_segments(ax, cube: Datacube, detector: SegmentedDetector, extent: list[float]) -> None:
    labels = detector.labels(cube)
    overlay = render.segment_rgba(labels).astype(np.float64) / 255.0
    overlay[..., 3] *= 0.35
    ax.imshow(overlay, extent=extent, interpolation="nearest")
    for radius, style in ((detector.inner, "-"), (detector.outer, "-")):
        if math.isfinite(radius) and radius > 0:
            ax.add_patch(Circle((0.0, 0.0), radius, fill=False, color="white", lw=1, ls=style))
    centroids = np.asarray(detector.centroids(cube), dtype=np.float64)
    ox, oy = cube.origin
    for k, (cx, cy) in enumerate(centroids):
        x, y = (cy - oy) * cube.detector_sampling, (cx - ox) * cube.detector_sampling
        ax.text(
            x,
            y,
            str(k),
            color="white",
            ha="center",
            va="center",
            fontsize=10,
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.15", "fc": _segment_color(k), "ec": "none"},
        )
    ax.set_title(
        f"{detector.n_segments} segments, {detector.inner:g}-{detector.outer:g} "
        f"{unit_text(cube.detector_units)}, offset {detector.rotation:g}\u00b0",
        fontsize=10,
    )


def _draw_masks(figure, grid, masks: np.ndarray, extent: list[float], columns: int) -> list:
    insets = []
    for k, mask in enumerate(masks):
        inset = figure.add_subplot(grid[k // columns, 1 + k % columns])
        inset.imshow(
            mask, cmap=IMAGE_CMAP, vmin=0.0, vmax=1.0, extent=extent, interpolation="nearest"
        )
        inset.set_xticks([])
        inset.set_yticks([])
        for spine in inset.spines.values():
            spine.set_edgecolor(_segment_color(k))
            spine.set_linewidth(3)
        inset.set_title(f"mask {k}", fontsize=8, pad=2)
        insets.append(inset)
    return insets


def radial_profile(
    radii: np.ndarray,
    values: np.ndarray,
    units: str,
    detector: SegmentedDetector | None = None,
) -> Figure:
    """A radial profile on a log axis, with the detector's inner and outer radius marked.

    Parameters
    ----------
    radii, values : ndarray
        E.g. ``DPC.radial_profile()``: radii in detector ``units``, mean intensities.
    units : str
        Unit code of the radii.
    detector : SegmentedDetector, optional
        Its radii are drawn as vertical lines in the explorer's colours.

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = np.asarray(values, dtype=np.float64)
    figure, ax = plt.subplots(figsize=(6.0, 3.0), dpi=DPI, layout="constrained")
    top = float(values.max()) if np.any(values > 0) else 1.0
    ax.semilogy(radii, np.maximum(values / top, 1e-4), color="#444", label="mean pattern")
    if detector is not None:
        for radius, name, color in (
            (detector.inner, "inner", "#e6194b"),
            (detector.outer, "outer", "#0082c8"),
        ):
            ax.axvline(radius, color=color, lw=1.5, label=f"{name} {radius:g}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_xlabel(f"radius ({unit_text(units)})")
    ax.set_ylabel("intensity / maximum")
    ax.set_ylim(1e-4, 2.0)
    ax.set_xlim(0.0, float(np.max(radii)))
    ax.grid(alpha=0.3)
    return _finish(figure)


def vectors(
    fields: Mapping[str, np.ndarray],
    cube: Datacube | None = None,
    *,
    units: str = "",
    clip: float = 0.5,
    arrows: int = 12,
) -> Figure:
    """Vector fields (e.g. the CoM before and after the rotation) on the colour wheel, with arrows.

    All panels share one saturation, the ``100 - clip`` percentile of ``|field|`` over all of
    them, written on the wheel's legend; arrows (about ``arrows`` per side) show the direction
    as the page draws it (x = array axis 0, downwards).

    Parameters
    ----------
    fields : mapping of str to ndarray (2, Rx, Ry)
        Title and field (component 0 along x); not modified.
    cube : Datacube, optional
        For the scale bar in scan units.
    units : str
        Unit code of the field, on the legend.
    clip : float
        Percent, in [0, 50).
    arrows : int
        Arrows per image side (0: none).

    Returns
    -------
    matplotlib.figure.Figure
    """
    clip = _check_clip(clip)
    if not fields:
        raise ValueError("vectors needs at least one field, got none")
    arrays = [np.asarray(f, dtype=np.float64) for f in fields.values()]
    for title, field in zip(fields, arrays, strict=True):
        if field.ndim != 3 or field.shape[0] != 2:
            raise ValueError(f"field {title!r} must have shape (2, Rx, Ry), got {field.shape}")
    vmax = max(render.magnitude_max(field, clip) for field in arrays) or 1.0
    count = len(arrays)
    figure = plt.figure(figsize=(PANEL_INCHES * count + 1.6, PANEL_INCHES + 0.4), dpi=DPI)
    grid = figure.add_gridspec(
        1,
        count + 1,
        width_ratios=[1.0] * count + [0.55],
        left=0.02,
        right=0.98,
        bottom=0.04,
        top=0.88,
        wspace=0.08,
    )
    for index, (title, field) in enumerate(zip(fields, arrays, strict=True)):
        ax = figure.add_subplot(grid[0, index])
        rgb = render.vector_colors(field[0], field[1], vmax)
        ax.imshow(rgb, interpolation="nearest")
        if arrows:
            step = max(1, round(max(field.shape[1:]) / arrows))
            rows, cols = np.mgrid[
                step // 2 : field.shape[1] : step, step // 2 : field.shape[2] : step
            ]
            # data coordinates (column, row) with rows downwards: y along +column, x along +row
            u, v = field[1][rows, cols], field[0][rows, cols]
            ax.quiver(
                cols,
                rows,
                u,
                v,
                color="white",
                angles="xy",
                scale_units="xy",
                scale=vmax / (0.9 * step),
                width=0.006,
                headwidth=3.5,
            )
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
        _scale_bar(ax, cube, field.shape[2])
    legend = figure.add_subplot(grid[0, count])
    legend.imshow(render.wheel(101))
    legend.set_axis_off()
    legend.set_title(f"saturates at\n{vmax:.3g} {unit_text(units) if units else ''}", fontsize=8)
    legend.annotate(
        "", xy=(50, 98), xytext=(50, 50), arrowprops={"arrowstyle": "->", "color": "white"}
    )
    legend.text(56, 88, "x", color="white", fontsize=8)
    legend.annotate(
        "", xy=(98, 50), xytext=(50, 50), arrowprops={"arrowstyle": "->", "color": "white"}
    )
    legend.text(86, 45, "y", color="white", fontsize=8)
    return _finish(figure)


def curl_score(rotation: RotationResult, applied_deg: float | None = None) -> Figure:
    """The curl score of the rotated CoM against the scan rotation, both transposes.

    The score (:meth:`RotationResult.score_curve`) is the rms curl of the rotated field over
    the rms of its curl and divergence together: 0 for a field that is a phase gradient in the
    scan frame; dimensionless, in [0, 1].

    Parameters
    ----------
    rotation : RotationResult
        From :func:`dpc_widgets.core.solve_rotation` or ``DPC.solve_rotation``.
    applied_deg : float, optional
        The angle marked (default: the solved ``rotation.angle_deg``), degrees.

    Returns
    -------
    matplotlib.figure.Figure
    """
    angle = rotation.angle_deg if applied_deg is None else float(applied_deg)
    angles = np.arange(-180.0, 180.25, 0.5)
    figure, ax = plt.subplots(figsize=(6.0, 3.0), dpi=DPI, layout="constrained")
    for transpose, color in ((False, "#3cb44b"), (True, "#911eb4")):
        label = "transpose" if transpose else "no transpose"
        ax.plot(angles, rotation.score_curve(angles, transpose), color=color, label=label)
    ax.axvline(angle, color="#e6194b", ls="--", lw=1.2, label=f"solved {angle:.2f}\u00b0")
    ax.set_xlim(-180.0, 180.0)
    ax.set_xticks(np.arange(-180.0, 181.0, 45.0))
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("scan rotation t (\u00b0)")
    ax.set_ylabel("curl score")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    return _finish(figure)


__all__ = [
    "IMAGE_CMAP",
    "SIGNED_CMAP",
    "curl_score",
    "diffraction",
    "images",
    "nice_length",
    "radial_profile",
    "vectors",
]
