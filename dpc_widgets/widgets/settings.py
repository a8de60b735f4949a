"""The explorer's settings as one frozen value, their defaults for a cube, and the core-API code
that reproduces them.

Pure (NumPy only, no widgets): the batch command line (:mod:`dpc_widgets.batch`) uses the same
defaults as the explorer.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..core.dpc import COM_SOURCES, DESCAN_MODES, PHASE_METHODS
from ..detectors import SegmentedDetector, area_spread
from ..io import Datacube
from ..io.disc import find_disc
from ..physics import finite_real, integer_at_least, non_negative, wrap_degrees

MAX_SEGMENTS = 16
#: Default outer radius of the pixelated CoM on a cube whose disc was found, in disc radii
#: (measured: ``scripts/measure_com_mask.py``, table in ``docs/defaults.md``).
COM_DISC_FACTOR = 1.25
#: Largest padding factor of the phase integration (py4DSTEM uses 2; the explorer's slider).
MAX_PADDING = 8
_BOOLS = ("com_mask", "auto_rotation", "transpose")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the explorer's controls set.

    Radii are in the cube's detector units, angles in degrees, filter cut-offs in 1/(scan units)
    and ``clip`` in percent.

    Attributes
    ----------
    inner, outer : float
        Segmented detector annulus ``inner <= r < outer``.
    segments : int
        Number of segments, 1 to 16.
    rotation : float
        Rotation offset of the segments (degrees, see :mod:`dpc_widgets.detectors`), wrapped
        by whole turns into [-180, 180].
    com_source : {"segmented", "monolithic", "pixelated"}
        Which centre of mass is integrated (see :meth:`dpc_widgets.core.DPC.run`).
    com_mask : bool
        Pixelated CoM over the annulus ``com_inner <= r < com_outer`` only (the default of
        :func:`initial_settings` on a cube whose disc was found: :func:`default_com_region`).
    com_inner, com_outer : float
        That annulus (used when ``com_mask`` and ``com_source == "pixelated"``).
    descan : {None, "constant", "plane"}
        Descan / constant-offset correction of the CoM (every source, see
        :meth:`dpc_widgets.core.DPC.run`).
    auto_rotation : bool
        Solve the scan rotation and transpose (curl minimum); else use the next two.
    scan_rotation : float
        Manual scan rotation in degrees (py4DSTEM convention), wrapped into [-180, 180].
    transpose : bool
        Manual transpose.
    method : {"fourier", "iterative"}
        Phase integration method.
    padding : int
        Padding factor of the integration grid, 1 to 8.
    high_pass, low_pass : float
        Gaussian filter cut-offs, finite, >= 0; 0 disables.
    clip : float
        Display contrast: images span their ``clip`` to ``100 - clip`` percentiles.
    """

    inner: float
    outer: float
    segments: int = 4
    rotation: float = 0.0
    com_source: str = "segmented"
    com_mask: bool = False
    com_inner: float = 0.0
    com_outer: float = math.inf
    descan: str | None = "constant"
    auto_rotation: bool = True
    scan_rotation: float = 0.0
    transpose: bool = False
    method: str = "fourier"
    padding: int = 2
    high_pass: float = 0.0
    low_pass: float = 0.0
    clip: float = 0.5

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = check_setting(field.name, getattr(self, field.name))
            object.__setattr__(self, field.name, value)
        if not self.com_inner < self.com_outer:
            raise ValueError(
                f"com_inner {self.com_inner!r} must be smaller than com_outer {self.com_outer!r}"
            )

    def detector(self) -> SegmentedDetector:
        """The segmented detector (raises ValueError/TypeError for bad geometry)."""
        return SegmentedDetector(self.inner, self.outer, self.segments, rotation=self.rotation)

    def run_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :meth:`dpc_widgets.core.DPC.run` for these settings."""
        masked = self.com_source == "pixelated" and self.com_mask
        manual = not self.auto_rotation
        return {
            "com_source": self.com_source,
            "com_inner": float(self.com_inner) if masked else None,
            "com_outer": float(self.com_outer) if masked else None,
            "descan": self.descan,
            "rotation": float(self.scan_rotation) if manual else None,
            "transpose": bool(self.transpose) if manual else None,
            "method": self.method,
            "padding": int(self.padding),
            "high_pass": float(self.high_pass),
            "low_pass": float(self.low_pass) if self.low_pass > 0 else None,
        }

    def cache_reach(self) -> float:
        """Largest outer radius (detector units) these settings read from the detector cache."""
        masked = self.com_source == "pixelated" and self.com_mask
        return max(float(self.outer), float(self.com_outer) if masked else 0.0)

    def code(self, cube_line: str, backend: str = "numpy") -> str:
        """Python code computing these results with the core API.

        Parameters
        ----------
        cube_line : str
            A line that defines ``cube`` (or a comment saying where it comes from).
        backend : str
            The :class:`~dpc_widgets.core.DPC` backend.
        """
        detector = self.detector()
        lines = [
            "from dpc_widgets import SegmentedDetector, load",
            "from dpc_widgets.core import DPC",
            "",
            cube_line,
            f"dpc = DPC(cube, backend={backend!r})",
            f"detector = SegmentedDetector(inner={detector.inner!r}, outer={detector.outer!r}, "
            f"segments={detector.segments!r}, rotation={detector.rotation!r})",
            "result = dpc.run(",
            "    detector,",
            *(f"    {key}={_literal(value)}," for key, value in self.run_kwargs().items()),
            ")",
            "phase = result.phase  # also result.segment_images, result.com, result.com_rotated",
        ]
        return "\n".join(lines) + "\n"


SETTING_NAMES = tuple(field.name for field in dataclasses.fields(Settings))


def check_setting(name: str, value: Any) -> Any:
    """Check the value of one :class:`Settings` field on its own; return it normalised.

    The one validation of a setting, for the explorer (constructor, controls, settings files)
    and the batch command line alike. Types are checked, not coerced (the string ``"4"`` is no
    number of segments); numbers become ``float`` / ``int``; the angles ``rotation`` and
    ``scan_rotation`` wrap by whole turns into [-180, 180] (the explorer's slider range, see
    :func:`~dpc_widgets.physics.wrap_degrees`); every other value outside its range is an
    error, never clamped. Geometry that needs two fields (``inner < outer``) is checked by
    :meth:`Settings.detector`, ``com_inner < com_outer`` by :class:`Settings`.

    Raises
    ------
    TypeError
        For a value of the wrong type, naming the field and the value.
    ValueError
        For a value outside its range or choices, naming the field and the value.
    """
    choices = {"com_source": COM_SOURCES, "descan": DESCAN_MODES, "method": PHASE_METHODS}
    if name in choices:
        if not isinstance(value, (str, type(None))) or value not in choices[name]:
            raise ValueError(f"{name} must be one of {choices[name]}, got {value!r}")
        return value
    if name in _BOOLS:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}")
        return bool(value)
    if name in ("rotation", "scan_rotation"):
        return wrap_degrees(value, name)
    if name == "segments":
        value = integer_at_least(value, "segments", 1)
        if value > MAX_SEGMENTS:
            raise ValueError(f"segments must be between 1 and {MAX_SEGMENTS}, got {value!r}")
        return value
    if name == "padding":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"padding must be an integer factor >= 1, got {value!r}")
        if not 1 <= value <= MAX_PADDING:
            raise ValueError(
                f"padding must be an integer factor <= {MAX_PADDING} and >= 1, got {value!r}"
            )
        return int(value)
    if name == "clip":
        out = finite_real(value, "clip")
        if not 0 <= out < 50:
            raise ValueError(f"clip must be a percentage in [0, 50), got {value!r}")
        return out
    if name in ("high_pass", "low_pass"):
        try:
            return non_negative(value, name)
        except ValueError:
            raise ValueError(
                f"{name} must be >= 0 and finite (0 disables), got {value!r}"
            ) from None
    if name in ("outer", "com_outer"):
        return non_negative(value, name, allow_inf=True)
    if name in ("inner", "com_inner"):
        return non_negative(value, name)
    raise TypeError(
        f"unknown setting {name!r} (value {value!r}); known: {', '.join(SETTING_NAMES)}"
    )


def radius_range(cube: Datacube) -> tuple[float, float]:
    """Largest useful radius (centre to the farthest corner) and a slider step, detector units.

    The step is the power of ten at or below a quarter of a detector pixel.
    """
    qx, qy = cube.detector_shape
    ox, oy = cube.origin
    corner = max(math.hypot(a, b) for a in (ox, qx - 1 - ox) for b in (oy, qy - 1 - oy))
    sampling = cube.detector_sampling
    step = 10.0 ** math.floor(math.log10(sampling / 4))
    top = math.ceil((corner + 1) * sampling / step) * step
    return top, step


def default_radii(cube: Datacube, mean_pattern: np.ndarray | None) -> tuple[float, float]:
    """Default annulus around the bright-field disc edge: 0.5 and 1.25 times its radius.

    The disc radius is the disc finder's (:func:`~dpc_widgets.io.disc.find_disc`): the cube's
    own :attr:`~dpc_widgets.Datacube.disc` when it has found one (``mean_pattern`` is then not
    used and may be None), else found in ``mean_pattern``. Without a disc, or with one wider
    than the distance from the origin to the nearest detector edge, a quarter and a half of
    that distance are used. Detector units, whole :func:`radius_range` steps (outer at least
    one step above inner).
    """
    if cube.disc is not None and cube.disc.found:
        disc = cube.disc
    elif min(cube.detector_shape) >= 3:
        disc = find_disc(mean_pattern)
    else:  # a detector too small for a disc (1 x N, 2 x 2): no disc to find
        disc = None
    _, step = radius_range(cube)
    qx, qy = cube.detector_shape
    edge = min(cube.origin[0], cube.origin[1], qx - 1 - cube.origin[0], qy - 1 - cube.origin[1])
    edge = max(edge, 1.0) * cube.detector_sampling
    radius = disc.radius * cube.detector_sampling if disc is not None and disc.found else 0.0
    radius = radius if radius < edge else 0.0
    inner, outer = (0.5 * radius, 1.25 * radius) if radius > 0 else (0.25 * edge, 0.5 * edge)
    inner_steps = round(inner / step)
    outer_steps = max(round(outer / step), round(inner / step + 1))
    # to 12 decimals: whole steps without float noise (11.6, not 11.600000000000001)
    return round(inner_steps * step, 12), round(outer_steps * step, 12)


def initial_settings(
    cube: Datacube, mean_pattern: Callable[[], np.ndarray], values: Mapping[str, Any]
) -> Settings:
    """The settings for ``cube`` given some fields: :func:`default_radii` for missing radii,
    :func:`default_com_region` for a missing pixelated-CoM region.

    What the explorer starts with and the batch command line applies.

    Parameters
    ----------
    cube : Datacube
        The data (its disc, origin and detector calibration set the default radii).
    mean_pattern : callable
        Returns the mean diffraction pattern (Qx, Qy); called only when a radius is missing and
        the cube has no disc of its own (e.g. ``Datacube.sample_mean_pattern``: a bounded
        sample, no pass over the data).
    values : mapping
        :class:`Settings` fields; the others take their defaults.

    Raises
    ------
    TypeError
        For a name that is no :class:`Settings` field.
    ValueError
        For a bad value (:func:`check_setting`).
    """
    if "inner" not in values or "outer" not in values:
        found = cube.disc is not None and cube.disc.found
        inner, outer = default_radii(cube, None if found else mean_pattern())
        values = {"inner": inner, "outer": outer, **values}
    values = {**default_com_region(cube), **values}
    return Settings(**values)


def default_com_region(cube: Datacube) -> dict[str, Any]:
    """The default pixelated-CoM region: bounded by the bright-field disc when one was found.

    On a cube whose :attr:`~dpc_widgets.Datacube.disc` was found (``load``'s default
    ``origin="disc"``): ``com_mask=True``, ``com_inner=0`` and ``com_outer`` =
    :data:`COM_DISC_FACTOR` disc radii (detector units, whole :func:`radius_range` steps), so
    the noise of the pixels far from the disc (halo, hot pixels, background) stays out of the
    CoM. Otherwise (arrays, whose origin is the geometric centre, or no disc found) an empty
    mapping: the whole detector (:class:`Settings`' defaults), which measures as well as any
    region on noiseless simulated data. See ``docs/defaults.md`` for the measurements.
    """
    disc = cube.disc
    if disc is None or not disc.found:
        return {}
    _, step = radius_range(cube)
    outer = COM_DISC_FACTOR * disc.radius * cube.detector_sampling
    return {"com_mask": True, "com_inner": 0.0, "com_outer": round(round(outer / step) * step, 12)}


def com_region_text(settings: Settings, disc_radius: float | None, units: str) -> str:
    """Which pixels the pixelated CoM uses, for the status line.

    Parameters
    ----------
    settings : Settings
        Its ``com_mask``, ``com_inner`` and ``com_outer``.
    disc_radius : float or None
        The bright-field disc radius in detector units (None: not known).
    units : str
        The detector units.

    Returns
    -------
    str
        E.g. ``"pixelated CoM within 1.25 disc radii (0-12.3 mrad)"`` or ``"pixelated CoM over
        the whole detector"``.
    """
    if not settings.com_mask or (settings.com_inner <= 0 and math.isinf(settings.com_outer)):
        return "pixelated CoM over the whole detector"
    inner, outer = settings.com_inner, settings.com_outer
    span = f"{inner:.4g}-{outer:.4g} {units}"
    if disc_radius and inner <= 0 and math.isfinite(outer):
        return f"pixelated CoM within {outer / disc_radius:.3g} disc radii ({span})"
    return f"pixelated CoM over {span}"


def _literal(value: Any) -> str:
    """Python source of a settings value (``float('inf')`` for infinities)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)


#: Relative spread ``(max - min) / mean`` of the segment areas above which the status warns.
AREA_TOLERANCE = 0.01


def _percent(value: float) -> str:
    """A percentage for reading: two significant digits below 10, whole numbers above
    (``7.7``, ``110``: never ``1.1e+02``)."""
    return f"{value:.2g}" if value < 10 else f"{value:.0f}"


def segment_area_text(areas: np.ndarray, weighting: str) -> tuple[str, bool]:
    """The segments' areas for the status line, and whether they differ by more than 1 %.

    Parameters
    ----------
    areas : ndarray (N,)
        Segment areas in pixels (:meth:`dpc_widgets.detectors.Detector.areas`).
    weighting : {"area", "binary"}
        The detector's pixel weighting (named in the text).

    Returns
    -------
    text : str
        E.g. ``"segment areas 363.3 px each (area-weighted, spread 0.03 %)"``, or when they
        differ ``"segment areas differ by 7.7 % (352-380 px, binary masks): ..."`` with what
        that does to the segmented CoM.
    unequal : bool
        True when the spread exceeds :data:`AREA_TOLERANCE`.
    """
    areas = np.asarray(areas, dtype=np.float64)
    mean = float(areas.mean()) if areas.size else 0.0
    relative = area_spread(areas)
    spread = 100.0 * relative
    kind = "area-weighted" if weighting == "area" else "binary masks"
    if relative <= AREA_TOLERANCE:
        return f"segment areas {mean:.1f} px each ({kind}, spread {spread:.2g} %)", False
    return (
        f"segment areas differ by {_percent(spread)} % ({areas.min():.1f}-{areas.max():.1f} px, "
        f"{kind}): the segmented CoM carries an offset that descan 'constant' removes only on "
        "average",
        True,
    )
