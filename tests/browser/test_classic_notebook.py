"""The explorer notebook in the classic Notebook 6.5 with ipywidgets 7.7.1 (Colab's front-end
protocol), driven like a user: a slider moved with the keyboard, a ring dragged with the mouse.

Colab's widget manager speaks the protocol of the kernel's ipywidgets, 7.7.1 there; the classic
Notebook with widgetsnbextension 3.x is the one front end of that protocol that runs here. After
every step the canvases must show exactly what the kernel computed (checksums of the bytes sent and
every pixel, +-1 per channel), as in the JupyterLab test.

It runs in the Colab-like environment (Python 3.13 with Colab's pins: notebook 6.5.7, ipywidgets
7.7.1, widgetsnbextension 3.6.10; see ``.ci/colab-requirements.txt``) and skips elsewhere. Nothing
is enabled by hand: the server gets a fresh config dir, so the nbextensions that load are the ones
a plain ``pip install`` enabled in the environment.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from browser_helpers import (
    classic_cell_errors,
    classic_run_all,
    classic_stderr,
    kernel_json,
    open_classic_notebook,
)
from explorer_checks import (
    JQUERY_UI_HANDLE,
    drag_outer_ring,
    explorer_shown,
    inner_by_keyboard,
    press,
    repainted,
    wait_views_match,
)

#: The nbextensions the explorer needs in the classic Notebook (require paths).
NBEXTENSIONS = ("jupyter-js-widgets/extension", "anywidget/extension", "bqplot/extension")


def _major(package: str) -> int | None:
    try:
        return int(version(package).split(".")[0])
    except PackageNotFoundError:
        return None


def _not_colab_like() -> str:
    """Why this environment is not the Colab-like one (empty: it is)."""
    found = {name: _major(name) for name in ("notebook", "ipywidgets", "widgetsnbextension")}
    if found["notebook"] == 6 and found["ipywidgets"] == 7 and found["widgetsnbextension"] == 3:
        return ""
    have = ", ".join(
        f"{name} {version(name) if major is not None else 'missing'}"
        for name, major in found.items()
    )
    return (
        "needs the Colab-like environment: the classic Notebook 6.5 with ipywidgets 7 and "
        "widgetsnbextension 3 (Colab's pins, .ci/colab-requirements.txt under "
        f".ci/colab-constraints.txt, plus playwright); this one has {have}"
    )


pytestmark = [
    pytest.mark.browser,
    pytest.mark.colab_env,
    pytest.mark.skipif(bool(_not_colab_like()), reason=_not_colab_like() or "-"),
]

# What a user clicking an output's prompt does: long outputs are shown whole, not in a scroll box
# (the mouse drags must reach the rings wherever the view lies).
_UNSCROLL_JS = """
() => window.Jupyter.notebook.get_cells()
  .filter((cell) => cell.output_area)
  .forEach((cell) => cell.output_area.unscroll_area())
"""


def _enabled_nbextensions() -> dict[str, bool]:
    """``load_extensions`` of ``<sys.prefix>/etc/jupyter/nbconfig/notebook.d/*.json``: what the
    environment's packages enabled when they were installed."""
    enabled: dict[str, bool] = {}
    for path in sorted((Path(sys.prefix) / "etc/jupyter/nbconfig/notebook.d").glob("*.json")):
        enabled.update(json.loads(path.read_text()).get("load_extensions", {}))
    return enabled


def test_fresh_install_enables_the_widget_nbextensions():
    """A plain install of the Colab-like requirements enables the widget, anywidget and bqplot
    nbextensions for the classic Notebook: no ``jupyter nbextension enable`` is needed."""
    enabled = _enabled_nbextensions()
    assert all(enabled.get(name) is True for name in NBEXTENSIONS), enabled


def test_explorer_in_classic_notebook(page, classic_server, fresh_notebook, network_guard, shoot):
    name = fresh_notebook("02_explorer.ipynb", "classic")
    open_classic_notebook(page, classic_server, name)
    # the page's config is the environment's own (the server's config dir is empty)
    loaded = page.evaluate("() => window.Jupyter.notebook.config.data.load_extensions")
    assert all(loaded.get(name) is True for name in NBEXTENSIONS), loaded
    classic_run_all(page)
    assert classic_cell_errors(page) == []
    page.evaluate(_UNSCROLL_JS)
    source, start, drawn = explorer_shown(page)
    # the kernel runs ipywidgets 7 and the page draws its jQuery UI sliders
    assert kernel_json(page, "__import__('ipywidgets').__version__").startswith("7.")
    assert page.locator(f".dpc-ctl-inner {JQUERY_UI_HANDLE}").count() == 1
    assert start["controls"]["segments"] == 4
    shoot(page, "classic_0_loaded")

    # 1. inner radius: ten ArrowRight presses on the jQuery UI handle = ten slider steps
    cell = page.evaluate("() => window.Jupyter.notebook.get_selected_index()")
    moved, after_key, target = inner_by_keyboard(page, source, start, handle=JQUERY_UI_HANDLE)
    assert float(after_key.attrs["inner"]) == pytest.approx(target)
    assert repainted(drawn, after_key)
    assert (
        after_key.canvases["detector-segments"][1] != drawn.canvases["detector-segments"][1]
    ).any()
    shoot(page, "classic_1_inner_keyboard")

    # 2. outer ring: drag its handle 20 CSS px outwards (the handle sits right of the centre)
    dragged, after_drag = drag_outer_ring(page, source, moved)
    assert dragged["controls"]["outer"] > moved["controls"]["outer"]
    readout = page.locator(".dpc-ctl-outer .widget-readout").inner_text()
    assert float(readout) == pytest.approx(dragged["controls"]["outer"], abs=0.05)
    assert repainted(after_key, after_drag)
    shoot(page, "classic_2_outer_drag")

    # 3. values set from Python (the drag's, and 29.96 through browser_value: 30.0 for jQuery UI,
    # 30.000000000000004 for noUiSlider) are ones the jQuery UI slider holds: ArrowUp then
    # ArrowDown on its handle comes back to exactly that value; and the notebook's command-mode
    # arrows (select the cell above / below) do not take the keys
    for value in (dragged["controls"]["outer"], 29.96):
        held = kernel_json(
            page,
            "__import__('dpc_widgets.widgets.controls', fromlist=['_']).browser_value("
            f"explorer.outer, {value!r})",
        )
        kernel_json(page, f"setattr(explorer.outer, 'value', {held!r}) or 0")
        wait_views_match(page, source, until=lambda raw, v=held: raw["controls"]["outer"] == v)
        press(page, f".dpc-ctl-outer {JQUERY_UI_HANDLE}", "ArrowUp", 1)
        wait_views_match(page, source, until=lambda raw, v=held: raw["controls"]["outer"] > v)
        press(page, f".dpc-ctl-outer {JQUERY_UI_HANDLE}", "ArrowDown", 1)
        back, _ = wait_views_match(
            page, source, until=lambda raw, v=held: raw["controls"]["outer"] <= v
        )
        assert back["controls"]["outer"] == held
    assert held == 30.0
    assert page.evaluate("() => window.Jupyter.notebook.get_selected_index()") == cell

    # only the package's own words reach the notebook (Python 3.13's DeprecationWarning from
    # jupyter_client 7.4.9 printed 17 lines per update through the explorer's logger)
    assert classic_stderr(page) == []
    assert page.errors == [], f"JavaScript errors: {page.errors}"
    assert network_guard.blocked == [], f"requests left 127.0.0.1: {network_guard.blocked}"
    assert network_guard.allowed, "the guard saw no requests at all"
    assert network_guard.non_loopback(network_guard.allowed) == []


def test_tutorial_runs_in_classic_notebook(page, classic_server, fresh_notebook, network_guard):
    """The tutorial's matplotlib figures and the explorer render with ipywidgets 7's manager."""
    name = fresh_notebook("01_dpc_tutorial.ipynb", "classic")
    open_classic_notebook(page, classic_server, name)
    classic_run_all(page)
    assert classic_cell_errors(page) == []
    page.locator("div.dpc-view canvas[data-testid='phase-image']").wait_for()
    assert page.locator("#notebook .bqplot.figure").count() >= 3  # the explorer's plots
    assert page.locator("#notebook .output_png img[src^='data:image/png']").count() == 13
    assert classic_stderr(page) == []
    assert page.errors == [], f"JavaScript errors: {page.errors}"
    assert network_guard.blocked == [], f"requests left 127.0.0.1: {network_guard.blocked}"
