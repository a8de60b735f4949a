"""The detector view's zoom in JupyterLab, on a cube whose bright-field disc is small (radius
3 px on a 128 x 128 detector): the default view frames the disc, the wheel and the buttons zoom,
rings stay at the detector's radii (pixels of the rings canvas checked against the Python
mirror of the transform, widgets/zoom.py), hovering names the right detector pixel at any zoom,
the radial profile's range follows the view and the log / linear / gamma scale redraws the
pattern as render.pattern_gray does. Screenshots at 1280x800 and 1920x1080 before and after.
"""

from __future__ import annotations

import base64
import math
from importlib.metadata import PackageNotFoundError, version

import nbformat
import numpy as np
import pytest
from browser_helpers import (
    classic_cell_errors,
    classic_run_all,
    kernel_json,
    open_classic_notebook,
)
from explorer_checks import explorer_shown, open_explorer, wait_views_match

from dpc_widgets.widgets import zoom

pytestmark = pytest.mark.browser

CUBE_CODE = """\
import math
import numpy as np
from dpc_widgets.widgets import Explorer

# a 3 px bright-field disc on a 128 x 128 detector, moving by up to 0.3 px over the scan
u = np.arange(128)[:, None] - 64
v = np.arange(128)[None, :] - 64
data = np.empty((12, 12, 128, 128), dtype=np.float32)
for x in range(12):
    for y in range(12):
        du, dv = 0.3 * math.sin(2 * math.pi * x / 12), 0.3 * math.cos(2 * math.pi * y / 12)
        r = np.hypot(u - du, v - dv)
        data[x, y] = 1.0 + 1000.0 * np.clip(3.5 - r, 0.0, 1.0)
explorer = Explorer(data)
explorer
"""

STATE_JS = """(root) => {
  const stack = root.querySelector('[data-panel="detector"] .dpc-stack');
  const box = stack.getBoundingClientRect();
  return {zoom: Number(stack.dataset.zoom), scale: Number(stack.dataset.scale),
          focus: stack.dataset.focus.split(',').map(Number),
          offset: stack.dataset.offset.split(',').map(Number),
          box: [box.left, box.top, box.width, box.height]};
}"""

# alpha of the rings canvas at CSS px points [[left, top], ...] (its bitmap has device pixels)
RING_ALPHA_JS = """(root, points) => {
  const canvas = root.querySelector("canvas[data-testid='detector-rings']");
  const ctx = canvas.getContext('2d');
  const k = canvas.width / canvas.getBoundingClientRect().width; // device px per CSS px
  const at = ([x, y]) => ctx.getImageData(Math.floor(x * k), Math.floor(y * k), 1, 1).data[3];
  return points.map(at);
}"""


def _major(package: str) -> int | None:
    try:
        return int(version(package).split(".")[0])
    except PackageNotFoundError:
        return None


def _write_notebook(notebook_dir) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CUBE_CODE)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    name = "zoom_small_disc.ipynb"
    nbformat.write(nb, notebook_dir / name)
    return name


def _view_state(page) -> dict:
    return page.locator("div.dpc-view").first.evaluate(STATE_JS)


def _mirror(page, state: dict) -> zoom.View:
    """The Python mirror of the transform the page says it draws with."""
    panel = kernel_json(page, "explorer.view.panel_size")
    view = zoom.view_transform((128, 128), panel / 128, state["zoom"], state["focus"])
    assert view.s == pytest.approx(state["scale"])
    assert (view.ox, view.oy) == pytest.approx(tuple(state["offset"]))
    return view


def _check_rings(page, view: zoom.View) -> dict:
    """Each ring of the kernel's geometry is drawn at its radius (pixels within 1 CSS px of it
    are opaque between segment borders) and nothing lies 4 CSS px inside the outer ring."""
    g = kernel_json(
        page,
        "dict(inner=explorer.view.inner, outer=explorer.view.outer, n=explorer.view.segments,"
        " rotation=explorer.view.rotation, center=explorer.view.center,"
        " sampling=explorer.view.detector_sampling, cache=explorer.view.cache_radius)",
    )
    x0, y0 = view.to_screen(g["center"][0] + 0.5, g["center"][1] + 0.5)
    points, kinds = [], []
    for k in range(g["n"]):
        angle = 2 * math.pi * (k + 0.5) / g["n"] - math.radians(g["rotation"])
        down, right = math.cos(angle), math.sin(angle)
        for name, extra in (("inner", 0.0), ("outer", 0.0), ("gap", -4.0)):
            radius = g["outer" if name == "gap" else name] / g["sampling"] * view.s + extra
            for d in (-0.5, 0.0, 0.5):
                points.append([x0 + right * (radius + d), y0 + down * (radius + d)])
                kinds.append(name)
    alpha = page.locator("div.dpc-view").first.evaluate(RING_ALPHA_JS, points)
    hits: dict[str, list[int]] = {"inner": [], "outer": [], "gap": []}
    for name, a in zip(kinds, alpha, strict=True):
        hits[name].append(a)
    ring_px = (g["outer"] - g["inner"]) / g["sampling"] * view.s
    per_ring = [max(hits["inner"][i : i + 3]) for i in range(0, len(hits["inner"]), 3)]
    assert min(per_ring) > 100, hits
    per_ring = [max(hits["outer"][i : i + 3]) for i in range(0, len(hits["outer"]), 3)]
    assert min(per_ring) > 100, hits
    cache_px = g["cache"] / g["sampling"] * view.s
    if ring_px > 8 and abs(cache_px - (ring_px - 4)) > 3:  # the gap is clear of other rings
        assert max(hits["gap"]) == 0, hits
    return g


def _hover_pixel(page, view: zoom.View, state: dict, left: float, top: float):
    """Hover the detector view at (left, top) CSS px of the stack: the read-out's pixel."""
    page.locator("[data-panel='detector'] .dpc-stack").scroll_into_view_if_needed()
    bx, by = _view_state(page)["box"][:2]  # now: screenshots scroll the page
    page.mouse.move(bx + left, by + top)
    pixel = page.locator("[data-panel='detector'] .dpc-readout").get_attribute("data-pixel")
    expected = zoom.element_at(view, (128, 128), left, top)
    assert pixel is not None and tuple(int(p) for p in pixel.split(",")) == expected
    return expected


def _shots(page, artifacts, name: str) -> None:
    """The first screen at 1280x800 and 1920x1080 with the detector view in it, and the
    detector panel alone."""
    panel = page.locator("[data-panel='detector']")
    for width, height in ((1280, 800), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        panel.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        page.screenshot(path=str(artifacts / f"zoom_{name}_{width}x{height}.png"))
    panel.screenshot(path=str(artifacts / f"zoom_{name}_detector.png"))
    profile = page.locator(".dpc-plot-profile").first
    profile.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # bqplot animates its axes
    profile.screenshot(path=str(artifacts / f"zoom_{name}_profile.png"))
    panel.scroll_into_view_if_needed()
    page.set_viewport_size({"width": 1400, "height": 2100})


def _kernel_follows(page, state: dict) -> None:
    """The kernel has the page's zoom (sent within SAVE_MS) and the profile spans the radii
    in view."""
    for _ in range(40):
        k = kernel_json(page, "[explorer.view.detector_zoom, list(explorer.view.detector_focus)]")
        if k[0] == pytest.approx(state["zoom"]) and k[1] == pytest.approx(state["focus"]):
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError(f"kernel zoom {k} != page {state['zoom']}, {state['focus']}")
    axis = kernel_json(
        page,
        "[explorer.plots.profile.axes[0].scale.min, explorer.plots.profile.axes[0].scale.max,"
        " explorer.dpc.cube.detector_sampling, list(explorer.dpc.origin)]",
    )
    low, high = zoom.visible_radii((128, 128), state["zoom"], state["focus"], axis[3])
    assert axis[0] <= low * axis[2] + 1e-9
    assert high * axis[2] <= axis[1] <= 2 * high * axis[2] + 1e-9


def _zoom_checks(page, artifacts, tag: str) -> None:
    """Default framing, hover, wheel zoom, "whole", "fit disc" and a pan, each checked against
    the Python mirror and the kernel; screenshots named ``zoom_<tag>...``."""
    # 1. the default view frames the small disc: "fit disc" from the disc found on the data
    state = _view_state(page)
    disc = kernel_json(page, "explorer.view.disc_radius")
    assert disc == pytest.approx(3.0, abs=0.5)
    assert state["zoom"] == pytest.approx(kernel_json(page, "explorer.view.detector_zoom"))
    assert state["zoom"] > 4
    view = _mirror(page, state)
    width = state["box"][2]
    assert 0.08 * width < disc * view.s < 0.5 * width  # the disc is a sizeable part of the view
    g = _check_rings(page, view)
    _kernel_follows(page, state)
    _shots(page, artifacts, f"{tag}0_default_fit_disc")

    # 2. hovering names the detector pixel under the pointer, at this zoom
    x0, y0 = view.to_screen(g["center"][0] + 0.5, g["center"][1] + 0.5)
    for left, top in ((x0, y0), (x0 + 2.6 * view.s, y0 - 1.2 * view.s), (5.0, width - 5.0)):
        _hover_pixel(page, view, state, left, top)

    # 3. the wheel zooms in about the pointer: the pixel under it stays, rings keep their radii
    # at whole page px: a WheelEvent's clientX / clientY are integers
    bx, by = _view_state(page)["box"][:2]
    left = round(bx + x0 + 1.7 * view.s) - bx
    top = round(by + y0 + 0.9 * view.s) - by
    before = _hover_pixel(page, view, state, left, top)
    page.mouse.wheel(0, -300)
    page.wait_for_function(
        f"() => Number(document.querySelector('[data-panel=\"detector\"] .dpc-stack')"
        f".dataset.zoom) > {state['zoom'] * 1.5}"
    )
    zoomed = _view_state(page)
    view2 = _mirror(page, zoomed)
    assert view2.s > 1.5 * view.s
    assert view2.to_detector(left, top) == pytest.approx(view.to_detector(left, top), abs=1e-6)
    assert _hover_pixel(page, view2, zoomed, left, top) == before
    _check_rings(page, view2)
    _kernel_follows(page, zoomed)
    _shots(page, artifacts, f"{tag}1_wheel_zoomed_in")

    # 4. "whole detector", then "fit disc" back and a pan on empty area
    page.locator("[data-zoom='whole']").click()
    page.wait_for_function(
        "() => document.querySelector('[data-panel=\"detector\"] .dpc-stack').dataset.zoom === '1'"
    )
    whole = _view_state(page)
    _check_rings(page, _mirror(page, whole))
    _kernel_follows(page, whole)
    _shots(page, artifacts, f"{tag}2_whole_detector")
    page.locator("[data-zoom='fit']").click()
    page.wait_for_function(
        f"() => Number(document.querySelector('[data-panel=\"detector\"] .dpc-stack')"
        f".dataset.zoom) === {state['zoom']}"
    )
    fit = _view_state(page)
    assert fit["focus"] == pytest.approx(state["focus"])
    # drag from near a corner (empty image) 30 px right: the view follows the pointer
    bx, by = fit["box"][:2]
    page.mouse.move(bx + 6, by + width - 6)
    page.mouse.down()
    page.mouse.move(bx + 36, by + width - 6, steps=5)
    page.mouse.up()
    target = fit["focus"][1] - 30 / fit["scale"]
    page.wait_for_function(
        "(v) => Math.abs(Number(document.querySelector('[data-panel=\"detector\"] .dpc-stack')"
        ".dataset.focus.split(',')[1]) - v) < 1e-6",
        arg=target,
    )
    panned = _view_state(page)
    assert panned["focus"][1] == pytest.approx(target, abs=1e-6)
    assert panned["focus"][0] == pytest.approx(fit["focus"][0])
    _check_rings(page, _mirror(page, panned))
    _kernel_follows(page, panned)


def test_detector_zoom(page, lab_server, notebook_dir, network_guard, artifacts):
    name = _write_notebook(notebook_dir)
    source, _, _ = open_explorer(page, lab_server, name)  # canvases match the kernel
    _zoom_checks(page, artifacts, "")

    # 5. gamma scale: the pattern is redrawn as render.pattern_gray draws it (+-1 level)
    page.locator("[data-testid='pattern-scale']").select_option("gamma")
    page.wait_for_function(
        "() => document.querySelector(\"canvas[data-testid='detector-image']\")"
        ".dataset.scale === 'gamma'"
    )
    expected = kernel_json(
        page,
        "__import__('base64').b64encode(__import__('dpc_widgets.widgets.render', fromlist=['x'])"
        ".pattern_gray(explorer.dpc.mean_pattern(), explorer.view.pattern_vmax,"
        " explorer.view.pattern_scale, explorer.view.pattern_gamma).tobytes()).decode()",
    )
    expected = np.frombuffer(base64.b64decode(expected), dtype=np.uint8).reshape(128, 128, 4)
    drawn_image = page.locator("canvas[data-testid='detector-image']").evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
    )
    drawn_image = np.array(drawn_image, dtype=np.int16).reshape(128, 128, 4)
    assert np.abs(drawn_image - expected).max() <= 1
    _shots(page, artifacts, "3_gamma")

    # the explorer still matches the kernel everywhere (the expected image follows the scale)
    wait_views_match(page, source)
    assert page.errors == [], f"JavaScript errors: {page.errors}"
    assert network_guard.blocked == [], f"requests left 127.0.0.1: {network_guard.blocked}"


@pytest.mark.colab_env
@pytest.mark.skipif(
    not (_major("ipywidgets") == 7 and _major("notebook") == 6),
    reason="needs the Colab-like environment (classic Notebook 6.5, ipywidgets 7.7.1)",
)
def test_detector_zoom_in_classic_notebook(
    page, classic_server, notebook_dir, network_guard, artifacts
):
    """The same zoom under ipywidgets 7 (Colab's protocol): the view's zoom and focus reach the
    kernel through anywidget's model on the classic Notebook's widget manager."""
    name = _write_notebook(notebook_dir)
    open_classic_notebook(page, classic_server, name)
    classic_run_all(page)
    assert classic_cell_errors(page) == []
    page.evaluate(
        "() => window.Jupyter.notebook.get_cells().filter((c) => c.output_area)"
        ".forEach((c) => c.output_area.unscroll_area())"
    )
    explorer_shown(page)
    assert kernel_json(page, "__import__('ipywidgets').__version__").startswith("7.")
    _zoom_checks(page, artifacts, "classic_")
    assert page.errors == [], f"JavaScript errors: {page.errors}"
    assert network_guard.blocked == [], f"requests left 127.0.0.1: {network_guard.blocked}"
