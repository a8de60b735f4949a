"""A CuPy test double: NumPy underneath, CuPy's rules for crossing between host and device.

:data:`fake_cupy` stands in for the ``cupy`` module (and :data:`fake_cupyx` for ``cupyx``, whose
``cupyx.scipy.fft`` the integration uses) with the subset of the API the core calls. Its arrays,
:class:`ndarray`, wrap a NumPy array but refuse every *implicit* conversion to NumPy, as CuPy's
device arrays do:

- ``np.asarray(x)`` / ``x.__array__()``: ``TypeError`` ("Implicit conversion to a NumPy array is
  not allowed. Please use `.get()` to construct a NumPy array explicitly.");
- NumPy ufuncs and functions given a device array (``np.add(x, 1)``, ``np.einsum(..., x)``),
  and arithmetic, indexing or assignment mixing a device array with a NumPy array:
  ``TypeError``. (Stricter than CuPy, which dispatches ``np.`` functions on device arrays to
  its own and takes NumPy index arrays: here every crossing must be spelled out.)
- ``float(x)``, ``int(x)``, ``bool(x)``: only for one-element arrays (a synchronising copy of one
  value, as in CuPy); ``x.__index__()`` raises ``TypeError``.
- Reductions return 0-d device arrays, not NumPy scalars.

Explicit transfers: ``x.get()``, ``fake_cupy.asnumpy(x)`` to the host and
``fake_cupy.asarray(numpy_array)`` to the device. :func:`install` puts the double in
``sys.modules`` (through pytest's ``monkeypatch``) so that ``import cupy`` in the package finds it.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np
import scipy.fft

IMPLICIT = (
    "Implicit conversion to a NumPy array is not allowed. "
    "Please use `.get()` to construct a NumPy array explicitly."
)
_SCALARS = (bool, int, float, complex, np.generic)


def _unwrap(value: Any, where: str) -> Any:
    """The NumPy array inside a device array; NumPy arrays are refused (implicit transfer)."""
    if isinstance(value, ndarray):
        return value._data
    if isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)} in {where}: {IMPLICIT}")
    if isinstance(value, (tuple, list)):
        return type(value)(_unwrap(v, where) for v in value)
    if isinstance(value, slice):
        return slice(*(_unwrap(v, where) for v in (value.start, value.stop, value.step)))
    return value


def _wrap(value: Any) -> Any:
    """Device arrays for the NumPy arrays and scalars a NumPy call returned."""
    if isinstance(value, np.ndarray):
        return ndarray(value)
    if isinstance(value, np.generic):
        return ndarray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _device_call(function: Any, name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return _wrap(
            function(*_unwrap(args, name), **{k: _unwrap(v, name) for k, v in kwargs.items()})
        )

    call.__name__ = name
    return call


class ndarray:  # noqa: N801 - CuPy's name
    """A "device" array: a NumPy array that NumPy code cannot read without an explicit copy."""

    __array_ufunc__ = None  # NumPy ufuncs and NumPy-array operators defer here, then fail

    def __init__(self, data: np.ndarray) -> None:
        self._data = data

    # -------------------------------------------------------------- conversions
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(IMPLICIT)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise TypeError(f"numpy.{func.__name__} got a device array: {IMPLICIT}")

    def get(self) -> np.ndarray:
        """A NumPy copy on the host."""
        return self._data.copy()

    def _one(self, kind: str) -> Any:
        if self._data.size != 1:
            raise TypeError(f"only length-1 arrays can be converted to Python {kind}s")
        return self._data.reshape(()).item()

    def __float__(self) -> float:
        return float(self._one("float"))

    def __int__(self) -> int:
        return int(self._one("int"))

    def __complex__(self) -> complex:
        return complex(self._one("complex"))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous.")
        return bool(self._data.reshape(()).item())

    def __index__(self) -> int:
        raise TypeError(f"a device array cannot be used as an index: {IMPLICIT}")

    def item(self) -> Any:
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __repr__(self) -> str:
        return f"fake_cupy.{np.array_repr(self._data)}"

    # -------------------------------------------------------------- attributes
    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    nbytes = property(lambda self: self._data.nbytes)
    itemsize = property(lambda self: self._data.itemsize)
    T = property(lambda self: ndarray(self._data.T))
    real = property(lambda self: ndarray(self._data.real))
    imag = property(lambda self: ndarray(self._data.imag))

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Any:
        return (_wrap(row) for row in self._data)

    def __getitem__(self, index: Any) -> ndarray:
        return _wrap(self._data[_unwrap(index, "indexing")])

    def __setitem__(self, index: Any, value: Any) -> None:
        self._data[_unwrap(index, "indexing")] = _unwrap(value, "assignment")

    def __getattr__(self, name: str) -> Any:
        if name in _METHODS:
            return _device_call(getattr(self._data, name), name)
        raise AttributeError(f"fake_cupy.ndarray has no attribute {name!r}")


_METHODS = {
    "all",
    "any",
    "astype",
    "copy",
    "cumsum",
    "max",
    "mean",
    "min",
    "ravel",
    "reshape",
    "sum",
    "transpose",
}


def _operator(name: str) -> Any:
    method = getattr(np.ndarray, name)

    def op(self: ndarray, *others: Any) -> Any:
        return _wrap(method(self._data, *_unwrap(others, f"operator {name}")))

    op.__name__ = name
    return op


for _name in (
    "add sub mul truediv floordiv mod pow matmul and or xor "
    "radd rsub rmul rtruediv rfloordiv rmod rpow rmatmul rand ror rxor "
    "iadd isub imul itruediv ifloordiv imod ipow iand ior ixor "
    "eq ne lt le gt ge neg pos abs invert"
).split():
    setattr(ndarray, f"__{_name}__", _operator(f"__{_name}__"))
ndarray.__hash__ = None  # type: ignore[assignment]


def asarray(value: Any, dtype: Any = None) -> ndarray:
    """To the device: NumPy arrays, scalars and lists are copied; device arrays are returned."""
    if isinstance(value, ndarray):
        return value if dtype is None else value.astype(dtype, copy=False)
    return ndarray(np.array(value, dtype=dtype))


def asnumpy(value: Any) -> np.ndarray:
    """To the host."""
    return value.get() if isinstance(value, ndarray) else np.asarray(value)


def _module(name: str, source: Any, functions: str, **extra: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for function in functions.split():
        setattr(module, function, _device_call(getattr(source, function), function))
    for key, value in extra.items():
        setattr(module, key, value)
    return module


_runtime = types.SimpleNamespace(getDeviceCount=lambda: 1)
fake_cupy = _module(
    "cupy",
    np,
    "empty zeros ones full arange linspace stack concatenate where meshgrid ascontiguousarray "
    "isfinite any all mean sum exp expm1 sqrt hypot cos sin abs zeros_like ones_like einsum",
    ndarray=ndarray,
    asarray=asarray,
    asnumpy=asnumpy,
    cuda=types.SimpleNamespace(runtime=_runtime),
    fft=_module("cupy.fft", np.fft, "fftfreq rfftfreq"),
    linalg=_module("cupy.linalg", np.linalg, "lstsq"),
    result_type=np.result_type,
    **{t: getattr(np, t) for t in "float32 float64 complex64 complex128 int8 int32 int64".split()},
)
fake_cupy.__doc__ = "CuPy test double (tests/fake_cupy.py)"
fake_cupyx_scipy_fft = _module(
    "cupyx.scipy.fft", scipy.fft, "rfft2 irfft2 ifft irfft fft dct dst idct idctn dctn"
)
fake_cupyx_scipy = _module("cupyx.scipy", scipy, "", fft=fake_cupyx_scipy_fft)
fake_cupyx = _module("cupyx", np, "", scipy=fake_cupyx_scipy)


def install(monkeypatch: Any) -> types.ModuleType:
    """Make ``import cupy`` / ``import cupyx.scipy.fft`` find the double for one test."""
    for name, module in (
        ("cupy", fake_cupy),
        ("cupyx", fake_cupyx),
        ("cupyx.scipy", fake_cupyx_scipy),
        ("cupyx.scipy.fft", fake_cupyx_scipy_fft),
    ):
        monkeypatch.setitem(sys.modules, name, module)
    return fake_cupy


__all__ = ["IMPLICIT", "asarray", "asnumpy", "fake_cupy", "install", "ndarray"]
