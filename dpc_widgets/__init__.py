"""dpc-widgets: interactive differential phase contrast (DPC) for 4D-STEM data."""

from .core import DPC, DPCResult, RotationResult
from .detectors import AnnularDetector, SegmentedDetector
from .io import Datacube, Disc, find_disc, load
from .physics import electron_wavelength
from .simulate import SimulatedData, simulate

__all__ = [
    "DPC",
    "AnnularDetector",
    "DPCResult",
    "Datacube",
    "Disc",
    "Explorer",
    "RotationResult",
    "SegmentedDetector",
    "SimulatedData",
    "electron_wavelength",
    "find_disc",
    "load",
    "simulate",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    # The widget layer (ipywidgets, anywidget, bqplot) loads only when the explorer is asked for.
    if name == "Explorer":
        from .widgets import Explorer

        return Explorer
    raise AttributeError(f"module 'dpc_widgets' has no attribute {name!r}")
