"""Key-press-to-repaint latency of the explorer over the Jupyter comm floor, hop by hop, and the
frame rate of continuous drags, on the simulated dataset, in JupyterLab.

Reported in the terminal summary and in ``test-artifacts/browser/latency.md``; times are never
asserted, only that every move was measured, that each move's hops are in order and that a drag
ends on its last value. The 256 x 256 x 128 x 128 cube is measured by
``scripts/measure_latency.py`` (building it takes minutes, too long for the test suite).
"""

from __future__ import annotations

import pytest
from browser_helpers import lab_cell_errors, lab_run_all, open_lab_notebook
from browser_latency import (
    FLOOR_HEADER,
    SIM_CELL,
    against_floor_table,
    hop_table,
    measure_against_floor,
    measure_drag,
    write_latency_notebook,
)

pytestmark = pytest.mark.browser

MOVES = 20
# Where the kernel's clock (time.time) meets the browser's (performance.now, set to the system
# clock before each move, see browser_latency): Date.now()'s and time.time()'s readings agree.
CLOCK_SLACK_MS = 1.0


def test_latency_against_the_floor(page, lab_server, notebook_dir, artifacts, report):
    write_latency_notebook(notebook_dir / "latency.ipynb", SIM_CELL)
    open_lab_notebook(page, lab_server, "latency.ipynb")
    assert lab_run_all(page), f"run all failed: {lab_cell_errors(page)}"
    page.locator("div.dpc-view canvas[data-testid='segment-image-0']").wait_for()
    page.locator(".dpc-floor-label").wait_for()
    page.locator("div.dpc-view").scroll_into_view_if_needed()

    measured = measure_against_floor(page, moves=MOVES)
    for kind, moves in measured.items():
        assert len(moves.hops) == MOVES, f"{kind}: some moves were not measured"
        assert moves.unordered(CLOCK_SLACK_MS) == [], f"{kind}: {moves.unordered(CLOCK_SLACK_MS)}"
    drags = {target: measure_drag(page, target) for target in ("ring", "key", "floor-key")}
    for target, drag in drags.items():
        assert drag.frames > 0, f"{target} drag painted no intermediate frame"
        if target != "floor-key":
            assert drag.final_ok, f"{target} drag did not end on its last value: {drag.final}"
            assert drag.echoes == 0, f"{target} drag: the browser echoed {drag.echoes} values"

    label = "simulated, 32x32 scan x 96x96 detector"
    lines = [FLOOR_HEADER, *against_floor_table(label, measured), ""]
    lines += hop_table(label, measured)
    lines += ["", "| drag | seconds | moves | frames painted | frames per second | settled after |"]
    lines += ["|---|---|---|---|---|---|"]
    for target, drag in drags.items():
        lines.append(
            f"| {target} | {drag.seconds:.2f} | {drag.moves} | {drag.frames} | {drag.fps:.1f} | "
            f"{drag.settle_s:.1f} s |"
        )
    (artifacts / "latency.md").write_text("\n".join(lines) + "\n")
    report.extend(lines)
