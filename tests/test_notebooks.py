"""The notebooks run headless from top to bottom (nbclient) and produce their key outputs.

They are committed without outputs; these tests execute copies in a temp dir (so anything a
notebook writes stays out of the repository) with a 120 s limit per cell.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from _py4dstem_layout import write_py4dstem_h5

import dpc_widgets

nbclient = pytest.importorskip("nbclient")
# matplotlib builds its font cache on its first import in an environment and says so on stderr;
# build it here, outside the notebooks' outputs (Colab's runtime has it built already)
matplotlib_fonts = pytest.importorskip("matplotlib.font_manager")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _execute(name: str, workdir: Path, data: str | None = None) -> nbformat.NotebookNode:
    """Run a notebook; ``data`` replaces its ``DATA = None`` line with ``DATA = 'data'``."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    if data is not None:
        cells = [cell for cell in notebook.cells if "DATA = None" in cell.source]
        assert len(cells) == 1, "the notebook must set DATA = None in exactly one cell"
        cells[0].source = cells[0].source.replace("DATA = None", f"DATA = {data!r}")
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return notebook


def _outputs(notebook) -> list:
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]


def _stdout(notebook) -> str:
    return "".join(out.get("text", "") for out in _outputs(notebook) if out.output_type == "stream")


def _stderr(notebook) -> list:
    """stderr outputs: warnings reaching the notebook (e.g. jupyter_client's utcnow
    DeprecationWarning through the explorer's logger, on Python 3.12+)."""
    return [out.text for out in _outputs(notebook) if out.get("name") == "stderr"]


def _figures(notebook) -> list:
    """The matplotlib figures (``dpc_widgets.figures``): PNG outputs with no widget view."""
    return [
        out
        for out in _outputs(notebook)
        if "image/png" in out.get("data", {})
        and WIDGET_VIEW not in out.data
        and out.data["text/plain"].startswith("<Figure size")
    ]


def _last_display(notebook):
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return code_cells[-1].outputs[-1]


@pytest.mark.parametrize(
    "name", ["01_dpc_tutorial.ipynb", "02_explorer.ipynb", "live_acquisition.ipynb"]
)
def test_notebook_is_committed_without_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_tutorial_runs_and_recovers_the_simulated_phase(tmp_path):
    notebook = _execute("01_dpc_tutorial.ipynb", tmp_path)
    assert not [out for out in _outputs(notebook) if out.output_type == "error"]
    text = _stdout(notebook)

    assert "segment 0 equals (data * mask).sum: True" in text
    match = re.search(r"solved rotation (-?[\d.]+) \+- ([\d.]+) deg, transpose False", text)
    solved, spread = float(match.group(1)), float(match.group(2))
    assert solved == pytest.approx(-15.0, abs=0.5)
    assert 0.0 <= spread < 0.5
    segmented = re.search(r"segmented DPC, detector frame: +(-?[\d.]+) deg", text)
    assert float(segmented.group(1)) == pytest.approx(-15.0, abs=3.0)  # one physical rotation
    correlation = float(re.search(r"blurred true phase: ([\d.]+); rms", text).group(1))
    assert correlation > 0.99

    assert len(_figures(notebook)) == 13, "missing figures"  # one per figures.* call
    views = [out for out in _outputs(notebook) if WIDGET_VIEW in out.get("data", {})]
    assert len(views) == 1, "the explorer is the notebook's only widget"
    last = _last_display(notebook)
    assert WIDGET_VIEW in last.data and "image/png" in last.data  # the view, and its snapshot
    assert last.data["text/plain"].startswith("DPC explorer")
    assert _stderr(notebook) == []


def test_tutorial_runs_on_a_py4dstem_file(tmp_path):
    cube = dpc_widgets.simulate(rotation=-15.0).cube
    path = tmp_path / "dpc_STO_simulation.h5"
    write_py4dstem_h5(
        path,
        np.asarray(cube.data),
        r_pixel_size=cube.scan_sampling,
        r_units=cube.scan_units,
        q_pixel_size=cube.detector_sampling,
        q_units=cube.detector_units,
    )
    notebook = _execute("01_dpc_tutorial.ipynb", tmp_path, data=str(path))
    assert not [out for out in _outputs(notebook) if out.output_type == "error"]
    text = _stdout(notebook)
    assert "data (32, 32, 96, 96) float32" in text
    assert "simulated rotation" not in text and "true phase" not in text
    match = re.search(r"solved rotation (-?[\d.]+) \+- ([\d.]+) deg, transpose False", text)
    solved, spread = float(match.group(1)), float(match.group(2))
    assert solved == pytest.approx(-15.0, abs=0.5)
    assert 0.0 <= spread < 0.5
    segmented = re.search(r"segmented DPC, detector frame: +(-?[\d.]+) deg", text)
    assert float(segmented.group(1)) == pytest.approx(-15.0, abs=3.0)  # one physical rotation
    assert len(_figures(notebook)) == 12, "missing figures"  # no ground truth: one fewer
    assert _last_display(notebook).data["text/plain"].startswith("DPC explorer")
    assert _stderr(notebook) == []


def test_tutorial_has_no_display_plumbing():
    """Figures come from dpc_widgets.figures: the notebook builds no HTML, PNG or bqplot itself."""
    notebook = nbformat.read(NOTEBOOKS / "01_dpc_tutorial.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    for plumbing in ("base64", "import bqplot", "import html", "<img", "png_bytes", "render."):
        assert plumbing not in code, plumbing
    assert "from dpc_widgets import figures" in code


def test_explorer_notebook_displays_the_explorer(tmp_path):
    notebook = _execute("02_explorer.ipynb", tmp_path)
    assert not [out for out in _outputs(notebook) if out.output_type == "error"]
    last = _last_display(notebook)
    assert WIDGET_VIEW in last.data and "image/png" in last.data  # the view, and its snapshot
    assert last.data["text/plain"].startswith("DPC explorer")
    assert _stderr(notebook) == []


def test_live_notebook_follows_a_replayed_scan_to_the_end_and_saves_it(tmp_path):
    notebook = _execute("live_acquisition.ipynb", tmp_path)
    assert not [out for out in _outputs(notebook) if out.output_type == "error"]
    text = _stdout(notebook)
    assert "scan complete: 32/32 rows" in text and "rows in the results: 32 of 32" in text
    assert "'dpc_frames.npy'" in text and "'dpc_phase.png'" in text
    frames = np.load(tmp_path / "live_results" / "dpc_frames.npy")
    np.testing.assert_array_equal(frames, np.asarray(dpc_widgets.simulate().cube.data))
    assert (tmp_path / "live_results" / "dpc_settings.json").is_file()
    shown = [  # the explorer's output: the widget view (its state filled in by the end)
        out
        for cell in notebook.cells
        if cell.cell_type == "code" and "Explorer(source)" in cell.source
        for out in cell.outputs
    ]
    assert WIDGET_VIEW in shown[-1].data
    assert shown[-1].data["text/plain"].startswith("DPC explorer")
    assert _stderr(notebook) == []
