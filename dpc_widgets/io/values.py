"""Data values the sums cannot take as they are: NaN/inf pixels and integers too large for int64.

- **NaN / inf pixels** in floating-point data are *masked*: treated as 0 in every sum (the
  detector cache's load pass, the streaming pass, the binned detector and the mean pattern),
  and counted. The data itself is never modified: the blocks holding them are copied.
  Detecting them costs nothing on clean data: the passes look at a block again only when one of
  its per-pattern sums is not finite, then mask every later block up front (a dead pixel stored
  as NaN repeats in every pattern), and sum the pattern sum (the mean pattern) once more in a
  pass of its own (NumPy's order of additions: equal to the clean data's to rounding, and the
  same for the cache and the streaming pass). Measured on a 64^4 float32 cube on a loaded
  2-core machine: one NaN pixel or a dead NaN pixel in every pattern makes the load pass about
  2-4x and the streaming pass 4-8x slower than on clean data (masking in the numba kernels
  themselves would remove most of that).
- **Finite values too large for float64 sums** (e.g. ``1e308`` summed over a pattern) cannot be
  masked: :class:`DataRangeError` names the scan position.
- **Integers**: every sum is exact in int64 (integer data) as long as no sum can exceed
  ``2**63 - 1``. The largest sum the package forms is bounded by ``max|value| * B`` with
  ``B = max(Qx * Qy * max(Qx, Qy, 256), 16 * Rx * Ry)`` (the first moment of one pattern; a
  segment sum with area weights, each pixel counted up to ``16 * 16`` sub-samples; or the mean
  pattern's sum over the scan of a 4x4-binned pixel). For dtypes whose extreme values
  times ``B`` fit (uint8 / int8 / uint16 / int16 always in practice, uint32 / int32 up to about
  1000 x 1000 detectors) nothing is checked; otherwise (int64, uint64, large uint32 detectors)
  each block read is checked against its actual extreme value, and a block that could overflow
  raises :class:`DataRangeError` naming the dtype, the value and the limit. In particular
  uint64 values of ``2**63`` and above are always refused (the cache stores uint64 as int64
  bits).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import array_module_of, to_numpy

_INT64_MAX = 2**63 - 1
#: Sub-samples per pixel of area-weighted segment masks at most (16 x 16): an integer value is
#: counted up to this many times in a weighted segment sum's numerator.
MAX_SUBSAMPLES = 256


class DataRangeError(ValueError):
    """Data values that no exact or finite sum can take (a ``ValueError``): integers whose sums
    could overflow int64, or finite floats whose sums overflow float64."""


def integer_sum_bound(shape: tuple[int, int, int, int]) -> int:
    """``B`` of the module docstring for data of ``shape`` (Rx, Ry, Qx, Qy)."""
    rx, ry, qx, qy = (int(n) for n in shape)
    return max(qx * qy * max(qx, qy, MAX_SUBSAMPLES), 16 * rx * ry, 1)


def integer_limit(shape: tuple[int, int, int, int]) -> int:
    """Largest ``|value|`` whose sums over data of ``shape`` fit int64 (``2**63 - 1`` // B)."""
    return _INT64_MAX // integer_sum_bound(shape)


def needs_range_check(dtype: Any, shape: tuple[int, int, int, int]) -> bool:
    """True when integer data of ``dtype`` could hold values beyond :func:`integer_limit`."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "ui":
        return False
    info = np.iinfo(dtype)
    return max(int(info.max), -int(info.min)) > integer_limit(shape)


def check_integer_range(block: Any, shape: tuple[int, int, int, int]) -> None:
    """Raise :class:`DataRangeError` if integer ``block`` (read from data of ``shape``) holds a
    value whose sums could overflow int64 (module docstring); a no-op for other data and for
    dtypes that cannot."""
    dtype = np.dtype(block.dtype)
    if not needs_range_check(dtype, shape) or block.size == 0:
        return
    high = int(to_numpy(block.max()))
    low = int(to_numpy(block.min())) if dtype.kind == "i" else 0
    worst = high if high >= -low else low
    limit = integer_limit(shape)
    if abs(worst) > limit:
        raise DataRangeError(
            f"{dtype} data holds the value {worst}: sums of such values over a "
            f"{tuple(int(n) for n in shape)} cube can overflow int64 (|values| up to {limit} "
            f"are exact; dtype max {np.iinfo(dtype).max}); convert the data to float64 "
            "(approximate sums) or rescale it"
        )


def masked_nonfinite(block: Any) -> tuple[Any, int]:
    """``block`` with NaN / inf set to 0 (a copy; the input is never modified) and how many
    values were set; ``block`` itself and 0 when it has none (or is integer)."""
    if np.dtype(block.dtype).kind != "f":
        return block, 0
    xp = array_module_of(block)
    finite = xp.isfinite(block)
    bad = int(to_numpy(block.size - xp.count_nonzero(finite)))
    if bad == 0:
        return block, 0
    return xp.where(finite, block, xp.zeros((), dtype=block.dtype)), bad


__all__ = [
    "MAX_SUBSAMPLES",
    "DataRangeError",
    "check_integer_range",
    "integer_limit",
    "integer_sum_bound",
    "masked_nonfinite",
    "needs_range_check",
]
