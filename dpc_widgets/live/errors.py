"""The errors of live acquisition: one base class, one subclass per kind of fault."""

from __future__ import annotations


class LiveError(RuntimeError):
    """Something went wrong receiving a scan; the rows received before it are kept."""


class LiveConnectionError(LiveError, ConnectionError):
    """The detector (or the program serving its frames) refused the connection, did not
    answer in time, or disconnected."""


class LiveTimeoutError(LiveError, TimeoutError):
    """Nothing arrived within the time asked for (no scan started, no first rows)."""


class FrameFormatError(LiveError, ValueError):
    """A frame or its header is garbled or truncated, or does not match the scan's frames."""


class LiveSpaceError(LiveError, OSError):
    """The scan's frames do not fit on the disk where they are kept (names both sizes)."""
