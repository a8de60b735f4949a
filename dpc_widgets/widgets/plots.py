"""bqplot figures of the explorer: radial profile, curl score versus scan rotation, |CoM| histogram.

Each ``show_*`` method only touches the marks whose data changed, so moving a radius slider
moves two marker lines and resends nothing else. Units are written with
:func:`dpc_widgets.physics.unit_text` (Å⁻¹, mrad, rad), tick labels are round numbers (powers of
ten as 10⁻³ on the profile's log axis), and the legends are one line of text under their figure,
so they cover neither curves nor titles. All three use one font size for titles and one for ticks.
"""

from __future__ import annotations

import html
import math

import bqplot as bq
import ipywidgets as w
import numpy as np

from ..core import RotationResult
from ..physics import superscript, unit_text
from . import render

ANGLES = np.arange(-180.0, 180.5, 1.0)  #: angles of the curl curve, degrees
HIST_BINS = 48
_LAYOUT = {"width": "340px", "height": "240px"}
# room for the title above, for tick labels at the ends of the axes ("-180", "10⁻³") and for
# the axis labels; measured in the browser at 1280x800 (tests/browser/test_tidy_plots.py)
_MARGIN = {"top": 34, "bottom": 44, "left": 62, "right": 30}
TITLE_STYLE = {"font-size": "14px"}  # as bqplot's axis labels (--bq-axislabel-font)
TICK_STYLE = {"font-size": "11px"}
PROFILE_DECADES = 4  #: decades spanned by the radial profile's log axis
SCORE_TICKS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])  #: the curl score's axis (it lies in [0, 1])
_NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
PROFILE_COLORS = ("#e6194b", "#0082c8")  #: inner and outer radius marks
CURL_COLORS = ("#3cb44b", "#911eb4")  #: no transpose, transpose


def decade_labels(decades: np.ndarray) -> dict[str, str]:
    """Tick labels ``10⁻³`` for bqplot's ``Axis.tick_labels`` at the powers of ten ``decades``.

    bqplot looks a label up by the tick value as JavaScript writes the number (``String(x)``:
    ``"0.001"``, ``"1e-7"``, ``"100"``), so the keys are written that way.

    Parameters
    ----------
    decades : ndarray of int
        Exponents k of the ticks ``10**k``.

    Returns
    -------
    dict
        ``{JavaScript's text of 10**k: "10" + superscript k}``.
    """
    labels = {}
    for k in (int(d) for d in decades):
        if k >= 21:
            key = f"1e+{k}"
        elif k >= 0:
            key = "1" + "0" * k
        elif k >= -6:
            key = "0." + "0" * (-k - 1) + "1"
        else:
            key = f"1e{k}"
        labels[key] = "1" if k == 0 else "10" + superscript(k)
    return labels


def legend(entries: list[tuple[str, str, bool]]) -> w.HTML:
    """One line of legend under a figure: a short line in each colour, then its name.

    Parameters
    ----------
    entries : list of (label, colour, dashed)
        Text, CSS colour and whether the mark is dashed.
    """
    items = "".join(
        f'<span class="dpc-legend-item"><span style="display:inline-block;width:18px;'
        f"border-top:2px {'dashed' if dashed else 'solid'} {color};vertical-align:middle;"
        f'margin:0 4px 0 10px"></span>{html.escape(label)}</span>'
        for label, color, dashed in entries
    )
    widget = w.HTML(f'<div style="font-size:11px;line-height:14px;text-align:center">{items}</div>')
    widget.add_class("dpc-plot-legend")
    return widget


def nice_ticks(low: float, high: float, count: int = 5) -> np.ndarray:
    """At most ``count`` round, evenly spaced tick values covering ``[low, high]``.

    The step is 1, 2, 2.5 or 5 times a power of ten; the first tick is at or below ``low`` and the
    last at or above ``high``, so they also serve as the axis limits. An empty range
    (``low == high``) is widened to ``[low, low + max(|low|, 1)]``.

    Parameters
    ----------
    low, high : float
        Data range, any units; finite, ``low <= high``.
    count : int
        Most ticks wanted, at least 2.

    Returns
    -------
    numpy.ndarray
        Tick values, ascending, rounded to the step's decimals (so 0 is exactly 0).
    """
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"nice_ticks needs finite low <= high, got low={low!r}, high={high!r}")
    if count < 2:
        raise ValueError(f"nice_ticks needs count >= 2, got count={count!r}")
    if high == low:
        high = low + max(abs(low), 1.0)
    magnitude = 10.0 ** math.floor(math.log10((high - low) / (count - 1)))
    for factor in _NICE_STEPS:
        step = factor * magnitude
        first, last = math.floor(low / step), math.ceil(high / step)
        if last - first < count:
            break
    decimals = max(0, 1 - math.floor(math.log10(step)))
    return np.round(np.arange(first, last + 1) * step, decimals) + 0.0


def _set_ticks(axis: bq.Axis, ticks: np.ndarray) -> None:
    """Put ``ticks`` on ``axis`` and make its scale span exactly from the first to the last.

    Nothing is set (or sent) when the axis has these ticks already.
    """
    current = axis.tick_values
    if current is not None and np.shape(current) == ticks.shape and np.array_equal(current, ticks):
        if (axis.scale.min, axis.scale.max) == (float(ticks[0]), float(ticks[-1])):
            return
    axis.scale.min, axis.scale.max = float(ticks[0]), float(ticks[-1])
    axis.tick_values = ticks


def _figure(
    name: str,
    title: str,
    marks: list,
    x: bq.Scale,
    y: bq.Scale,
    xlabel: str,
    ylabel: str,
    y_format: str,
) -> bq.Figure:
    axes = [
        # grid_lines="none": bqplot then draws every tick, the end ones too, 6 px outwards with
        # the labels beyond them; with grid lines its 6 px outer ticks at the axis ends cut
        # through the first and last labels ("-180", "180", "10⁻³")
        bq.Axis(
            scale=x,
            side="bottom",
            label=xlabel,
            tick_format=".3~g",
            tick_style=TICK_STYLE,
            grid_lines="none",
        ),
        bq.Axis(
            scale=y,
            side="left",
            label=ylabel,
            tick_format=y_format,
            label_offset="46px",
            tick_style=TICK_STYLE,
            grid_lines="none",
        ),
    ]
    figure = bq.Figure(
        marks=marks,
        axes=axes,
        title=title,
        title_style=TITLE_STYLE,
        fig_margin=_MARGIN,
        layout=w.Layout(**_LAYOUT),
        animation_duration=0,
    )
    figure.add_class(f"dpc-plot-{name}")
    return figure


def _with_legend(figure: bq.Figure, entries: list[tuple[str, str, bool]]) -> w.VBox:
    """The figure with its :func:`legend` line under it, as one box of the figure's width."""
    box = w.VBox([figure, legend(entries)], layout=w.Layout(width=_LAYOUT["width"]))
    box.add_class("dpc-plot-box")
    return box


class Plots:
    """The three bqplot figures (``profile``, ``curl``, ``histogram``) and their updates."""

    def __init__(self, detector_units: str) -> None:
        x, y = bq.LinearScale(), bq.LogScale()
        self.profile_line = bq.Lines(
            x=[0.0, 1.0], y=[1.0, 1.0], scales={"x": x, "y": y}, colors=["#444"]
        )
        self.radius_marks = bq.Lines(
            x=[[0.0, 0.0], [1.0, 1.0]],
            y=[[1.0, 1.0], [1.0, 1.0]],
            scales={"x": x, "y": y},
            colors=list(PROFILE_COLORS),
            labels=["inner", "outer"],
        )
        self.profile = _figure(
            "profile",
            "radial profile (mean pattern)",
            [self.profile_line, self.radius_marks],
            x,
            y,
            "radius",
            "intensity",
            ".0e",
        )
        self.set_detector_units(detector_units)
        x, y = bq.LinearScale(min=-180.0, max=180.0), bq.LinearScale(min=0.0, max=1.0)
        self.curl_lines = bq.Lines(
            x=ANGLES,
            y=[np.zeros_like(ANGLES)] * 2,
            scales={"x": x, "y": y},
            colors=list(CURL_COLORS),
            labels=["no transpose", "transpose"],
        )
        self.angle_mark = bq.Lines(
            x=[0.0, 0.0],
            y=[0.0, 1.0],
            scales={"x": x, "y": y},
            colors=["#e6194b"],
            line_style="dashed",
        )
        self.curl = _figure(
            "curl",
            "curl score vs scan rotation",
            [self.curl_lines, self.angle_mark],
            x,
            y,
            "scan rotation (\u00b0)",
            "curl score",
            ".2~f",
        )
        self.curl.axes[0].tick_values = np.arange(-180.0, 181.0, 90.0)
        _set_ticks(self.curl.axes[1], SCORE_TICKS)
        x, y = bq.LinearScale(min=0.0, max=1.0), bq.LinearScale(min=0.0, max=1.0)
        # a filled step outline (bqplot's Bars on a linear scale drew every bar at one place)
        self.hist_line = bq.Lines(
            x=[0.0, 1.0],
            y=[0.0, 0.0],
            scales={"x": x, "y": y},
            colors=["#0082c8"],
            fill="bottom",
            fill_colors=["#0082c8"],
            fill_opacities=[0.5],
        )
        self.histogram = _figure(
            "hist", "|CoM| histogram", [self.hist_line], x, y, "|CoM|", "count", ".3~s"
        )
        self._span = (1.0, 1.0)  # y range of the profile, for the radius marks
        self._radii_max = 1.0  # largest radius of the profile
        self._view_radii: tuple[float, float] | None = None  # radii in the detector view
        self._rotation: tuple | None = None
        self._com: np.ndarray | None = None
        self.box = w.HBox(
            [
                _with_legend(
                    self.profile,
                    [
                        ("inner radius", PROFILE_COLORS[0], False),
                        ("outer", PROFILE_COLORS[1], False),
                    ],
                ),
                _with_legend(
                    self.curl,
                    [
                        ("no transpose", CURL_COLORS[0], False),
                        ("transpose", CURL_COLORS[1], False),
                        ("applied", "#e6194b", True),
                    ],
                ),
                self.histogram,
            ]
        )
        self.box.layout.flex_flow = "row wrap"

    def set_detector_units(self, units: str) -> None:
        """Label the profile's radius axis in the detector's ``units`` (a unit code)."""
        self.profile.axes[0].label = f"radius ({unit_text(units)})"

    def show_profile(self, radii: np.ndarray, values: np.ndarray) -> None:
        """Radial profile on a log axis of :data:`PROFILE_DECADES` decades, ticked at each.

        The axis ends at the decade at or above the maximum; lower values (e.g. empty detector
        corners) are raised to its bottom, so the bright-field disc and its edge keep the axis.
        Its ticks read ``10⁻³`` (:func:`decade_labels`).
        """
        top = float(values.max()) if np.any(values > 0) else 1.0
        decades = np.arange(-PROFILE_DECADES, 1) + math.ceil(math.log10(top))
        values = np.maximum(values, float(f"1e{decades[0]}"))
        with self.profile_line.hold_sync():
            self.profile_line.x, self.profile_line.y = radii, values
        _set_ticks(self.profile.axes[1], np.array([float(f"1e{k}") for k in decades]))
        self.profile.axes[1].tick_labels = decade_labels(decades)
        self._span = (float(values.min()), float(values.max()))
        self._radii_max = float(radii.max())
        self._show_profile_x()

    def show_view_radii(self, radii: tuple[float, float] | None) -> None:
        """Span the profile's radius axis over ``radii`` = (smallest, largest) radius in the
        detector view (detector units), within the profile; None: the whole profile."""
        self._view_radii = radii
        self._show_profile_x()

    def _show_profile_x(self) -> None:
        low, high = 0.0, self._radii_max
        if self._view_radii is not None:
            low = min(max(self._view_radii[0], 0.0), high)
            high = min(max(self._view_radii[1], low), high)
        _set_ticks(self.profile.axes[0], nice_ticks(low, high))

    def show_radii(self, inner: float, outer: float) -> None:
        """Vertical marks at the inner and outer radius."""
        low, high = self._span
        with self.radius_marks.hold_sync():
            self.radius_marks.x = [[inner, inner], [outer, outer]]
            self.radius_marks.y = [[low, high], [low, high]]

    def show_rotation(self, rotation: RotationResult, angle_deg: float) -> None:
        """Curl score curves of both transposes (:meth:`RotationResult.score_curve`:
        dimensionless, in ``[0, 1]``, so the axis is fixed and reads the same in any CoM
        units) and a mark at the applied angle (degrees)."""
        key = (rotation, angle_deg)
        if key == self._rotation:
            return
        self._rotation = key
        curves = [rotation.score_curve(ANGLES, transpose) for transpose in (False, True)]
        with self.curl_lines.hold_sync():
            self.curl_lines.y = curves
        with self.angle_mark.hold_sync():
            self.angle_mark.x = [angle_deg, angle_deg]
            self.angle_mark.y = [0.0, 1.0]

    def show_histogram(
        self, com: np.ndarray, units: str, magnitude: np.ndarray | None = None
    ) -> None:
        """Histogram of |CoM| over the scan.

        Parameters
        ----------
        com : ndarray (2, Rx, Ry)
            The CoM field in ``units``; nothing is redrawn when it is the last one shown.
        units : str
            Its unit code, for the axis label (written by :func:`unit_text`).
        magnitude : ndarray (Rx, Ry), optional
            ``|com|`` (or of the same field in another frame) when the caller has it already.
        """
        if self._com is com:
            return
        self._com = com
        counts, edges = magnitude_histogram(com, HIST_BINS, magnitude)
        heights = np.repeat(counts.astype(np.float64), 2)
        with self.hist_line.hold_sync():  # (e0, 0), (e0, c0), (e1, c0), ..., (eN, cN-1), (eN, 0)
            self.hist_line.x = np.repeat(edges, 2)
            self.hist_line.y = np.concatenate([[0.0], heights, [0.0]])
        _set_ticks(self.histogram.axes[0], nice_ticks(0.0, float(edges[-1])))
        _set_ticks(self.histogram.axes[1], nice_ticks(0.0, float(counts.max()), 6))
        label = f"|CoM| ({unit_text(units)})"
        if self.histogram.axes[0].label != label:
            self.histogram.axes[0].label = label


def magnitude_histogram(
    com: np.ndarray, bins: int, magnitude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the finite |CoM| in ``bins`` equal bins from its minimum to its maximum.

    One binning pass (``floor((v - min) * bins / (max - min))``, the maximum in the last bin)
    instead of :func:`numpy.histogram`'s edge corrections, several times faster on scan-sized
    fields; a value within rounding of an edge may count in the neighbouring bin. A constant
    magnitude (or none finite) goes through :func:`numpy.histogram`.

    Parameters
    ----------
    com : ndarray (2, Rx, Ry)
        Vector field in any units.
    bins : int
        Number of bins, >= 1.
    magnitude : ndarray (Rx, Ry), optional
        ``render.magnitude(com)`` when already computed (not recomputed then).

    Returns
    -------
    counts : ndarray (bins,)
        int64 counts; they sum to the number of finite magnitudes.
    edges : ndarray (bins + 1,)
        Bin edges in the units of ``com``.
    """
    if magnitude is None:
        magnitude = render.magnitude(com)
    magnitude = np.asarray(magnitude).ravel()
    low, high = magnitude.min(), magnitude.max()
    if not (np.isfinite(low) and np.isfinite(high)):
        magnitude = magnitude[np.isfinite(magnitude)]
        if magnitude.size == 0:
            return np.histogram(np.zeros(0), bins=bins, range=(0.0, 1.0))
        low, high = magnitude.min(), magnitude.max()
    if not high > low:
        return np.histogram(magnitude, bins=bins)
    index = ((magnitude - low) * (bins / (high - low))).astype(np.int32)
    np.minimum(index, bins - 1, out=index)
    counts = np.bincount(index.astype(np.intp), minlength=bins)
    return counts, np.linspace(float(low), float(high), bins + 1)
