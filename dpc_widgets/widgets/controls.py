"""The explorer's ipywidgets controls, built for one cube, and their :class:`Settings`."""

from __future__ import annotations

import dataclasses
import html
import math

import ipywidgets as w
import traitlets

from ..io import Datacube
from ..physics import unit_text, wrap_degrees
from .compat import IPYWIDGETS_MAJOR, description_tooltip
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
_STYLE = {"description_width": "120px"}
_WIDE = w.Layout(width="300px")


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
            "layout": _WIDE,
        }
        self.inner = RadiusSlider(**radius)
        self.outer = RadiusSlider(**radius)
        self.segments = StrictIntSlider(
            description="segments", min=1, max=MAX_SEGMENTS, style=_STYLE, layout=_WIDE
        )
        self.rotation = AngleSlider(
            description="offset (deg)", min=-180, max=180, step=0.5, style=_STYLE, layout=_WIDE
        )
        self.com_source = w.Dropdown(
            description="CoM source",
            options=["segmented", "monolithic", "pixelated"],
            style=_STYLE,
            layout=_WIDE,
        )
        self.com_mask = w.Checkbox(
            description="CoM mask (off: whole detector)",
            **description_tooltip(
                "pixelated CoM over the mask's annulus only; unticked: every pixel"
            ),
            indent=False,
        )
        self.com_range = w.FloatRangeSlider(**{**radius, "readout_format": ".1f"})
        self.descan = w.Dropdown(
            description="descan",
            options=[("none", None), ("constant", "constant"), ("plane", "plane")],
            style=_STYLE,
            layout=_WIDE,
        )
        self.auto_rotation = w.Checkbox(description="auto scan rotation", indent=False)
        self.scan_rotation = AngleSlider(
            description="rotation (deg)", min=-180, max=180, step=0.1, style=_STYLE, layout=_WIDE
        )
        self.transpose = w.Checkbox(description="transpose", indent=False)
        self.rotation_info = w.HTML()
        self.method = w.Dropdown(
            description="phase method", options=["fourier", "iterative"], style=_STYLE, layout=_WIDE
        )
        self.padding = StrictIntSlider(
            description="padding", min=1, max=MAX_PADDING, style=_STYLE, layout=_WIDE
        )
        # plain number fields: a value out of range is an error in the status line, not clamped
        self.high_pass = w.FloatText(step=0.001, style=_STYLE, layout=_WIDE)
        self.low_pass = w.FloatText(step=0.001, style=_STYLE, layout=_WIDE)
        self.clip = StrictFloatSlider(
            description="clip (%)", min=0, max=10, step=0.1, style=_STYLE, layout=_WIDE
        )
        # detector origin (pixels): not a Settings field, the explorer moves the DPC origin
        self.origin_qx = w.FloatText(description="centre qx (px)", style=_STYLE, layout=_WIDE)
        self.origin_qy = w.FloatText(description="centre qy (px)", style=_STYLE, layout=_WIDE)
        self.find_disc = w.Button(description="re-find disc", tooltip="centre on the disc")
        self.geometric = w.Button(description="geometric", tooltip="centre (Qx // 2, Qy // 2)")
        for name in NAMES + ORIGIN_NAMES:
            getattr(self, name).add_class(f"dpc-ctl-{name}")
        self.set_origin(cube.origin)
        self.configure(cube)
        self.set(settings)
        self.box = w.VBox(
            [
                w.HTML("<b>Segmented detector</b>"),
                self.inner,
                self.outer,
                self.segments,
                self.rotation,
                w.HTML("<b>Detector centre</b>"),
                self.origin_qx,
                self.origin_qy,
                w.HBox([self.find_disc, self.geometric]),
                w.HTML("<b>Centre of mass</b>"),
                self.com_source,
                self.com_mask,
                self.com_range,
                self.descan,
                w.HTML("<b>Scan rotation</b>"),
                self.auto_rotation,
                self.rotation_info,
                self.scan_rotation,
                self.transpose,
                w.HTML("<b>Phase</b>"),
                self.method,
                self.padding,
                self.high_pass,
                self.low_pass,
                w.HTML("<b>Display</b>"),
                self.clip,
            ]
        )
        # A fixed width: text that changes with the results (the solved rotation line) wraps
        # instead of widening the column and moving the canvases under a dragging pointer.
        self.box.layout = w.Layout(width="340px", flex="0 0 auto")
        self.box.add_class("dpc-controls")
        for name in ("com_source", "com_mask", "auto_rotation"):
            getattr(self, name).observe(lambda _: self.update_enabled(), "value")
        self.update_enabled()

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
        """The detector centre (qx, qy) in pixels that the origin controls show."""
        return float(self.origin_qx.value), float(self.origin_qy.value)

    def set_origin(self, origin: tuple[float, float]) -> None:
        """Show ``origin`` (qx, qy) in pixels."""
        self.origin_qx.value = float(origin[0])
        self.origin_qy.value = float(origin[1])

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
    ) -> None:
        """Show the solved rotation; with auto rotation also move the manual controls to it.

        ``uncertainty_deg`` (one sigma, degrees) is shown as ``± x°``; ``weak_half_turn`` adds a
        note that the 180-degree choice is weak. ``undetermined``: why no rotation could be
        solved (the line then says so, and ``angle_deg`` is the one used instead).
        """
        spread = "" if uncertainty_deg is None else f" &plusmn; {uncertainty_deg:.1f}&deg;"
        weak = "; 180&deg; choice weak (check the phase sign)" if weak_half_turn else ""
        if undetermined:
            self.rotation_info.value = (
                f"undetermined ({html.escape(undetermined)}); using {angle_deg:.1f}&deg;"
            )
        else:
            self.rotation_info.value = (
                f"solved: {angle_deg:.1f}&deg;{spread}, transpose {'yes' if transpose else 'no'} "
                f"(curl score {score:.3f}){weak}"
            )
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
