"""Parameters checked at the door (issue 17, part 5): every public entry point ends with a
result or a typed error naming the parameter and its value, before any work.

Each case below was found by trying nonsense on the public API; the comment names what it did
before.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import zarr

import dpc_widgets
from dpc_widgets import Datacube, SegmentedDetector, load
from dpc_widgets.batch import compute
from dpc_widgets.cli import _job as cli_job
from dpc_widgets.cli import build_parser, main
from dpc_widgets.core import DPC, warmup
from dpc_widgets.core.dpc import PhaseOptions
from dpc_widgets.core.memory import CacheMemoryError
from dpc_widgets.io.formats import FormatError
from dpc_widgets.physics import wrap_degrees
from dpc_widgets.widgets import Explorer, Settings
from dpc_widgets.widgets.controls import ControlValueError
from dpc_widgets.widgets.settings_file import SettingsFileError, read_settings

RADII = {"inner": 2.0, "outer": 6.0}  # detector px of the small cube below


@pytest.fixture(scope="module")
def small() -> Datacube:
    """16 x 16 scan, 24 x 24 detector, float32, uncalibrated (px)."""
    sim = dpc_widgets.simulate((16, 16), (24, 24), convergence=8.0, rotation=20.0)
    return Datacube(np.asarray(sim.cube.data))


@pytest.fixture(scope="module")
def calibrated() -> Datacube:
    return dpc_widgets.simulate((16, 16), (24, 24), convergence=8.0, rotation=20.0).cube


@pytest.fixture
def npy(small, tmp_path) -> Path:
    path = tmp_path / "small.npy"
    np.save(path, np.asarray(small.data))
    return path


def untouched(dpc: DPC, monkeypatch) -> None:
    """Make any pass over the data fail the test: errors must come before any work."""

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")

    monkeypatch.setattr(dpc._sums, "first_view", no_work)
    monkeypatch.setattr(dpc, "segment_images", no_work)


# --------------------------------------------------------------------------- DPC.run
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        # was: ValueError: could not convert string to float, from inside
        ({"rotation": "abc"}, TypeError, "rotation must be a real number, got 'abc'"),
        ({"rotation": math.nan}, ValueError, "rotation must be finite, got nan"),
        ({"transpose": "yes"}, TypeError, "transpose must be True, False or None, got 'yes'"),
        # was: accepted without a word with the segmented source
        ({"descan": "bogus"}, ValueError, "descan must be one of .* got 'bogus'"),
        ({"com_inner": 9.0, "com_outer": 3.0}, ValueError, "inner radius 9.0 must be smaller"),
        ({"com_inner": -1.0}, ValueError, "inner radius must be a number >= 0, got -1.0"),
        ({"padding": 2.5}, TypeError, "padding must be an integer >= 1, got 2.5"),
        ({"padding": 0}, ValueError, "padding must be an integer >= 1, got 0"),
        ({"pad_mode": "edge"}, ValueError, "pad_mode must be one of .* got 'edge'"),
        ({"method": "magic"}, ValueError, "method must be one of .* got 'magic'"),
        ({"high_pass": -1.0}, ValueError, r"high_pass \(1/scan units\) must be >= 0, got -1.0"),
        ({"low_pass": "0.1"}, TypeError, r"low_pass \(1/scan units\) must be a real number"),
        ({"low_pass": math.inf}, ValueError, "low_pass .* must be finite, got inf"),
    ],
)
def test_run_checks_every_argument_before_any_work(small, monkeypatch, kwargs, error, match):
    dpc = DPC(small)
    untouched(dpc, monkeypatch)
    with pytest.raises(error, match=match):
        dpc.run(SegmentedDetector(**RADII), com_source="segmented", **kwargs)


@pytest.mark.parametrize(("method", "pad_mode"), [("iterative", "mirror"), ("fourier", "zeros")])
def test_huge_padding_is_a_memory_error_before_any_work(small, monkeypatch, method, pad_mode):
    # was: an attempt to allocate 233-931 TiB
    dpc = DPC(small)
    untouched(dpc, monkeypatch)
    with pytest.raises(CacheMemoryError, match=r"padding=1000000.*over the memory budget") as err:
        dpc.run(SegmentedDetector(**RADII), method=method, pad_mode=pad_mode, padding=10**6)
    assert err.value.needed > 100 * 2**40 > err.value.budget  # 40 % of available memory


_PEAK = """
import json, sys, tracemalloc
import numpy as np
from dpc_widgets.core.integrate import integrate_fourier, integrate_iterative, integration_bytes
field = np.random.default_rng(0).normal(size=(2, 48, 40))
out = []
for method, pad_mode in (("iterative", "zeros"), ("fourier", "zeros"), ("fourier", "mirror")):
    options = {} if method == "iterative" else {"pad_mode": pad_mode}
    integrate = integrate_iterative if method == "iterative" else integrate_fourier
    tracemalloc.start()
    integrate(field, padding=4, **options)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out.append((method, pad_mode, peak, integration_bytes((48, 40), 4, method, pad_mode)))
print(json.dumps(out))
"""


def test_integration_memory_estimate_bounds_the_real_peak():
    # in a fresh process: tracemalloc counts every thread's allocations
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]), DPC_WIDGETS_WARM_UP="0")
    done = subprocess.run(
        [sys.executable, "-c", _PEAK], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    for method, pad_mode, peak, estimate in json.loads(done.stdout.splitlines()[-1]):
        assert peak <= estimate < 3 * peak, (method, pad_mode)


def test_mirror_padding_needs_no_padded_grid(small):
    dpc = DPC(small)
    a = dpc.run(SegmentedDetector(**RADII), padding=10**6).phase  # the mirror extension is 2x
    b = dpc.run(SegmentedDetector(**RADII), padding=2).phase
    np.testing.assert_array_equal(a, b)


def test_phase_options_normalise_and_check():
    options = PhaseOptions("fourier", np.int64(3), "zeros", 1, np.float32(0.5))
    assert (options.padding, options.high_pass, options.low_pass) == (3, 1.0, 0.5)
    assert type(options.padding) is int and type(options.low_pass) is float
    with pytest.raises(TypeError, match="padding must be an integer >= 1, got True"):
        PhaseOptions(padding=True)


@pytest.mark.parametrize(
    ("filters", "expect"),
    [
        ({"high_pass": 1e200}, "zero"),  # was: OverflowError: Numerical result out of range
        ({"low_pass": 1e200}, "unfiltered"),  # was: OverflowError
        ({"low_pass": 1e-200}, "zero"),  # was: a phase of NaN
        ({"high_pass": 1e-200}, "unfiltered"),
    ],
)
@pytest.mark.parametrize("method", ["fourier", "iterative"])
def test_extreme_filter_cutoffs_give_finite_phases(calibrated, filters, expect, method):
    dpc = DPC(calibrated)
    detector = SegmentedDetector(0.3, 1.2 * 8.0, 4)
    plain = dpc.run(detector, method=method).phase
    phase = dpc.run(detector, method=method, **filters).phase
    assert np.isfinite(phase).all()
    if expect == "zero":  # only the mean passes, and the phase is zero-mean
        np.testing.assert_allclose(phase, 0.0, atol=1e-12 * np.abs(plain).max())
    else:  # the Gaussian factor is 1 to rounding at every frequency of the grid
        np.testing.assert_allclose(phase, plain, rtol=0, atol=1e-9 * np.abs(plain).max())


@pytest.mark.parametrize(
    ("value", "wrapped"),
    [(270.0, -90.0), (-270.0, 90.0), (180.0, 180.0), (-180.0, -180.0), (1e9, -80.0), (725, 5.0)],
)
def test_angles_wrap_by_whole_turns(value, wrapped):
    assert wrap_degrees(value) == wrapped


def test_huge_angles_wrap_in_degrees_before_radians(small):
    # was: converted to radians first, so an offset >= 1e17 degrees lost its precision
    huge = 360.0 * 2**48 + 64.0  # exactly representable: 64 degrees plus whole turns
    assert wrap_degrees(huge) == 64.0 and wrap_degrees(1e300) == 0.0  # 1e300 = whole turns
    far, near = SegmentedDetector(2, 8, 4, rotation=huge), SegmentedDetector(2, 8, 4, rotation=64)
    assert far.rotation_rad == near.rotation_rad and far.frame_deg == near.frame_deg
    np.testing.assert_array_equal(far.masks(small), near.masks(small))
    dpc = DPC(small)
    a = dpc.run(far, rotation=huge, transpose=False)
    b = dpc.run(near, rotation=64.0, transpose=False)
    assert a.angle_deg == 64.0
    np.testing.assert_array_equal(a.phase, b.phase)


@pytest.mark.parametrize("name", ["scan_sampling", "detector_sampling"])
def test_extreme_calibrations(small, name):
    # was: "angle_deg must be finite, got nan" from inside, or an all-NaN phase
    data = np.asarray(small.data)
    base = {"energy": 200e3, "scan_units": "A", "detector_units": "mrad"}
    for value in (1e300, 1e-300):
        with pytest.raises(
            ValueError, match=f"{name} must lie between .* got {re.escape(repr(value))}"
        ):
            Datacube(data, **{**base, name: value})
    for value in (1e30, 1e-30):  # the ends of the range: finite results
        cube = Datacube(data, **{**base, name: value})
        pixel = cube.detector_sampling
        detector = SegmentedDetector(2 * pixel, 6 * pixel, 4)
        result = DPC(cube).run(detector, com_source="pixelated")
        assert np.isfinite(result.phase).all() and np.isfinite(result.angle_deg)


# --------------------------------------------------------------------------- settings
@pytest.mark.parametrize(
    ("values", "error", "match"),
    [
        # was: TypeError: '<=' not supported between 'int' and 'str', from inside
        ({"segments": "4"}, TypeError, "segments must be an integer >= 1, got '4'"),
        ({"segments": 17}, ValueError, "segments must be between 1 and 16, got 17"),
        # was: silently clamped to the slider's 4
        ({"padding": 100}, ValueError, "padding must be an integer factor <= 8 .* got 100"),
        ({"rotation": "abc"}, TypeError, "rotation must be a real number, got 'abc'"),
        ({"scan_rotation": math.inf}, ValueError, "scan_rotation must be finite, got inf"),
        ({"high_pass": -1.0}, ValueError, "high_pass must be >= 0 and finite"),
        ({"low_pass": math.nan}, ValueError, "low_pass must be >= 0 and finite"),
        ({"transpose": 1}, TypeError, "transpose must be True or False, got 1"),
        ({"com_inner": 5.0, "com_outer": 4.0}, ValueError, "com_inner 5.0 must be smaller"),
        ({"clip": 50}, ValueError, r"clip must be a percentage in \[0, 50\), got 50"),
    ],
)
def test_explorer_refuses_bad_initial_values_naming_them(small, values, error, match):
    with pytest.raises(error, match=match):
        Explorer(small, **RADII, **values)
    with pytest.raises(error, match=match):
        Settings(**RADII, **values)


def test_explorer_keeps_values_its_sliders_do_not_show(small):
    # was: offset 270 -> 180, scan rotation 270 -> 180, high-pass 2e6 -> 1e6,
    # low-pass 1e-200 -> 0, rotation 1e9 -> 180
    explorer = Explorer(
        small,
        **RADII,
        rotation=1e9,
        auto_rotation=False,
        scan_rotation=270.0,
        high_pass=2e6,
        low_pass=1e-200,
        clip=20.0,
    )
    settings = explorer.settings
    assert settings.rotation == -80.0 and settings.scan_rotation == -90.0
    assert explorer.rotation.value == -80.0 and explorer.scan_rotation.value == -90.0
    assert (settings.high_pass, settings.low_pass, settings.clip) == (2e6, 1e-200, 20.0)
    assert settings.com_outer == math.inf
    assert np.isfinite(explorer.results.phase).all()  # was: non-finite with low-pass 1e-200
    assert explorer.results.angle_deg == -90.0
    explorer.rotation.value = 270.0 - 360.0  # moves within the slider: kept
    assert explorer.settings.rotation == -90.0


def test_controls_set_from_python_wrap_widen_or_refuse(small):
    # was: explorer.rotation.value = 270 became 180, padding 100 became 4 (traitlets clamping)
    explorer = Explorer(small, **RADII)
    explorer.rotation.value = 270.0
    explorer.scan_rotation.value = -1e9
    assert (explorer.rotation.value, explorer.scan_rotation.value) == (-90.0, 80.0)
    assert explorer.settings.rotation == -90.0 and explorer.results.detector.rotation == -90.0
    top = explorer.outer.max
    explorer.outer.value = 3 * top  # a radius beyond the slider: the slider widens
    assert explorer.outer.max == explorer.outer.value == 3 * top
    for name, value in (("padding", 100), ("segments", 0), ("clip", 60.0), ("inner", -1.0)):
        with pytest.raises(ControlValueError, match=f"{value!r} is outside the control's range"):
            getattr(explorer, name).value = value
    with pytest.raises(ControlValueError, match="must be finite, got nan"):
        explorer.rotation.value = math.nan
    assert explorer.padding.value == 2 and explorer.rotation.value == -90.0


def test_ring_and_centre_drags_of_nan_are_ignored(small):
    # was: ValueError: cannot convert float NaN to integer, in the update
    explorer = Explorer(small, **RADII)
    before, origin = explorer.settings, explorer.dpc.origin
    sent = []
    explorer.view._send = lambda msg, buffers=None: sent.append(msg)
    nan = float("nan")
    explorer.view._on_custom_msg(
        explorer.view, {"type": "geometry", "seq": 3, "inner": nan, "outer": nan}, []
    )
    explorer.view._on_custom_msg(
        explorer.view, {"type": "center", "seq": 4, "qx": nan, "qy": 1}, []
    )
    explorer._on_ring_drag(math.inf, 5.0)
    assert explorer.settings == before and explorer.dpc.origin == origin
    assert "error" not in explorer.status.value
    assert len(sent) == 2  # each request is still answered (its ack)


# --------------------------------------------------------------------------- settings files
@pytest.mark.parametrize(
    ("content", "match"),
    [
        # was: RecursionError
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        # was: UnicodeDecodeError (UTF-16, Latin-1, binary)
        ('{"version": 1}'.encode("utf-16"), "not UTF-8 text"),
        ('{"version": 1, "settings": {"com_source": "pixelatéd"}}'.encode("latin-1"), "UTF-8"),
        (bytes(range(256)), "not UTF-8 text"),
    ],
)
def test_unreadable_settings_files_name_the_file(small, npy, tmp_path, capsys, content, match):
    path = tmp_path / "bad settings.json"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(SettingsFileError, match=match) as err:
        read_settings(path)
    assert str(path) in str(err.value)
    with pytest.raises(SettingsFileError, match=match):
        Explorer(small, settings=path)
    with pytest.raises(SystemExit) as code:  # was: exit 2 without naming the file
        main(["process", str(npy), "--out", str(tmp_path / "out"), "--settings", str(path)])
    assert code.value.code == 2
    assert str(path) in capsys.readouterr().err


def test_utf8_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes('{"version": 1, "settings": {"segments": 8}}'.encode("utf-8-sig"))
    assert read_settings(path).values == {"segments": 8}


def test_explorer_and_cli_read_a_settings_file_identically(npy, tmp_path):
    # was: the explorer clamped the file's values to its sliders, the CLI applied them as is
    document = {
        "version": 1,
        "settings": {
            **RADII,
            "rotation": 270.0,
            "auto_rotation": False,
            "scan_rotation": 1e9,
            "high_pass": 2e6,
            "low_pass": 1e-200,
            "clip": 20.0,
            "com_source": "monolithic",
        },
    }
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    explorer = Explorer(npy, settings=path)
    args = build_parser().parse_args(
        ["process", str(npy), "--out", str(tmp_path / "out"), "--settings", str(path)]
    )
    _, settings, result = compute(npy, cli_job(args, args.subparser))
    assert explorer.settings == settings
    assert (settings.rotation, settings.scan_rotation, settings.low_pass) == (-90.0, -80.0, 1e-200)
    np.testing.assert_array_equal(explorer.results.phase, result.phase)
    assert np.isfinite(result.phase).all()
    bad = tmp_path / "padding.json"
    bad.write_text(json.dumps({"version": 1, "settings": {"padding": 100}}), encoding="utf-8")
    for reader in (lambda: Explorer(npy, settings=bad), lambda: read_settings(bad)):
        with pytest.raises(SettingsFileError, match="'padding'.* got 100"):
            reader()


# --------------------------------------------------------------------------- simulate
def test_simulate_checks_dose_seed_and_memory():
    small = {"scan_shape": (4, 4), "detector_shape": (16, 16), "convergence": 5.0}
    # was: an all-zero cube without a word
    with pytest.warns(UserWarning, match=r"dose 1e-12 .* no count in any of the 16 patterns"):
        sim = dpc_widgets.simulate(**small, dose=1e-12, seed=0)
    assert not np.asarray(sim.cube.data).any()
    # was: numpy's ValueError: lam value too large
    with pytest.raises(ValueError, match=r"dose .* at most 1e\+18.* got 1e\+300"):
        dpc_widgets.simulate(**small, dose=1e300)
    # was: an attempt to allocate 29 TiB
    with pytest.raises(MemoryError, match=r"oversampling=1000000\) needs .* over the memory"):
        dpc_widgets.simulate(**small, oversampling=10**6)
    # was: numpy's TypeError
    with pytest.raises(TypeError, match="seed must be None, an integer >= 0 .* got 'abc'"):
        dpc_widgets.simulate(**small, dose=100.0, seed="abc")
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        dpc_widgets.simulate(**small, dose=100.0, seed=-1)
    with pytest.raises(TypeError, match=r"rotation \(deg\) must be a real number, got '45'"):
        dpc_widgets.simulate(**small, rotation="45")  # was: parsed
    a = dpc_widgets.simulate(**small, dose=100.0, seed=np.random.default_rng(5)).cube.data
    b = dpc_widgets.simulate(**small, dose=100.0, seed=5).cube.data
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- files
@pytest.fixture
def corrupt_zarr(small, tmp_path) -> Path:
    """A zarr store whose second chunk (scan rows 8-15) is cut in half."""
    path = tmp_path / "cube.zarr"
    array = zarr.create_array(path, shape=small.shape, chunks=(8, 16, 24, 24), dtype="float32")
    array[...] = np.asarray(small.data)
    chunk = path / "c" / "1" / "0" / "0" / "0"
    chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])
    return path


def test_corrupt_zarr_chunk_names_store_and_chunk(corrupt_zarr, tmp_path, capsys):
    # was: RuntimeError: Zstd decompression error, from load, info and process
    expected = rf"'{corrupt_zarr}': cannot read chunk 'c/1/0/0/0'.*Zstd"
    with pytest.raises(FormatError, match=expected):
        load(corrupt_zarr).mean_pattern()
    with pytest.raises(FormatError, match=r"chunk 'c/1/0/0/0'"):
        load(corrupt_zarr, in_memory=True)
    assert main(["info", str(corrupt_zarr)]) == 1
    assert "FormatError" in capsys.readouterr().err
    assert main(["process", str(corrupt_zarr), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "FormatError" in err and "c/1/0/0/0" in err and str(corrupt_zarr) in err


def test_symlink_loop_is_named(tmp_path, capsys):
    # was: bare RuntimeError: Symlink loop
    loop = tmp_path / "loop.npy"
    os.symlink(loop, loop)
    with pytest.raises(OSError, match="symbolic link loop") as err:
        load(loop)
    assert err.value.errno == errno.ELOOP and str(loop) in str(err.value)
    assert main(["process", str(loop), "--out", str(tmp_path / "out")]) == 1
    assert f"OSError: [Errno {errno.ELOOP}] symbolic link loop: '{loop}'" in capsys.readouterr().err


# --------------------------------------------------------------------------- warm-up
def test_info_starts_no_warm_up(npy, monkeypatch, capsys):
    # was: about 1 run in 12 exited while the warm-up imported numba ("can't register atexit")
    monkeypatch.setattr(warmup, "_ready", {})
    monkeypatch.setattr(warmup, "_settled", {})
    assert main(["info", str(npy)]) == 0
    assert warmup._ready == {}
    assert warmup._enabled  # only during info's work


@pytest.mark.parametrize("stopping", [False, True])
def test_warm_up_stops_silently_at_interpreter_exit(monkeypatch, caplog, stopping):
    def import_at_exit(group, dtype):
        raise RuntimeError("can't register atexit after shutdown")

    key = np.dtype("float64").str
    events = {(group, key): threading.Event() for group in warmup.GROUPS}
    monkeypatch.setattr(warmup, "_settled", dict(events))
    monkeypatch.setattr(warmup, "_start_child", lambda dtype, nice_from: None)
    monkeypatch.setattr(warmup, "_load_group", import_at_exit)
    monkeypatch.setattr(warmup, "_stopping", threading.Event())
    if stopping:
        warmup._stopping.set()
    with caplog.at_level(logging.DEBUG, logger="dpc_widgets.core"):
        warmup._warm_up(np.dtype("float64"), 1)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert bool(errors) is not stopping  # an error only when the interpreter is not exiting
    assert all(event.is_set() for event in warmup._settled.values())
