"""bqplot figures of the explorer: radial profile, curl versus scan rotation, CoM histogram.

Each ``show_*`` method only touches the marks whose data changed, so moving a radius slider
moves two marker lines and resends nothing else.
"""

from __future__ import annotations

import math

import bqplot as bq
import ipywidgets as w
import numpy as np

from ..core import RotationResult
from . import render

ANGLES = np.arange(-180.0, 180.5, 1.0)  #: angles of the curl curve, degrees
HIST_BINS = 48
_LAYOUT = {"width": "340px", "height": "240px"}
_MARGIN = {"top": 36, "bottom": 45, "left": 75, "right": 25}
PROFILE_DECADES = 4  #: decades spanned by the radial profile's log axis
_NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


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
        bq.Axis(scale=x, side="bottom", label=xlabel, tick_format=".3~g"),
        bq.Axis(scale=y, side="left", label=ylabel, tick_format=y_format, label_offset="52px"),
    ]
    figure = bq.Figure(
        marks=marks,
        axes=axes,
        title=title,
        fig_margin=_MARGIN,
        layout=w.Layout(**_LAYOUT),
        animation_duration=0,
    )
    figure.add_class(f"dpc-plot-{name}")
    return figure


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
            colors=["#e6194b", "#0082c8"],
            labels=["inner", "outer"],
            display_legend=True,
        )
        self.profile = _figure(
            "profile",
            "radial profile (mean pattern)",
            [self.profile_line, self.radius_marks],
            x,
            y,
            f"radius ({detector_units})",
            "intensity",
            ".0e",
        )
        x, y = bq.LinearScale(min=-180.0, max=180.0), bq.LinearScale(min=0.0, max=1.0)
        self.curl_lines = bq.Lines(
            x=ANGLES,
            y=[np.zeros_like(ANGLES)] * 2,
            scales={"x": x, "y": y},
            colors=["#3cb44b", "#911eb4"],
            labels=["no transpose", "transpose"],
            display_legend=True,
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
            "curl vs scan rotation",
            [self.curl_lines, self.angle_mark],
            x,
            y,
            "rotation (deg)",
            "mean curl^2",
            ".1e",
        )
        self.curl.axes[0].tick_values = np.arange(-180.0, 181.0, 90.0)
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
            "hist", "|CoM| histogram", [self.hist_line], x, y, "|CoM|", "count", ".3~g"
        )
        self._span = (1.0, 1.0)  # y range of the profile, for the radius marks
        self._rotation: tuple | None = None
        self._com: np.ndarray | None = None
        self.box = w.HBox([self.profile, self.curl, self.histogram])
        self.box.layout.flex_flow = "row wrap"

    def show_profile(self, radii: np.ndarray, values: np.ndarray) -> None:
        """Radial profile on a log axis of :data:`PROFILE_DECADES` decades, ticked at each.

        The axis ends at the decade at or above the maximum; lower values (e.g. empty detector
        corners) are raised to its bottom, so the bright-field disc and its edge keep the axis.
        """
        top = float(values.max()) if np.any(values > 0) else 1.0
        decades = np.arange(-PROFILE_DECADES, 1.0) + math.ceil(math.log10(top))
        values = np.maximum(values, 10.0 ** decades[0])
        with self.profile_line.hold_sync():
            self.profile_line.x, self.profile_line.y = radii, values
        _set_ticks(self.profile.axes[0], nice_ticks(0.0, float(radii.max())))
        _set_ticks(self.profile.axes[1], 10.0**decades)
        self._span = (float(values.min()), float(values.max()))

    def show_radii(self, inner: float, outer: float) -> None:
        """Vertical marks at the inner and outer radius."""
        low, high = self._span
        with self.radius_marks.hold_sync():
            self.radius_marks.x = [[inner, inner], [outer, outer]]
            self.radius_marks.y = [[low, high], [low, high]]

    def show_rotation(self, rotation: RotationResult, angle_deg: float, units: str) -> None:
        """Curl curves of both transposes and a mark at the applied angle."""
        key = (rotation, angle_deg)
        if key == self._rotation:
            return
        self._rotation = key
        curves = [rotation.curve(ANGLES, transpose) for transpose in (False, True)]
        high = float(max(curve.max() for curve in curves))
        with self.curl_lines.hold_sync():
            self.curl_lines.y = curves
        _set_ticks(self.curl.axes[1], nice_ticks(0.0, high, 6))
        with self.angle_mark.hold_sync():
            self.angle_mark.x = [angle_deg, angle_deg]
            self.angle_mark.y = [0.0, high]
        self.curl.axes[1].label = f"curl^2 ({units}/px)^2"

    def show_histogram(
        self, com: np.ndarray, units: str, magnitude: np.ndarray | None = None
    ) -> None:
        """Histogram of |CoM| over the scan.

        Parameters
        ----------
        com : ndarray (2, Rx, Ry)
            The CoM field in ``units``; nothing is redrawn when it is the last one shown.
        units : str
            Its units, for the axis label.
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
        self.histogram.axes[0].label = f"|CoM| ({units})"


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
