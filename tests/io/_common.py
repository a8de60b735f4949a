"""Helpers shared by the format tests: ``load`` with its warnings, file digests."""

import hashlib
import os
import warnings
from pathlib import Path

from dpc_widgets import load


def load_quietly(path, **kwargs):
    """``load(path, **kwargs)`` and the messages of the UserWarnings it issued.

    The format tests are about data and calibration, not the detector centre: ``origin``
    defaults to ``"geometric"`` here (so no "no disc found" warning on random test data).
    """
    kwargs.setdefault("origin", "geometric")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cube = load(path, **kwargs)
    return cube, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def digest(path: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mtime of a file, or of every file below a directory (a store)."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {
        str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns) for p in files
    }
