"""The explorer's settings as one frozen value, and the core-API code that reproduces them."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..core.dpc import COM_SOURCES, DESCAN_MODES, PHASE_METHODS
from ..detectors import SegmentedDetector

MAX_SEGMENTS = 16


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
        Rotation offset of the segments (degrees, see :mod:`dpc_widgets.detectors`).
    com_source : {"segmented", "monolithic", "pixelated"}
        Which centre of mass is integrated (see :meth:`dpc_widgets.core.DPC.run`).
    com_mask : bool
        Pixelated CoM over the annulus ``com_inner <= r < com_outer`` only.
    com_inner, com_outer : float
        That annulus (used when ``com_mask`` and ``com_source == "pixelated"``).
    descan : {None, "constant", "plane"}
        Descan correction of the pixelated CoM.
    auto_rotation : bool
        Solve the scan rotation and transpose (curl minimum); else use the next two.
    scan_rotation : float
        Manual scan rotation in degrees (py4DSTEM convention).
    transpose : bool
        Manual transpose.
    method : {"fourier", "iterative"}
        Phase integration method.
    padding : int
        Padding factor of the integration grid (>= 1).
    high_pass, low_pass : float
        Gaussian filter cut-offs; 0 disables.
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
        for name, choices in (
            ("com_source", COM_SOURCES),
            ("descan", DESCAN_MODES),
            ("method", PHASE_METHODS),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        if not 1 <= self.segments <= MAX_SEGMENTS:
            raise ValueError(
                f"segments must be between 1 and {MAX_SEGMENTS}, got {self.segments!r}"
            )
        if not 0 <= self.clip < 50:
            raise ValueError(f"clip must be a percentage in [0, 50), got {self.clip!r}")
        for name in ("high_pass", "low_pass"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0 (0 disables), got {getattr(self, name)!r}")

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


def _literal(value: Any) -> str:
    """Python source of a settings value (``float('inf')`` for infinities)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)
