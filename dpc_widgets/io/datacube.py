"""The :class:`Datacube`: a 4D-STEM array with axes (Rx, Ry, Qx, Qy) and its calibrations."""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..physics import (
    calibration,
    check_detector_units,
    check_scan_units,
    detector_scale,
    positive_finite,
    scan_scale,
)
from .disc import Disc, find_disc
from .feed import RowFeed
from .formats.base import FormatError
from .formats.zarr_store import bad_chunk
from .source import FileSource
from .values import DataRangeError, check_integer_range, masked_nonfinite

DEFAULT_BLOCK_BYTES = 64 * 2**20
#: Bound of the scan sample whose mean pattern ``origin="disc"`` reads: scan rows and bytes.
DISC_SAMPLE_ROWS = 64
DISC_SAMPLE_BYTES = 32 * 2**20
ORIGIN_MODES = ("geometric", "mean", "disc")
#: The calibration fields (:meth:`Datacube.with_calibration`).
CALIBRATION_FIELDS = (
    "energy",
    "scan_sampling",
    "scan_units",
    "detector_sampling",
    "detector_units",
)


#: Errors that reading stored rows raises for a corrupt chunk (codecs: RuntimeError or
#: ValueError; HDF5: OSError), turned into a FormatError naming the file and the chunk.
_READ_ERRORS = (RuntimeError, ValueError, OSError, KeyError, EOFError)


def chunk_rows(data: Any) -> int:
    """Extent along Rx of one storage chunk of ``data`` (1 when unchunked or unknown).

    Understands ``h5py.Dataset.chunks`` and zarr's ``chunks`` (a tuple of ints) and dask's
    ``chunks`` (a tuple of tuples: the first Rx chunk's size).
    """
    chunks = getattr(data, "chunks", None)
    if not chunks:
        return 1
    first = chunks[0]
    if isinstance(first, tuple):
        first = first[0] if first else 1
    try:
        return max(1, int(first))
    except (TypeError, ValueError):
        return 1


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Datacube:
    """A 4D-STEM dataset: a diffraction pattern (Qx, Qy) at every scan position (Rx, Ry).

    The array is kept as given (numpy array, ``np.memmap``, ``h5py.Dataset``, CuPy array or any
    array-like with ``shape``, ``dtype`` and slicing): it is never copied whole and never modified.

    Parameters
    ----------
    data : array-like, shape (Rx, Ry, Qx, Qy)
        Real, numeric intensities (integer or floating point).
    energy : float, optional
        Beam energy in eV. Needed to convert between ``"mrad"`` and ``"A^-1"``.
    scan_sampling : float
        Scan step in ``scan_units``, between 1e-30 and 1e30
        (:data:`~dpc_widgets.physics.CALIBRATION_RANGE`: beyond it the CoM, curl and Fourier
        arithmetic overflow).
    scan_units : {"A", "nm", "px"}
        Units of the scan step.
    detector_sampling : float
        Detector pixel size in ``detector_units``, between 1e-30 and 1e30.
    detector_units : {"mrad", "A^-1", "px"}
        Units of the detector pixel size.
    origin : (float, float) or None or {"geometric", "mean", "disc"}
        Detector centre (Qx, Qy) in pixels. ``None`` or ``"geometric"`` gives
        ``(Qx // 2, Qy // 2)``, the centre of py4DSTEM's fftshifted detector grid; ``"mean"``
        the centre of mass of the mean diffraction pattern (one chunked pass over the data);
        ``"disc"`` the centre of the bright-field disc (:func:`~dpc_widgets.io.disc.find_disc`)
        in the mean pattern of a bounded sample of scan rows (at most
        :data:`DISC_SAMPLE_ROWS` rows and :data:`DISC_SAMPLE_BYTES` bytes, whole chunks, see
        :meth:`mean_pattern`). When no disc is found, ``"disc"`` falls back to the geometric
        centre with a :class:`UserWarning` saying why.
    source : FileSource, optional
        The file the data came from (set by :func:`~dpc_widgets.io.load`): lets a Dask worker
        open the file itself (:mod:`dpc_widgets.core.distributed`). ``None`` for arrays.
    feed : RowFeed, optional
        Set for a scan still being recorded (:mod:`dpc_widgets.live`): only the first
        ``feed.rows_ready`` rows hold patterns yet, the others are zeros; the compute core keeps
        its sums up to date from the feed (:mod:`dpc_widgets.core.growing`). ``None``: all the
        data is there.

    Attributes
    ----------
    disc : Disc or None
        The disc found for ``origin="disc"`` (``disc.found`` False after the fallback);
        ``None`` for the other origins.

    Raises
    ------
    TypeError
        If ``data`` is not a real numeric array-like.
    ValueError
        If ``data`` is not 4D or empty, a sampling is not positive or outside
        1e-30 to 1e30, a unit is unknown, or the
        origin lies outside the detector.
    """

    data: Any
    energy: float | None = None
    scan_sampling: float = 1.0
    scan_units: str = "px"
    detector_sampling: float = 1.0
    detector_units: str = "px"
    origin: Any = None
    source: FileSource | None = dataclasses.field(default=None, repr=False, compare=False)
    feed: RowFeed | None = dataclasses.field(default=None, repr=False, compare=False)
    disc: Disc | None = dataclasses.field(default=None, init=False)

    def __post_init__(self) -> None:
        data = self.data
        if not (hasattr(data, "shape") and hasattr(data, "dtype")):
            data = np.asarray(data)
            object.__setattr__(self, "data", data)
        dtype = np.dtype(data.dtype)
        if dtype.kind not in "uif":
            raise TypeError(
                f"data must be real integer or floating point, got dtype {dtype} "
                "(complex, boolean and object arrays are not diffraction intensities)"
            )
        if len(data.shape) != 4:
            raise ValueError(
                f"data must be 4D with axes (Rx, Ry, Qx, Qy), got shape {tuple(data.shape)}"
            )
        if min(data.shape) < 1:
            raise ValueError(f"data has an empty axis: shape {tuple(data.shape)}")
        if self.energy is not None:
            object.__setattr__(self, "energy", positive_finite(self.energy, "energy (eV)"))
        object.__setattr__(self, "scan_sampling", calibration(self.scan_sampling, "scan_sampling"))
        object.__setattr__(
            self, "detector_sampling", calibration(self.detector_sampling, "detector_sampling")
        )
        check_scan_units(self.scan_units)
        check_detector_units(self.detector_units)
        object.__setattr__(self, "origin", self._resolve_origin(self.origin))

    # ----------------------------------------------------------------- shape and calibration
    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(Rx, Ry, Qx, Qy)."""
        return tuple(int(n) for n in self.data.shape)  # type: ignore[return-value]

    @property
    def scan_shape(self) -> tuple[int, int]:
        """(Rx, Ry), the number of scan positions along each axis."""
        return self.shape[0], self.shape[1]

    @property
    def rows_present(self) -> int:
        """Scan rows (along Rx) holding patterns: all of them, or for a scan still being
        recorded the rows its ``feed`` has handed out (``feed.rows_ready``)."""
        return self.shape[0] if self.feed is None else int(self.feed.rows_ready)

    @property
    def detector_shape(self) -> tuple[int, int]:
        """(Qx, Qy), the number of detector pixels along each axis."""
        return self.shape[2], self.shape[3]

    @property
    def dtype(self) -> np.dtype:
        """The data's dtype."""
        return np.dtype(self.data.dtype)

    @property
    def nbytes(self) -> int:
        """Size of the data in bytes."""
        return math.prod(self.shape) * self.dtype.itemsize

    def scan_pixel_size(self, units: str | None = None) -> float:
        """Scan step in ``units`` (default: the cube's own scan units)."""
        return scan_scale(self.scan_sampling, self.scan_units, units or self.scan_units)

    def detector_pixel_size(self, units: str | None = None) -> float:
        """Detector pixel size in ``units`` (default: the cube's own detector units)."""
        return detector_scale(
            self.detector_sampling, self.detector_units, units or self.detector_units, self.energy
        )

    def with_origin(self, origin: Any) -> Datacube:
        """A new Datacube sharing the same data, with another detector ``origin``."""
        return dataclasses.replace(self, origin=origin)

    @property
    def calibration(self) -> dict[str, Any]:
        """The calibration keywords (:data:`CALIBRATION_FIELDS`: energy in eV or None, scan
        step and detector pixel size with their units), as :meth:`with_calibration` takes."""
        return {name: getattr(self, name) for name in CALIBRATION_FIELDS}

    def with_calibration(self, **calibration: Any) -> Datacube:
        """A new Datacube sharing the same data, origin and found disc, with other calibrations.

        Parameters
        ----------
        **calibration
            Any of ``energy`` (eV, or ``None``: unknown), ``scan_sampling``, ``scan_units``,
            ``detector_sampling``, ``detector_units`` (checked as in the constructor).

        Raises
        ------
        TypeError
            For another keyword.
        ValueError
            For a bad value (names the parameter and the value).
        """
        unknown = sorted(set(calibration) - set(CALIBRATION_FIELDS))
        if unknown:
            raise TypeError(
                f"with_calibration() takes only {CALIBRATION_FIELDS}, got {unknown} "
                "(use with_origin() for the origin)"
            )
        cube = dataclasses.replace(self, origin=self.origin, **calibration)
        object.__setattr__(cube, "disc", self.disc)  # same pixels: the disc found stays
        return cube

    # ----------------------------------------------------------------- chunked access
    def rows_per_block(self, max_bytes: int = DEFAULT_BLOCK_BYTES) -> int:
        """How many scan rows (along Rx) fit in a block of at most ``max_bytes``.

        At least one row: a row larger than ``max_bytes`` gives one-row blocks. For chunked
        data (HDF5, zarr, dask) the count is a multiple of the chunk's extent along Rx (at least
        one chunk), so that every block reads whole chunks.

        Raises
        ------
        TypeError
            If ``max_bytes`` is not a real number.
        ValueError
            If ``max_bytes`` is not positive.
        """
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, numbers.Real):
            raise TypeError(f"max_bytes must be a number of bytes, got {max_bytes!r}")
        if not max_bytes >= 1:
            raise ValueError(f"max_bytes must be at least 1, got {max_bytes!r}")
        row_bytes = self.shape[1] * self.shape[2] * self.shape[3] * self.dtype.itemsize
        rows = max(1, min(self.shape[0], int(max_bytes) // row_bytes))
        chunk = chunk_rows(self.data)
        if chunk > 1:
            rows = min(self.shape[0], max(chunk, rows // chunk * chunk))
        return rows

    def blocks(self, max_bytes: int = DEFAULT_BLOCK_BYTES) -> Iterator[tuple[int, int, Any]]:
        """Iterate over the scan in blocks of whole rows, in scan order.

        Parameters
        ----------
        max_bytes : int
            Upper bound on a block's size in bytes (at least one row per block, see
            :meth:`rows_per_block`); checked when ``blocks`` is called, not on first use.

        Yields
        ------
        start, stop : int
            Range of flat scan indices ``rx * Ry + ry`` covered by the block.
        block : array, shape (stop - start, Qx, Qy)
            The patterns, in the data's own dtype (a view where the source allows it).
        """
        return self._iter_blocks(self.rows_per_block(max_bytes))

    def _iter_blocks(self, step: int) -> Iterator[tuple[int, int, Any]]:
        rx, ry = self.scan_shape
        for r0 in range(0, rx, step):
            r1 = min(rx, r0 + step)
            yield r0 * ry, r1 * ry, self._rows(r0, r1)

    def _rows(self, r0: int, r1: int) -> Any:
        """Scan rows ``r0:r1`` read now, as patterns ``((r1 - r0) * Ry, Qx, Qy)``."""
        _, ry, qx, qy = self.shape
        try:
            block = self.data[r0:r1]
            if hasattr(block, "compute"):  # dask: read this block now
                block = block.compute()
        except _READ_ERRORS as err:  # a codec or file error from a corrupt chunk
            raise self._read_error(r0, r1, err) from err
        check_integer_range(block, self.shape)  # int64 / uint64 only: sums must fit int64
        return block.reshape((r1 - r0) * ry, qx, qy)

    def _read_error(self, r0: int, r1: int, err: Exception) -> FormatError:
        """A :class:`FormatError` naming the file and the chunk that failed to read."""
        where = f"'{self.source.path}'" if self.source is not None else "the data"
        chunk = bad_chunk(self.data, r0, r1)
        what = f"chunk {chunk} (in scan rows {r0}:{r1})" if chunk else f"scan rows {r0}:{r1}"
        return FormatError(
            f"{where}: cannot read {what}: {type(err).__name__}: {err}; the file is truncated "
            "or corrupt there"
        )

    def mean_pattern(
        self, max_positions: int | None = None, *, max_bytes: int | None = None
    ) -> np.ndarray:
        """Mean diffraction pattern (Qx, Qy) as float64: of the whole scan or of a sample.

        Parameters
        ----------
        max_positions : int, optional
            Read at most this many scan positions (rounded down to whole scan rows).
        max_bytes : int, optional
            Read at most this many bytes.

        Returns
        -------
        ndarray, shape (Qx, Qy)
            With neither bound: the mean over every position (one chunked pass). With a bound:
            the mean over whole rows (whole storage chunks for chunked data) spread at regular
            intervals over the scan, at least one row, and within both bounds unless one row
            (or one chunk) exceeds them. A sample covering the scan reads it all.

        Raises
        ------
        TypeError
            If a bound is not an integer.
        ValueError
            If a bound is below 1.
        DataRangeError
            If the sums are not finite (values too large for float64 sums), or integers could
            overflow int64 sums (:mod:`dpc_widgets.io.values`). NaN / inf pixels count as 0.
        """
        ranges = self._sample_ranges(max_positions, max_bytes)
        total = np.zeros(self.detector_shape, dtype=np.float64)
        rows = 0
        for r0, r1 in ranges:
            block = self._rows(r0, r1)
            summed = to_numpy(block.sum(axis=0, dtype=np.float64))
            if not np.isfinite(summed).all():  # NaN / inf pixels count as 0 (io/values.py)
                summed = to_numpy(masked_nonfinite(block)[0].sum(axis=0, dtype=np.float64))
            total += summed
            rows += r1 - r0
        if not np.isfinite(total).all():
            raise DataRangeError(
                f"the mean pattern of this {self.dtype} cube is not finite: its values are too "
                "large for float64 sums"
            )
        return total / (rows * self.shape[1])

    def _sample_ranges(self, max_positions: Any, max_bytes: Any) -> list[tuple[int, int]]:
        """Row ranges (r0, r1) of a regular sample of whole rows / chunks within the bounds.

        The bounds are checked first (also when the sample covers the whole scan). A scan
        still being recorded is sampled in the rows it has (at least one)."""
        _, ry, qx, qy = self.shape
        rx = max(1, self.rows_present)
        budget = rx
        if max_positions is not None:
            budget = min(budget, _count(max_positions, "max_positions") // ry)
        if max_bytes is not None:
            row_bytes = ry * qx * qy * self.dtype.itemsize
            budget = min(budget, _count(max_bytes, "max_bytes") // row_bytes)
        budget = max(1, budget)
        unit = min(chunk_rows(self.data), rx)
        units = -(-rx // unit)
        if budget >= rx:  # the whole scan, in blocks
            step = self.rows_per_block()
            return [(r0, min(rx, r0 + step)) for r0 in range(0, rx, step)]
        if budget < unit:  # part of the middle chunk: never more than one chunk read
            start = (units // 2) * unit
            return [(start, min(rx, start + budget))]
        picks = np.unique(np.linspace(0, units - 1, budget // unit).round().astype(int))
        return [(int(u) * unit, min(rx, (int(u) + 1) * unit)) for u in picks]

    # ----------------------------------------------------------------- helpers
    def __repr__(self) -> str:
        # Never the data: on a memory-mapped or lazy cube that would read the file.
        return (
            f"Datacube(shape={self.shape}, dtype={self.dtype}, data={type(self.data).__name__}, "
            f"energy={self.energy}, scan={self.scan_sampling:g} {self.scan_units}, "
            f"detector={self.detector_sampling:g} {self.detector_units}, origin={self.origin})"
        )

    def _resolve_origin(self, origin: Any) -> tuple[float, float]:
        qx, qy = self.detector_shape
        geometric = float(qx // 2), float(qy // 2)
        if origin is None:
            return geometric
        if isinstance(origin, str):
            if origin not in ORIGIN_MODES:
                raise ValueError(
                    f"origin must be (qx, qy), None or one of {ORIGIN_MODES}, got {origin!r}"
                )
            if origin == "geometric":
                return geometric
            if origin == "disc":
                return self._disc_origin(geometric)
            mean = self.mean_pattern()
            total = mean.sum()
            if not np.isfinite(total) or total <= 0:
                raise ValueError("cannot estimate the origin: the mean pattern has no intensity")
            return (
                float((mean.sum(axis=1) * np.arange(qx)).sum() / total),
                float((mean.sum(axis=0) * np.arange(qy)).sum() / total),
            )
        try:
            ox, oy = (float(v) for v in origin)
        except (TypeError, ValueError):
            raise TypeError(f"origin must be a pair (qx, qy) of numbers, got {origin!r}") from None
        if not (0 <= ox <= qx - 1 and 0 <= oy <= qy - 1):
            raise ValueError(
                f"origin {origin!r} lies outside the detector of shape {(qx, qy)} (pixels)"
            )
        return ox, oy

    def sample_disc(self) -> Disc:
        """The bright-field disc on the mean pattern of a bounded scan sample.

        :func:`~dpc_widgets.io.disc.find_disc` on :meth:`mean_pattern` of at most
        ``DISC_SAMPLE_ROWS`` scan rows and ``DISC_SAMPLE_BYTES`` bytes; the disc found for
        ``origin="disc"`` when the cube has one (no second read). A detector smaller than
        3 x 3 pixels has none (``found`` False, with the reason).
        """
        if self.disc is not None:
            return self.disc
        if min(self.detector_shape) < 3:  # find_disc needs 3 x 3 pixels
            qx, qy = self.detector_shape
            reason = f"no disc on a detector of {qx} x {qy} pixels (fewer than 3 x 3)"
            return Disc((float(qx // 2), float(qy // 2)), math.nan, False, False, 0.0, 0.0, reason)
        return find_disc(self.sample_mean_pattern())

    def sample_mean_pattern(self) -> np.ndarray:
        """:meth:`mean_pattern` of the bounded sample the disc is found on (at most
        ``DISC_SAMPLE_ROWS`` scan rows and ``DISC_SAMPLE_BYTES`` bytes): no pass over the data."""
        return self.mean_pattern(DISC_SAMPLE_ROWS * self.shape[1], max_bytes=DISC_SAMPLE_BYTES)

    def with_disc_origin(self) -> tuple[Datacube, str | None]:
        """This cube centred on the disc found in its sample, without a warning (for a thread
        that is not the user's: :mod:`warnings` filters are process-wide).

        Returns
        -------
        (Datacube, str or None)
            A new cube sharing the data, with ``origin`` the disc centre and ``disc`` set, and
            None; or, when no disc is usable, this cube (its ``disc`` set to the one searched)
            and the reason, as ``origin="disc"`` would warn it.
        """
        disc = self.sample_disc()
        reason = _unusable(disc, self.detector_shape)
        if reason is not None:
            object.__setattr__(self, "disc", disc)
            return self, reason
        cube = dataclasses.replace(self, origin=disc.center)
        object.__setattr__(cube, "disc", disc)
        return cube, None

    def _disc_origin(self, geometric: tuple[float, float]) -> tuple[float, float]:
        disc = self.sample_disc()
        object.__setattr__(self, "disc", disc)
        reason = _unusable(disc, self.detector_shape)
        if reason is None:
            return disc.center
        warnings.warn(
            f"origin='disc': {reason}; using the geometric centre {geometric} (pixels) "
            "as the origin (pass origin=(qx, qy) to set it)",
            UserWarning,
            stacklevel=5,
        )
        return geometric


def _unusable(disc: Disc, detector_shape: tuple[int, int]) -> str | None:
    """Why ``disc`` cannot be the origin (not found, or its centre off the detector); None
    when it can."""
    qx, qy = detector_shape
    cx, cy = disc.center
    if disc.found and 0 <= cx <= qx - 1 and 0 <= cy <= qy - 1:
        return None
    return disc.message or (
        f"the disc centre ({cx:.2f}, {cy:.2f}) lies outside the detector of shape {(qx, qy)}"
    )


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value!r}")
    return int(value)
