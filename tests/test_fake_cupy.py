"""The CuPy path on a test double (tests/fake_cupy.py): every host/device crossing explicit.

The double refuses implicit conversions to NumPy as CuPy does, so the core and the explorer's
update running on it here shows that each crossing is an explicit ``to_numpy`` / ``xp.asarray``
and that results come back as NumPy arrays. The comparisons also run on real CuPy where a CUDA
device is (skipped otherwise), as does tests/test_engine.py::test_cupy_path_matches_numpy.
"""

from __future__ import annotations

import dataclasses
import math

import fake_cupy as fc
import numpy as np
import pytest
from _cubes import random_cube

import dpc_widgets
from dpc_widgets import DPC, SegmentedDetector
from dpc_widgets.backend import array_module_of, cupy_available, get_array_module, to_numpy
from dpc_widgets.core.engine import PolarCache
from dpc_widgets.core.integrate import integrate_fourier, integrate_iterative
from dpc_widgets.core.rotation import rotate_com, solve_rotation

WALK = [
    (2.0, 8.0, 4, 60.0),
    (2.3, 8.0, 4, 60.0),
    (2.3, 7.7, 4, 60.0),
    (2.3, 7.7, 4, 65.0),
    (1.0, 9.0, 4, 65.0),
    (1.0, 9.0, 6, 0.0),
    (0.0, 9.5, 6, 3.0),
]


@pytest.fixture
def double(monkeypatch):
    """The CuPy double, installed as ``cupy`` for one test."""
    return fc.install(monkeypatch)


@pytest.fixture(params=["double", "cupy"])
def cp(request, monkeypatch):
    """The double, and real CuPy where a CUDA device is (the same checks on both)."""
    if request.param == "double":
        return fc.install(monkeypatch)
    cupy = pytest.importorskip("cupy")
    if not cupy_available():
        pytest.skip("no CUDA device")
    return cupy


@pytest.fixture(scope="module")
def sim():
    return dpc_widgets.simulate()


def _disc(sim) -> float:
    """The bright-field disc radius in detector units."""
    return sim.cube.sample_disc().radius * sim.cube.detector_sampling


# ------------------------------------------------------------------ the double itself
def test_double_refuses_implicit_conversions(double):
    cp = double
    x = cp.asarray(np.arange(6.0).reshape(2, 3))
    for convert in (
        np.asarray,
        np.array,
        lambda a: a.__array__(),
        lambda a: float(a),
        lambda a: a[0].__index__(),
        lambda a: np.add(a, 1.0),
        lambda a: np.sum(a),
        lambda a: np.einsum("ij->j", a),
        lambda a: a + np.ones(3),
        lambda a: np.ones(3) + a,
        lambda a: a[np.array([0, 1])],
        lambda a: a.__setitem__(0, np.zeros(3)),
    ):
        with pytest.raises(TypeError):
            convert(x)
    assert isinstance(x.sum(), cp.ndarray) and float(x.sum()) == 15.0  # 0-d device result
    assert isinstance(np.float64(2.0) * x, cp.ndarray)
    np.testing.assert_array_equal(cp.asnumpy(x * 2), x.get() * 2)
    assert type(x.get()) is np.ndarray
    assert array_module_of(x) is cp and array_module_of(x.get()) is np
    assert get_array_module("cupy") is cp and to_numpy(x).shape == (2, 3)


# ------------------------------------------------------------------ engine
@pytest.mark.parametrize("subsample", [1, 8])  # binary masks, area weights
@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.float32, np.float64])
def test_polar_cache_on_device_matches_numpy(cp, dtype, subsample):
    cube = random_cube(dtype=dtype)
    device = PolarCache(cube, cube.origin, cp)
    host = PolarCache(cube, cube.origin, use_numba=False)
    exact = np.dtype(dtype).kind in "ui"
    check = np.testing.assert_array_equal if exact else np.testing.assert_allclose
    assert isinstance(device.moments, cp.ndarray)
    check(device.moments.get(), host.moments)
    np.testing.assert_array_equal(device.pattern_sum, host.pattern_sum)
    assert device.nbytes == host.nbytes
    for inner, outer, n, rotation in WALK:
        got = device.segment_sums(inner, outer, n, math.radians(rotation), subsample)
        assert isinstance(got, cp.ndarray)
        check(got.get(), host.segment_sums(inner, outer, n, math.radians(rotation), subsample))
        assert device.last_update == host.last_update
        moments = device.annulus_moments(inner, outer)
        assert isinstance(moments, cp.ndarray)
        check(moments.get(), host.annulus_moments(inner, outer))


def test_bounded_cache_on_device(cp):
    cube = random_cube(dtype=np.uint16)
    device = PolarCache(cube, cube.origin, cp, cache_radius=8.5)
    host = PolarCache(cube, cube.origin, use_numba=False, cache_radius=8.5)
    np.testing.assert_array_equal(
        device.segment_sums(1.0, 8.0, 4, 0.3).get(), host.segment_sums(1.0, 8.0, 4, 0.3)
    )
    assert device.covers(8.0) and not device.covers(9.0)


# ------------------------------------------------------------------ DPC
def _pair(cp, cube):
    return DPC(cube, backend="cupy", progress=False), DPC(cube, backend="numpy", progress=False)


def _same(got, expected, rtol=1e-12, atol=1e-12):
    assert type(got) is np.ndarray, type(got)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def test_dpc_core_on_device_matches_numpy(cp, sim):
    gpu, cpu = _pair(cp, sim.cube)
    assert gpu.xp is cp
    det = SegmentedDetector(0.5 * _disc(sim), 1.2 * _disc(sim), 4, 10.0)
    _same(gpu.segment_images(det), cpu.segment_images(det))
    for frame in ("segments", "detector"):
        _same(gpu.segmented_com(det, frame=frame), cpu.segmented_com(det, frame=frame))
    _same(gpu.monolithic_com(det), cpu.monolithic_com(det))
    _same(gpu.mean_pattern(), cpu.mean_pattern())
    for got, expected in zip(gpu.radial_profile(), cpu.radial_profile(), strict=True):
        _same(got, expected)
    for kwargs in (
        {},
        {"descan": None},
        {"descan": "plane"},
        {"inner": 2.0, "outer": 9.0, "descan": "plane"},
        {"units": "A^-1"},
    ):
        _same(gpu.com(**kwargs), cpu.com(**kwargs), atol=1e-9)
    for com in (None, cpu.com()):
        solved, expected = gpu.solve_rotation(com), cpu.solve_rotation(com)
        assert solved.transpose == expected.transpose
        assert solved.angle_deg == pytest.approx(expected.angle_deg, abs=1e-9)
        assert solved.uncertainty_deg == pytest.approx(expected.uncertainty_deg, rel=1e-6)
    for method in ("fourier", "iterative"):
        for pad_mode in ("mirror", "zeros"):
            kwargs = dict(method=method, pad_mode=pad_mode, high_pass=0.01, low_pass=2.0)
            _same(gpu.phase(**kwargs), cpu.phase(**kwargs), atol=1e-9)
        given = dict(rotation=12.0, method=method, com_units="A^-1")
        _same(gpu.phase(cpu.com(), **given), cpu.phase(cpu.com(), **given), atol=1e-9)


@pytest.mark.parametrize("com_source", ["segmented", "monolithic", "pixelated"])
@pytest.mark.parametrize("rotation", [None, -15.0])
def test_run_on_device_matches_numpy(cp, sim, com_source, rotation):
    gpu, cpu = _pair(cp, sim.cube)
    for outer in (1.2, 1.3):
        det = SegmentedDetector(0.5 * _disc(sim), outer * _disc(sim), 4, 30.0)
        kwargs = dict(com_source=com_source, rotation=rotation, com_inner=1.0, com_outer=9.0)
        got, expected = gpu.run(det, **kwargs), cpu.run(det, **kwargs)
        for name in ("segment_images", "com", "com_rotated", "phase"):
            _same(getattr(got, name), getattr(expected, name), atol=1e-9)
        assert got.angle_deg == pytest.approx(expected.angle_deg, abs=1e-9)
        assert got.transpose == expected.transpose
        assert (got.com_units, got.phase_units) == (expected.com_units, expected.phase_units)


def test_functions_keep_device_arrays_on_device(cp, sim):
    com = DPC(sim.cube, progress=False).com()
    device = cp.asarray(com)
    rotated = rotate_com(device, 20.0, True)
    assert isinstance(rotated, cp.ndarray)
    _same(rotated.get(), rotate_com(com, 20.0, True))
    assert solve_rotation(device).angle_deg == pytest.approx(solve_rotation(com).angle_deg)
    for integrate in (integrate_fourier, integrate_iterative):
        out = integrate(device)
        assert isinstance(out, cp.ndarray)
        _same(out.get(), integrate(com), atol=1e-9)


@pytest.mark.parametrize("backend", ["numpy", "cupy"])
@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
@pytest.mark.filterwarnings("ignore:the 180-degree choice")
def test_device_resident_cube(cp, backend, dtype):
    host_cube = random_cube(dtype=dtype, detector_units="mrad", detector_sampling=0.5)
    cube = dataclasses.replace(host_cube, data=cp.asarray(host_cube.data))
    on_device, reference = DPC(cube, backend=backend, progress=False), DPC(host_cube)
    det = SegmentedDetector(1.0, 4.0, 4, 20.0)
    _same(on_device.mean_pattern(), reference.mean_pattern())
    _same(on_device.segment_images(det), reference.segment_images(det))
    _same(on_device.com(inner=0.5, outer=4.5), reference.com(inner=0.5, outer=4.5), atol=1e-9)
    _same(on_device.run(det).phase, reference.run(det).phase, atol=1e-9)


# ------------------------------------------------------------------ explorer
def test_explorer_update_on_device_matches_numpy(cp, sim):
    from dpc_widgets.widgets import Explorer

    views = ("segment_images", "com", "phase", "pattern")
    gpu = Explorer(sim.cube, backend="cupy")
    cpu = Explorer(sim.cube)
    assert gpu.dpc.xp is cp
    for ex in (gpu, cpu):
        ex.view._on_custom_msg(
            ex.view, {"type": "geometry", "seq": 1, "inner": 7.0, "outer": 19.0}, []
        )
        assert "dpc-status-error" not in ex.status.value, ex.status.value
        ex.inner.value = ex.inner.value + 1.0
    assert gpu.results is not None and not gpu.building
    engine = gpu.dpc._engine
    assert engine.xp is cp and isinstance(engine.moments, cp.ndarray)
    assert (gpu.inner.value, gpu.outer.value) == (cpu.inner.value, cpu.outer.value)
    for name in views:
        got = np.frombuffer(getattr(gpu.view, name), dtype="<f4")
        expected = np.frombuffer(getattr(cpu.view, name), dtype="<f4")
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max())


def test_numpy_backend_takes_device_fields(cp, sim):
    cpu = DPC(sim.cube, progress=False)
    com = cpu.com(units="A^-1")
    device = cp.asarray(com)
    assert cpu.solve_rotation(device).angle_deg == cpu.solve_rotation(com).angle_deg
    _same(cpu.phase(device, com_units="A^-1"), cpu.phase(com, com_units="A^-1"))


def test_a_drag_crosses_only_indices_up_and_results_down(double, sim):
    """After the cache is built, a radius drag uploads the moved ring's row indices and the CoM
    field (combined from the segment images on the host), and downloads the results: never the
    cache or the running sums."""
    cp = double
    gpu = DPC(sim.cube, backend="cupy", progress=False, stream_first=False)
    radius = _disc(sim)
    gpu.run(SegmentedDetector(0.5 * radius, 1.2 * radius, 4, 30.0))
    uploaded: list[int] = []
    downloaded: list[int] = []
    asarray, get = cp.asarray, fc.ndarray.get

    def count_up(value, dtype=None):
        if isinstance(value, np.ndarray):
            uploaded.append(value.nbytes)
        return asarray(value, dtype)

    def count_down(self):
        downloaded.append(self.nbytes)
        return get(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cp, "asarray", count_up)
        mp.setattr(fc.ndarray, "get", count_down)
        result = gpu.run(SegmentedDetector(0.5 * radius, 1.25 * radius, 4, 30.0))
    assert gpu._engine.last_update == "incremental"
    positions = math.prod(sim.cube.scan_shape)
    # uploads: the (2, P) float64 CoM field, plus row indices of the moved ring (small)
    com_bytes = 2 * 8 * positions
    assert com_bytes in uploaded
    assert 0 < sum(uploaded) - com_bytes < 8 * positions
    # downloads: segment images, CoM, rotated CoM and phase (float64), nothing else
    shipped = sum(a.nbytes for a in (result.segment_images, result.com_rotated, result.phase))
    assert sum(downloaded) <= shipped + 8 * positions
