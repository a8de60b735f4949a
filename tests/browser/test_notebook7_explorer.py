"""The explorer notebook in Jupyter Notebook 7, driven like a user: a slider moved with the
keyboard (PageUp, and the arrow keys that Notebook 7's shortcuts would otherwise take) and a
ring dragged with the mouse.

Notebook 7 is built from JupyterLab components and exposes the same application object
(``window.jupyterapp``), so the kernel is reached as in JupyterLab and the canvases must show
exactly what the kernel computed (checksums and every pixel, +-1 per channel) after each step.
"""

from __future__ import annotations

import pytest
from browser_helpers import kernel_json
from explorer_checks import (
    drag_outer_ring,
    inner_by_keyboard,
    open_explorer,
    press,
    repainted,
    wait_views_match,
)

pytestmark = pytest.mark.browser

# Notebook 7.6 raises this itself while its page loads, before any cell runs and with no user
# settings: its keyboard-shortcuts plugin reads the schema of a settings plugin it has not got.
KNOWN_PAGE_LOAD_ERROR = "TypeError: Cannot read properties of undefined (reading 'schema')"


def _own_errors(stacks: list[str]) -> list[str]:
    """The JS errors (stacks) other than Notebook 7's known one, which is recognised by its
    message and by every frame lying in Notebook 7's own bundle (``/static/notebook/``)."""

    def known(stack: str) -> bool:
        message, *frames = stack.splitlines()
        urls = [frame for frame in frames if "http" in frame]
        return (
            message == KNOWN_PAGE_LOAD_ERROR
            and bool(urls)
            and all("/static/notebook/" in url for url in urls)
        )

    return [stack for stack in stacks if not known(stack)]


def test_explorer_in_notebook7(page, notebook7_server, fresh_notebook, network_guard, shoot):
    stacks: list[str] = []
    page.on("pageerror", lambda error: stacks.append(error.stack or str(error)))
    name = fresh_notebook("02_explorer.ipynb", "notebook7")
    source, start, drawn = open_explorer(page, notebook7_server, name)
    # the page really is Notebook 7's single-document shell, not JupyterLab
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    assert page.locator("#main-panel .jp-NotebookPanel").count() == 1
    assert start["controls"]["segments"] == 4
    shoot(page, "notebook7_0_loaded")

    # 1. inner radius: two PageUp presses on the slider handle = ten slider steps (the arrow
    # keys: test_arrow_keys_move_the_sliders_in_notebook7)
    moved, after_key, target = inner_by_keyboard(page, source, start, "PageUp", 2, steps=5)
    assert float(after_key.attrs["inner"]) == pytest.approx(target)
    assert repainted(drawn, after_key)
    assert (
        after_key.canvases["detector-segments"][1] != drawn.canvases["detector-segments"][1]
    ).any()
    shoot(page, "notebook7_1_inner_keyboard")

    # 2. outer ring: drag its handle 20 CSS px outwards
    dragged, after_drag = drag_outer_ring(page, source, moved)
    assert dragged["controls"]["outer"] > moved["controls"]["outer"]
    readout = page.locator(".dpc-ctl-outer .widget-readout").inner_text()
    assert float(readout) == pytest.approx(dragged["controls"]["outer"], abs=0.05)
    assert repainted(after_key, after_drag)
    shoot(page, "notebook7_2_outer_drag")

    assert len(stacks) == len(page.errors)
    assert _own_errors(stacks) == [], f"JavaScript errors: {_own_errors(stacks)}"
    assert network_guard.blocked == [], f"requests left 127.0.0.1: {network_guard.blocked}"
    assert network_guard.allowed, "the guard saw no requests at all"
    assert network_guard.non_loopback(network_guard.allowed) == []


_ACTIVE_CELL_JS = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"


def test_arrow_keys_move_the_sliders_in_notebook7(page, notebook7_server, fresh_notebook):
    """Notebook 7 handles keydown in the capture phase, before the slider: without the explorer
    marking itself ``data-lm-suppress-shortcuts`` its command-mode bindings (ArrowUp/Down: the
    active cell, ArrowLeft/Right: headings) take the arrow keys and the slider never moves."""
    name = fresh_notebook("02_explorer.ipynb", "notebook7_arrows")
    source, start, drawn = open_explorer(page, notebook7_server, name)
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    cell = page.evaluate(_ACTIVE_CELL_JS)
    moved, after, target = inner_by_keyboard(page, source, start, "ArrowRight", 3, steps=1)
    assert float(after.attrs["inner"]) == pytest.approx(target)
    assert repainted(drawn, after)
    step = kernel_json(page, "explorer.inner.step")
    press(page, ".dpc-ctl-inner .noUi-handle", "ArrowLeft", 1)
    press(page, ".dpc-ctl-outer .noUi-handle", "ArrowUp", 2)
    press(page, ".dpc-ctl-outer .noUi-handle", "ArrowDown", 1)
    inner, outer = target - step, moved["controls"]["outer"] + step
    wait_views_match(
        page,
        source,
        until=lambda state: (
            abs(state["controls"]["inner"] - inner) < 1e-6
            and abs(state["controls"]["outer"] - outer) < 1e-6
        ),
    )
    assert page.evaluate(_ACTIVE_CELL_JS) == cell  # the keys did not move the active cell
