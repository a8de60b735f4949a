"""The ``dpc-widgets`` command line: ``info``, ``process`` (two formats, bad files, settings)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shlex
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from _png import read_png
from _py4dstem_layout import write_py4dstem_h5

import dpc_widgets
from dpc_widgets import SegmentedDetector, load
from dpc_widgets.cli import build_parser, main
from dpc_widgets.cluster import dask_client
from dpc_widgets.core import DPC
from dpc_widgets.detectors import pixel_geometry
from dpc_widgets.widgets import Explorer, Settings, render
from dpc_widgets.widgets.settings import default_com_region
from dpc_widgets.widgets.settings_file import FORMAT, SavedSettings, read_settings

ROOT = Path(__file__).parents[1]
ROTATION = 25.0  # the simulated scan rotation (degrees)
DATASETS = ("segment_images", "com", "com_rotated", "phase")


@pytest.fixture(scope="module")
def sim():
    return dpc_widgets.simulate((16, 16), (48, 48), rotation=ROTATION, seed=1)


@pytest.fixture(scope="module")
def files(sim, tmp_path_factory) -> dict[str, Path]:
    """The simulated cube as .npy (float32, no calibration) and as py4DSTEM HDF5 (uint16
    counts, scan step in A and detector pixel in mrad)."""
    folder = tmp_path_factory.mktemp("inputs")
    npy = folder / "sim_npy.npy"
    np.save(npy, np.asarray(sim.cube.data))
    counts = dpc_widgets.simulate((16, 16), (48, 48), rotation=ROTATION, dose=5e4, seed=2)
    h5 = folder / "sim_emd.h5"
    write_py4dstem_h5(
        h5,
        np.asarray(counts.cube.data).round().astype(np.uint16),
        r_pixel_size=sim.scan_step,
        r_units="A",
        q_pixel_size=sim.detector_sampling,
        q_units="mrad",
    )
    return {"npy": npy, "h5": h5}


def digest(path: Path) -> dict[str, bytes]:
    """Contents of a file, or of every file below a folder."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {str(p): p.read_bytes() for p in files}


def run(argv, capsys) -> tuple[int, str, str]:
    """``main(argv)`` in this process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def usage_error(argv, capsys) -> str:
    """The stderr of a command line that must exit with status 2 (usage error)."""
    with pytest.raises(SystemExit) as caught:
        main([str(a) for a in argv])
    assert caught.value.code == 2
    return capsys.readouterr().err


def reference(path: Path, settings: Settings, **load_options):
    """``DPC.run`` on the file for ``settings``, without the command line."""
    cube = load(path, **load_options)
    return cube, DPC(cube, progress=False).run(settings.detector(), **settings.run_kwargs())


def assert_outputs_equal(out: Path, name: str, result, settings: Settings) -> None:
    """The HDF5 datasets and both PNGs of ``name`` equal ``result`` drawn with ``settings``."""
    with h5py.File(out / f"{name}_dpc.h5", "r") as f:
        for key in DATASETS:
            np.testing.assert_array_equal(f[key][()], getattr(result, key), err_msg=key)
        assert f["com"].attrs["units"] == result.com_units
        assert f["phase"].attrs["units"] == result.phase_units
    phase = read_png((out / f"{name}_phase.png").read_bytes())
    clip = settings.clip
    np.testing.assert_array_equal(
        phase, render.sequential(result.phase, *render.clip_range(result.phase, clip))
    )
    wheel = read_png((out / f"{name}_com_color.png").read_bytes())
    com = result.com_rotated
    np.testing.assert_array_equal(wheel, render.complex_hsv(com, render.magnitude_max(com, clip)))


# ---------------------------------------------------------------------------- info
def test_info_reports_calibration_disc_and_cache_memory(files, sim, capsys):
    energy = ["--energy", "200e3"]
    code, out, _ = run(["info", files["h5"], *energy, "--json"], capsys)
    assert code == 0
    info = json.loads(out)
    assert info["format"] == "py4dstem" and info["path"] == str(files["h5"].resolve())
    assert info["shape"] == [16, 16, 48, 48] and info["dtype"] == "uint16"
    assert info["bytes"] == 16 * 16 * 48 * 48 * 2
    assert info["scan_units"] == "A" and info["scan_sampling"] == pytest.approx(sim.scan_step)
    assert info["detector_units"] == "mrad" and info["energy_eV"] == 200e3
    disc = info["disc"]
    assert disc["found"] and np.hypot(*(np.array(disc["center_px"]) - 24.0)) < 0.3
    # the probe's convergence semi-angle is the disc radius
    assert disc["radius"] == pytest.approx(sim.convergence, rel=0.05)
    assert disc["radius"] == pytest.approx(disc["radius_px"] * sim.detector_sampling)
    # default cache: 1.5 disc radii around the origin; bytes = pixels x positions x itemsize
    cache = info["cache"]
    assert cache["radius"] == pytest.approx(1.5 * disc["radius"])
    radii = pixel_geometry((48, 48), tuple(info["origin_px"]), sim.detector_sampling).radius
    assert cache["pixels"] == np.count_nonzero(radii < cache["radius"])
    assert cache["detector_pixels"] == 48 * 48
    assert cache["bytes"] == cache["pixels"] * 16 * 16 * 2
    assert cache["fraction"] == pytest.approx(cache["pixels"] / (48 * 48))

    code, text, _ = run(["info", files["h5"], *energy], capsys)
    assert code == 0
    assert "format:         py4dstem (" in text
    assert "(16, 16, 48, 48) (Rx, Ry, Qx, Qy), uint16, 1.1 MiB" in text
    assert f"scan step:      {sim.scan_step:g} A" in text
    assert "energy:         200000 eV" in text
    assert f"radius {disc['radius_px']:.2f} px = {disc['radius']:.4g} mrad" in text
    assert f"{cache['pixels']} of 2304 detector pixels" in text
    assert f"= {cache['fraction']:.3g} of the cube" in text


def test_info_reports_the_default_segments_and_their_areas(files, capsys):
    code, out, _ = run(["info", files["h5"], "--json"], capsys)
    assert code == 0
    info = json.loads(out)
    segments = info["segments"]
    cube = load(files["h5"])
    detector = SegmentedDetector(
        segments["inner"], segments["outer"], segments["segments"], segments["rotation"]
    )
    assert segments["weighting"] == "area" == detector.weighting
    np.testing.assert_array_equal(segments["areas_px"], detector.areas(cube))
    assert not segments["unequal"]  # area weights at the found (off-grid) disc centre
    binary = dataclasses.replace(detector, weighting="binary").areas(cube)
    assert np.ptp(binary) > np.ptp(segments["areas_px"])
    code, text, _ = run(["info", files["h5"]], capsys)
    areas = ", ".join(f"{a:.1f}" for a in segments["areas_px"])
    assert f"area weighting; areas {areas} px (equal within 1 %" in text


def test_info_without_a_disc_caches_the_whole_detector(tmp_path, capsys):
    path = tmp_path / "flat.npy"
    np.save(path, np.ones((4, 4, 16, 16), np.float32))
    code, out, _ = run(["info", path, "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and not info["disc"]["found"] and info["disc"]["radius"] is None
    assert info["cache"]["radius"] is None and info["cache"]["fraction"] == 1.0
    assert any("no" in note and "disc" in note for note in info["warnings"])
    code, text, _ = run(["info", path], capsys)
    assert "disc:           not found: " in text and "whole detector: 256 of 256" in text


def test_info_names_a_bad_file(tmp_path, capsys):
    missing = tmp_path / "missing.npy"
    code, out, err = run(["info", missing], capsys)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {missing}: FileNotFoundError: ")


# ---------------------------------------------------------------------------- process
def test_process_two_formats_writes_the_dpc_results(files, sim, tmp_path, capsys):
    before = {name: digest(path) for name, path in files.items()}
    out = tmp_path / "new" / "out"  # created
    options = ["--energy", "200e3", "--inner", "5", "--outer", "16", "--segments", "6"]
    options += ["--rotation", "15", "--com-source", "pixelated", "--descan", "constant"]
    code, stdout, err = run(["process", files["npy"], files["h5"], "--out", out, *options], capsys)
    assert code == 0, err
    assert f"processed 2 files into {out}" in stdout
    assert "sim_npy_dpc.h5, sim_npy_phase.png, sim_npy_com_color.png" in stdout
    given = Settings(
        inner=5.0, outer=16.0, segments=6, rotation=15.0, com_source="pixelated", descan="constant"
    )
    for name, path in files.items():
        # a loaded file's disc bounds the pixelated CoM by default (as in the explorer)
        region = default_com_region(load(path, energy=200e3))
        assert region["com_mask"] and region["com_inner"] == 0.0
        assert 0 < region["com_outer"] < 48
        settings = dataclasses.replace(given, **region)
        cube, result = reference(path, settings, energy=200e3)
        assert_outputs_equal(out, path.stem, result, settings)
        with h5py.File(out / f"{path.stem}_dpc.h5", "r") as f:
            attrs = dict(f.attrs)
            assert f["segment_images"].shape == (6, 16, 16)
            assert f["segment_images"].attrs["units"] == ("counts" if name == "h5" else "arb.")
            assert f["com_rotated"].attrs["units"] == result.com_units
        for field in dataclasses_fields():
            expected = getattr(settings, field)
            assert attrs[field] == expected, field
        saved = SavedSettings.from_json(attrs["settings_json"])
        assert Settings(**saved.values) == settings and saved.origin == cube.origin
        assert saved.calibration == cube.calibration and saved.calibration["energy"] == 200e3
        assert tuple(attrs["origin_px"]) == cube.origin
        assert attrs["solved_rotation_deg"] == result.rotation.angle_deg
        assert attrs["solved_transpose"] == result.rotation.transpose
        assert attrs["segment_weighting"] == "area"
        np.testing.assert_array_equal(attrs["segment_areas_px"], result.segment_areas)
        assert attrs["solved_rotation_uncertainty_deg"] == result.rotation.uncertainty_deg
        assert attrs["applied_rotation_deg"] == result.angle_deg
        assert attrs["applied_transpose"] == result.transpose
        assert attrs["dpc_widgets_version"] == dpc_widgets.__version__
        assert attrs["input_path"] == str(path.resolve())
        assert attrs["input_bytes"] == os.path.getsize(path)
        assert attrs["energy_eV"] == 200e3 and attrs["detector_units"] == cube.detector_units
        # end to end against the simulator: the scan rotation and (calibrated) the phase
        assert abs((attrs["solved_rotation_deg"] - ROTATION + 180) % 360 - 180) < 1.0
    with h5py.File(out / "sim_emd_dpc.h5", "r") as f:
        assert f["phase"].attrs["units"] == "rad" and f["com"].attrs["units"] == "A^-1"
        corr = np.corrcoef(f["phase"][()].ravel(), sim.phase_blurred.ravel())[0, 1]
        assert corr > 0.99  # 0.9989 measured (dose 5e4 per pattern)
    with h5py.File(out / "sim_npy_dpc.h5", "r") as f:
        assert f["phase"].attrs["units"] == "arb." and f["com"].attrs["units"] == "px"
    assert {name: digest(path) for name, path in files.items()} == before  # inputs untouched
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{p.stem}_{kind}"
        for p in files.values()
        for kind in ("dpc.h5", "phase.png", "com_color.png")
    )


def dataclasses_fields() -> list[str]:
    return list(Settings.__dataclass_fields__)


def test_defaults_are_the_explorers(files, tmp_path, capsys):
    code, _, err = run(["process", files["npy"], "--out", tmp_path], capsys)
    assert code == 0, err
    ex = Explorer(files["npy"])
    assert_outputs_equal(tmp_path, "sim_npy", ex.results, ex.settings)
    with h5py.File(tmp_path / "sim_npy_dpc.h5", "r") as f:
        assert (f.attrs["inner"], f.attrs["outer"]) == (ex.settings.inner, ex.settings.outer)
        # the pixelated CoM region bounded by the file's disc, as in the explorer
        assert f.attrs["com_mask"] and ex.settings.com_mask
        assert f.attrs["com_outer"] == ex.settings.com_outer < math.inf


def test_settings_saved_by_the_explorer_give_its_results(files, tmp_path, capsys):
    ex = Explorer(files["h5"], energy=200e3)
    with ex.hold():
        ex.segments.value = 8
        ex.rotation.value = -20.0
        ex.com_source.value = "pixelated"
        ex.com_mask.value = True
        ex.com_range.value = (2.0, 30.0)
        ex.auto_rotation.value = False
        ex.scan_rotation.value = 31.5
        ex.transpose.value = True
        ex.method.value = "iterative"
        ex.low_pass.value = 0.8
        ex.clip.value = 2.0
        ex.origin_qx.value = 23.5  # a moved centre travels with the file
    path = ex.save_settings(tmp_path / "explorer.json")
    assert read_settings(path).origin == ex.dpc.origin
    out = tmp_path / "out"
    code, _, err = run(
        ["process", files["h5"], "--out", out, "--settings", path, "--energy", "2e5"], capsys
    )
    assert code == 0, err
    assert_outputs_equal(out, "sim_emd", ex.results, ex.settings)
    with h5py.File(out / "sim_emd_dpc.h5", "r") as f:
        assert tuple(f.attrs["origin_px"]) == ex.dpc.origin
        assert f.attrs["applied_rotation_deg"] == 31.5 and f.attrs["applied_transpose"]
    # command-line options win over the file
    code, _, err = run(
        [
            "process",
            files["h5"],
            "--out",
            out,
            "--settings",
            path,
            "--energy",
            "2e5",
            "--segments",
            "4",
            "--scan-rotation",
            "auto",
        ],
        capsys,
    )
    assert code == 0, err
    expected = Settings(**{**read_settings(path).values, "segments": 4, "auto_rotation": True})
    _, result = reference(files["h5"], expected, energy=2e5, origin=ex.dpc.origin)
    assert_outputs_equal(out, "sim_emd", result, expected)


def test_bad_files_are_reported_and_skipped(files, tmp_path, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    corrupt = inputs / "corrupt.npy"
    corrupt.write_bytes(b"\x93NUMPY garbage, not an array header")
    wrong = inputs / "wrong.mib"
    wrong.write_text("not a Merlin file")
    missing = inputs / "missing.h5"
    argv = [files["npy"], corrupt, wrong, missing, files["h5"]]
    before = digest(inputs)
    code, stdout, err = run(["process", *argv, "--out", tmp_path / "out"], capsys)
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert [line.split(": ")[1] for line in errors] == [str(corrupt), str(wrong), str(missing)]
    assert f"error: {missing}: FileNotFoundError" in err
    assert err.strip().splitlines()[-1] == (
        f"processed 2 of 5 files into {tmp_path / 'out'}; failed: {corrupt}, {wrong}, {missing}"
    )
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(
        f"sim_{kind}_{suffix}"
        for kind in ("npy", "emd")
        for suffix in ("dpc.h5", "phase.png", "com_color.png")
    )
    assert "sim_npy_dpc.h5" in stdout and "sim_emd_dpc.h5" in stdout
    assert digest(inputs) == before


def test_an_output_never_overwrites_an_input(files, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    victim = out / "sim_npy_phase.png"  # an input where sim_npy's preview would go
    victim.write_bytes(b"precious")
    code, _, err = run(["process", files["npy"], victim, "--out", out], capsys)
    assert code == 1
    assert f"error: {files['npy']}: ValueError: output '{victim}' would overwrite the input" in err
    assert victim.read_bytes() == b"precious"
    assert not (out / "sim_npy_dpc.h5").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--segments", "20"], "segments must be between 1 and 16, got 20"),
        (["--clip", "70"], "clip must be a percentage in [0, 50), got 70.0"),
        (["--transpose"], "--transpose/--no-transpose apply with a manual --scan-rotation DEG"),
        (["--scan-rotation", "12deg"], "--scan-rotation must be a number, got '12deg'"),
        (["--origin", "1", "2", "3"], "--origin takes QX QY (pixels) or one of"),
        (["--com-source", "magic"], "invalid choice: 'magic'"),
        (["--workers", "2", "--scheduler", "tcp://x:1"], "not allowed with argument"),
        (["--workers", "0"], "--workers must be at least 1, got 0"),
        (["--settings", "/no/such.json"], "No such file or directory"),
    ],
)
def test_usage_errors_exit_with_2(files, tmp_path, capsys, extra, message):
    err = usage_error(["process", files["npy"], "--out", tmp_path, *extra], capsys)
    assert message in err
    assert not any(tmp_path.iterdir())


def test_bad_settings_files_and_clashing_inputs_are_usage_errors(files, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": FORMAT, "version": 1, "settings": {"segmnts": 6}}))
    err = usage_error(["process", files["npy"], "--out", tmp_path / "o", "--settings", bad], capsys)
    assert f"'{bad}': unknown settings key 'segmnts' (value 6)" in err
    other = tmp_path / "sim_npy.npy"
    other.write_bytes(files["npy"].read_bytes())
    err = usage_error(["process", files["npy"], other, "--out", tmp_path / "o"], capsys)
    assert "several inputs would write the same outputs: sim_npy_*" in err


def test_python_m_dpc_widgets_runs_the_cli(files, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "dpc_widgets", "process", str(files["npy"])]
    done = subprocess.run(
        [*command, "--out", str(tmp_path), "--segments", "8"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"processed 1 file into {tmp_path}" in done.stdout
    with h5py.File(tmp_path / "sim_npy_dpc.h5", "r") as f:
        assert f.attrs["segments"] == 8 and f["segment_images"].shape == (8, 16, 16)
    version = subprocess.run(
        [sys.executable, "-m", "dpc_widgets", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert version.stdout.strip() == f"dpc-widgets {dpc_widgets.__version__}"


def test_imports_stay_light():
    code = (
        "import sys, dpc_widgets; "
        "heavy = ('distributed', 'dpc_widgets.cli', 'dpc_widgets.batch', 'ipywidgets'); "
        "print([m for m in heavy if m in sys.modules]); "
        "import dpc_widgets.cli, dpc_widgets.batch, dpc_widgets.summary, dpc_widgets.cluster; "
        "print([m for m in ('distributed', 'ipywidgets', 'anywidget') if m in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == ["[]", "[]"]


def test_dask_client_plumbing_without_a_cluster():
    with dask_client() as client:
        assert client is None
    with pytest.raises(ValueError, match="not both"), dask_client("tcp://x:1", 2):
        pass
    with (
        pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"),
        dask_client(workers=0),
    ):
        pass


def test_detector_radii_follow_segmented_detector(files, tmp_path, capsys):
    """--inner/--outer/--segments/--rotation are SegmentedDetector's (the segment sums)."""
    argv = ["process", files["npy"], "--out", tmp_path, "--inner", "4", "--outer", "12"]
    code, _, err = run([*argv, "--segments", "3", "--rotation", "40", "--descan", "none"], capsys)
    assert code == 0, err
    cube = load(files["npy"])
    masks = SegmentedDetector(4.0, 12.0, 3, rotation=40.0).masks(cube)
    data = np.asarray(cube.data, dtype=np.float64)
    expected = np.einsum("xyij,nij->nxy", data, masks)
    with h5py.File(tmp_path / "sim_npy_dpc.h5", "r") as f:
        np.testing.assert_allclose(f["segment_images"][()], expected, rtol=1e-6)
        assert f.attrs["descan"] == "none"
    assert math.isfinite(expected.sum())


def test_readme_commands_parse():
    """The README's batch commands are valid command lines."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Batch processing (CLI)")[1].split("\n## ")[0]
    commands = [
        line.split("#")[0] for line in section.splitlines() if line.startswith("dpc-widgets ")
    ]
    assert len(commands) == 2
    parser = build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command)[1:])
        assert args.command in ("info", "process")
