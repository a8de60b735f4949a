"""dpc-widgets: interactive differential phase contrast (DPC) for 4D-STEM data."""

from .detectors import AnnularDetector, SegmentedDetector
from .io import Datacube, load
from .physics import electron_wavelength

__all__ = [
    "AnnularDetector",
    "Datacube",
    "SegmentedDetector",
    "electron_wavelength",
    "load",
]
__version__ = "0.1.0"
