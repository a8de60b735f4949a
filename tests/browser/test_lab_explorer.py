"""The explorer notebook in JupyterLab, driven like a user: keyboard, mouse drag, segment count.

After every interaction the canvases must show exactly what the kernel computed (checksums of
the bytes sent and every pixel, +-1 per channel) and differ from before.
"""

from __future__ import annotations

import time

import pytest
from browser_helpers import kernel_json, lab_cell_errors, lab_run_all, open_lab_notebook
from explorer_checks import (
    binned_drag_frames,
    drag,
    drag_outer_ring,
    inner_by_keyboard,
    open_explorer,
    press,
    repainted,
    wait_views_match,
)

pytestmark = pytest.mark.browser


def test_explorer_in_jupyterlab(page, lab_server, fresh_notebook, network_guard, shoot):
    name = fresh_notebook("02_explorer.ipynb", "lab")
    source, start, drawn = open_explorer(page, lab_server, name)
    assert start["controls"]["segments"] == 4
    assert float(drawn.attrs["inner"]) == start["view"]["inner"]
    shoot(page, "lab_0_loaded")

    # 1. inner radius: ten ArrowRight presses on the slider handle = ten slider steps
    moved, after_key, target = inner_by_keyboard(page, source, start)
    assert float(after_key.attrs["inner"]) == pytest.approx(target)
    assert repainted(drawn, after_key)
    assert (
        after_key.canvases["detector-segments"][1] != drawn.canvases["detector-segments"][1]
    ).any()
    shoot(page, "lab_1_inner_keyboard")

    # 2. outer ring: drag its handle 20 CSS px outwards (the handle sits right of the centre)
    dragged, after_drag = drag_outer_ring(page, source, moved)
    readout = page.locator(".dpc-ctl-outer .widget-readout").inner_text()
    assert float(readout) == pytest.approx(dragged["controls"]["outer"], abs=0.05)
    assert repainted(after_key, after_drag)
    shoot(page, "lab_2_outer_drag")

    # 3. number of segments: 4 -> 6 with the keyboard; the grid gets six images
    press(page, ".dpc-ctl-segments .noUi-handle", "ArrowRight", 2)
    _, after_segments = wait_views_match(
        page, source, until=lambda raw: raw["controls"]["segments"] == 6
    )
    segment_ids = [key for key in after_segments.canvases if key.startswith("segment-image-")]
    assert len(segment_ids) == 6
    assert after_segments.attrs["segments"] == "6"
    assert repainted(after_drag, after_segments) == [
        "segment-image-0",
        "segment-image-1",
        "segment-image-2",
        "segment-image-3",
    ]
    shoot(page, "lab_3_six_segments")

    # 4. detector centre: drag its handle 24 CSS px right (+qy) and 12 px down (+qx)
    origin = kernel_json(page, "list(explorer.dpc.origin)")
    per_pixel = kernel_json(page, "explorer.view.panel_size / max(explorer.view.detector_shape)")
    # grab it a bit off-centre
    drag(page, "div.dpc-view div.dpc-center-handle", 24, 12, steps=12, offset=(2, -1))
    expected = [origin[0] + 12 / per_pixel, origin[1] + 24 / per_pixel]
    page.wait_for_function("() => document.querySelector('div.dpc-view').dataset.pending === '0'")
    moved_origin = kernel_json(page, "list(explorer.dpc.origin)")
    assert moved_origin == pytest.approx(expected, abs=1.5 / per_pixel + 0.01)
    after_centre_raw, after_centre = wait_views_match(page, source)
    assert [float(v) for v in after_centre.attrs["center"].split(",")] == moved_origin
    assert kernel_json(page, "list(explorer.controls.origin())") == moved_origin
    assert repainted(after_segments, after_centre)
    assert (
        after_centre.canvases["detector-segments"][1]
        != after_segments.canvases["detector-segments"][1]
    ).any()
    # the status line follows the images once the updates pause (0.25 s; flow.Later)
    deadline = time.monotonic() + 10
    while "dpc-status-ok" not in (status := kernel_json(page, "explorer.status.value")):
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    shoot(page, "lab_4_centre_drag")

    # 5. panels smaller than the scan: drag frames binned to the tiles' size, then the exact one
    _, after_binned, redraws = binned_drag_frames(page, source, after_centre_raw)
    scan = kernel_json(page, "list(explorer.dpc.cube.scan_shape)")
    bins = [int(b) for b, _, _ in redraws]
    assert max(bins) > 1 and bins[-1] == 1, redraws
    assert all(width == scan[1] // b for b, (_, width, _) in zip(bins, redraws, strict=True))
    assert len({css for _, _, css in redraws}) == 1  # binned or not: the same area on screen
    assert repainted(after_centre, after_binned)
    shoot(page, "lab_5_binned_drag_frames")

    assert page.errors == [], f"JavaScript errors: {page.errors}"
    assert network_guard.blocked == [], f"requests left 127.0.0.1: {network_guard.blocked}"
    assert network_guard.allowed, "the guard saw no requests at all"
    assert network_guard.non_loopback(network_guard.allowed) == []


def test_tutorial_runs_in_jupyterlab(page, lab_server, fresh_notebook, network_guard, artifacts):
    name = fresh_notebook("01_dpc_tutorial.ipynb", "lab")
    open_lab_notebook(page, lab_server, name)
    assert lab_run_all(page), f"run all failed: {lab_cell_errors(page)}"
    assert lab_cell_errors(page) == []
    page.locator("div.dpc-view canvas[data-testid='phase-image']").wait_for()
    assert page.locator(".jp-Notebook .bqplot.figure").count() >= 3, "the explorer's plots"
    # the tutorial's matplotlib figures (dpc_widgets.figures), one PNG output each
    figures = page.locator(".jp-Notebook .jp-RenderedImage img[src^='data:image/png']")
    assert figures.count() == 13, "the tutorial's figures did not render"
    for index in range(figures.count()):
        figures.nth(index).scroll_into_view_if_needed()
        assert figures.nth(index).evaluate("img => img.naturalWidth") > 300
        figures.nth(index).screenshot(path=str(artifacts / f"tutorial_figure_{index}.png"))
    assert page.errors == [], f"JavaScript errors: {page.errors}"
    assert network_guard.blocked == [], f"requests left 127.0.0.1: {network_guard.blocked}"
