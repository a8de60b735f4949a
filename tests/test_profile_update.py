"""Smoke test of scripts/profile_update.py on a small cube (the L cube is for measurements)."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "profile_update.py"


def test_profile_update_times_incremental_drags(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("profile_update", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    i, j = np.meshgrid(np.arange(48) - 23.5, np.arange(48) - 23.5, indexing="ij")
    disc = np.where(np.hypot(i, j) < 10.0, 2000.0, 8.0)
    path = tmp_path / "small.npy"
    np.save(path, rng.poisson(disc, size=(16, 12, 48, 48)).astype(np.uint16))
    assert module.main(["--cube", str(path), "--drags", "6"]) == 0
    out = capsys.readouterr().out
    assert "explorer update / DPC.run" in out and "DPC.run / segment sums" in out
    assert "6 drags" in out
