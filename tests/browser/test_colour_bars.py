"""Colour bars, diverging maps and labelled segment tiles in JupyterLab (issue 19, parts 2, 5).

Measured on the page: every scan panel has a colour bar whose text includes its unit (the
simulated cube uncalibrated for the segmented CoM, calibrated for the pixelated CoM); the signed
panels' drawn range is symmetric and their pixel nearest above 0 is the diverging map's centre
colour (pixels checked against the kernel through ``render``); each tile's frame has the colour
the detector overlay uses for its segment; at 8 and 16 segments no tile or label leaves its panel.
"""

from __future__ import annotations

import numpy as np
import pytest
from browser_helpers import kernel_exec, kernel_json
from explorer_checks import open_explorer, wait_views_match

from dpc_widgets.widgets import render

pytestmark = pytest.mark.browser

# In the kernel: the position and value of CoM component k's smallest value >= 0 (as drawn:
# float32).
NEAREST_ZERO = """
import numpy as _np

def _dpc_nearest_zero(ex, k):
    v = ex.results.com_rotated[k].astype(_np.float32)
    i, j = _np.unravel_index(_np.argmin(_np.where(v >= 0, v, _np.inf)), v.shape)
    return [int(i), int(j), float(v[i, j])]
"""

# Per panel: the colour bar's text and unit, the title; the saturation legend; every box that
# leaves its panel (tiles, colour bars, their labels, read-outs).
_PAGE_JS = """
(root) => {
  const box = (el) => el.getBoundingClientRect();
  const out = {bars: {}, titles: {}, overflow: [], tiles: []};
  for (const panel of root.querySelectorAll('.dpc-panel')) {
    const name = panel.dataset.panel;
    const bar = panel.querySelector('.dpc-colorbar');
    if (bar) out.bars[name] = {text: bar.textContent, units: bar.dataset.units};
    out.titles[name] = panel.querySelector('.dpc-title').textContent;
    const p = box(panel);
    const inside = panel.querySelectorAll(
      '.dpc-tile, .dpc-colorbar, .dpc-colorbar span, .dpc-readout, .dpc-legend, canvas');
    for (const el of inside) {
      const b = box(el);
      if (b.left < p.left - 0.5 || b.right > p.right + 0.5 || b.top < p.top - 0.5
          || b.bottom > p.bottom + 0.5) {
        out.overflow.push(`${name}: ${el.className || el.tagName}`);
      }
    }
    for (const span of panel.querySelectorAll('.dpc-colorbar span, .dpc-tile-index')) {
      if (span.scrollWidth > span.clientWidth + 1) {
        out.overflow.push(`${name}: ${span.textContent} clipped`);
      }
    }
  }
  for (const tile of root.querySelectorAll('.dpc-tile')) {
    const b = box(tile);
    out.tiles.push({
      index: tile.querySelector('.dpc-tile-index').textContent,
      border: getComputedStyle(tile).borderTopColor,
      badge: getComputedStyle(tile.querySelector('.dpc-tile-index')).backgroundColor,
      width: b.width,
    });
  }
  const saturation = root.querySelector('[data-testid="com-saturation"]');
  out.saturation = saturation ? saturation.textContent : null;
  return out;
}
"""


def page_facts(page) -> dict:
    return page.locator("div.dpc-view").first.evaluate(_PAGE_JS)


def rgb(colour) -> str:
    return "rgb({}, {}, {})".format(*(int(c) for c in colour))


def check_units(facts: dict, com: str, phase: str) -> None:
    """Each scan panel's colour bar names its unit; the phase title too."""
    expected = {"segments": "counts", "com-x": com, "com-y": com, "phase": phase}
    for name, unit in expected.items():
        bar = facts["bars"][name]
        assert bar["units"] == unit and bar["text"].endswith(unit), (name, bar)
    assert facts["titles"]["phase"] == f"phase ({phase})"
    assert facts["saturation"].endswith(com), facts["saturation"]


def check_zero_is_the_centre_colour(page, drawn) -> None:
    """CoM x and y are drawn over [-m, m], and the value nearest above 0 is the centre colour."""
    for k, name in enumerate(("com-x-image", "com-y-image")):
        attrs = page.locator(f"canvas[data-testid='{name}']").evaluate("(c) => c.dataset")
        vmin, vmax = float(attrs["vmin"]), float(attrs["vmax"])
        assert vmin == -vmax and vmax > 0
        i, j, value = kernel_json(page, f"_dpc_nearest_zero(explorer, {k})")
        assert 0 <= value < 2 * vmax / 255  # its level is the middle one, 128
        pixel = drawn.canvases[name][1][i, j, :3]
        centre = render.DIVERGING_LUT[render.CENTRE_LEVEL]
        assert np.abs(pixel.astype(int) - centre).max() <= 1, (name, pixel, centre)


def check_tiles(page, facts: dict, drawn, n: int) -> None:
    """n tiles, each framed and badged in the colour its segment has on the detector overlay."""
    assert len(facts["tiles"]) == n
    labels = np.array(
        kernel_json(page, "explorer.results.detector.labels(explorer.dpc.cube).tolist()")
    )
    overlay = drawn.canvases["detector-segments"][1]
    for k, tile in enumerate(facts["tiles"]):
        assert tile["index"] == str(k)
        i, j = np.argwhere(labels == k)[0]
        on_overlay = overlay[i, j, :3]
        assert tile["border"] == tile["badge"] == rgb(on_overlay) == rgb(render.PALETTE[k % 16])
    assert facts["overflow"] == [], facts["overflow"]


def set_segments(page, source, n: int):
    kernel_exec(page, f"explorer.segments.value = {n}")
    return wait_views_match(page, source, until=lambda raw: raw["controls"]["segments"] == n)


def test_colour_bars_diverging_maps_and_tiles(
    page, lab_server, fresh_notebook, network_guard, artifacts
):
    name = fresh_notebook("02_explorer.ipynb", "colour")
    source, _, drawn = open_explorer(page, lab_server, name)
    kernel_exec(page, NEAREST_ZERO)

    # uncalibrated: the segmented CoM is an intensity difference ("arb."), so is its phase
    facts = page_facts(page)
    check_units(facts, "arb.", "arb.")
    check_zero_is_the_centre_colour(page, drawn)
    check_tiles(page, facts, drawn, 4)

    # calibrated: the pixelated CoM of the simulated cube (200 kV, Å scan) in Å⁻¹, phase in rad
    kernel_exec(page, "explorer.com_source.value = 'pixelated'")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"phase-colorbar\"]').dataset.units === 'rad'"
    )
    _, drawn = wait_views_match(page, source)
    facts = page_facts(page)
    check_units(facts, "\u00c5\u207b\u00b9", "rad")
    check_zero_is_the_centre_colour(page, drawn)

    for n in (8, 16):
        _, drawn = set_segments(page, source, n)
        facts = page_facts(page)
        check_tiles(page, facts, drawn, n)
        assert min(tile["width"] for tile in facts["tiles"]) >= 50  # legible tiles
        for width, height in ((1280, 800), (1920, 1080)):
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(300)
            assert page_facts(page)["overflow"] == []
            view = page.locator("div.dpc-view").first
            view.evaluate("(el) => el.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(200)
            page.screenshot(path=str(artifacts / f"colour_{n}_segments_{width}x{height}.png"))
        for panel in ("detector", "segments"):
            path = artifacts / f"colour_{n}_segments_{panel}_panel.png"
            page.locator(f"div.dpc-panel[data-panel='{panel}']").first.screenshot(path=str(path))

    # part 9: unequal segment areas (the annulus cut by the detector's edge) are named in the
    # status line, visible above the panels
    kernel_exec(page, "explorer.com_source.value = 'segmented'\nexplorer.origin_qx.value = 12.0")
    page.wait_for_function(
        "() => (document.querySelector('.dpc-status')?.textContent || '')"
        ".includes('segment areas differ')"
    )
    status = page.locator(".dpc-status").first
    status.scroll_into_view_if_needed()
    box = status.bounding_box()
    assert box is not None and box["height"] > 10 and box["width"] > 200
    assert "dpc-status-warning" in status.inner_html()
    page.screenshot(path=str(artifacts / "colour_unequal_segment_areas.png"))

    assert page.errors == [], f"JavaScript errors: {page.errors}"
    assert network_guard.blocked == [], f"requests left 127.0.0.1: {network_guard.blocked}"
