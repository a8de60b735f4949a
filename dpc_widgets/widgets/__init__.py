"""Jupyter widgets of dpc-widgets: the live DPC :class:`Explorer` and its parts.

The pure parts (:mod:`.settings`, :mod:`.settings_file`, :mod:`.render`, :mod:`.export`) import
without the widget libraries; ``Explorer`` and ``open_cube`` load them when first asked for.
"""

from .settings import Settings

__all__ = ["Explorer", "Settings", "open_cube"]


def __getattr__(name: str):
    if name in ("Explorer", "open_cube"):
        from . import explorer

        return getattr(explorer, name)
    raise AttributeError(f"module 'dpc_widgets.widgets' has no attribute {name!r}")
