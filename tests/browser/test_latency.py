"""Slider-to-repaint latency of the explorer on the simulated dataset, measured in the browser.

Reported in the terminal summary and in ``test-artifacts/browser/latency.md``; never asserted.
The 256 x 256 x 128 x 128 cube is measured by ``scripts/measure_latency.py`` (building it takes
about a minute, too long for the test suite).
"""

from __future__ import annotations

import pytest
from browser_helpers import lab_cell_errors, lab_run_all, open_lab_notebook
from browser_latency import TABLE_HEADER, measure_inner_slider

pytestmark = pytest.mark.browser

MOVES = 30


def test_slider_to_repaint_latency(page, lab_server, fresh_notebook, artifacts, report):
    name = fresh_notebook("02_explorer.ipynb", "latency")
    open_lab_notebook(page, lab_server, name)
    assert lab_run_all(page), f"run all failed: {lab_cell_errors(page)}"
    page.locator("div.dpc-view canvas[data-testid='segment-image-0']").wait_for()
    page.locator("div.dpc-view").scroll_into_view_if_needed()

    latency = measure_inner_slider(page, moves=MOVES)

    assert len(latency.frame) == MOVES, "some moves did not repaint the segment images"
    assert all(d <= f for d, f in zip(latency.drawn, latency.frame, strict=True))
    table = "\n".join([TABLE_HEADER, latency.row("simulated, 32x32 scan x 96x96 detector")])
    (artifacts / "latency.md").write_text(table + "\n")
    report.extend(table.splitlines())
