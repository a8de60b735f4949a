"""The engine's code paths for tests: numba on one thread, numba split over threads, NumPy."""

from __future__ import annotations

import contextlib

import pytest

from dpc_widgets.core.engine import numba_available


@contextlib.contextmanager
def kernel_threads():
    """Make the numba kernels split even tiny work over all threads (the big-cube code path)."""
    from dpc_widgets.core import _kernels

    saved = _kernels.SERIAL_WORK
    _kernels.SERIAL_WORK = 0
    try:
        yield
    finally:
        _kernels.SERIAL_WORK = saved


@pytest.fixture(params=["numba", "numba-threads", "numpy"])
def use_numba(request):
    """The engine's paths: numba kernels on one thread or split over threads, or pure NumPy."""
    if request.param == "numpy":
        yield False
    elif not numba_available():
        pytest.skip("numba is not installed")
    elif request.param == "numba-threads":
        with kernel_threads():
            yield True
    else:
        yield True
