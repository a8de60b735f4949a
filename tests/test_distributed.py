"""The DPC engine on a Dask cluster: a 2-worker LocalCluster with processes, as on a real one.

Results are compared with the local engine (integer sums bit-identical, floats within the
engine's tolerance); the sources tested are those a worker opens itself (a file from ``load``,
a memmap, an HDF5 dataset, a dask array) and an in-memory array (scattered from the client).
The tests that kill a worker come last in the file: the cluster is shared by the module.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import warnings

import h5py
import numpy as np
import pytest
from _cubes import random_cube

import dpc_widgets as dw
from dpc_widgets import Datacube, SegmentedDetector
from dpc_widgets.core import DPC
from dpc_widgets.core.block_sources import (
    ArraySource,
    HDF5Source,
    MemmapSource,
    RowWindow,
    source_of,
)
from dpc_widgets.core.engine import PolarCache
from dpc_widgets.io.source import FileSource

distributed = pytest.importorskip("distributed")
dask_array = pytest.importorskip("dask.array")

DETECTORS = [
    SegmentedDetector(3, 8, segments=4, rotation=0),
    SegmentedDetector(3, 9, segments=4, rotation=0),  # a radius drag
    SegmentedDetector(2.5, 9, segments=4, rotation=20),  # a rotation drag
    SegmentedDetector(2, 7, segments=6, rotation=20),  # another N: recompute
    SegmentedDetector(2, 7, segments=6, rotation=20, weighting="binary"),  # the tutorial's
    SegmentedDetector(2, 7.5, segments=6, rotation=21, weighting="binary"),
]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _quiet_run(dpc: DPC, detector, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # weak 180-degree choice on random data
        return dpc.run(detector, **kwargs)


def _assert_same(cluster: DPC, local: DPC, detector, **kwargs) -> None:
    got, want = _quiet_run(cluster, detector, **kwargs), _quiet_run(local, detector, **kwargs)
    if local.cube.dtype.kind in "ui":
        np.testing.assert_array_equal(got.segment_images, want.segment_images)
    else:
        np.testing.assert_allclose(got.segment_images, want.segment_images, rtol=1e-12)
    np.testing.assert_allclose(got.com, want.com, rtol=1e-10, atol=1e-12)
    assert got.angle_deg == pytest.approx(want.angle_deg, abs=1e-9)
    assert got.transpose == want.transpose
    np.testing.assert_allclose(got.phase, want.phase, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_cluster_results_equal_the_local_engine(client, dtype):
    cube = random_cube(shape=(10, 9, 24, 22), dtype=dtype, seed=3)
    cluster, local = DPC(cube, client=client, progress=False), DPC(cube, progress=False)
    for detector in DETECTORS:
        _assert_same(cluster, local, detector)
    _assert_same(cluster, local, DETECTORS[0], com_source="pixelated", com_inner=2, com_outer=9)
    np.testing.assert_array_equal(cluster.mean_pattern(), local.mean_pattern())
    for descan in (None, "plane"):
        np.testing.assert_allclose(
            cluster.com(descan=descan), local.com(descan=descan), rtol=1e-12, atol=1e-12
        )
    engine = cluster._engine
    assert type(engine).__name__ == "ClusterCache"
    assert len(engine.blocks) >= 2  # one block per worker thread at least
    assert engine.blocks[0][0] == 0 and engine.blocks[-1][1] == cube.scan_shape[0]


def test_nan_pixels_are_masked_and_counted_on_the_workers(client):
    data = np.array(random_cube(shape=(10, 9, 24, 22), dtype=np.float64, seed=4).data)
    data[1, 2, 3, 4] = np.nan
    data[8, 0, 10, 10] = np.inf
    cube = Datacube(data)
    cluster, local = DPC(cube, client=client, progress=False), DPC(cube, progress=False)
    local.build_cache(local.origin)
    _assert_same(cluster, local, DETECTORS[0])
    assert cluster.nonfinite_pixels == local.nonfinite_pixels == 2


def test_blocks_follow_the_chunks_and_pass_the_bounded_cache_radius(client, tmp_path):
    cube = random_cube(shape=(12, 8, 24, 24), dtype=np.uint16, seed=5)
    path = tmp_path / "chunked.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=cube.data, chunks=(3, 8, 24, 24))
    with h5py.File(path, "r") as f:
        chunked = Datacube(f["data"])
        dpc = DPC(chunked, client=client, cache_radius=6.0, progress=False)
        local = DPC(Datacube(cube.data), cache_radius=6.0, progress=False)
        _assert_same(dpc, local, SegmentedDetector(2, 5, segments=4))
        assert all(r0 % 3 == 0 for r0, _ in dpc._engine.blocks)
        assert isinstance(dpc._engine._source, HDF5Source)
        assert dpc._engine.cache_radius == pytest.approx(6.0)
        # Beyond the bounded cache: rebuilt larger on the cluster, still exact.
        _assert_same(dpc, local, SegmentedDetector(2, 10, segments=4))
        assert dpc._engine.cache_radius >= 10


def test_every_source_kind_gives_the_same_images(client, tmp_path):
    cube = random_cube(shape=(8, 6, 20, 20), dtype=np.uint16, seed=7)
    np.save(tmp_path / "cube.npy", cube.data)
    loaded = dw.load(tmp_path / "cube.npy", origin=cube.origin)
    memmap = np.load(tmp_path / "cube.npy", mmap_mode="r")
    lazy = dask_array.from_zarr(_zarr_copy(cube.data, tmp_path / "cube.zarr"))
    local = DPC(cube, progress=False)
    cases = [
        (loaded, FileSource),
        (Datacube(memmap), MemmapSource),
        (Datacube(memmap[2:]), MemmapSource),  # a view: its own file offset
        (Datacube(lazy), ArraySource),
        (cube, type(None)),  # in memory: scattered from the client
    ]
    for case, kind in cases:
        assert isinstance(source_of(case.source, case.data), kind)
        dpc = DPC(case, client=client, progress=False)
        want = local if case.scan_shape == cube.scan_shape else DPC(Datacube(memmap[2:]))
        _assert_same(dpc, want, DETECTORS[1])


def _zarr_copy(data: np.ndarray, path):
    zarr = pytest.importorskip("zarr")
    array = zarr.open(
        str(path), mode="w", shape=data.shape, chunks=(2, *data.shape[1:]), dtype=data.dtype
    )
    array[:] = data
    return zarr.open(str(path), mode="r")


def test_a_cache_built_in_a_background_thread_reports_progress(client):
    cube = random_cube(shape=(12, 8, 24, 24), dtype=np.uint16, seed=19)
    dpc, local = DPC(cube, client=client, progress=False), DPC(cube, progress=False)
    _assert_same(dpc, local, DETECTORS[0])
    center = DETECTORS[0].resolved_center(cube)
    seen: list[tuple[int, int]] = []
    radius = dpc.plan_cache_radius(center, 11.0)
    thread = threading.Thread(
        target=dpc.build_cache,
        args=(center, 11.0),
        kwargs={"radius": radius, "keep_old": True, "on_progress": lambda *a: seen.append(a)},
    )
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive()
    total = cube.scan_shape[0] * cube.scan_shape[1]
    assert seen[-1] == (total, total) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert dpc.cache_ready(center, 11.0)
    _assert_same(dpc, local, SegmentedDetector(3, 11, segments=4))


def test_row_window_reads_only_its_rows():
    data = np.arange(5 * 2 * 3 * 3).reshape(5, 2, 3, 3)
    window = RowWindow(data, 1, 4)
    assert window.shape == (3, 2, 3, 3)
    np.testing.assert_array_equal(window[1:3], data[2:4])
    with pytest.raises(ValueError, match="step 2"):
        window[::2]


def test_client_with_cupy_backend_is_refused(client):
    with pytest.raises(ValueError, match="cupy"):
        DPC(random_cube(), backend="cupy", client=client)


def test_block_caches_report_their_size_and_survive_pickling(client):
    """The scheduler sees a cache's real size (so it runs updates where the cache lives
    instead of moving it), and a cache it moves or spills anyway still answers exactly."""
    cube = random_cube(shape=(8, 8, 24, 24), dtype=np.uint16, seed=11)
    dpc = DPC(cube, client=client, progress=False)
    _quiet_run(dpc, DETECTORS[0])
    futures = dpc._engine._futures
    sizes = client.nbytes(summary=False)
    assert all(sizes[f.key] > cube.data.nbytes // (2 * len(futures)) for f in futures)
    moved = pickle.loads(pickle.dumps(futures[0].result()))  # fetched: pickled on the way
    local = PolarCache(Datacube(cube.data[: dpc._engine.blocks[0][1]]), cube.origin)
    for key in [(3.0, 8.0, 4, 0.0, 8), (3.0, 8.0, 4, 0.0, 1)]:  # area weights, binary masks
        np.testing.assert_array_equal(moved.segment_sums(*key), local.segment_sums(*key))


def test_importing_the_package_does_not_import_distributed():
    code = "import sys, dpc_widgets, dpc_widgets.core; print('distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _outputs(folder, stem: str) -> dict[str, np.ndarray]:
    with h5py.File(folder / f"{stem}_dpc.h5", "r") as f:
        return {name: f[name][()] for name in ("segment_images", "com", "com_rotated", "phase")}


@pytest.mark.parametrize("how", ["scheduler", "workers"])
def test_cli_on_a_cluster_writes_the_local_results(client, tmp_path, how):
    from _py4dstem_layout import write_py4dstem_h5

    from dpc_widgets.cli import main

    sim = dw.simulate((16, 16), (48, 48), rotation=20, seed=4)
    inputs = [tmp_path / "sim.npy", tmp_path / "counts.h5"]
    np.save(inputs[0], np.asarray(sim.cube.data))
    counts = np.asarray(sim.cube.data * 1e3).round().astype(np.uint16)
    write_py4dstem_h5(
        inputs[1], counts, r_pixel_size=1.0, r_units="A", q_pixel_size=1.0, q_units="mrad"
    )
    if how == "workers":
        inputs = inputs[1:]
    option = ["--scheduler", client.scheduler.address] if how == "scheduler" else ["--workers", "1"]
    common = ["--inner", "5", "--outer", "14", "--energy", "200e3"]
    assert main(["process", *map(str, inputs), "--out", str(tmp_path / "c"), *common, *option]) == 0
    assert main(["process", *map(str, inputs), "--out", str(tmp_path / "l"), *common]) == 0
    for path in inputs:
        got, want = _outputs(tmp_path / "c", path.stem), _outputs(tmp_path / "l", path.stem)
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-9, atol=1e-12, err_msg=name)


def _kill_one_worker(client) -> None:
    pids = client.run(os.getpid)
    os.kill(next(iter(pids.values())), signal.SIGKILL)


def _wait_for(predicate, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


@pytest.mark.parametrize("in_memory", [False, True])
def test_a_killed_worker_is_rebuilt_and_the_result_is_exact(client, tmp_path, in_memory):
    cube = random_cube(shape=(12, 10, 24, 24), dtype=np.uint16, seed=13)
    np.save(tmp_path / "cube.npy", cube.data)
    source = cube if in_memory else dw.load(tmp_path / "cube.npy", origin=cube.origin)
    dpc, local = DPC(source, client=client, progress=False), DPC(cube, progress=False)
    _assert_same(dpc, local, DETECTORS[0])
    _kill_one_worker(client)
    if in_memory:  # the scattered rows are gone with the worker: the client sees it
        _wait_for(lambda: dpc.cluster_blocks_lost() > 0)
    for detector in DETECTORS[1:]:
        _assert_same(dpc, local, detector)
    assert dpc.cluster_blocks_lost() == 0
    _wait_for(lambda: len(client.scheduler_info()["workers"]) == 2)  # the nanny restarted it


def test_explorer_on_a_cluster_says_rebuilding_and_stays_exact(client):
    from dpc_widgets.widgets import Explorer

    cube = random_cube(shape=(12, 10, 24, 24), dtype=np.uint16, seed=17)
    explorer = Explorer(cube, client=client, background=False, inner=3.0, outer=8.0)
    local = DPC(cube, progress=False)
    statuses: list[str] = []
    explorer.status.observe(lambda change: statuses.append(change["new"]), "value")
    _kill_one_worker(client)
    _wait_for(lambda: explorer.dpc.cluster_blocks_lost() > 0)
    explorer.outer.value = 9.0
    assert any("rebuilding" in status for status in statuses)
    assert "updated" in explorer.status.value
    want = _quiet_run(local, explorer.settings.detector(), **explorer.settings.run_kwargs())
    np.testing.assert_array_equal(explorer.results.segment_images, want.segment_images)
    np.testing.assert_allclose(explorer.results.phase, want.phase, rtol=1e-9, atol=1e-12)
