"""The detector sums of one cube and origin, and the life of the cache that answers them.

:class:`DetectorSums` is the one object between :class:`~dpc_widgets.core.dpc.DPC` (the physics
API) and the engines. It knows the cube and its origin, so a caller passes a detector centre only
where it differs from the origin, and it answers :meth:`~DetectorSums.segment_sums`,
:meth:`~DetectorSums.moments`, :meth:`~DetectorSums.annulus_moments` and
:meth:`~DetectorSums.pattern_sum` from whichever source has them:

- the first view's streamed sums (:func:`~dpc_widgets.core.streaming.stream_pass`, one pass
  without a cache, with ``stream_first``; every answer with ``stream_only``);
- else the detector cache: a :class:`~dpc_widgets.core.engine.PolarCache` bounded to a cache
  radius (a :class:`~dpc_widgets.core.growing.GrowingCache`, filled as rows arrive, for a scan
  still being recorded: ``cube.feed``; such a cube has no streamed first view), a
  :class:`~dpc_widgets.core.binning.BinnedCache` when even a useful full-resolution cache does
  not fit the memory budget, or a :class:`~dpc_widgets.core.distributed.ClusterCache` with a
  Dask client; a cache that does not reach far enough (or is around another centre) is
  rebuilt, extended by :data:`EXTEND`.

It plans the cache radius (:meth:`~DetectorSums.plan_cache_radius`: the default of
:data:`CACHE_DISC_FACTOR` disc radii, fitted to the memory budget, never below the useful
:data:`USEFUL_DISC_FACTOR` disc radii) and installs a cache built in another thread only while
it is still the sums object of its ``DPC`` (:meth:`~DetectorSums.retire`). ``DPC`` makes a new
one whenever the cube or the origin changes.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from ..detectors import SUBSAMPLE, pixel_geometry, weighted_reach
from ..io import Datacube
from .binning import BinnedCache, cache_bytes, choose_binning
from .engine import OutsideCacheError, PolarCache
from .growing import GrowingCache
from .memory import CacheMemoryError, budget_bytes, format_bytes
from .streaming import NotStreamedError, SegmentKey, StreamedSums, stream_pass

#: Default cache radius in bright-field disc radii (the explorer's default annulus: 0.5-1.25).
CACHE_DISC_FACTOR = 1.5
#: A useful cache covers the default annulus (1.25 disc radii); else the detector is binned.
USEFUL_DISC_FACTOR = 1.25
#: A cache rebuilt for a larger radius gets this much more, for the next drag.
EXTEND = 1.25
# Times a computation extends the cache before giving up (a binned cache's coarser pixels may
# reach farther than the full-resolution reach it was built for).
_EXTENSIONS = 3

Center = tuple[float, float]
#: What a streaming pass computes: (segment keys, annulus keys (inner, outer)).
Want = tuple[tuple[SegmentKey, ...], tuple[tuple[float, float], ...]]


def default_cache_radius(cube: Datacube) -> float:
    """:data:`CACHE_DISC_FACTOR` times the disc radius of ``cube`` in detector units.

    ``math.inf`` (the whole detector) when no disc is found or the sample holds NaN or inf
    (the load pass then names the position).
    """
    try:
        disc = cube.sample_disc()
    except ValueError:
        return math.inf
    if not disc.found:
        return math.inf
    return CACHE_DISC_FACTOR * disc.radius * cube.detector_sampling


class DetectorSums:
    """The detector sums of one cube (and its origin): streamed first view and cache.

    Parameters
    ----------
    cube : Datacube
        The data, with the origin every centre defaults to; never modified.
    xp : module
        NumPy or CuPy (the engines' array module).
    cache_radius : float, optional
        Cache radius (detector units); ``None``: :func:`default_cache_radius`; ``math.inf``:
        the whole detector. See :class:`~dpc_widgets.core.dpc.DPC`.
    memory_budget : int, optional
        Bytes the cache may take (default: 40 % of the available memory; with a ``client``
        the whole cluster cache's budget).
    progress : bool
        Show a ``tqdm`` bar for passes over the data longer than a second.
    client : distributed.Client, optional
        Keep the cache on this Dask cluster (:class:`~dpc_widgets.core.distributed.ClusterCache`).
    stream_first : bool
        Answer the first computation by one streaming pass, before any cache is built.
    stream_only : bool
        Answer every computation by a streaming pass (``DPC.stream_run``): no cache.

    Attributes
    ----------
    engine : PolarCache, BinnedCache, ClusterCache or None
        The detector cache (None before one is built).
    streamed : StreamedSums or None
        The first view's streamed sums.
    """

    def __init__(
        self,
        cube: Datacube,
        xp: ModuleType,
        *,
        cache_radius: float | None = None,
        memory_budget: int | None = None,
        progress: bool = True,
        client: Any = None,
        stream_first: bool = True,
        stream_only: bool = False,
    ) -> None:
        self.cube = cube
        self.xp = xp
        self.cache_radius = cache_radius
        self.memory_budget = memory_budget
        self.progress = progress
        self.client = client
        # A scan still being recorded: the growing cache follows its rows; a streaming pass
        # would only see the rows there when it ran.
        self.stream_first = stream_first and cube.feed is None
        self.stream_only = stream_only
        self._default: float | None = None  # default_cache_radius(cube), when first needed
        self.engine: Any = None
        self.streamed: StreamedSums | None = None
        self._install_lock = threading.Lock()
        self._retired = False

    @property
    def origin(self) -> Center:
        """The cube's origin (qx, qy) in pixels: the centre when none is given."""
        return self.cube.origin

    def retire(self) -> None:
        """Stop installing caches and streamed sums: ``DPC`` has moved to another cube or
        origin (a build still running in a background thread is then dropped)."""
        with self._install_lock:
            self._retired = True

    def keep(self, other: DetectorSums, *, cache: bool = True) -> None:
        """Take over what ``other`` (the same pixels, the same detector sampling) knows.

        Parameters
        ----------
        other : DetectorSums
            The sums object this one replaces.
        cache : bool
            Also answer from ``other``'s cache and streamed sums (``DPC.recalibrate`` with the
            detector's pixel size unchanged); ``False`` (a new origin) keeps only the default
            cache radius, which does not depend on the origin.
        """
        self._default = other._default
        if cache:
            self.engine, self.streamed = other.engine, other.streamed

    def default_radius(self) -> float:
        """:func:`default_cache_radius` of the cube (detector units), computed once."""
        if self._default is None:
            self._default = default_cache_radius(self.cube)
        return self._default

    # ------------------------------------------------------------------ the cache's state
    @property
    def cached_radius(self) -> float | None:
        """Radius (detector units) below which the cache answers without a new pass; ``inf``
        for the whole detector, None before a cache is built."""
        engine = self.engine
        return None if engine is None else float(engine.cache_radius)

    @property
    def binning(self) -> int:
        """Binning factor of the cache answering the live view (1: full resolution)."""
        return int(getattr(self.engine, "binning", 1))

    @property
    def nonfinite_pixels(self) -> int:
        """NaN / inf pixels set to 0 (masked) in the sums computed so far (0 before any pass)."""
        return max(
            getattr(self.streamed, "nonfinite_pixels", 0),
            getattr(self.engine, "nonfinite_pixels", 0),
        )

    def cluster_blocks_lost(self) -> int:
        """Blocks of the cluster cache being rebuilt after a lost worker (0 when local)."""
        engine = self.engine
        return engine.lost_blocks() if engine is not None and self.client is not None else 0

    def cache_ready(self, center: Center | None = None, reach: float = 0.0) -> bool:
        """Whether the cache is around ``center`` (default: the origin) and covers radii below
        ``reach`` (detector units; area-weighted pixels half a diagonal beyond it count too)."""
        engine = self.engine
        center = self.origin if center is None else center
        reach = self._weighted_reach(reach)
        return engine is not None and engine.center == center and engine.covers(reach)

    def _weighted_reach(self, reach: float) -> float:
        """``reach`` plus half a pixel diagonal: the centres of area-weighted pixels that an
        annulus ending at ``reach`` overlaps (``0`` stays ``0``)."""
        if not 0 < reach < math.inf:
            return reach
        return reach + weighted_reach(self.cube.detector_sampling, SUBSAMPLE)

    # ------------------------------------------------------------------ planning and budget
    def plan_cache_radius(self, center: Center | None = None, reach: float = 0.0) -> float:
        """The radius (detector units) of the next cache for ``center`` / ``reach``.

        The default (or ``cache_radius``), at least the current cache's, :data:`EXTEND` times
        ``reach`` (plus half a pixel diagonal, for area-weighted pixels) when that is larger;
        shrunk to the memory budget but never below ``reach`` nor below the useful radius
        (:data:`USEFUL_DISC_FACTOR` disc radii): a cache that does not fit then gets a binned
        detector (see :meth:`build_cache`).
        """
        center = self.origin if center is None else center
        reach = self._weighted_reach(reach)
        radius = self.default_radius() if self.cache_radius is None else self.cache_radius
        if self.engine is not None:
            radius = max(radius, self.engine.cache_radius)  # keep what was asked for before
        if reach >= radius:
            radius = EXTEND * reach
        floor = min(radius, max(reach, self._useful_radius(center)))
        return max(floor, self._fit_budget(center, radius))

    def _useful_radius(self, center: Center) -> float:
        """The radius (detector units) a cache must cover to be useful: the default annulus,
        1.25 disc radii, or half the distance from ``center`` to the edge without a disc."""
        default = self.default_radius()
        if math.isfinite(default):
            return default * USEFUL_DISC_FACTOR / CACHE_DISC_FACTOR
        edge = pixel_geometry(self.cube.detector_shape, center, 1.0).edge
        return 0.5 * max(edge, 1.0) * self.cube.detector_sampling

    def _fit_budget(self, center: Center, radius: float) -> float:
        """``radius`` or, when its cache is over budget, the largest radius within it."""
        per_pixel = math.prod(self.cube.scan_shape) * self.cube.dtype.itemsize
        fits = self._budget() // per_pixel
        radii = np.sort(pixel_geometry(self.cube.detector_shape, center, 1.0).radius.ravel())
        radii = radii * self.cube.detector_sampling
        if np.count_nonzero(radii < radius) <= fits:
            return radius
        return float(radii[fits])  # pixels with a smaller radius: at most `fits`

    def _budget(self) -> int:
        """Bytes the cache may take (on a cluster: all blocks together)."""
        if self.client is None:
            return budget_bytes(self.memory_budget)
        from .distributed import cluster_budget

        return cluster_budget(self.client, self.memory_budget)

    # ------------------------------------------------------------------ building
    def build_cache(
        self,
        center: Center | None = None,
        reach: float = 0.0,
        *,
        radius: float | None = None,
        keep_old: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Build the cache around ``center`` (default: the origin) covering radii below
        ``reach``; see :meth:`DPC.build_cache <dpc_widgets.core.dpc.DPC.build_cache>`.

        The engine: a :class:`ClusterCache` with a client, a :class:`BinnedCache` when even a
        useful full-resolution cache does not fit the budget, else a :class:`PolarCache`. It is
        installed only if this object was not retired meanwhile.
        """
        center = self.origin if center is None else center
        cube = self.cube
        if radius is None:
            radius = self.plan_cache_radius(center, reach)
        if not keep_old:
            self.engine = None  # release the old cache (its futures too) before the new one
        options = dict(memory_budget=self.memory_budget, progress=self.progress)
        binning = (
            1
            if self.client is not None or cube.feed is not None
            else choose_binning(cube, center, radius, self.memory_budget)
        )
        if self.client is not None:
            from .distributed import ClusterCache

            built = ClusterCache(
                cube,
                center,
                self.client,
                cache_radius=radius,
                progress=self.progress,
                on_progress=on_progress,
            )
        elif cube.feed is not None:  # rows still arriving: filled as they come
            radius = self._live_radius(center, radius, reach)
            built = GrowingCache(
                cube, center, self.xp, cache_radius=radius, on_progress=on_progress, **options
            )
        elif binning > 1:  # even a useful full-resolution cache does not fit the budget
            built = BinnedCache(
                cube,
                center,
                binning,
                self.xp,
                cache_radius=radius,
                on_progress=on_progress,
                **options,
            )
        else:
            built = PolarCache(
                cube, center, self.xp, cache_radius=radius, on_progress=on_progress, **options
            )
        with self._install_lock:
            if not self._retired:
                self.engine = built

    def _live_radius(self, center: Center, radius: float, reach: float) -> float:
        """The growing cache's radius: ``radius``, or the largest within the budget that still
        covers ``reach`` (a scan being recorded has no binned cache).

        Raises
        ------
        CacheMemoryError
            When even ``reach`` does not fit the budget.
        """
        fitted = self._fit_budget(center, radius)
        if fitted >= radius:
            return radius
        needed = self._weighted_reach(reach)
        if fitted < needed:
            size = cache_bytes(self.cube, center, needed, 1)
            budget = self._budget()
            raise CacheMemoryError(
                f"the detector cache of the scan being recorded needs {format_bytes(size)} to "
                f"reach {needed:g} {self.cube.detector_units}, over the memory budget of "
                f"{format_bytes(budget)}: choose smaller radii, give a larger memory_budget= "
                "(bytes), or open the saved scan when it is complete",
                size,
                budget,
            )
        return fitted

    def _engine_for(self, center: Center, reach: float = 0.0) -> Any:
        """The cache around ``center``, rebuilt when it is elsewhere or does not reach ``reach``."""
        if not self.cache_ready(center, reach):
            self.build_cache(center, reach)
        return self.engine

    # ------------------------------------------------------------------ the first view
    def prefetch(self, center: Center | None, want: Want) -> None:
        """Before the first computation: one streaming pass computing all of ``want`` (nothing
        when streamed sums or a cache exist already)."""
        if self.streamed is not None or self.engine is not None:
            return
        self.first_view(self.origin if center is None else center, want)

    def first_view(self, center: Center, want: Want) -> StreamedSums | None:
        """The streamed sums around ``center``: the first view's, or (before any cache was
        built, with ``stream_first``; always with ``stream_only``) those of a new streaming
        pass computing ``want``."""
        streamed = self.streamed
        if streamed is not None and streamed.center == center:
            if not self.stream_only or streamed.answers(*want):
                return streamed
        first = streamed is None and self.stream_first and self.engine is None
        if not (first or self.stream_only):
            return None
        segments, annuli = want
        streamed = stream_pass(
            self.cube, center, segments=segments, annuli=annuli, xp=self.xp, progress=self.progress
        )
        with self._install_lock:
            if not self._retired:
                self.streamed = streamed
        return streamed

    # ------------------------------------------------------------------ answers
    def _answer(self, center: Center, call: Callable[[Any], Any], want: Want = ((), ())) -> Any:
        """``call(source)``: on the first view's streamed sums when they have the answer, else
        on the cache, extending it if ``call`` asks beyond its radius. ``want`` is what a
        streaming pass computes when this is the first computation."""
        if not self.cache_ready(center):
            streamed = self.first_view(center, want)
            if streamed is not None:
                try:
                    return call(streamed)
                except NotStreamedError:
                    pass
        engine = self._engine_for(center)
        for _ in range(_EXTENSIONS):
            try:
                return call(engine)
            except OutsideCacheError as err:  # area weights reach half a (binned) pixel out
                engine = self._engine_for(center, reach=err.outer)
        return call(engine)

    def segment_sums(self, key: SegmentKey, center: Center | None = None):
        """The sums of the segments of ``key`` (see ``streaming.segment_key``) around
        ``center`` (default: the origin) at every scan position, shape (N, Rx * Ry), float64,
        on the backend."""
        center = self.origin if center is None else center
        return self._answer(center, lambda source: source.segment_sums(*key), want=((key,), ()))

    def segment_counts(self, key: SegmentKey, center: Center | None = None) -> np.ndarray | None:
        """Each segment's summed weights (sub-sample units, int64) of the geometry ``key``
        around ``center`` from the full-resolution cache that last summed it; None when no
        such cache holds them (then :meth:`Detector.areas` computes them)."""
        center = self.origin if center is None else center
        engine = self.engine
        if not isinstance(engine, PolarCache) or engine.center != center:
            return None
        return engine.segment_counts(*key)

    def moments(self, center: Center | None = None):
        """Whole-detector moments (``sum v``, ``sum v dx``, ``sum v dy``, offsets in pixels
        from ``center``, default: the origin), shape (3, Rx * Ry), on the backend."""
        center = self.origin if center is None else center
        return self._answer(center, lambda source: source.moments)

    def annulus_moments(self, inner: float, outer: float, center: Center | None = None):
        """The moments of :meth:`moments` over ``inner <= radius < outer`` (detector units;
        the pixel-centre rule), shape (3, Rx * Ry), on the backend."""
        center = self.origin if center is None else center
        return self._answer(
            center,
            lambda source: source.annulus_moments(inner, outer),
            want=((), ((inner, outer),)),
        )

    def pattern_sum(self):
        """Sum of the patterns over the scan (Qx, Qy), full resolution, on the backend.

        From the first view's pass or the cache's load pass (building the cache if there is
        none yet); a binned cache's is binned, so a streaming pass gives the full one.
        """
        shape = self.cube.detector_shape
        source = self.streamed or self.engine
        if source is None or source.pattern_sum.shape != shape:
            source = self.first_view(self.origin, ((), ())) or self._engine_for(self.origin)
        if source.pattern_sum.shape != shape:  # a binned cache
            source = stream_pass(self.cube, self.origin, progress=self.progress)
        return source.pattern_sum
