"""Checks shared by the live sources' tests."""

from __future__ import annotations

import numpy as np

import dpc_widgets as dw


def assert_explorer_equals_file(explorer, path, **load_options) -> None:
    """``explorer`` (on a finished live scan) equals an explorer on ``dw.load(path)`` of the
    same frames, with its settings and detector origin: results bit for bit, and every view
    buffer the page draws."""
    from dpc_widgets.widgets import Explorer

    cube = dw.load(path, origin=explorer.dpc.origin, **load_options)
    reference = Explorer(cube, settings=explorer.settings)
    for name in ("segment_images", "com", "com_rotated", "phase"):
        live, done = getattr(explorer.results, name), getattr(reference.results, name)
        assert np.array_equal(live, done), name
    for trait in ("segment_images", "com", "phase", "pattern"):
        assert getattr(explorer.view, trait) == getattr(reference.view, trait), trait
