"""dpc-widgets: interactive differential phase contrast (DPC) for 4D-STEM data."""

from ._kernel import in_kernel as _in_kernel
from .core import DPC, DPCResult, RotationResult
from .core import warmup as _warmup
from .detectors import AnnularDetector, SegmentedDetector
from .io import Datacube, DataRangeError, Disc, find_disc, load
from .physics import electron_wavelength
from .simulate import SimulatedData, simulate

if _in_kernel():  # the numba kernels load (or compile) while the next cell is written
    _warmup.warm_up_ahead()

__all__ = [
    "DPC",
    "AnnularDetector",
    "DPCResult",
    "DataRangeError",
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
    if name == "live":  # live acquisition: dw.live.connect / follow / replay
        import importlib

        return importlib.import_module(".live", __name__)
    raise AttributeError(f"module 'dpc_widgets' has no attribute {name!r}")
