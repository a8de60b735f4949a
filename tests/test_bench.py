"""The benchmark harness's pieces run and report what they measured (no timings asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from dpc_widgets.bench.baselines import streaming_pass
from dpc_widgets.bench.cubes import SIZES, CubeSpec, bench_cube, default_cache_radius
from dpc_widgets.bench.first_image import first_image
from dpc_widgets.bench.report import first_image_rows, ratio, status
from dpc_widgets.bench.timing import PeakMemory, RssSampler
from dpc_widgets.core.engine import PolarCache
from dpc_widgets.io import Datacube

REPO = Path(__file__).resolve().parents[1]


def test_bench_cube_is_memory_mapped_and_has_the_documented_disc(tmp_path):
    spec = CubeSpec("T", (2, 3, 20, 20), "uint16")
    data = bench_cube(spec, tmp_path)
    assert isinstance(data, np.memmap) and data.shape == spec.shape
    assert spec.path(tmp_path).exists()
    # The disc (radius 0.2 of the width) is inside the default bounded cache (0.3 of it).
    assert default_cache_radius(20) == 1.5 * 0.2 * 20
    assert data[0, 0, 10, 10] > 1000 and data[0, 0, 0, 0] < 64


def test_streaming_pass_reads_every_byte():
    data = np.arange(4 * 5 * 6 * 7, dtype=np.uint16).reshape(4, 5, 6, 7)
    assert streaming_pass(Datacube(data)) == data.nbytes


def test_bounded_cache_of_the_default_geometry_is_small():
    spec = SIZES["L"]
    cube = Datacube(np.zeros((2, 2, *spec.shape[2:]), dtype=spec.dtype))
    engine = PolarCache(cube, cube.origin, cache_radius=default_cache_radius(spec.shape[2]))
    pixels = engine._pix.shape[0] / (spec.shape[2] * spec.shape[3])
    assert 0.25 < pixels < 0.3  # pi * 0.3**2 = 0.283 of the detector


def test_memory_samplers_report_bytes():
    with PeakMemory() as memory, RssSampler() as rss:
        block = np.ones(2**22, dtype=np.uint8)
        block.sum()
    assert memory.traced >= block.nbytes
    assert rss.peak >= rss.base >= 0


def test_first_image_worker_in_a_fresh_process(tmp_path):
    path = tmp_path / "cube.npy"
    np.save(path, np.random.default_rng(0).integers(0, 50, (4, 5, 16, 16), dtype=np.uint16))
    stream = first_image(path, mode="stream")
    assert stream["bytes"] == 4 * 5 * 16 * 16 * 2 and stream["work_s"] > 0
    first = first_image(path, cache_radius=6.0, numba_cache_dir=tmp_path / "numba")
    assert first["cache_radius"] == 6.0
    assert first["cube_nbytes"] == stream["bytes"]
    assert first["work_s"] > 0 and first["drag_s"] > 0 and first["import_s"] > 0
    assert first["peak_rss_anon"] >= first["base_rss_anon"]
    ready = first["stream_ready_s"]  # NaN: the empty numba cache was not compiled in time
    assert ready != ready or 0 <= ready <= first["work_s"] + first["next_s"] + first["drag_s"]
    ahead = first_image(path, mode="ahead", numba_cache_dir=tmp_path / "numba")
    assert ahead["work_s"] > 0 and ahead["kernels"]  # the warm-up ran before the work
    explorer = first_image(path, mode="explorer", numba_cache_dir=tmp_path / "numba")
    assert explorer["work_s"] > 0 and explorer["drag_s"] > 0
    assert explorer["cube_nbytes"] == stream["bytes"] and explorer["binning"] == 1


def test_first_image_rows_split_off_the_wait_for_the_streaming_kernel():
    record = {
        "import_s": 0.5,
        "work_s": 1.2,
        "open_s": 0.02,
        "next_s": 1.0,
        "drag_s": 0.01,
        "peak_rss_anon": 2**29,
        "kernels": {"stream": "disk cache"},
        "stream_numba": True,
    }
    runs = {
        "stream": {"import_s": 0.5, "work_s": 0.4, "peak_rss_anon": 2**26},
        "warm": {**record, "stream_ready_s": 0.8},
        "cold": {**record, "stream_ready_s": float("nan")},
        "ahead": {**record, "stream_ready_s": -1.5},
    }
    rows = first_image_rows({"spec": SIZES["L"], "first_image": runs})
    warm = next(row for row in rows if "numba cache warm" in row)
    cold = next(row for row in rows if "empty NUMBA_CACHE_DIR" in row)
    assert "| 800 ms (2.00x) |" in warm and "| 3.00x |" in warm
    assert "not before the image" in cold
    ahead = next(row for row in rows if "after the import (cache warm)" in row)
    assert "before the work started" in ahead


def test_big_cube_script_writes_a_sparse_file(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "measure_big_cube", REPO / "scripts" / "measure_big_cube.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.big_shape(32) == (512, 512, 256, 256)
    shape = (8, 3, 256, 256)
    path = script.write_sparse_cube(tmp_path, shape)
    data = np.load(path, mmap_mode="r")
    assert data.shape == shape and data.dtype == np.uint16
    lit = [x for x in range(shape[0]) if data[x].any()]
    assert lit == [0, 2, 5, 7]  # PATTERN_ROWS rows of patterns, the rest zeros


def test_report_formatting():
    assert ratio(0.5) == "0.50x" and ratio(0.02) == "0.020x"
    assert status(1.0, 2.0).startswith("met") and "missed" in status(3.0, 2.0)


def test_explorer_update_rows_time_every_part_of_a_drag():
    from dpc_widgets.bench.explorer_update import NAMES, drag_update
    from dpc_widgets.bench.report import explorer_update_rows

    rng = np.random.default_rng(0)
    i, j = np.meshgrid(np.arange(48) - 23.5, np.arange(48) - 23.5, indexing="ij")
    disc = np.where(np.hypot(i, j) < 10.0, 2000.0, 8.0)
    cube = Datacube(rng.poisson(disc, size=(12, 10, 48, 48)).astype(np.uint16))
    times = drag_update(cube, drags=4)
    assert set(times) == set(NAMES)
    assert all(len(t.samples) == 4 and min(t.samples) > 0 for t in times.values())
    # the images are part of the whole update (both timed on the same assignment)
    assert times["explorer images"].median <= times["explorer update"].median
    rows = explorer_update_rows(times)
    assert len(rows) == 2 + len(NAMES) and "issue 10 item 2" in rows[0]
    assert rows[3].split("|")[4].strip() == "1.00x"  # DPC.run / DPC.run
