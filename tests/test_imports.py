"""Importing the package and opening a ``.npy`` file import no module they do not use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
UNUSED = ["h5py", "hdf5plugin", "dask", "rsciio", "zarr", "skimage", "scipy.sparse", "numba"]

CHECK = """
import json, sys
import dpc_widgets
cube = dpc_widgets.load(sys.argv[1])
unused = json.loads(sys.argv[2])
loaded = [m for m in unused if m in sys.modules and type(sys.modules[m]).__name__ == "module"]
print(json.dumps({"loaded": loaded, "shape": list(cube.shape)}))
"""


def test_import_and_load_of_a_npy_file_import_nothing_unused(tmp_path):
    path = tmp_path / "cube.npy"
    np.save(path, np.zeros((2, 3, 8, 8), dtype=np.uint16))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(path), json.dumps(UNUSED)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record == {"loaded": [], "shape": [2, 3, 8, 8]}
