"""The explorer's ipywidgets controls, built for one cube, and their :class:`Settings`."""

from __future__ import annotations

import dataclasses
import html
import math

import ipywidgets as w
import traitlets

from ..io import Datacube
from ..physics import unit_text, wrap_degrees
from .compat import IPYWIDGETS_MAJOR, section, set_tooltip
from .settings import MAX_PADDING, MAX_SEGMENTS, Settings, radius_range
from .snapping import jquery_ui_value, nouislider_value

#: Control names, in :class:`Settings` field order (``com_range`` holds com_inner/com_outer).
NAMES = (
    "inner",
    "outer",
    "segments",
    "rotation",
    "com_source",
    "com_mask",
    "com_range",
    "descan",
    "auto_rotation",
    "scan_rotation",
    "transpose",
    "method",
    "padding",
    "high_pass",
    "low_pass",
    "clip",
)
#: The origin controls: two FloatTexts (pixels) and the buttons that set them.
ORIGIN_NAMES = ("origin_qx", "origin_qy", "find_disc", "geometric")
#: The sections of the controls (collapsible), in order, and which start open: the ones used
#: on every data set. The calibration section is the explorer's (CalibrationFields).
SECTIONS = (
    ("Detector", True),
    ("Centre", False),
    ("Centre of mass", True),
    ("Scan rotation", True),
    ("Phase", False),
    ("Display", False),
)
#: Width of the controls column (CSS): the canvases get the rest of the output area's width.
WIDTH = "310px"
#: Centre boxes show this many decimals (pixels); the exact centre is kept behind them.
ORIGIN_DECIMALS = 2
_STYLE = {"description_width": "105px"}


def _wide() -> w.Layout:
    return w.Layout(width="100%")


def tooltips(detector_units: str, scan_units: str) -> dict[str, str]:
    """What each control means, with its units (the text shown on pointer rest), by name
    (:data:`NAMES`, :data:`ORIGIN_NAMES` and ``rotation_info``)."""
    du, su = detector_units, scan_units
    return {
        "inner": f"inner radius of the segmented detector's annulus ({du}); also the inner "
        "ring on the detector view. Stays below the outer radius (moving it past pushes the "
        "outer one)",
        "outer": f"outer radius of the segmented detector's annulus ({du}); also the outer "
        "ring on the detector view. Stays above the inner radius (moving it below pushes the "
        "inner one)",
        "segments": f"number of equal angular segments of the annulus (1 to {MAX_SEGMENTS})",
        "rotation": "angle (degrees) added to every detector pixel's angle before it is "
        "assigned to a segment: turns the segment borders",
        "com_source": "the centre of mass used: segmented (differences of opposite segments), "
        "monolithic (segment sums times their centroids) or pixelated (every detector pixel)",
        "com_mask": "pixelated CoM over the mask's annulus only; unticked: every pixel",
        "com_range": f"annulus of the pixelated CoM: inner and outer radius ({du})",
        "descan": "subtracted from the CoM at every scan position: none, a constant (the "
        "mean: descan or a vacuum offset) or a plane fitted over the scan",
        "auto_rotation": "solve the scan rotation and transpose from the CoM field (the angle "
        "of least curl); untick to set them by hand",
        "scan_rotation": "rotation (degrees) of the measured CoM into the scan frame "
        "(py4DSTEM's convention)",
        "transpose": "swap the CoM's x and y before rotating it (a transposed detector)",
        "rotation_info": "the solved scan rotation (one-sigma uncertainty) and its curl score: "
        "rms curl / sqrt(<curl^2> + <div^2>) of the rotated field, 0 for a clean gradient "
        "field, 0.71 when the angle is undetermined",
        "method": "phase integration: fourier (exact periodic solve, one FFT) or iterative "
        "(gradient descent as py4DSTEM)",
        "padding": "the iterative and zero-padded integration work on a grid this many times "
        "the scan in each direction: less wrap-around at the edges, slower (py4DSTEM: 2)",
        "high_pass": f"Gaussian high-pass of the phase, cut-off in {su} (0: off): removes "
        "slow ramps",
        "low_pass": f"Gaussian low-pass of the phase, cut-off in {su} (0: off): removes "
        "noise finer than 1/cut-off",
        "clip": "display contrast: each scan image spans its clip to 100 - clip percentiles "
        "(%); 0: its full range",
        "origin_qx": "detector centre along qx (axis 0, rows), detector pixels; drag the "
        "yellow handle on the detector view too",
        "origin_qy": "detector centre along qy (axis 1, columns), detector pixels; drag the "
        "yellow handle on the detector view too",
        "find_disc": "centre on the bright-field disc found in the mean pattern",
        "geometric": "centre at the detector's middle pixel (Qx // 2, Qy // 2)",
    }


def browser_value(slider: w.FloatSlider, value: float) -> float:
    """``value`` as the slider shows it in the browser: snapped to its step the way the front
    end of the installed ipywidgets does it, with the browser's floating-point arithmetic.

    ipywidgets 8 (noUiSlider, :func:`~dpc_widgets.widgets.snapping.nouislider_value`, e.g.
    20.500000000000004): the browser sends a slider's value back whenever its own snapped
    value differs from the model's, so a value set from Python that is not exactly this is
    answered by an extra message, and during a drag that stale answer arrives after newer
    values. Setting ``browser_value(slider, v)`` instead is not answered.
    ipywidgets 7 (jQuery UI, :func:`~dpc_widgets.widgets.snapping.jquery_ui_value`, e.g. 20.0
    where noUiSlider holds 19.999999999999996): the browser never answers a value set from
    Python inside the range, but slides only to these values; setting one keeps the model on a
    value the user could have slid to, and the next arrow key moves one step from it.
    """
    snap = nouislider_value if IPYWIDGETS_MAJOR >= 8 else jquery_ui_value
    return snap(float(slider.min), float(slider.max), float(slider.step), value)


class ControlValueError(traitlets.TraitError, ValueError):
    """A value set on a control from Python that it cannot hold (named, never clamped)."""


def _strict_value(widget: w.ValueWidget, value: float) -> float:
    """``value`` if it lies in the widget's [min, max], else :class:`ControlValueError`."""
    if not widget.min <= value <= widget.max:
        raise ControlValueError(
            f"{widget.description or 'value'} {value!r} is outside the control's range "
            f"[{widget.min!r}, {widget.max!r}]"
        )
    return value


class StrictFloatSlider(w.FloatSlider):
    """A FloatSlider that refuses a value outside its range instead of clamping it."""

    @traitlets.validate("value")
    def _validate_value(self, proposal):
        return _strict_value(self, proposal["value"])


class RadiusSlider(w.FloatSlider):
    """A radius slider: a value set from Python above its end widens it (never clamped);
    below its start (0) it is refused."""

    @traitlets.validate("value")
    def _validate_value(self, proposal):
        value = proposal["value"]
        if value > self.max:
            self.max = value
        return _strict_value(self, value)


class StrictIntSlider(w.IntSlider):
    """An IntSlider that refuses a value outside its range instead of clamping it."""

    @traitlets.validate("value")
    def _validate_value(self, proposal):
        return _strict_value(self, proposal["value"])


class AngleSlider(w.FloatSlider):
    """A slider of degrees in [-180, 180]: a value set from Python wraps by whole turns
    (:func:`~dpc_widgets.physics.wrap_degrees`: 270 shows -90), NaN or inf is refused."""

    @traitlets.validate("value")
    def _validate_value(self, proposal):
        try:
            return wrap_degrees(proposal["value"], self.description or "angle")
        except (TypeError, ValueError) as err:
            raise ControlValueError(str(err)) from None


class Controls:
    """All controls of the explorer; ``controls.<name>`` for each name in :data:`NAMES`.

    Parameters
    ----------
    cube : Datacube
        Sets the radius units, slider ranges and filter units.
    settings : Settings
        Initial values.
    """

    def __init__(self, cube: Datacube, settings: Settings) -> None:
        radius = {
            "continuous_update": True,
            "readout_format": ".4g",
            "style": _STYLE,
            "layout": _wide(),
        }
        self.inner = RadiusSlider(**radius)
        self.outer = RadiusSlider(**radius)
        self.segments = StrictIntSlider(
            description="segments", min=1, max=MAX_SEGMENTS, style=_STYLE, layout=_wide()
        )
        self.rotation = AngleSlider(
            description="offset (deg)", min=-180, max=180, step=0.5, style=_STYLE, layout=_wide()
        )
        self.com_source = w.Dropdown(
            description="CoM source",
            options=["segmented", "monolithic", "pixelated"],
            style=_STYLE,
            layout=_wide(),
        )
        self.com_mask = w.Checkbox(description="CoM mask (off: whole detector)", indent=False)
        self.com_range = w.FloatRangeSlider(**{**radius, "readout_format": ".1f"})
        self.descan = w.Dropdown(
            description="descan",
            options=[("none", None), ("constant", "constant"), ("plane", "plane")],
            style=_STYLE,
            layout=_wide(),
        )
        self.auto_rotation = w.Checkbox(description="auto scan rotation", indent=False)
        self.scan_rotation = AngleSlider(
            description="rotation (deg)", min=-180, max=180, step=0.1, style=_STYLE, layout=_wide()
        )
        self.transpose = w.Checkbox(description="transpose", indent=False)
        # the solved rotation and its warnings (undetermined, weak half turn): shown here, once
        self.rotation_info = w.HTML(layout=_wide())
        self.rotation_info.add_class("dpc-rotation-info")
        self.method = w.Dropdown(
            description="phase method",
            options=["fourier", "iterative"],
            style=_STYLE,
            layout=_wide(),
        )
        self.padding = StrictIntSlider(
            description="padding", min=1, max=MAX_PADDING, style=_STYLE, layout=_wide()
        )
        # plain number fields: a value out of range is an error in the status line, not clamped
        self.high_pass = w.FloatText(step=0.001, style=_STYLE, layout=_wide())
        self.low_pass = w.FloatText(step=0.001, style=_STYLE, layout=_wide())
        self.clip = StrictFloatSlider(
            description="clip (%)", min=0, max=10, step=0.1, style=_STYLE, layout=_wide()
        )
        # detector origin (pixels): not a Settings field, the explorer moves the DPC origin
        self.origin_qx = w.FloatText(description="centre qx (px)", style=_STYLE, layout=_wide())
        self.origin_qy = w.FloatText(description="centre qy (px)", style=_STYLE, layout=_wide())
        self._origin = (math.nan, math.nan)  # the exact centre behind the rounded boxes
        self.find_disc = w.Button(description="re-find disc")
        self.geometric = w.Button(description="geometric")
        for name in NAMES + ORIGIN_NAMES:
            getattr(self, name).add_class(f"dpc-ctl-{name}")
        self.set_origin(cube.origin)
        self.configure(cube)
        self.set(settings)
        groups = (
            [self.inner, self.outer, self.segments, self.rotation],
            [self.origin_qx, self.origin_qy, w.HBox([self.find_disc, self.geometric])],
            [self.com_source, self.com_mask, self.com_range, self.descan],
            [self.auto_rotation, self.rotation_info, self.scan_rotation, self.transpose],
            [self.method, self.padding, self.high_pass, self.low_pass],
            [self.clip],
        )
        #: The collapsible sections by title (:data:`SECTIONS`).
        self.sections = {
            title: section(title, group, open_)
            for (title, open_), group in zip(SECTIONS, groups, strict=True)
        }
        self.box = w.VBox(list(self.sections.values()))
        # A fixed width: text that changes with the results (the solved rotation line) wraps
        # instead of widening the column and moving the canvases under a dragging pointer.
        self.box.layout = w.Layout(width=WIDTH, flex="0 0 auto")
        self.box.add_class("dpc-controls")
        for name in ("com_source", "com_mask", "auto_rotation"):
            getattr(self, name).observe(lambda _: self.update_enabled(), "value")
        # inner < outer always: a radius moved past the other pushes it one step along
        self.inner.observe(self._inner_moved, "value")
        self.outer.observe(self._outer_moved, "value")
        self.update_enabled()

    def add_section(self, title: str, children: list[w.Widget], open_: bool = False) -> None:
        """Append a collapsible section (e.g. the explorer's calibration fields)."""
        self.sections[title] = section(title, children, open_)
        self.box.children = (*self.box.children, self.sections[title])

    def _inner_moved(self, change: dict) -> None:
        """Keep ``outer`` above a new ``inner``: pushed to one step beyond it."""
        if change["new"] >= self.outer.value:
            self.outer.value = browser_value(self.outer, change["new"] + self.outer.step)

    def _outer_moved(self, change: dict) -> None:
        """Keep ``inner`` below a new ``outer``: pushed to one step inside it; an outer radius
        of one step or less (no room for an inner one) goes back to one step beyond inner."""
        if change["new"] > self.inner.value:
            return
        below = change["new"] - self.inner.step
        if below >= self.inner.min:
            self.inner.value = browser_value(self.inner, below)
        else:
            self.outer.value = browser_value(self.outer, self.inner.value + self.outer.step)

    def configure(self, cube: Datacube) -> None:
        """Label units and set the radius slider ranges for ``cube`` (values are kept, clamped)."""
        top, step = radius_range(cube)
        du, su = unit_text(cube.detector_units), unit_text(cube.scan_units, -1)
        unlimited = getattr(self, "_unbounded", False) and (
            self.com_range.value[1] == self.com_range.max
        )
        for slider, label in (
            (self.inner, "inner"),
            (self.outer, "outer"),
            (self.com_range, "mask"),
        ):
            slider.description = f"{label} ({du})"
            slider.step = step
            slider.min = 0.0
            slider.max = top
        if unlimited:  # no mask limit stays none: the slider's new end
            self.com_range.value = (min(self.com_range.value[0], top), top)
        self.high_pass.description = f"high-pass ({su})"
        self.low_pass.description = f"low-pass ({su})"
        for name, text in tooltips(du, su).items():
            set_tooltip(getattr(self, name), text)

    def widgets(self) -> dict[str, w.ValueWidget]:
        """The controls by name (see :data:`NAMES`)."""
        return {name: getattr(self, name) for name in NAMES}

    def settings(self) -> Settings:
        """The current values as :class:`Settings` (may raise ValueError, e.g. segments).

        Floats are rounded to 10 decimals: browser sliders send values such as
        ``20.500000000000004`` (step arithmetic in JavaScript).
        """
        values = {
            name: _tidy(widget.value) if isinstance(widget, _SLIDERS) else widget.value
            for name, widget in self.widgets().items()
        }
        com_inner, com_outer = (_tidy(v) for v in values.pop("com_range"))
        if self._unbounded and com_outer == self.com_range.max:
            com_outer = math.inf  # set as no limit and left at the slider's end: still none
        values["com_inner"], values["com_outer"] = com_inner, com_outer
        return Settings(**values)

    def set(self, settings: Settings) -> None:
        """Set every control from ``settings``; nothing is clamped.

        The radius and clip sliders widen to hold the values; :class:`Settings` has already
        wrapped the angles into the angle sliders' [-180, 180] and refused what lies outside
        the other controls' ranges (segments, padding). ``com_outer`` infinity (no limit) puts
        the mask slider at its end, and :meth:`settings` reads it back as infinity while it
        stays there.
        """
        values = dataclasses.asdict(settings)
        com_range = (values.pop("com_inner"), values.pop("com_outer"))
        radii = [settings.inner, settings.outer, *(r for r in com_range if math.isfinite(r))]
        for slider in (self.inner, self.outer, self.com_range):
            slider.max = max(slider.max, *radii)
        self.clip.max = max(self.clip.max, settings.clip)
        top = self.com_range.max
        self._unbounded = not math.isfinite(com_range[1])
        self.com_range.value = (com_range[0], min(com_range[1], top))
        for name, value in values.items():
            getattr(self, name).value = value

    def origin(self) -> tuple[float, float]:
        """The detector centre (qx, qy) in pixels that the origin controls show.

        The boxes show the centre rounded to :data:`ORIGIN_DECIMALS` decimals; while a box
        still shows the rounded value of the centre set by :meth:`set_origin`, that exact
        value is returned (a found disc centre stays exact), else the typed one.
        """
        return tuple(
            exact if box.value == round(exact, ORIGIN_DECIMALS) else float(box.value)
            for box, exact in zip((self.origin_qx, self.origin_qy), self._origin, strict=True)
        )

    def set_origin(self, origin: tuple[float, float]) -> None:
        """Show ``origin`` (qx, qy) in pixels, rounded to 0.01 px (kept exact behind)."""
        self._origin = (float(origin[0]), float(origin[1]))
        self.origin_qx.value = round(self._origin[0], ORIGIN_DECIMALS)
        self.origin_qy.value = round(self._origin[1], ORIGIN_DECIMALS)

    def update_enabled(self) -> None:
        """Disable controls that the current choices ignore."""
        pixelated = self.com_source.value == "pixelated"
        self.com_mask.disabled = not pixelated
        self.com_range.disabled = not (pixelated and self.com_mask.value)
        self.descan.disabled = False  # every CoM source removes its descan / offset
        manual = not self.auto_rotation.value
        self.scan_rotation.disabled = not manual
        self.transpose.disabled = not manual

    def show_rotation(
        self,
        angle_deg: float,
        transpose: bool,
        score: float,
        uncertainty_deg: float | None = None,
        weak_half_turn: bool = False,
        undetermined: str = "",
        rows: tuple[int, int] | None = None,
    ) -> None:
        """Show the solved rotation; with auto rotation also move the manual controls to it.

        ``uncertainty_deg`` (one sigma, degrees) is shown as ``± x°``; ``weak_half_turn`` adds a
        note that the 180-degree choice is weak. ``undetermined``: why no rotation could be
        solved (the line then says so, and ``angle_deg`` is the one used instead). ``rows``:
        (rows it was solved on, rows of the scan), said for a scan still being recorded.
        """
        spread = "" if uncertainty_deg is None else f" &plusmn; {uncertainty_deg:.1f}&deg;"
        weak = "; 180&deg; choice weak (check the phase sign)" if weak_half_turn else ""
        if undetermined:
            reason = undetermined
            if reason.startswith("CoM field"):  # zero or uniform
                reason += ": a vacuum or reference scan?"
            text = f"undetermined ({html.escape(reason)}); using {angle_deg:.1f}&deg;"
        else:
            text = (
                f"solved: {angle_deg:.1f}&deg;{spread}, transpose {'yes' if transpose else 'no'} "
                f"(curl score {score:.3f}){weak}"
            )
        if rows is not None:
            text += f"; solved on {rows[0]} of {rows[1]} rows"
        kind = "warning" if undetermined or weak_half_turn else "ok"
        self.rotation_info.value = f'<span class="dpc-status-{kind}">{text}</span>'
        if self.auto_rotation.value:
            self.scan_rotation.value = browser_value(self.scan_rotation, angle_deg)
            self.transpose.value = bool(transpose)


_SLIDERS = (w.FloatSlider, w.FloatRangeSlider)


def _tidy(value):
    """A slider's float without the browser's step-arithmetic noise (``20.500000000000004``
    -> ``20.5``): rounded to 10 decimals when that moves it by less than 1e-12 of itself;
    other values (``1e-200``, ``12.345678901234``) unchanged."""
    if not isinstance(value, float):
        return value
    rounded = round(value, 10)
    return rounded if abs(rounded - value) < 1e-12 * abs(value) else value
