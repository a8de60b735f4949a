"""Importing the package and opening a ``.npy`` file import no module they do not use.

A module the libraries we do use import themselves is not ours to avoid: scipy 1.16 (Colab's)
imports ``scipy.sparse`` with ``scipy.ndimage``, scipy 1.17 does not. Such modules, measured in a
process that imports only those libraries, are left out of the check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
UNUSED = ["h5py", "hdf5plugin", "dask", "rsciio", "zarr", "skimage", "scipy.sparse", "numba"]

USED = "import numpy, scipy.ndimage"  # what opening a .npy file needs (find_disc: ndimage)

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
    baseline = subprocess.run(
        [sys.executable, "-c", f"{USED}; import sys, json; print(json.dumps(list(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    theirs = set(json.loads(baseline.stdout))
    unused = [m for m in UNUSED if m not in theirs]
    assert "h5py" in unused and "numba" in unused  # the check still checks something
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(path), json.dumps(unused)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record == {"loaded": [], "shape": [2, 3, 8, 8]}
