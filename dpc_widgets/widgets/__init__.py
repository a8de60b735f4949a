"""Jupyter widgets of dpc-widgets: the live DPC :class:`Explorer` and its parts."""

from .explorer import Explorer, open_cube
from .settings import Settings

__all__ = ["Explorer", "Settings", "open_cube"]
