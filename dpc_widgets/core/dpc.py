"""The DPC physics API: the one object the widget and notebooks talk to.

:class:`DPC` turns detector sums into segment images, CoM fields (segmented, monolithic,
pixelated, with descan), the scan rotation and the phase (:class:`DPCResult`,
:class:`PhaseOptions`). The sums come from one :class:`~dpc_widgets.core.sums.DetectorSums` per
cube and origin, which owns the detector cache's life (the streamed first view, radius and
budget planning, the local, binned or cluster cache); ``DPC`` keeps its public cache methods
(:meth:`DPC.build_cache`, :meth:`DPC.cache_ready`, :attr:`DPC.cached_radius`, ...) as thin
delegates. Everything that does not depend on a slider is computed once per cube and origin;
results are memoised per parameter tuple (detectors are frozen, hashable dataclasses).
Changing ``cube`` or ``origin`` clears every cache (a new ``DetectorSums``);
:meth:`DPC.recalibrate` keeps those that do not depend on the calibration.
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from ..backend import get_array_module, to_module, to_numpy
from ..detectors import AnnularDetector, Detector, SegmentedDetector
from ..io import Datacube
from ..io.values import DataRangeError
from ..physics import integer_at_least, non_negative, positive_finite, wrap_degrees
from .engine import cache_dtype, numba_ready
from .integrate import (
    PAD_MODES,
    check_integration_memory,
    integrate_fourier,
    integrate_iterative,
)
from .memory import budget_bytes
from .rotation import RotationResult, rotate_com, solve_rotation
from .streaming import StreamedSums, segment_key
from .sums import DetectorSums

DESCAN_MODES = (None, "constant", "plane")
COM_SOURCES = ("segmented", "monolithic", "pixelated")
SEGMENT_FRAMES = ("segments", "detector")
PHASE_METHODS = ("fourier", "iterative")
_MEMO_ENTRIES = 64
#: Memo entries that do not depend on the origin, kept when it changes (the default cache
#: radius is kept too, by :meth:`~dpc_widgets.core.sums.DetectorSums.keep`).
_ORIGIN_FREE = ("mean_pattern",)
_MEMO_BYTES = 256 * 2**20  # results kept per DPC: a bound, not a cache of every slider position


@dataclasses.dataclass(frozen=True)
class DPCResult:
    """Everything one explorer update produces (NumPy arrays, read-only).

    Attributes
    ----------
    detector : Detector
        The segmented detector used for ``segment_images``.
    segment_images : ndarray (N, Rx, Ry)
        Sum of each segment at every scan position.
    com : ndarray (2, Rx, Ry)
        The CoM field in the detector frame (components along Qx, Qy), in ``com_units``, for
        every ``com_source``: the segmented DPC vector is turned by the segment frame's angle
        (``DPC.segmented_com(detector, frame="detector")``), the monolithic and pixelated CoM
        are measured in that frame already.
    com_units : str
        ``"px"``, ``"mrad"``, ``"A^-1"`` or ``"arb."`` (segmented DPC: intensity differences).
    rotation : RotationResult
        The scan rotation solved on ``com`` (always computed, also when overridden): the physical
        scan rotation in py4DSTEM's convention, the same for every CoM source and segment offset
        (up to the segmentation error, about 1 degree for N = 4), with its uncertainty. When
        ``com`` determines no rotation (vacuum or reference scans, line scans, one pattern)
        ``rotation.determined`` is False and ``rotation.reason`` says why; 0 degrees (or the
        given ``rotation``) is applied and the phase is still computed.
    angle_deg, transpose : float, bool
        The rotation (degrees, py4DSTEM convention) and transpose actually applied to ``com``.
    com_rotated : ndarray (2, Rx, Ry)
        ``com`` in the scan frame.
    phase : ndarray (Rx, Ry)
        Integrated phase, in ``phase_units``.
    phase_units : str
        ``"rad"`` when the CoM is in 1/A and the scan is calibrated, else ``"arb."``.
    segment_areas : ndarray (N,)
        Area of each of the detector's segments in pixels (their weights' sums, see
        :meth:`~dpc_widgets.detectors.Detector.areas`); unequal areas (more than about 1 %,
        :func:`~dpc_widgets.detectors.areas_differ`) bias the segmented CoM by a constant.
    rows : int or None
        Scan rows (along Rx) the result covers: all of them, except for a scan still being
        recorded (``cube.feed``), whose rows ``rows:`` are NaN in every image and field; the
        rotation is solved and the phase integrated on rows ``:rows`` only.
    """

    detector: Detector
    segment_images: np.ndarray
    com: np.ndarray
    com_units: str
    rotation: RotationResult
    angle_deg: float
    transpose: bool
    com_rotated: np.ndarray
    phase: np.ndarray
    phase_units: str
    segment_areas: np.ndarray | None = None
    rows: int | None = None


@dataclasses.dataclass(frozen=True)
class PhaseOptions:
    """How the rotated CoM is integrated into a phase (a small, hashable parameter tuple).

    Attributes
    ----------
    method : {"fourier", "iterative"}
        Exact least-squares Fourier integration, or py4DSTEM-style gradient descent.
    padding : int
        Grid padding factor (>= 1).
    pad_mode : {"mirror", "zeros"}
        Extension of the field for the Fourier method (the iterative method always zero-pads).
    high_pass, low_pass : float, optional
        Gaussian filter cut-offs in 1/(scan units); 0 / ``None`` disables.
    """

    method: str = "fourier"
    padding: int = 2
    pad_mode: str = "mirror"
    high_pass: float = 0.0
    low_pass: float | None = None

    def __post_init__(self) -> None:
        if self.method not in PHASE_METHODS:
            raise ValueError(f"method must be one of {PHASE_METHODS}, got {self.method!r}")
        if self.pad_mode not in PAD_MODES:
            raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {self.pad_mode!r}")
        object.__setattr__(self, "padding", integer_at_least(self.padding, "padding", 1))
        high = non_negative(self.high_pass, "high_pass (1/scan units)")
        object.__setattr__(self, "high_pass", high)
        if self.low_pass is not None:
            object.__setattr__(
                self, "low_pass", non_negative(self.low_pass, "low_pass (1/scan units)")
            )

    def check_memory(self, scan_shape: tuple[int, int], memory_budget: int | None) -> None:
        """Raise :class:`~dpc_widgets.core.memory.CacheMemoryError` when integrating a scan of
        ``scan_shape`` with these options would exceed ``memory_budget`` (padded grids)."""
        check_integration_memory(
            scan_shape, self.padding, self.method, self.pad_mode, memory_budget
        )

    def integrate(self, field, step: float, memory_budget: int | None = None):
        """Integrate ``field`` (2, Rx, Ry), a gradient per ``step`` scan units, into a phase."""
        common = dict(
            sampling=(step, step),
            padding=self.padding,
            high_pass=self.high_pass,
            low_pass=self.low_pass,
            memory_budget=memory_budget,
        )
        if self.method == "fourier":
            return integrate_fourier(field, pad_mode=self.pad_mode, **common)
        return integrate_iterative(field, **common)


class _CacheSetting:
    """A ``DPC`` attribute the detector cache's life reads (``memory_budget``, ...): stored on
    the ``DPC`` and passed on to its current :class:`~dpc_widgets.core.sums.DetectorSums`, so a
    value set later applies to the next cache as before."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else obj.__dict__[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value
        sums = obj.__dict__.get("_sums")
        if sums is not None:
            setattr(sums, self.name, value)


class DPC:
    """Cached DPC compute core over one :class:`~dpc_widgets.io.Datacube`.

    Parameters
    ----------
    cube : Datacube or live source
        The 4D-STEM data (Rx, Ry, Qx, Qy); never modified. A scan still being recorded (a cube
        with a ``feed``, or a live source of :mod:`dpc_widgets.live`, whose current cube is
        taken, waiting for its first rows) is followed as its rows arrive: results cover the
        rows received (:attr:`DPCResult.rows`), each computation sees the newest ones.
    backend : {"numpy", "cupy"}
        Where the arithmetic runs. Results are always returned as NumPy arrays.
    cache_radius : float, optional
        Radius (detector units) of the detector cache: only pixels with a smaller radius around
        the centre are copied (see :class:`~dpc_widgets.core.engine.PolarCache`). ``None``
        (default): 1.5 times the bright-field disc radius (:meth:`Datacube.sample_disc`; the
        explorer's default annulus ends at 1.25 times), the whole detector when no disc is
        found. ``math.inf``: the whole detector. A detector reaching
        beyond the cache rebuilds it once with 1.25 times the radius asked for (one pass over the
        data; results are exact either way).
    memory_budget : int, optional
        Bytes the detector cache may take; default: 40 % of the memory available when it is built.
        A default or extended cache radius shrinks to fit the budget, never below what a
        detector asks for nor below a useful radius (1.25 disc radii, the default annulus; half
        the distance to the detector edge without a disc). When that does not fit, the cache
        holds the detector binned 2x2 or 4x4 (:class:`~dpc_widgets.core.binning.BinnedCache`,
        :attr:`binning`; :meth:`stream_run` gives exact full-resolution results); when even
        that cannot fit, :class:`~dpc_widgets.core.memory.CacheMemoryError` (a
        ``MemoryError``) names the sizes.
    progress : bool
        Show a ``tqdm`` progress bar for passes over the data that take longer than a second.
    client : distributed.Client, optional
        Build and keep the detector cache on this Dask cluster, one bounded cache per block of
        scan rows on the workers (:mod:`dpc_widgets.core.distributed`); results are the local
        engine's. ``memory_budget`` is then the whole cache's budget (default: 40 % of the
        workers' memory limits). Without it nothing imports :mod:`distributed`.
    stream_first : bool
        Answer the first computation on a cube (or origin) with one streaming pass that
        computes just what it needs (:mod:`dpc_widgets.core.streaming`: exact sums, no cache)
        and build the detector cache for the next one that needs other sums; ``False`` builds
        the cache at once (always with a ``client``: the workers read the data, not the
        client).

    Notes
    -----
    Vector fields are (2, Rx, Ry) with component 0 along x (axis 0 of the scan and of the
    detector). Returned arrays are read-only views into the memo; copy them to modify.
    """

    cache_radius = _CacheSetting()
    memory_budget = _CacheSetting()
    progress = _CacheSetting()
    client = _CacheSetting()
    stream_first = _CacheSetting()

    def __init__(
        self,
        cube: Datacube,
        *,
        backend: str = "numpy",
        cache_radius: float | None = None,
        memory_budget: int | None = None,
        progress: bool = True,
        client: Any = None,
        stream_first: bool = True,
    ) -> None:
        if client is not None and backend != "numpy":
            raise ValueError(
                f"backend={backend!r} with a Dask client is not supported: the workers compute "
                "with NumPy (backend='numpy')"
            )
        self.xp = get_array_module(backend)
        self.backend = backend
        if cache_radius is not None and cache_radius != math.inf:
            positive_finite(cache_radius, "cache_radius (detector units)")
        self.cache_radius = cache_radius
        budget_bytes(memory_budget)  # a bad value fails here, not at the first update
        self.memory_budget = memory_budget
        self.progress = bool(progress)
        self.stream_first = bool(stream_first) and client is None
        self.client = client
        if not isinstance(cube, Datacube) and hasattr(cube, "wait_for_cube"):
            cube = cube.wait_for_cube()  # a live source: its current scan
        self.cube = cube
        if self.xp is np and client is None:
            numba_ready(cache_dtype(cube.dtype))  # start compiling the kernels now

    # ------------------------------------------------------------------ state
    @property
    def cube(self) -> Datacube:
        """The data; setting it clears every cache."""
        return self._cube

    @cube.setter
    def cube(self, cube: Datacube) -> None:
        if not isinstance(cube, Datacube):
            raise TypeError(f"cube must be a dpc_widgets.Datacube, got {type(cube).__name__}")
        if cube.feed is not None and self.client is not None:
            raise ValueError(
                "a scan still being recorded (cube.feed) is followed by a local cache, not on a "
                "Dask cluster: use client=None, or DPC(dpc_widgets.load(...)) on the saved file"
            )
        self._cube = cube
        old = getattr(self, "_sums", None)
        if old is not None:
            old.retire()  # a build still running for the old cube is not installed
        self._sums = DetectorSums(
            cube,
            self.xp,
            cache_radius=self.cache_radius,
            memory_budget=self.memory_budget,
            progress=self.progress,
            client=self.client,
            stream_first=self.stream_first,
        )
        self._memo: OrderedDict[Hashable, Any] = OrderedDict()
        self._memo_sizes: dict[Hashable, int] = {}  # bytes of each entry (`_result_bytes`)
        self._memo_bytes = 0  # their running total: no sum over the entries per insert
        self._memo_version = None if cube.feed is None else cube.feed.version

    @property
    def _engine(self) -> Any:
        """The detector cache of the current cube and origin (None before one is built)."""
        return self._sums.engine

    @property
    def _streamed(self) -> StreamedSums | None:
        """The first view's streamed sums of the current cube and origin."""
        return self._sums.streamed

    @property
    def origin(self) -> tuple[float, float]:
        """Detector centre (qx, qy) in pixels; setting it clears every cache but the mean pattern.

        The new origin is validated as :class:`~dpc_widgets.Datacube`'s (ValueError outside the
        detector); the pixel cache is rebuilt on the next computation.
        """
        return self._cube.origin

    @origin.setter
    def origin(self, origin: tuple[float, float]) -> None:
        kept = {key: self._memo[key] for key in _ORIGIN_FREE if key in self._memo}
        sums = self._sums
        self.cube = self._cube.with_origin(origin)
        self._sums.keep(sums, cache=False)  # the default cache radius: origin-free too
        for key, value in kept.items():
            self._memo_insert(key, value)

    def recalibrate(self, **calibration: Any) -> None:
        """Give the cube other calibrations, keeping every cache that does not depend on them.

        The pixel data do not change, so the detector cache, the first view's sums, the mean
        pattern and every pixel-domain result (segment images, segmented and monolithic CoM,
        the pixelated CoM in pixels) are kept when the detector's pixel size and units stay
        the same (a new ``energy`` or scan calibration): only results in calibrated units
        (CoM in 1/A or mrad, rotation and phase) are recomputed, no pass over the data. A new
        ``detector_sampling`` or ``detector_units`` moves every radius in detector units: then
        only the mean pattern is kept and the cache is rebuilt on the next computation.

        Parameters
        ----------
        **calibration
            Any of ``energy`` (eV, ``None``: unknown), ``scan_sampling``, ``scan_units``,
            ``detector_sampling``, ``detector_units``: see
            :meth:`~dpc_widgets.Datacube.with_calibration`.

        Raises
        ------
        TypeError, ValueError
            For a bad keyword or value (nothing changes).
        """
        old = self._cube
        cube = old.with_calibration(**calibration)
        detector_kept = (cube.detector_sampling, cube.detector_units) == (
            old.detector_sampling,
            old.detector_units,
        )
        keep = _calibration_free if detector_kept else lambda key: key == "mean_pattern"
        kept = {key: value for key, value in self._memo.items() if keep(key)}
        sums = self._sums
        self.cube = cube
        if detector_kept:
            self._sums.keep(sums)
        for key, value in kept.items():
            self._memo_insert(key, value)

    def _memoised(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        self._follow_feed()
        if key in self._memo:
            self._memo.move_to_end(key)
            return self._memo[key]
        version = self._memo_version
        value = compute()
        if self._memo_version == version:  # else rows arrived meanwhile: not kept
            self._memo_insert(key, value)
        return value

    def _follow_feed(self) -> None:
        """Forget every result when rows arrived since they were computed (a live scan)."""
        feed = self._cube.feed
        if feed is not None and feed.version != self._memo_version:
            self._memo_version = feed.version
            self._memo.clear()
            self._memo_sizes.clear()
            self._memo_bytes = 0

    def _memo_insert(self, key: Hashable, value: Any) -> None:
        """Store ``value`` as the newest memo entry, then drop the oldest beyond the bounds.

        Bounds: :data:`_MEMO_ENTRIES` entries and :data:`_MEMO_BYTES` bytes (counted by
        :func:`_result_bytes`, kept as a running total), never dropping the newest entry.
        """
        if key in self._memo:  # a nested computation stored it meanwhile
            self._memo_bytes -= self._memo_sizes.pop(key)
            del self._memo[key]
        size = _result_bytes(value)
        self._memo[key] = value
        self._memo_sizes[key] = size
        self._memo_bytes += size
        while len(self._memo) > 1 and (
            len(self._memo) > _MEMO_ENTRIES or self._memo_bytes > _MEMO_BYTES
        ):
            old, _ = self._memo.popitem(last=False)
            self._memo_bytes -= self._memo_sizes.pop(old)

    # ------------------------------------------------------------------ the detector cache
    def cache_ready(self, center: tuple[float, float], reach: float = 0.0) -> bool:
        """Whether the detector cache is around ``center`` and covers radii below ``reach``.

        ``center`` is (qx, qy) in pixels, ``reach`` in detector units (the largest outer radius
        a computation needs; area-weighted pixels half a diagonal beyond it count too). When
        False, the next such computation first builds the cache: one pass over the data
        (:meth:`build_cache` does it ahead, e.g. in a background thread).
        """
        return self._sums.cache_ready(center, reach)

    def build_cache(
        self,
        center: tuple[float, float],
        reach: float = 0.0,
        *,
        radius: float | None = None,
        keep_old: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Build the detector cache around ``center`` covering radii below ``reach``.

        Parameters
        ----------
        center : (float, float)
            (qx, qy) in pixels.
        reach : float
            Largest outer radius (detector units) it must cover.
        radius : float, optional
            The cache radius, from :meth:`plan_cache_radius` (default: planned here). A build
            in a background thread plans on the main thread first (planning may read a
            sample of the data for the disc).
        keep_old : bool
            Keep the current cache answering until the new one is built (for a build in a
            background thread: both exist meanwhile). Otherwise it is released first.
        on_progress : callable, optional
            Called as ``on_progress(done, total)`` (scan positions) after each block read.

        Notes
        -----
        The new cache is installed only if the cube (and origin) did not change meanwhile
        (:meth:`~dpc_widgets.core.sums.DetectorSums.build_cache`).
        """
        self._sums.build_cache(
            center, reach, radius=radius, keep_old=keep_old, on_progress=on_progress
        )

    def cluster_blocks_lost(self) -> int:
        """Blocks of the cluster cache being rebuilt after a lost worker (0 when local)."""
        return self._sums.cluster_blocks_lost()

    def plan_cache_radius(self, center: tuple[float, float], reach: float = 0.0) -> float:
        """The radius (detector units) of the next cache for ``center`` / ``reach``.

        The default (or ``cache_radius``), at least the current cache's, 1.25 times ``reach``
        (plus half a pixel diagonal, for area-weighted pixels) when that is larger; shrunk to
        the memory budget but never below ``reach`` nor below the useful radius (1.25 disc
        radii): a cache that does not fit then gets a binned
        detector (see :meth:`build_cache`).
        """
        return self._sums.plan_cache_radius(center, reach)

    @property
    def cached_radius(self) -> float | None:
        """Radius (detector units) below which the detector cache answers without a new pass:
        ``inf`` when it holds the whole detector, None before a cache is built (the first
        view may come from a streaming pass)."""
        return self._sums.cached_radius

    @property
    def nonfinite_pixels(self) -> int:
        """NaN / inf pixels of the data set to 0 (masked) in the sums computed so far (the
        first view's streaming pass, the detector cache's load pass, or the binned detector's
        reads; see :mod:`dpc_widgets.io.values`); 0 for data without them or before any pass."""
        return self._sums.nonfinite_pixels

    @property
    def binning(self) -> int:
        """Binning factor of the detector cache answering the live view (1: full resolution)."""
        return self._sums.binning

    def _host(self, array) -> np.ndarray:
        out = np.ascontiguousarray(to_numpy(array), dtype=np.float64)
        out.flags.writeable = False
        return out

    # ------------------------------------------------------------------ diffraction plane
    def mean_pattern(self) -> np.ndarray:
        """Mean diffraction pattern (Qx, Qy), float64.

        From the detector cache's load pass (building the cache if there is none yet): no pass
        over the data of its own. Exact sums for integer data.
        """

        def compute():
            pattern_sum = self._sums.pattern_sum()
            return self._host(pattern_sum / math.prod(self._cube.scan_shape))

        return self._memoised("mean_pattern", compute)

    def radial_profile(self) -> tuple[np.ndarray, np.ndarray]:
        """Azimuthal mean of the mean pattern around the origin, in 1-pixel bins.

        Returns
        -------
        radii : ndarray
            Bin centres in the cube's detector units.
        values : ndarray
            Mean intensity in each bin.
        """

        def compute():
            mean = self.mean_pattern()
            qx, qy = mean.shape
            ox, oy = self.origin
            r = np.hypot(np.arange(qx)[:, None] - ox, np.arange(qy)[None, :] - oy)
            bins = np.floor(r).astype(np.int64).ravel()
            counts = np.bincount(bins)
            sums = np.bincount(bins, weights=mean.ravel())
            keep = counts > 0
            radii = (np.flatnonzero(keep) + 0.5) * self._cube.detector_sampling
            return radii, sums[keep] / counts[keep]

        return self._memoised("radial_profile", compute)

    # ------------------------------------------------------------------ segmented detector
    def segment_images(self, detector: Detector) -> np.ndarray:
        """Sum of every segment at every scan position, shape (N, Rx, Ry), float64.

        Exact mask sums with the detector's pixel weights (``detector.masks``: area weights by
        default, or the tutorial's binary masks); integer data is accumulated without rounding
        (area weights: integer sub-sample counts, divided by 64 at the end, exactly).
        """
        return self._memoised(
            ("segments", detector),
            lambda: self._host(self._segment_sums(detector).reshape(-1, *self._cube.scan_shape)),
        )

    def _segment_sums(self, detector: Detector):
        _check_detector(detector)
        detector.check_fits(self._cube)
        return self._sums.segment_sums(_detector_key(detector), detector.center)

    def segmented_com(self, detector: SegmentedDetector, *, frame: str = "segments") -> np.ndarray:
        """Segmented DPC signal, shape (2, Rx, Ry), in intensity units (not normalised).

        Parameters
        ----------
        detector : SegmentedDetector
            At least 2 segments.
        frame : {"segments", "detector"}
            ``"segments"`` (default, the tutorial's contract): ``S = sum_k I_k *
            detector.directions[k]``, for N = 4 exactly ``(I0 - I2, I1 - I3)`` and for even N the
            opposite-segment differences ``I_k - I_{k+N/2}`` along ``2 pi k / N``. Its components
            lie along the *segment* frame, which is the detector frame turned by
            :attr:`~dpc_widgets.detectors.SegmentedDetector.frame_deg` = ``180/N - rotation``
            degrees. ``"detector"``: ``rotate_com(S, detector.frame_deg)``, the same vector with
            components along Qx and Qy (for N >= 3 parallel to the disc shift, see
            :mod:`dpc_widgets.detectors`); its scan rotation is the physical one, independent of
            the segment offset. :meth:`run` solves and applies the rotation in this frame.

        Returns
        -------
        ndarray (2, Rx, Ry)
            float64, read-only.
        """
        if detector.n_segments < 2:
            raise ValueError(f"segmented DPC needs at least 2 segments, got {detector.n_segments}")
        if frame not in SEGMENT_FRAMES:
            raise ValueError(f"frame must be one of {SEGMENT_FRAMES}, got {frame!r}")

        def compute():
            images = self.segment_images(detector).reshape(detector.n_segments, -1)
            com = _combine(detector.directions, images).reshape(2, *self._cube.scan_shape)
            if frame == "detector":
                com = rotate_com(com, detector.frame_deg)
            return self._host(com)

        return self._memoised(("segmented_com", detector, frame), compute)

    def monolithic_com(self, detector: Detector) -> np.ndarray:
        """Centroid-weighted segment CoM, shape (2, Rx, Ry), in pixel * intensity units.

        ``sum_k I_k * (centroid_k - centre)`` with each segment's centroid (weighted by the
        detector's pixel weights: :meth:`~dpc_widgets.detectors.Detector.centroids`), not
        normalised by the total intensity (the tutorial's monolithic formula).
        """

        def compute():
            images = self.segment_images(detector).reshape(detector.n_segments, -1)
            offsets = detector.centroids(self._cube) - np.asarray(
                detector.resolved_center(self._cube)
            )
            return self._host(_combine(offsets, images).reshape(2, *self._cube.scan_shape))

        return self._memoised(("monolithic_com", detector), compute)

    # ------------------------------------------------------------------ pixelated CoM
    def com(
        self,
        *,
        inner: float | None = None,
        outer: float | None = None,
        descan: str | None = "constant",
        units: str = "px",
    ) -> np.ndarray:
        """Pixelated centre of mass, shape (2, Rx, Ry).

        Each pattern's intensity-weighted mean pixel position (normalised by its intensity,
        optionally over ``inner <= radius < outer`` only, radii in detector units), minus the
        descan correction, converted to ``units``.

        Parameters
        ----------
        inner, outer : float, optional
            Restrict the CoM to an annulus (the cube's detector units). ``None``: no limit.
        descan : {None, "constant", "plane"}
            What is subtracted: ``None`` the detector origin; ``"constant"`` the mean CoM over
            the scan; ``"plane"`` a least-squares plane over the scan (removes descan ramps, but
            also real signal on small periodic fields of view).
        units : {"px", "mrad", "A^-1"}
            Output units (conversions through the wavelength need the cube's energy).

        Notes
        -----
        A pattern with zero total intensity has CoM 0 and is left out of the descan fit.
        """
        if descan not in DESCAN_MODES:
            raise ValueError(f"descan must be one of {DESCAN_MODES}, got {descan!r}")
        scale = 1.0 if units == "px" else self._cube.detector_pixel_size(units)
        annulus = None
        if inner is not None or outer is not None:
            annulus = AnnularDetector(  # the pixel-centre rule: a pixel is in or out
                0.0 if inner is None else inner,
                math.inf if outer is None else outer,
                weighting="binary",
            )

        def compute():
            xp = self.xp
            if annulus is None:
                moments = self._sums.moments()
            else:
                moments = self._sums.annulus_moments(annulus.inner, annulus.outer)
            total = moments[0]
            lit = total > 0
            safe = xp.where(lit, total, 1.0)
            com = xp.where(lit, moments[1:] / safe, 0.0)
            com = _subtract_descan(xp, com, lit, descan, self._cube.scan_shape)
            return self._host((com * scale).reshape(2, *self._cube.scan_shape))

        return self._memoised(("com", annulus, descan, units), compute)

    # ------------------------------------------------------------------ rotation and phase
    def _default_com(self) -> tuple[np.ndarray, str]:
        """The pixelated CoM in 1/A when calibrated, else in pixels."""
        units = "A^-1" if self._calibrated_k() else "px"
        return self.com(units=units), units

    def solve_rotation(
        self, com: np.ndarray | None = None, *, transpose: bool | None = None
    ) -> RotationResult:
        """Curl-minimising scan rotation of ``com`` (default: the pixelated CoM), closed form.

        See :func:`dpc_widgets.core.rotation.solve_rotation` for the convention and the rule
        that resolves the 180-degree ambiguity.
        """
        if com is None:
            return self._memoised(
                ("rotation", transpose),
                lambda: solve_rotation(self._default_com()[0], transpose=transpose),
            )
        return solve_rotation(to_module(com, self.xp), transpose=transpose)

    def phase(
        self,
        com: np.ndarray | None = None,
        *,
        com_units: str | None = None,
        rotation: float | None = None,
        transpose: bool | None = None,
        method: str = "fourier",
        padding: int = 2,
        pad_mode: str = "mirror",
        high_pass: float = 0.0,
        low_pass: float | None = None,
    ) -> np.ndarray:
        """Integrated CoM (iDPC / iCoM) phase, shape (Rx, Ry).

        Parameters
        ----------
        com : ndarray (2, Rx, Ry), optional
            CoM field in the detector frame. Default: the pixelated CoM (``descan="constant"``)
            in 1/A when the cube is calibrated.
        com_units : str, optional
            Units of ``com`` when given: ``"A^-1"`` (with a calibrated scan) yields radians.
        rotation : float, optional
            Scan rotation in degrees (py4DSTEM convention); ``None`` solves it.
        transpose : bool, optional
            Swap the CoM components before rotating; ``None`` solves it with the rotation
            (a given ``rotation`` without ``transpose`` means no transpose).
        method : {"fourier", "iterative"}
            Exact least-squares Fourier integration or py4DSTEM-style gradient descent.
        padding, pad_mode, high_pass, low_pass
            Integration options, see :class:`PhaseOptions`.

        Returns
        -------
        ndarray (Rx, Ry)
            Radians when ``com`` is in 1/A and the scan is in A or nm (∇φ = 2π k), otherwise
            2π times the path integral of ``com`` over scan steps (arbitrary units).
        """
        options = PhaseOptions(method, padding, pad_mode, high_pass, low_pass)
        options.check_memory(self._cube.scan_shape, None)  # the default budget: not the cache's
        if rotation is not None:
            rotation = wrap_degrees(rotation, "rotation")
        if com is None:
            com, com_units = self._default_com()
        com = to_module(com, self.xp)
        if rotation is None:
            solved = solve_rotation(com, transpose=transpose)
            rotation, transpose = solved.angle_deg, solved.transpose
        phase, _ = self._integrate(com, com_units, rotation, bool(transpose), options)
        return self._host(phase)

    def _integrate(self, com, com_units, angle: float, transpose: bool, options: PhaseOptions):
        """Rotate ``com`` into the scan frame and integrate 2 pi times it: (phase, rotated)."""
        with np.errstate(over="ignore", invalid="ignore"):
            rotated = rotate_com(com, float(angle), transpose)
            gradient = 2.0 * math.pi * rotated
        if not bool(self.xp.isfinite(gradient).all()):
            largest = float(to_numpy(abs(com).max()))
            raise DataRangeError(
                f"2 pi times the rotated CoM field is not finite (largest |CoM| {largest:.3g}): "
                "the data's values are too large for float64 arithmetic; rescale the data"
            )
        step = self._cube.scan_pixel_size("A") if self._radians(com_units) else 1.0
        with np.errstate(over="ignore", invalid="ignore"):
            return options.integrate(gradient, step), rotated

    def _radians(self, com_units: str | None) -> bool:
        """True when a CoM in ``com_units`` integrates to radians on this cube's scan."""
        return com_units == "A^-1" and self._cube.scan_units != "px"

    def run(
        self,
        detector: SegmentedDetector,
        *,
        com_source: str = "segmented",
        com_inner: float | None = None,
        com_outer: float | None = None,
        descan: str | None = "constant",
        rotation: float | None = None,
        transpose: bool | None = None,
        method: str = "fourier",
        padding: int = 2,
        pad_mode: str = "mirror",
        high_pass: float = 0.0,
        low_pass: float | None = None,
    ) -> DPCResult:
        """One full explorer update: segment images, CoM, rotation and phase.

        ``com_source`` picks the CoM: ``"segmented"`` (:meth:`segmented_com`),
        ``"monolithic"`` (:meth:`monolithic_com`) or ``"pixelated"`` (:meth:`com` over
        ``com_inner <= r < com_outer``, in 1/A when calibrated). Other parameters as in
        :meth:`phase`. The first run on a cube (with ``stream_first``) reads it once, computing
        everything this run needs in one streaming pass; later ones use the detector cache.

        ``descan`` (``"constant"`` by default, ``"plane"`` or ``None``) is subtracted from the
        CoM of every source: for the segmented and monolithic ones it removes the constant
        offset a segmented-detector user calibrates away on vacuum (unequal segment areas, a
        centre off the disc), fitted over the positions with signal. :meth:`segmented_com` and
        :meth:`monolithic_com` themselves stay uncorrected (the tutorial's contract). The
        result's ``segment_areas`` are the detector's segment areas in pixels.

        Every argument is checked before any work, whatever ``com_source`` uses: ``descan``
        and the annulus ``com_inner < com_outer`` also with a segmented source. ``rotation``
        (degrees) is wrapped into [-180, 180] by whole turns.

        Raises
        ------
        TypeError, ValueError
            For a bad argument, naming it and its value.
        CacheMemoryError
            When the integration's padded grids would exceed 40 % of the available memory
            (the default budget; ``memory_budget`` bounds the detector cache only).
        """
        _check_detector(detector)
        if com_source not in COM_SOURCES:
            raise ValueError(f"com_source must be one of {COM_SOURCES}, got {com_source!r}")
        if descan not in DESCAN_MODES:
            raise ValueError(f"descan must be one of {DESCAN_MODES}, got {descan!r}")
        if com_inner is not None or com_outer is not None:  # checked for every com_source
            AnnularDetector(
                0.0 if com_inner is None else com_inner,
                math.inf if com_outer is None else com_outer,
            )
        if rotation is not None:
            rotation = wrap_degrees(rotation, "rotation")
        if transpose is not None and not isinstance(transpose, (bool, np.bool_)):
            raise TypeError(f"transpose must be True, False or None, got {transpose!r}")
        options = PhaseOptions(method, padding, pad_mode, high_pass, low_pass)
        key = (
            "run",
            detector,
            com_source,
            com_inner,
            com_outer,
            descan,
            rotation,
            transpose,
            options,
        )

        def compute():
            # before any pass over the data (a memoised result needs no check)
            options.check_memory(self._cube.scan_shape, None)  # the default budget
            rows = self._cube.rows_present  # all rows, or those of a live scan received now
            self._run_first_view(detector, com_source, com_inner, com_outer)
            images = self.segment_images(detector)
            if com_source in ("segmented", "monolithic"):
                if com_source == "segmented":
                    com, units = self.segmented_com(detector, frame="detector"), "arb."
                else:
                    com, units = self.monolithic_com(detector), "px"
                com = self._host(self._segment_descan(com, images, descan))
            else:
                units = "A^-1" if self._calibrated_k() else "px"
                com = self.com(inner=com_inner, outer=com_outer, descan=descan, units=units)
            _check_finite(images, "the segment images")
            _check_finite(com, f"the {com_source} CoM field")

            def integrated():
                com_dev = to_module(com[:, : max(rows, 1)], self.xp)
                solved = solve_rotation(com_dev, transpose=transpose)
                if rows == 0:
                    solved = dataclasses.replace(solved, reason="no scan rows received yet")
                if rotation is None:
                    angle, flip = solved.angle_deg, solved.transpose
                else:
                    angle, flip = float(rotation), bool(transpose)
                phase, rotated = self._integrate(com_dev, units, angle, flip, options)
                rotated, phase = self._host(rotated), self._host(phase)
                _check_finite(phase, f"the phase integrated from the {com_source} CoM field")
                rotated = _rows_only(rotated, rows, com.shape[1])
                phase = _rows_only(phase, rows, com.shape[1])
                return solved, angle, flip, rotated, phase

            if com_source == "pixelated":  # independent of the detector: not redone per drag
                integration_key = (
                    "integrated",
                    com_inner,
                    com_outer,
                    descan,
                    units,
                    rotation,
                    transpose,
                    options,
                )
                solved, angle, flip, rotated, phase = self._memoised(integration_key, integrated)
            else:
                solved, angle, flip, rotated, phase = integrated()
            return DPCResult(
                detector=detector,
                segment_images=_rows_only(images, rows),
                com=_rows_only(com, rows),
                com_units=units,
                rotation=solved,
                angle_deg=angle,
                transpose=flip,
                com_rotated=rotated,
                phase=phase,
                phase_units="rad" if self._radians(units) else "arb.",
                segment_areas=self.segment_areas(detector),
                rows=rows,
            )

        return self._memoised(key, compute)

    def stream_run(self, detector: SegmentedDetector, **options: Any) -> DPCResult:
        """:meth:`run` from one streaming pass over the full-resolution data, without a cache.

        Exact full-resolution results where the live view runs on a binned detector
        (:attr:`binning` > 1), or a result from data whose cache would not fit at all. The
        pass (:func:`~dpc_widgets.core.streaming.stream_pass`) computes the segment sums of
        ``detector``, the whole-detector moments and, for ``com_source="pixelated"`` with
        ``com_inner`` or ``com_outer``, the moments of that annulus; it holds a few values per
        scan position. Not memoised: each call reads the data once (twice for a pixelated CoM
        when ``detector.center`` is not the origin). ``options`` as in :meth:`run`.
        """
        exact = DPC(self._cube, backend=self.backend, progress=self.progress)
        exact._sums.stream_only = True  # every answer from a streaming pass
        return exact.run(detector, **options)

    def _run_first_view(
        self, detector: Detector, com_source: str, com_inner: float | None, com_outer: float | None
    ) -> None:
        """Before a run's first computation: one streaming pass for all it needs."""
        _check_detector(detector)
        annuli: tuple = ()
        masked = com_inner is not None or com_outer is not None
        if com_source == "pixelated" and masked and detector.center in (None, self.origin):
            inner = 0.0 if com_inner is None else com_inner
            annuli = ((inner, math.inf if com_outer is None else com_outer),)
        self._sums.prefetch(detector.center, ((_detector_key(detector),), annuli))

    def segment_areas(self, detector: Detector) -> np.ndarray:
        """Area of each segment of ``detector`` on this cube in pixels, shape (N,), float64
        (read-only; see :meth:`~dpc_widgets.detectors.Detector.areas`)."""

        def compute():
            # the cache keeps them with the sums of the geometry it summed last: no work
            counts = self._sums.segment_counts(_detector_key(detector), detector.center)
            if counts is None:
                areas = detector.areas(self._cube)
            else:
                areas = counts / float(detector.subsample**2)
            areas.flags.writeable = False
            return areas

        return self._memoised(("segment_areas", detector), compute)

    def _segment_descan(self, com: np.ndarray, images: np.ndarray, descan: str | None):
        """A segment CoM (2, Rx, Ry) less its descan model (``None``, ``"constant"``: the scan
        mean, ``"plane"``), fitted over the positions with signal in the segments. On the host:
        both arrays are results already (nothing crosses to a device for it)."""
        flat = np.asarray(com, dtype=np.float64).reshape(2, -1)
        lit = np.asarray(images).reshape(images.shape[0], -1).sum(axis=0) != 0
        out = _subtract_descan(np, flat, lit, descan, self._cube.scan_shape)
        return out.reshape(2, *self._cube.scan_shape)

    def _calibrated_k(self) -> bool:
        try:
            self._cube.detector_pixel_size("A^-1")
        except ValueError:
            return False
        return True


def _calibration_free(key: Hashable) -> bool:
    """Whether a memo entry holds pixel-domain values only (see :meth:`DPC.recalibrate`)."""
    if key in _ORIGIN_FREE or key == "radial_profile":
        return True
    if not isinstance(key, tuple) or not key:
        return False
    if key[0] in ("segments", "segmented_com", "monolithic_com"):
        return True
    return key[0] == "com" and key[-1] == "px"


def _result_bytes(value: Any) -> int:
    """Bytes of the arrays in a memoised value (arrays shared between entries count each time)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, tuple):
        return sum(_result_bytes(v) for v in value)
    if isinstance(value, DPCResult):
        return sum(_result_bytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    return 0


def _rows_only(array: np.ndarray, rows: int, scan_rows: int | None = None) -> np.ndarray:
    """``array`` (..., Rx, Ry) with scan rows ``rows:`` set to NaN (read-only; ``array`` itself
    when every row is there), padded with NaN rows up to ``scan_rows`` when it has fewer."""
    scan_rows = array.shape[-2] if scan_rows is None else scan_rows
    if rows >= scan_rows and array.shape[-2] == scan_rows:
        return array
    out = np.full((*array.shape[:-2], scan_rows, array.shape[-1]), np.nan)
    out[..., :rows, :] = array[..., :rows, :]
    out.flags.writeable = False
    return out


def _combine(weights: np.ndarray, images: np.ndarray) -> np.ndarray:
    """``weights.T @ images`` for (N, 2) weights and (N, P) images, without BLAS.

    OpenBLAS threads keep spinning for a while after a call and then steal the second core from
    the next detector update; einsum's own loops are as fast for these small products.
    """
    return np.einsum("nc,np->cp", weights, images)


def _detector_key(detector: Detector) -> tuple:
    """The segment key of ``detector`` for the compute core (its sub-samples included)."""
    return segment_key(
        detector.inner,
        detector.outer,
        detector.n_segments,
        detector.rotation_rad,
        detector.subsample,
    )


def _check_finite(array: np.ndarray, what: str) -> None:
    """Raise :class:`DataRangeError` when ``array`` (a host result) is not finite: NaN / inf
    pixels are masked before any sum, so only values too large for float64 arithmetic (near
    1.8e308: a difference of segments, a moment, 2 pi times the CoM) lead here."""
    if np.isfinite(array).all():
        return
    finite = np.abs(array[np.isfinite(array)])
    largest = f"{finite.max():.3g}" if finite.size else "none"
    raise DataRangeError(
        f"{what} is not finite (largest finite |value| {largest}): the data's values are too "
        "large for float64 arithmetic; rescale the data"
    )


def _check_detector(detector: Any) -> None:
    if not isinstance(detector, Detector):
        raise TypeError(
            "detector must be a SegmentedDetector or AnnularDetector, "
            f"got {type(detector).__name__}"
        )


def _subtract_descan(xp, com, lit, descan: str | None, scan_shape: tuple[int, int]):
    """Subtract the descan model (fitted over lit positions) from ``com`` (2, P) in pixels."""
    if descan is None:
        return com
    if not bool(lit.any()):
        return com
    if descan == "constant":
        model = com[:, lit].mean(axis=1)[:, None]
    else:
        rx, ry = xp.meshgrid(
            xp.arange(scan_shape[0], dtype=np.float64),
            xp.arange(scan_shape[1], dtype=np.float64),
            indexing="ij",
        )
        design = xp.stack([xp.ones(rx.size), rx.ravel(), ry.ravel()], axis=1)
        coef = xp.linalg.lstsq(design[lit], com[:, lit].T, rcond=None)[0]
        model = (design @ coef).T
    return xp.where(lit, com - model, 0.0)
