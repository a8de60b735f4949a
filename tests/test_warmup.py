"""Numba kernels: compiled in a child process on an empty disk cache, loaded from it after."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_engine import WALK, cube_of, kernel_threads

from dpc_widgets import Datacube
from dpc_widgets.core import warmup
from dpc_widgets.core.engine import PolarCache, numba_available
from dpc_widgets.core.streaming import stream_pass

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not numba_available(), reason="numba is not installed")

FRESH = """
import json, numpy as np
from dpc_widgets.core import warmup
dtype = np.dtype(np.uint8)
ready = [warmup.wait_for_kernels(group, dtype, timeout=600) for group in warmup.GROUPS]
print(json.dumps({"ready": ready, "how": {g: h for (g, _), h in warmup.ready_how.items()}}))
"""


def fresh_process(numba_cache: Path) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(numba_cache), PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", FRESH], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_empty_disk_cache_is_filled_by_a_child_process_and_read_after(tmp_path):
    first = fresh_process(tmp_path)  # empty cache: the child compiles, this process loads
    assert first == {"ready": [True, True], "how": dict.fromkeys(warmup.GROUPS, "child process")}
    assert any(tmp_path.rglob("*.nbi"))  # numba's index files, written by the child
    second = fresh_process(tmp_path)  # the same cache: loaded at once, nothing compiled
    assert second == {"ready": [True, True], "how": dict.fromkeys(warmup.GROUPS, "disk cache")}


def signatures() -> dict[str, int]:
    modules = [warmup.kernel_module(group) for group in warmup.GROUPS]
    return {
        f"{module.__name__}.{name}": len(kernel.signatures)
        for module in modules
        for name, kernel in vars(module).items()
        if hasattr(kernel, "signatures") and hasattr(kernel, "py_func")
    }


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_the_warm_up_compiles_the_signatures_the_real_calls_use(dtype, tmp_path):
    for group in warmup.GROUPS:
        assert warmup.wait_for_kernels(group, np.dtype(dtype), timeout=600)
    before = signatures()
    cube = cube_of(dtype, shape=(30, 9, 24, 20))
    path = tmp_path / "cube.npy"
    np.save(path, cube.data)
    mapped = Datacube(np.load(path, mmap_mode="r"))  # read-only blocks
    for data in (cube, mapped):
        for threads in (False, True):
            with kernel_threads() if threads else contextlib.nullcontext():
                engine = PolarCache(data, (11.3, 9.6), use_numba=True)
                for inner, outer, n, rotation in WALK[:8]:
                    engine.segment_sums(inner, outer, n, np.radians(rotation))
                    engine.annulus_moments(inner, outer)
                keys = [(a, b, n, np.radians(r)) for a, b, n, r in WALK[:3]]
                stream_pass(data, (11.3, 9.6), segments=keys, annuli=[(1.0, 5.0)], use_numba=True)
    assert signatures() == before  # nothing compiled at call time


def test_the_child_report_pipe_is_closed_once_read():
    code = "print('stream'); print('a numba warning'); print('cache')"
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert list(warmup._reports(child)) == ["stream", "cache"]
    assert child.stdout.closed and child.returncode == 0


def test_unknown_group_is_refused():
    with pytest.raises(ValueError, match="unknown kernel group 'gpu'"):
        warmup.kernels_ready("gpu", np.dtype(np.uint16))


AHEAD = """
import json, sys, threading, types
kernel = types.SimpleNamespace(kernel=object())  # what IPython's get_ipython() is in a kernel
sys.modules["IPython"] = types.SimpleNamespace(get_ipython=lambda: kernel)
import numpy as np
import dpc_widgets
from dpc_widgets.core import warmup
names = [t.name for t in threading.enumerate()]
ahead = next((t for t in threading.enumerate() if t.name == "dpc-numba-ahead"), None)
if ahead is not None:
    ahead.join(timeout=600)
ready = [warmup.kernels_ready(g, np.dtype(d)) for d in ("uint16", "float32") for g in warmup.GROUPS]
print(json.dumps({"thread": "dpc-numba-ahead" in names, "ready": ready}))
"""


def _run_ahead(**env):
    """The import in a pretend kernel (numba's default disk cache: loaded, or compiled once)."""
    done = subprocess.run(
        [sys.executable, "-c", AHEAD],
        env=dict(os.environ, PYTHONPATH=str(REPO), **env),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_in_a_kernel_the_import_makes_the_common_kernels_ready_ahead():
    record = _run_ahead()
    assert record == {"thread": True, "ready": [True, True, True, True]}


def test_the_warm_up_ahead_can_be_turned_off():
    record = _run_ahead(DPC_WIDGETS_WARM_UP="0")
    assert record["thread"] is False
