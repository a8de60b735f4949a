"""The detector cache on a Dask cluster: one :class:`PolarCache` per scan block, on the workers.

:class:`ClusterCache` answers exactly what :class:`~dpc_widgets.core.engine.PolarCache` answers
(``segment_sums``, ``annulus_moments``, ``moments``, ``pattern_sum``, ``covers``), so
:class:`~dpc_widgets.core.DPC` runs unchanged on top of it (``DPC(cube, client=client)``):

- The scan is split into blocks of whole rows aligned with the data's chunks (:func:`plan_blocks`).
  A worker builds each block's bounded cache straight from the data (it opens the file itself,
  :mod:`dpc_widgets.core.block_sources`; arrays in the client's memory are the exception: their
  blocks are scattered from the client once) and keeps it in its memory as the result of a
  future.
- Every detector update is one small task per block, run where its cache lives, returning only
  that block's (N, rows x Ry) sums; the client concatenates them in scan order.

Futures, not actors: a future's task can be recomputed by the scheduler, so when a worker dies
(killed, restarted by its nanny) the blocks it held are rebuilt on the remaining or restarted
workers from their sources, and the next update waits for them and returns the exact result
(blocks scattered from the client are scattered again). An actor lost with its worker is gone,
and every call would need its own recovery. Update tasks name their block's future as their only
dependency, and :func:`dask.sizeof` reports a cache's real size, so the scheduler runs them on
the worker that holds it rather than moving gigabytes; a cache that is moved or spilled anyway
(small caches may be) pickles and answers exactly on its new worker.

Results are those of the local engine: the same code on the same rows (integer sums exact, float
sums in float64 with the same per-block order as a local cache over the same block).
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
from dask.sizeof import sizeof

from .._extras import import_distributed
from ..detectors import pixel_geometry, weighted_reach
from ..io import Datacube
from ..io.datacube import chunk_rows
from .block_sources import RowWindow, Source, open_source, source_of
from .engine import PolarCache, cache_dtype, slab_rows
from .memory import DEFAULT_FRACTION, budget_bytes

_distributed = import_distributed("DPC(cube, client=...) and Explorer(data, client=...)")
Client = _distributed.Client
Future = _distributed.Future
wait = _distributed.wait

#: Cache bytes per block at most (more blocks than workers threads when the cache is larger):
#: a lost worker costs a rebuild of its blocks only, and an update task stays a few ms.
BLOCK_CACHE_BYTES = 1 * 2**30


@sizeof.register(PolarCache)
def _sizeof_cache(cache: PolarCache) -> int:
    return cache.nbytes


@dataclasses.dataclass(frozen=True)
class BlockGeometry:
    """What a worker needs besides its rows to build a block's cache (small, picklable).

    Attributes
    ----------
    center : (float, float)
        Detector centre (qx, qy) in pixels.
    cache_radius : float
        Cache radius in detector units.
    detector_sampling : float
        Detector pixel size (the radii's units).
    memory_budget : int, optional
        Bytes one block's cache may take on its worker (default: the worker's own default).
    """

    center: tuple[float, float]
    cache_radius: float
    detector_sampling: float
    memory_budget: int | None


def plan_blocks(cube: Datacube, cache_bytes: int, threads: int) -> list[tuple[int, int]]:
    """Row ranges (r0, r1) of the cluster blocks: whole chunks, at least one per worker thread.

    Parameters
    ----------
    cube : Datacube
        The data (its storage chunks along Rx set the granularity).
    cache_bytes : int
        Bytes of the whole bounded cache.
    threads : int
        Worker threads in the cluster.

    Returns
    -------
    list of (int, int)
        Consecutive scan-row ranges covering the scan, as even as the chunks allow: ``max(
        threads, ceil(cache_bytes / BLOCK_CACHE_BYTES))`` of them (fewer when the scan has
        fewer chunks).
    """
    rx = cube.scan_shape[0]
    unit = chunk_rows(cube.data)
    units = -(-rx // unit)
    wanted = max(1, threads, -(-cache_bytes // BLOCK_CACHE_BYTES))
    n = min(units, wanted)
    bounds = [min(rx, (i * units // n) * unit) for i in range(n + 1)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if a < b]


def cluster_budget(client: Client, memory_budget: int | None) -> int:
    """Bytes the whole cache may take on the cluster: ``memory_budget``, or the default
    fraction (:data:`~dpc_widgets.core.memory.DEFAULT_FRACTION`) of the workers' memory limits
    (of the available memory where a worker has no limit)."""
    if memory_budget is not None:
        return budget_bytes(memory_budget)
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    limits = [info.get("memory_limit") or 0 for info in workers]
    if not limits or not all(limits):
        return budget_bytes(None)
    return int(DEFAULT_FRACTION * sum(limits))


def cluster_threads(client: Client) -> int:
    """Worker threads in the cluster now (at least 1)."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    return max(1, sum(int(info.get("nthreads", 1)) for info in workers))


# ---------------------------------------------------------------------------- worker side
def _build_block(source: Source | np.ndarray, r0: int, r1: int, geometry: BlockGeometry):
    """On a worker: the bounded cache of scan rows ``r0:r1`` (``source``: opened or the rows)."""
    if isinstance(source, np.ndarray):
        data = source
    else:
        data = RowWindow(open_source(source), r0, r1)
    cube = Datacube(data, detector_sampling=geometry.detector_sampling, origin=geometry.center)
    return PolarCache(
        cube,
        geometry.center,
        cache_radius=geometry.cache_radius,
        memory_budget=geometry.memory_budget,
    )


def _segment_sums(cache: PolarCache, key: tuple[float, float, int, float, int]) -> np.ndarray:
    return cache.segment_sums(*key)


def _annulus_moments(cache: PolarCache, inner: float, outer: float) -> np.ndarray:
    return cache.annulus_moments(inner, outer)


def _moments(cache: PolarCache) -> tuple[np.ndarray, np.ndarray, int]:
    return cache.moments, cache.pattern_sum, cache.nonfinite_pixels


# ---------------------------------------------------------------------------- client side
class ClusterCache:
    """The bounded detector cache of ``cube``, built and kept on the workers of ``client``.

    Parameters
    ----------
    cube : Datacube
        The data. Workers open ``cube.source`` (from :func:`~dpc_widgets.io.load`), a memmap's
        file, an HDF5 dataset or a dask/zarr array themselves; other arrays are scattered from
        the client block by block.
    center : (float, float)
        Detector centre (qx, qy) in pixels.
    client : distributed.Client
        The cluster.
    cache_radius : float
        Cache radius in detector units (``math.inf``: the whole detector).
    memory_budget : int, optional
        Bytes of one block's cache on its worker (default: the worker's default budget).
    blocks : list of (int, int), optional
        Scan-row ranges of the blocks (default: :func:`plan_blocks`).
    progress : bool
        Show a ``tqdm.auto`` progress bar while the blocks build, when that takes over a second.
    on_progress : callable, optional
        Called as ``on_progress(done, total)`` (scan positions) as blocks finish building.

    Attributes
    ----------
    moments, pattern_sum, nonfinite_pixels
        As :class:`PolarCache`'s, assembled on the client (NumPy; NaN / inf pixels set to 0
        and counted on the workers).
    blocks : list of (int, int)
        The scan-row ranges.
    last_update : str
        ``"cluster"`` after an update, ``"rebuilding"`` when it had to wait for lost blocks.
    """

    def __init__(
        self,
        cube: Datacube,
        center: tuple[float, float],
        client: Client,
        *,
        cache_radius: float = math.inf,
        memory_budget: int | None = None,
        blocks: list[tuple[int, int]] | None = None,
        progress: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.cube = cube
        self.center = (float(center[0]), float(center[1]))
        self.client = client
        radius = pixel_geometry(cube.detector_shape, self.center, cube.detector_sampling).radius
        self._radius = np.sort(radius.ravel())
        self._sampling = cube.detector_sampling
        self._n_cached = int(np.searchsorted(self._radius, cache_radius, side="left"))
        whole = self._n_cached >= self._radius.size
        self.cache_radius = math.inf if whole else float(cache_radius)
        self._ry = cube.scan_shape[1]
        if blocks is None:
            itemsize = cache_dtype(cube.dtype).itemsize
            nbytes = self._n_cached * math.prod(cube.scan_shape) * itemsize
            blocks = plan_blocks(cube, nbytes, cluster_threads(client))
        self.blocks = list(blocks)
        self._source = source_of(cube.source, cube.data)
        self._geometry = BlockGeometry(
            self.center, self.cache_radius, cube.detector_sampling, memory_budget
        )
        self._token = uuid.uuid4().hex[:12]
        self._futures = [self._submit_block(i) for i in range(len(self.blocks))]
        self.last_update = "cluster"
        self._wait_built(progress, on_progress)
        parts = self._map(_moments)
        self.moments = np.concatenate([part[0] for part in parts], axis=1)
        self.pattern_sum = sum(part[1] for part in parts)
        self.nonfinite_pixels = sum(part[2] for part in parts)

    # ------------------------------------------------------------------ building
    def _submit_block(self, index: int) -> Future:
        r0, r1 = self.blocks[index]
        if self._source is None:  # in the client's memory: scatter the rows once
            rows = np.ascontiguousarray(self.cube.data[r0:r1])
            source: Any = self.client.scatter(rows, hash=False)
        else:
            source = self._source
        return self.client.submit(
            _build_block,
            source,
            r0,
            r1,
            self._geometry,
            key=f"dpc-block-{self._token}-{index}-{uuid.uuid4().hex[:6]}",
            retries=1,
        )

    def _wait_built(self, progress: bool, on_progress: Callable[[int, int], None] | None) -> None:
        from tqdm.auto import tqdm

        as_completed = _distributed.as_completed

        total = math.prod(self.cube.scan_shape)
        bar = tqdm(
            total=total,
            desc="building the detector cache on the cluster",
            unit="patterns",
            delay=1.0,
            disable=not progress,
            leave=False,
        )
        done = 0
        with bar:
            for future in as_completed(self._futures):
                if future.status == "error":  # never .result(): that would fetch the cache
                    raise future.exception()
                r0, r1 = self.blocks[self._futures.index(future)]
                done += (r1 - r0) * self._ry
                bar.update((r1 - r0) * self._ry)
                if on_progress is not None:
                    on_progress(done, total)

    def lost_blocks(self) -> int:
        """How many blocks are not built now (being rebuilt after a lost worker, or lost)."""
        return sum(future.status != "finished" for future in self._futures)

    def _renew_lost(self) -> None:
        """Resubmit blocks the scheduler cannot recompute (scattered rows lost, or errors)."""
        for index, future in enumerate(self._futures):
            if future.status in ("lost", "error", "cancelled"):
                self._futures[index] = self._submit_block(index)

    # ------------------------------------------------------------------ updates
    def _map(self, function: Callable[..., Any], *args: Any) -> list[Any]:
        """``function(cache, *args)`` on every block where it lives; results in scan order.

        Waits for blocks being rebuilt; a block whose rows cannot be recomputed by the scheduler
        is resubmitted. Never returns a partial result: it raises if a block keeps failing.
        """
        self.last_update = "rebuilding" if self.lost_blocks() else "cluster"
        for attempt in range(3):
            self._renew_lost()
            n = len(self._futures)
            tasks = self.client.map(function, self._futures, *([a] * n for a in args), pure=False)
            try:
                return self.client.gather(tasks)
            except Exception:  # noqa: BLE001 - a lost block: renew and retry, else raise
                if attempt == 2 or not self._some_lost():
                    raise
                self.last_update = "rebuilding"
        raise AssertionError("unreachable")

    def _some_lost(self) -> bool:
        wait(self._futures, timeout=None, return_when="ALL_COMPLETED")
        return any(future.status != "finished" for future in self._futures)

    def covers(self, outer: float) -> bool:
        """Whether every pixel with ``radius < outer`` (detector units) is cached."""
        return int(np.searchsorted(self._radius, outer, side="left")) <= self._n_cached

    def segment_sums(
        self, inner: float, outer: float, segments: int, rotation_rad: float, subsample: int = 1
    ):
        """As :meth:`PolarCache.segment_sums`: (N, P) exact mask sums, assembled per block."""
        # OutsideCacheError as the blocks would raise it, before any task is sent
        m = weighted_reach(self._sampling, int(subsample))
        slab_rows(self._radius, self._n_cached, self.cache_radius, inner - m, outer + m)
        key = (float(inner), float(outer), int(segments), float(rotation_rad), int(subsample))
        return np.concatenate(self._map(_segment_sums, key), axis=1)

    def annulus_moments(self, inner: float, outer: float):
        """As :meth:`PolarCache.annulus_moments`: (3, P) float64, assembled per block."""
        slab_rows(self._radius, self._n_cached, self.cache_radius, inner, outer, True)  # as above
        parts = self._map(_annulus_moments, float(inner), float(outer))
        return np.concatenate(parts, axis=1)

    @property
    def nbytes(self) -> int:
        """Bytes on the client (moments); the block caches live on the workers."""
        return int(self.moments.nbytes + self.pattern_sum.nbytes)
