"""The notebooks' Colab setup cell: %pip install from a source the teacher sets, a clear sentence
when none is set, Colab's custom widget manager turned on only in Colab (issue 18, part 4)."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
SOURCE_LINE = 'DPC_WIDGETS_SOURCE = ""'


def setup_cell(path: Path) -> str:
    """The source of the notebook's cell with id ``colab-setup``."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    (cell,) = [c for c in cells if c.get("id") == "colab-setup"]
    return "".join(cell["source"])


class FakeShell:
    """Records the line magics the cell runs (``%pip`` becomes ``run_line_magic``), with
    ``{name}`` expanded from the cell's namespace as IPython's ``var_expand`` does."""

    def __init__(self) -> None:
        self.magics: list[tuple[str, str]] = []
        self.namespace: dict = {"get_ipython": lambda: self}

    def run_line_magic(self, name: str, line: str) -> None:
        self.magics.append((name, line.format(**self.namespace)))


def run_cell(source: str, *, colab: bool, installed: bool, monkeypatch) -> tuple:
    """Execute the cell as IPython would (magics transformed); returns (shell, enabled calls)."""
    enabled: list[bool] = []
    if colab:
        output = types.ModuleType("google.colab.output")
        output.enable_custom_widget_manager = lambda: enabled.append(True)
        colab_module = types.ModuleType("google.colab")
        colab_module.output = output
        google = types.ModuleType("google")
        google.colab = colab_module
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", colab_module)
        monkeypatch.setitem(sys.modules, "google.colab.output", output)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "dpc_widgets" and not installed:
            return None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    shell = FakeShell()
    code = TransformerManager().transform_cell(source)
    exec(compile(code, "colab-setup", "exec"), shell.namespace)
    return shell, enabled


def test_the_notebooks_share_one_setup_cell():
    cells = {setup_cell(path) for path in NOTEBOOKS}
    assert len(NOTEBOOKS) == 3 and len(cells) == 1  # tutorial, explorer, live acquisition
    (cell,) = cells
    assert SOURCE_LINE in cell
    assert "%pip install" in cell and "subprocess" not in cell


@pytest.mark.parametrize("installed", [False, True])
def test_outside_colab_the_cell_does_nothing(installed, monkeypatch):
    shell, enabled = run_cell(
        setup_cell(NOTEBOOKS[0]), colab=False, installed=installed, monkeypatch=monkeypatch
    )
    assert shell.magics == [] and enabled == []


def test_in_colab_without_a_source_a_clear_sentence_and_no_pip(monkeypatch):
    with pytest.raises(RuntimeError, match="DPC_WIDGETS_SOURCE is empty: set it"):
        shell, _ = run_cell(
            setup_cell(NOTEBOOKS[0]), colab=True, installed=False, monkeypatch=monkeypatch
        )


def test_in_colab_the_source_is_installed_with_pip_magic(monkeypatch):
    url = "https://example.org/dpc_widgets-0.1.0-py3-none-any.whl"
    source = setup_cell(NOTEBOOKS[0]).replace(SOURCE_LINE, f'DPC_WIDGETS_SOURCE = "{url}"')
    shell, enabled = run_cell(source, colab=True, installed=False, monkeypatch=monkeypatch)
    assert shell.magics == [("pip", f"install {url}")]
    assert enabled == [True]


def test_in_colab_an_installed_package_is_not_installed_again(monkeypatch):
    shell, enabled = run_cell(
        setup_cell(NOTEBOOKS[0]), colab=True, installed=True, monkeypatch=monkeypatch
    )
    assert shell.magics == [] and enabled == [True]
