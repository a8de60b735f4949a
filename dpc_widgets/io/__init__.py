"""Files and arrays in, :class:`Datacube` out. Imports nothing above :mod:`dpc_widgets.physics`."""

from .datacube import Datacube
from .disc import Disc, find_disc
from .load import load
from .values import DataRangeError

__all__ = ["DataRangeError", "Datacube", "Disc", "find_disc", "load"]
