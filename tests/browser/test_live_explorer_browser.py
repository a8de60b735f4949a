"""The explorer on a live (replayed) scan in JupyterLab at 1280 x 800: it appears with its
progress line, fills in row by row while the kernel is idle (the follower's timer on the
kernel's loop, nothing waits in a cell), the rows not received stay empty (transparent over the
"no data" hatch), nothing moves on the page as rows arrive, and the finished scan's canvases
are exactly what the kernel computed.

Screenshots: ``live_1_filling``, ``live_2_filling``, ``live_3_complete`` (1280 x 800),
``live_4_complete_1920x1080``.
"""

from __future__ import annotations

import re
import time

import nbformat
import pytest
from browser_helpers import kernel_json, lab_cell_errors, lab_run_all, open_lab_notebook
from explorer_checks import kernel_source, wait_views_match

pytestmark = pytest.mark.browser

ROWS = 32
#: 32 x 32 positions at 320 frames/s: 3.2 s of scan, 10 rows a second (faster than the
#: explorer's looks, about 6.7 a second: so the look rate, not the rows, sets the updates)
CELL = """import dpc_widgets as dw
from dpc_widgets.widgets import Explorer

source = dw.live.replay(dw.simulate().cube, frames_per_second=320, frames_per_write=16)
explorer = Explorer(source)
explorer"""

#: Every 20 ms: the progress line's text and the phase canvas's checksum when either changed.
RECORD_JS = """() => {
  window.__live = [];
  let last = null;
  window.__liveTimer = setInterval(() => {
    const line = document.querySelector('.dpc-live-progress');
    const phase = document.querySelector("canvas[data-testid='phase-image']");
    const now = [line ? line.textContent : '', phase ? phase.dataset.checksum : ''];
    if (last === null || now[0] !== last[0] || now[1] !== last[1]) {
      window.__live.push({ at: performance.now(), text: now[0], checksum: now[1] });
      last = now;
    }
  }, 20);
}"""

#: Bounding boxes of what must not move: the progress and status lines, the panels, controls.
BOXES_JS = """() => {
  const boxes = {};
  const add = (key, el) => {
    if (!el) return;
    const r = el.getBoundingClientRect();
    boxes[key] = [r.x, r.y, r.width, r.height].map((v) => Math.round(v * 100) / 100);
  };
  add('progress', document.querySelector('.dpc-live-progress'));
  // the status line: its top and height (its width follows its text; nothing sits after it)
  const status = document.querySelector('.dpc-explorer .dpc-status');
  if (status) {
    const r = status.getBoundingClientRect();
    boxes.status = [r.x, r.y, r.height].map((v) => Math.round(v * 100) / 100);
  }
  add('view', document.querySelector('div.dpc-view'));
  const view = document.querySelector('div.dpc-view');
  view.querySelectorAll('.dpc-panel').forEach((el) => add(`panel-${el.dataset.panel}`, el));
  view.querySelectorAll('canvas.dpc-image').forEach((el, k) => add(`image-${k}`, el));
  return boxes;
}"""

#: Rows of the phase canvas (native size: one pixel per scan position): opaque / transparent.
ALPHA_ROWS_JS = """() => {
  const canvas = document.querySelector("canvas[data-testid='phase-image']");
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const rows = [];
  for (let i = 0; i < canvas.height; i++) {
    let opaque = 0;
    for (let j = 0; j < canvas.width; j++) opaque += data[4 * (i * canvas.width + j) + 3] === 255;
    rows.push(opaque === canvas.width ? 'drawn' : opaque === 0 ? 'empty' : 'mixed');
  }
  return { rows, background: getComputedStyle(canvas).backgroundImage };
}"""


def _rows(text: str) -> int | None:
    match = re.search(rf"rows (\d+)/{ROWS}", text)
    return int(match.group(1)) if match else None


def _wait_rows(page, low: int, high: int, timeout: float = 30.0) -> int:
    """Wait until the progress line shows between ``low`` and ``high`` rows; return them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = page.locator(".dpc-live-progress").inner_text()
        rows = _rows(text)
        if rows is not None and low <= rows <= high and "complete" not in text:
            return rows
        time.sleep(0.02)
    raise AssertionError(f"the progress line never showed {low}..{high} rows: {text!r}")


def test_live_explorer_fills_in_without_moving(
    page, lab_server, notebook_dir, network_guard, artifacts, report
):
    def shoot(name: str) -> None:
        """The 1280 x 800 screen, the explorer's top (progress line) at the top."""
        page.screenshot(path=str(artifacts / f"{name}.png"))

    page.set_viewport_size({"width": 1280, "height": 800})
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    notebook.cells = [nbformat.v4.new_code_cell(CELL)]
    nbformat.write(notebook, notebook_dir / "live_browser.ipynb")
    open_lab_notebook(page, lab_server, "live_browser.ipynb")
    assert lab_run_all(page), f"run all failed: {lab_cell_errors(page)}"
    page.locator(".dpc-live-progress").wait_for()
    page.evaluate(RECORD_JS)

    # moment 1: a quarter of the scan or so; the rows not received are empty
    page.locator("div.dpc-view canvas[data-testid='phase-image']").wait_for(timeout=30_000)
    page.evaluate("() => document.querySelector('.dpc-live-progress').scrollIntoView(true)")
    first = _wait_rows(page, 4, 14)
    alpha = page.evaluate(ALPHA_ROWS_JS)
    assert alpha["rows"][0] == "drawn" and alpha["rows"][-1] == "empty", alpha
    assert "repeating-linear-gradient" in alpha["background"]  # the "no data" hatch
    boxes_1 = page.evaluate(BOXES_JS)
    shoot("live_1_filling")

    # moment 2: more rows; nothing on the page moved
    second = _wait_rows(page, max(first + 6, 16), 28)
    boxes_2 = page.evaluate(BOXES_JS)
    shoot("live_2_filling")
    assert boxes_2 == boxes_1

    # moment 3: complete; the exact final state, drawn as the kernel computed it
    page.wait_for_function(
        "() => document.querySelector('.dpc-live-progress').textContent.includes('scan complete')",
        timeout=30_000,
        polling=50,
    )
    source = kernel_source(page)
    raw, drawn = wait_views_match(page, source)
    assert kernel_json(page, "explorer.results.rows") == ROWS
    assert "solved on 32 of 32 rows" in kernel_json(page, "explorer.controls.rotation_info.value")
    alpha = page.evaluate(ALPHA_ROWS_JS)
    assert set(alpha["rows"]) == {"drawn"}
    boxes_3 = page.evaluate(BOXES_JS)
    shoot("live_3_complete")
    assert boxes_3 == boxes_1

    records = page.evaluate("() => { clearInterval(window.__liveTimer); return window.__live; }")
    partial = [r for r in records if (_rows(r["text"]) or ROWS) < ROWS]
    row_states = sorted({_rows(r["text"]) for r in partial})
    repaints = {r["checksum"] for r in partial if r["checksum"]}
    assert len(row_states) >= 5, row_states  # the line followed the rows
    assert len(repaints) >= 5, len(repaints)  # and the phase image was redrawn as they came
    span = (partial[-1]["at"] - partial[0]["at"]) / 1e3 if len(partial) > 1 else 0.0
    report.append(
        f"live explorer (JupyterLab, replay 32 x 32 at 320 frames/s): {len(row_states)} row "
        f"counts and {len(repaints)} phase repaints seen in {span:.1f} s of acquisition "
        f"({len(repaints) / span if span else 0:.1f} repaints/s); moments at rows {first}, "
        f"{second}, {ROWS}"
    )
    page.set_viewport_size({"width": 1920, "height": 1080})  # the finished scan, wide screen
    page.wait_for_timeout(500)  # the layout refits to the new width
    page.evaluate("() => document.querySelector('.dpc-live-progress').scrollIntoView(true)")
    page.screenshot(path=str(artifacts / "live_4_complete_1920x1080.png"))
    assert page.errors == [], f"JavaScript errors: {page.errors}"
    assert network_guard.blocked == [], f"requests left 127.0.0.1: {network_guard.blocked}"
    kernel_json(page, "source.close() or True")
