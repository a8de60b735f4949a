"""bqplot figures of the explorer: radial profile, curl versus scan rotation, CoM histogram.

Each ``show_*`` method only touches the marks whose data changed, so moving a radius slider
moves two marker lines and resends nothing else.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as w
import numpy as np

from ..core import RotationResult

ANGLES = np.arange(-180.0, 180.5, 1.0)  #: angles of the curl curve, degrees
HIST_BINS = 48
_LAYOUT = {"width": "340px", "height": "240px"}
_MARGIN = {"top": 30, "bottom": 45, "left": 75, "right": 15}


def _figure(
    name: str,
    title: str,
    marks: list,
    x: bq.Scale,
    y: bq.Scale,
    xlabel: str,
    ylabel: str,
    y_format: str = ".1e",
) -> bq.Figure:
    axes = [
        bq.Axis(scale=x, side="bottom", label=xlabel, tick_format=".3g", num_ticks=5),
        bq.Axis(scale=y, side="left", label=ylabel, tick_format=y_format, num_ticks=4),
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
        )
        x, y = bq.LinearScale(min=-180.0, max=180.0), bq.LinearScale()
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
        )
        x, y = bq.LinearScale(), bq.LinearScale(min=0.0)
        self.hist_bars = bq.Bars(
            x=[0.0], y=[0.0], scales={"x": x, "y": y}, padding=0.05, colors=["#0082c8"]
        )
        self.histogram = _figure(
            "hist", "|CoM| histogram", [self.hist_bars], x, y, "|CoM|", "count", "d"
        )
        self._span = (1.0, 1.0)  # y range of the profile, for the radius marks
        self._rotation: tuple | None = None
        self._com: np.ndarray | None = None
        self.box = w.HBox([self.profile, self.curl, self.histogram])
        self.box.layout.flex_flow = "row wrap"

    def show_profile(self, radii: np.ndarray, values: np.ndarray) -> None:
        """Radial profile on a log axis spanning at most 6 decades (lower values are raised)."""
        positive = values[values > 0]
        floor = max(positive.min(), 1e-6 * positive.max()) if positive.size else 1.0
        values = np.maximum(values, floor)
        with self.profile_line.hold_sync():
            self.profile_line.x, self.profile_line.y = radii, values
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
        with self.angle_mark.hold_sync():
            self.angle_mark.x = [angle_deg, angle_deg]
            self.angle_mark.y = [0.0, high]
        self.curl.axes[1].label = f"curl^2 ({units}/px)^2"

    def show_histogram(self, com: np.ndarray, units: str) -> None:
        """Histogram of |CoM| over the scan (``com`` is (2, Rx, Ry))."""
        if self._com is com:
            return
        self._com = com
        counts, edges = np.histogram(np.hypot(com[0], com[1]), bins=HIST_BINS)
        with self.hist_bars.hold_sync():
            self.hist_bars.x = 0.5 * (edges[1:] + edges[:-1])
            self.hist_bars.y = counts.astype(np.float64)
        self.histogram.axes[0].label = f"|CoM| ({units})"
