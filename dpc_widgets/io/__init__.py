"""Files and arrays in, :class:`Datacube` out. Imports nothing above :mod:`dpc_widgets.physics`."""

from .datacube import Datacube
from .load import load

__all__ = ["Datacube", "load"]
