"""The ``[cluster]`` extra: without ``distributed`` every cluster entry point names it.

``distributed`` is hidden by setting ``sys.modules["distributed"] = None`` (an import then raises
``ImportError``, as when it is not installed); the rest of the package works without it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import dpc_widgets as dw
from dpc_widgets._extras import CLUSTER_INSTALL, ClusterExtraError, import_distributed
from dpc_widgets.cli import main
from dpc_widgets.cluster import dask_client

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]


def small_cube() -> dw.Datacube:
    return dw.simulate(scan_shape=(4, 4), detector_shape=(32, 32), convergence=5.0).cube


@pytest.fixture
def no_distributed(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.delitem(sys.modules, "dpc_widgets.core.distributed", raising=False)


def test_cluster_extra_holds_distributed_and_the_base_install_does_not():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [req.split(">")[0].split("[")[0] for req in project["dependencies"]]
    assert "distributed" not in names and "dask" in names
    assert project["optional-dependencies"]["cluster"] == ["distributed>=2024.8"]
    assert CLUSTER_INSTALL == 'pip install "dpc-widgets[cluster]"'


def test_import_distributed_returns_the_module_when_installed():
    distributed = pytest.importorskip("distributed")
    assert import_distributed("x") is distributed


def test_missing_distributed_is_a_typed_error_naming_the_extra(no_distributed):
    with pytest.raises(ClusterExtraError, match="the cluster benchmark") as err:
        import_distributed("the cluster benchmark")
    assert isinstance(err.value, ImportError) and err.value.name == "distributed"
    assert CLUSTER_INSTALL in str(err.value)


@pytest.mark.parametrize(
    ("options", "flag"),
    [({"workers": 2}, "--workers"), ({"scheduler": "tcp://x:1"}, "--scheduler")],
)
def test_dask_client_names_the_extra_and_its_option(no_distributed, options, flag):
    with pytest.raises(ClusterExtraError, match=flag) as err, dask_client(**options):
        pass
    assert CLUSTER_INSTALL in str(err.value)
    with dask_client() as client:  # no cluster asked for: nothing imported
        assert client is None


def test_process_with_workers_reports_the_extra(no_distributed, tmp_path, capsys):
    path = tmp_path / "cube.npy"
    np.save(path, small_cube().data)
    assert main(["process", str(path), "--out", str(tmp_path / "out"), "--workers", "2"]) == 1
    err = capsys.readouterr().err
    assert "ClusterExtraError" in err and CLUSTER_INSTALL in err and "--workers" in err
    assert not (tmp_path / "out" / "cube_dpc.h5").exists()


def test_dpc_with_a_client_names_the_extra(no_distributed):
    cube = small_cube()
    dpc = dw.DPC(cube, client=object(), stream_first=False)
    with pytest.raises(ClusterExtraError, match=r"DPC\(cube, client=\.\.\.\)") as err:
        dpc.segment_images(dw.SegmentedDetector(2, 6))
    assert CLUSTER_INSTALL in str(err.value)


def test_the_package_works_without_distributed(no_distributed):
    cube = small_cube()
    images = dw.DPC(cube).segment_images(dw.SegmentedDetector(2, 6))
    assert images.shape == (4, 4, 4) and np.isfinite(images).all()
