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

#: ``connect``'s detectors: module and class of each source.
DETECTORS = {"merlin": ("merlin", "MerlinSource"), "dectris": ("dectris", "DectrisSource")}


def connect(detector: str, **options: Any) -> LiveSource:
    """Receive a detector's scans as they are recorded.

    Parameters
    ----------
    detector : {"merlin", "dectris"}
        Quantum Detectors Merlin (its TCP data stream) or DECTRIS ARINA / QUADRO (the
        SIMPLON zmq stream), through LiberTEM-live's receivers (``pip install
        "dpc-widgets[live]"``).
    **options
        The detector's connection options (host, port, ...; see its source class) and
        :class:`LiveSource`'s (``scan_shape``, calibration, ``origin``, ``spool_dir``).

    Returns
    -------
    LiveSource
        Started: it waits for the detector to be armed, and follows one scan after another.

    Raises
    ------
    ValueError
        For an unknown ``detector``.
    dpc_widgets._extras.LiveExtraError
        When the receiver is not installed.
    """
    import importlib

    if not isinstance(detector, str) or detector.lower() not in DETECTORS:
        raise ValueError(f"detector must be one of {sorted(DETECTORS)}, got {detector!r}")
    module, name = DETECTORS[detector.lower()]
    source_class = getattr(importlib.import_module(f".{module}", __name__), name)
    return source_class(**options).start()


def follow(path: Any, **options: Any) -> LiveSource:
    """Follow a file the acquisition software is still writing (Merlin ``.mib``, raw); see
    :class:`~dpc_widgets.live.growing_file.FollowSource`. Returns the started source."""
    from .growing_file import FollowSource

    return FollowSource(path, **options).start()


def replay(data: Any, **options: Any) -> LiveSource:
    """Replay ``data`` (a Datacube or a 4D array) as a live scan; see
    :class:`~dpc_widgets.live.playback.ReplaySource`. Returns the started source."""
    from .playback import ReplaySource

    return ReplaySource(data, **options).start()


__all__ = [
    "FrameFormatError",
    "LiveConnectionError",
    "LiveError",
    "LiveScan",
    "LiveSource",
    "LiveSpaceError",
    "LiveTimeoutError",
    "connect",
    "follow",
    "replay",
]
