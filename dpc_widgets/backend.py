"""One array-module handle for NumPy and CuPy, so the core runs the same code on CPU and GPU."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import numpy as np

BACKENDS = ("numpy", "cupy")


def get_array_module(backend: str) -> ModuleType:
    """The array module for ``backend``: :mod:`numpy` or :mod:`cupy`.

    Raises
    ------
    ValueError
        If ``backend`` is not ``"numpy"`` or ``"cupy"``.
    ImportError
        If ``backend="cupy"`` and CuPy (or a CUDA device) is not available.
    """
    if backend == "numpy":
        return np
    if backend == "cupy":
        try:
            import cupy
        except ImportError as err:  # pragma: no cover - depends on the machine
            raise ImportError(
                "backend='cupy' needs CuPy and a CUDA GPU: pip install dpc-widgets[gpu]"
            ) from err
        if cupy.cuda.runtime.getDeviceCount() < 1:  # pragma: no cover
            raise ImportError("backend='cupy': CuPy is installed but no CUDA device was found")
        return cupy
    raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")


def cupy_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        get_array_module("cupy")
    except Exception:
        return False
    return True


def to_numpy(array: Any) -> np.ndarray:
    """A NumPy array from a NumPy or CuPy array (device arrays are copied to the host)."""
    if isinstance(array, np.ndarray):
        return array
    if hasattr(array, "get"):
        return array.get()
    return np.asarray(array)


def to_module(array: Any, xp: ModuleType) -> Any:
    """``array`` as an array of ``xp``: an explicit host/device transfer where one is needed.

    Parameters
    ----------
    array : array_like
        A NumPy or CuPy array (or anything :func:`numpy.asarray` takes).
    xp : module
        :mod:`numpy` (device arrays are copied to the host with :func:`to_numpy`) or
        :mod:`cupy` (host arrays are uploaded with ``cupy.asarray``).

    Returns
    -------
    array
        ``array`` itself when it already belongs to ``xp``.
    """
    if xp is np:
        return to_numpy(array)
    return xp.asarray(array)


def array_module_of(array: Any) -> ModuleType:
    """The array module (:mod:`numpy` or :mod:`cupy`) that ``array`` belongs to.

    A ``cupy.ndarray`` (CuPy is then imported already, so this never imports it) belongs to
    :mod:`cupy`; anything else to :mod:`numpy`.
    """
    cupy = sys.modules.get("cupy")
    if cupy is not None and isinstance(array, cupy.ndarray):
        return cupy
    return np
