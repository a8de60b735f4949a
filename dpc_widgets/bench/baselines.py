"""Baselines measured in the same run: streaming passes, copies, the py4DSTEM formula, matmul."""

from __future__ import annotations

import numpy as np

from ..detectors import SegmentedDetector
from ..io import Datacube
from .timing import Timing, time_adaptive, time_calls


def baselines(data: np.ndarray, repeats: int, budget_s: float) -> dict[str, Timing]:
    """Tutorial formula, plain matmul, copies and one streaming pass of ``data`` (N = 4 masks).

    Keys: ``"copy"`` (into touched memory), ``"copy_fresh"`` (into never-touched memory),
    ``"stream"`` (:func:`streaming_pass` over the cube's blocks), ``"tutorial"``, ``"matmul"``.
    """
    cube = Datacube(data)
    q = cube.detector_shape[0]
    tutorial = SegmentedDetector(0.1 * q, 0.25 * q, 4, 15.0, weighting="binary")  # boolean masks
    masks = tutorial.masks(cube)
    rx, ry, qx, qy = cube.shape
    flat = np.asarray(data).reshape(rx * ry, qx * qy)
    weights = masks.reshape(4, qx * qy).T.astype(np.float32)
    out = {"copy": copy_timing(flat, repeats)}
    out["copy_fresh"] = fresh_copy_timing(flat, repeats)
    out["stream"] = time_calls([lambda: streaming_pass(cube)] * (repeats + 1))
    out["tutorial"] = time_adaptive(
        lambda: [(data * mask).sum((-2, -1)) for mask in masks], repeats, budget_s
    )
    out["matmul"] = time_adaptive(lambda: flat @ weights, repeats, budget_s)
    return out


def streaming_pass(cube: Datacube) -> int:
    """One pass over the cube as the load pass reads it: each block of ``cube.blocks()``
    copied into one reused, already-touched buffer (every byte read once; no computation).

    Returns
    -------
    int
        Bytes read.
    """
    buffer = None
    total = 0
    for start, stop, block in cube.blocks():
        if buffer is None:
            buffer = np.empty(block.shape, dtype=block.dtype)
            buffer.fill(0)
        np.copyto(buffer[: stop - start], np.asarray(block))
        total += block.nbytes
    return total


def copy_timing(flat: np.ndarray, repeats: int) -> Timing:
    """One streaming copy of ``flat`` into a buffer whose pages are already touched."""
    buffer = np.empty_like(flat)
    buffer.fill(0)
    return time_calls([lambda: np.copyto(buffer, flat)] * (repeats + 1))


def fresh_copy_timing(flat: np.ndarray, repeats: int) -> Timing:
    """One copy of ``flat`` into a fresh allocation each time (never-touched pages: what a
    user's first load pays for the page faults; the buffer is released after each copy)."""

    def copy() -> None:
        buffer = np.empty_like(flat)
        np.copyto(buffer, flat)
        del buffer

    return time_calls([copy] * (repeats + 1))


def first_touch_seconds(nbytes: int, repeats: int) -> Timing:
    """Writing zeros once into a fresh ``nbytes`` allocation (the page-fault cost alone)."""

    def touch() -> None:
        buffer = np.empty(nbytes, dtype=np.uint8)
        buffer.fill(0)
        del buffer

    return time_calls([touch] * (repeats + 1))
