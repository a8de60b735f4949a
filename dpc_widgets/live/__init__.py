"""Live acquisition: DPC while the scan runs.

``connect`` opens a detector's data stream (through LiberTEM-live's receivers, the ``[live]``
extra), ``follow`` a file the acquisition software is still writing, ``replay`` plays data in
hand at a detector's pace. Each returns a started :class:`LiveSource`; ``source.cube`` is the
current scan as a :class:`~dpc_widgets.io.Datacube` whose rows fill in as frames arrive, and
``DPC(source)`` / ``Explorer(source)`` follow it. See ``docs/live.md``.
"""

from __future__ import annotations

from typing import Any

from .errors import (
    FrameFormatError,
    LiveConnectionError,
    LiveError,
    LiveSpaceError,
    LiveTimeoutError,
)
from .scan import LiveScan
from .source import LiveSource


def replay(data: Any, **options: Any) -> LiveSource:
    """Replay ``data`` (a Datacube or a 4D array) as a live scan; see
    :class:`~dpc_widgets.live.replay.ReplaySource`. Returns the started source."""
    from .replay import ReplaySource

    return ReplaySource(data, **options).start()


__all__ = [
    "FrameFormatError",
    "LiveConnectionError",
    "LiveError",
    "LiveScan",
    "LiveSource",
    "LiveSpaceError",
    "LiveTimeoutError",
    "replay",
]
