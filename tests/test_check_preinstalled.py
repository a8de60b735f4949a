"""scripts/check_preinstalled.py: the freeze comparison behind scripts/colab_env.sh."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_preinstalled.py"
spec = importlib.util.spec_from_file_location("check_preinstalled", SCRIPT)
check = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = check  # dataclasses look their module up there
spec.loader.exec_module(check)

BEFORE = """\
# a comment
ipywidgets==7.7.1
Typing_Extensions==4.16.0
numpy==2.1.3
-e git+https://example.org/x.git@abc#egg=x
dask==2026.7.1
"""


def test_parse_freeze_normalizes_names_and_skips_non_pins():
    got = check.parse_freeze(BEFORE + "dpc-widgets @ file:///tmp/w/dpc_widgets-0.1.0.whl\n")
    assert got == {
        "ipywidgets": "7.7.1",
        "typing-extensions": "4.16.0",
        "numpy": "2.1.3",
        "dask": "2026.7.1",
        "dpc-widgets": "file:///tmp/w/dpc_widgets-0.1.0.whl",
    }


def test_an_install_that_only_adds_is_ok():
    before = check.parse_freeze(BEFORE)
    after = dict(before, zarr="3.4.2", **{"dpc-widgets": "0.1.0"})
    result = check.compare(before, after)
    assert result.ok and result.lines() == []
    assert result.added == {"zarr": "3.4.2", "dpc-widgets": "0.1.0"}


def test_upgrades_downgrades_and_removals_are_each_named():
    before = check.parse_freeze(BEFORE)
    after = dict(before, ipywidgets="8.1.9", numpy="2.0.0")
    del after["dask"]
    result = check.compare(before, after)
    assert not result.ok
    assert result.changed == {"ipywidgets": ("7.7.1", "8.1.9"), "numpy": ("2.1.3", "2.0.0")}
    assert result.removed == {"dask": "2026.7.1"}
    assert result.lines() == [
        "changed: ipywidgets 7.7.1 -> 8.1.9",
        "changed: numpy 2.1.3 -> 2.0.0",
        "removed: dask 2026.7.1",
    ]


def test_an_added_package_off_the_runtime_pin_fails():
    before = check.parse_freeze(BEFORE)
    pins = check.parse_freeze("msgpack==1.2.1\nzarr==3.4.2\n")
    after = dict(before, msgpack="1.2.4", zarr="3.4.2")
    result = check.compare(before, after, pins)
    assert result.off_pin == {"msgpack": ("1.2.1", "1.2.4")} and not result.ok
    assert "msgpack 1.2.4 (pinned 1.2.1)" in result.lines()[0]


@pytest.mark.parametrize(("after_text", "status"), [("zarr==3.4.2\n", 0), ("numpy==2.2.0\n", 1)])
def test_main_exit_status_and_report(tmp_path, capsys, after_text, status):
    before, after = tmp_path / "before.txt", tmp_path / "after.txt"
    before.write_text(BEFORE)
    after.write_text(BEFORE.replace("numpy==2.1.3\n", "") + after_text)
    if status == 0:
        after.write_text(BEFORE + after_text)
    assert check.main([str(before), str(after)]) == status
    out, err = capsys.readouterr()
    if status:
        assert "changed: numpy 2.1.3 -> 2.2.0" in err
    else:
        assert "4 preinstalled packages unchanged; added: zarr==3.4.2" in out
