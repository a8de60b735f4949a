"""The explorer's layout measured in the page (issue 19, parts 3 and 4), in JupyterLab at
1280 x 800 and 1920 x 1080 with its default chrome (file browser open) and in Voila:

- the detector view and the phase panel lie together inside the first screen (the explorer
  scrolled to the top of the notebook, as after running its cell);
- the panels fill the view's width (a grid of equal columns, sized by the browser from the
  width it is given; the kernel knows the size it chose) and stay inside it;
- hovering every canvas shows a read-out and moves nothing: the bounding boxes of every panel,
  canvas stack and control section are the same before and after;
- no title, scale bar or read-out overflows its panel (one line each, ellipsised when long).

Screenshots (``test-artifacts/browser/layout_*.png``): the first screen before and while
hovering.
"""

from __future__ import annotations

import pytest
from browser_helpers import kernel_json
from explorer_checks import open_explorer

pytestmark = pytest.mark.browser

SIZES = [(1280, 800), (1920, 1080)]

# Every box whose position or size a hover must not change, keyed by a stable name.
_BOXES_JS = """
() => {
  const out = {};
  const origin = document.querySelector('.dpc-explorer').getBoundingClientRect(); // scrolling
  const put = (key, el) => {
    const r = el.getBoundingClientRect();
    out[key] = [r.left - origin.left, r.top - origin.top, r.width, r.height]
      .map((v) => Math.round(v * 100) / 100);
  };
  document.querySelectorAll('div.dpc-view .dpc-panel').forEach((panel) => {
    const name = panel.dataset.panel;
    put(`panel:${name}`, panel);
    panel.querySelectorAll(':scope > *').forEach((child, k) => put(`panel:${name}:${k}`, child));
  });
  const all = (selector) => document.querySelectorAll(selector);
  all('div.dpc-view canvas').forEach((canvas, k) => put(`canvas:${k}`, canvas));
  all('.dpc-controls > *').forEach((section, k) => put(`controls:${k}`, section));
  put('view', document.querySelector('div.dpc-view'));
  put('controls', document.querySelector('.dpc-controls'));
  return out;
}
"""

# Text lines that must stay inside their panel: [panel, class, overflowing?, ellipsised?, text]
_OVERFLOW_JS = """
() => {
  const problems = [];
  for (const panel of document.querySelectorAll('div.dpc-view .dpc-panel')) {
    const box = panel.getBoundingClientRect();
    for (const el of panel.querySelectorAll('*')) {
      if (el.closest('.dpc-stack')) continue; // canvases and handles: drawn, not text
      const r = el.getBoundingClientRect();
      if (r.width === 0) continue;
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5) {
        problems.push(`${panel.dataset.panel}: ${el.className} box outside its panel`);
      }
      const style = getComputedStyle(el);
      if (el.scrollWidth > el.clientWidth + 1 && style.overflowX !== 'hidden') {
        problems.push(`${panel.dataset.panel}: ${el.className} text spills out: ${el.textContent}`);
      }
      if (el.scrollWidth > el.clientWidth + 1 && style.textOverflow !== 'ellipsis') {
        problems.push(`${panel.dataset.panel}: ${el.className} cut without an ellipsis`);
      }
    }
  }
  const view = document.querySelector('div.dpc-view');
  if (view.scrollWidth > view.clientWidth + 1) problems.push('the panels overflow the view');
  return problems;
}
"""

# Canvases a pointer can hover, each with a few points (fractions of its box).
_HOVER_TARGETS = [
    "div.dpc-view canvas[data-testid='detector-rings']",
    "div.dpc-view canvas[data-testid='phase-image']",
    "div.dpc-view canvas[data-testid='com-x-image']",
    "div.dpc-view canvas[data-testid='com-y-image']",
    "div.dpc-view canvas[data-testid='com-color-image']",
    "div.dpc-view canvas[data-testid='segment-image-0']",
    "div.dpc-view canvas[data-testid='segment-image-3']",
]
_POINTS = [(0.1, 0.1), (0.5, 0.5), (0.93, 0.2), (0.2, 0.95)]


def _boxes(page) -> dict:
    return page.evaluate(_BOXES_JS)


def _hover_everything(page, before: dict) -> tuple[list[str], dict]:
    """Move the pointer over each canvas; return the read-out each showed and every box that
    differed from ``before`` while the pointer was there (key: (before, then))."""
    shown, moved = [], {}
    for selector in _HOVER_TARGETS:
        canvas = page.locator(selector)
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        for fx, fy in _POINTS:
            page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
            now = _boxes(page)
            moved.update({k: (v, now.get(k)) for k, v in before.items() if now.get(k) != v})
        panel = canvas.locator("xpath=ancestor::div[contains(@class,'dpc-panel')]")
        shown.append(panel.locator(".dpc-readout").inner_text().strip())
    return shown, moved


def _inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def _check_layout(page, screen: dict, snap, tag: str) -> None:
    """The checks shared by JupyterLab and Voila; ``screen`` is the visible area (x, y, width,
    height) of the first screen once the explorer is scrolled to its top."""
    panels = {
        name: page.locator(f"div.dpc-view .dpc-panel[data-panel='{name}']").bounding_box()
        for name in ("detector", "phase")
    }
    for name, box in panels.items():
        assert _inside(box, screen), f"{tag}: the {name} panel {box} is not in the first {screen}"
    snap(f"layout_{tag}_first_screen")

    view = page.locator("div.dpc-view")
    columns = int(view.get_attribute("data-columns"))
    width = view.bounding_box()["width"]
    stack = page.locator("div.dpc-view .dpc-panel[data-panel='phase'] .dpc-stack").bounding_box()
    size = kernel_json(page, "explorer.view.panel_size")
    # the browser chose the panel size from its width and told the kernel (drag frames use it)
    assert max(stack["width"], stack["height"]) == pytest.approx(size, abs=0.5)
    assert 230 <= size <= 420 or columns == 1
    used = columns * size + (columns - 1) * 12
    assert used <= width + 0.5 and (used >= 0.9 * width or size == 420), (columns, size, width)
    phase = page.locator("div.dpc-view canvas[data-testid='phase-image']")
    native = phase.evaluate("(c) => [c.width, c.height, getComputedStyle(c).imageRendering]")
    scan = kernel_json(page, "list(explorer.dpc.cube.scan_shape)")
    assert native == [scan[1], scan[0], "pixelated"]  # native pixels, scaled by CSS, crisp

    before = _boxes(page)
    assert page.evaluate(_OVERFLOW_JS) == []
    readouts, moved = _hover_everything(page, before)
    assert all(text for text in readouts), readouts
    assert moved == {}, f"{tag}: hovering moved {moved}"
    assert page.evaluate(_OVERFLOW_JS) == []  # the read-outs shown last too
    canvas = page.locator(_HOVER_TARGETS[0])  # back on the detector, for the picture
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.4 * box["height"])
    snap(f"layout_{tag}_hovered")


def _top_of_notebook(page) -> dict:
    """Scroll the explorer's output to the top of the notebook panel; return the panel's
    visible box (the first screen below JupyterLab's menu, tabs and toolbar)."""
    page.evaluate(
        """() => {
        const explorer = document.querySelector('.dpc-explorer');
        const output = explorer.closest('.jp-OutputArea-child') || explorer;
        output.scrollIntoView({ block: 'start' });
    }"""
    )
    page.wait_for_timeout(300)
    return page.evaluate(
        """() => {
        const r = document.querySelector('.jp-NotebookPanel-notebook').getBoundingClientRect();
        return { x: r.left, y: r.top, width: r.width,
                 height: Math.min(r.bottom, window.innerHeight) - r.top };
    }"""
    )


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_layout_in_jupyterlab(page, lab_server, fresh_notebook, artifacts, width, height):
    page.set_viewport_size({"width": width, "height": height})
    name = fresh_notebook("02_explorer.ipynb", f"layout{width}")
    open_explorer(page, lab_server, name)
    assert page.locator(".jp-FileBrowser").first.is_visible()  # the default chrome
    screen = _top_of_notebook(page)
    _check_layout(page, screen, _snapper(page, artifacts), f"lab_{width}x{height}")
    assert page.errors == [], f"JavaScript errors: {page.errors}"


def test_layout_in_voila(page, voila_server, notebook_dir, fresh_notebook, artifacts):
    page.set_viewport_size({"width": 1280, "height": 800})
    notebook = notebook_dir / fresh_notebook("02_explorer.ipynb", "layoutvoila")
    server = voila_server(notebook)
    page.goto(server.url)
    page.locator("div.dpc-view canvas[data-testid='phase-image']").wait_for(timeout=120_000)
    page.evaluate("() => document.querySelector('.dpc-explorer').scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    snap = _snapper(page, artifacts)
    screen = {"x": 0, "y": 0, "width": 1280, "height": 800}
    for name in ("detector", "phase"):
        box = page.locator(f"div.dpc-view .dpc-panel[data-panel='{name}']").bounding_box()
        assert _inside(box, screen), f"voila: the {name} panel {box} is not in the first screen"
    snap("layout_voila_1280x800_first_screen")
    before = _boxes(page)
    assert page.evaluate(_OVERFLOW_JS) == []
    readouts, moved = _hover_everything(page, before)
    assert all(text for text in readouts), readouts
    assert moved == {}, f"voila: hovering moved {moved}"
    assert page.evaluate(_OVERFLOW_JS) == []
    snap("layout_voila_1280x800_hovered")
    assert page.errors == [], f"JavaScript errors: {page.errors}"


def _snapper(page, artifacts):
    """``snap(name)``: a PNG of the browser window as the user sees it (not the whole page)."""

    def snap(name: str) -> None:
        page.screenshot(path=str(artifacts / f"{name}.png"))

    return snap
