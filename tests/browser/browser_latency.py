"""Browser-side latency of the explorer: from a slider key press to the repaint of the segments.

The page records ``performance.now()`` at every keydown (capture phase, before the slider sees
it) and, with a MutationObserver on the segments panel, the moment the view has finished
drawing new segment images (``data-checksum`` set after ``putImageData``) and the start of the
next animation frame, which is the first frame showing them. One key press moves the inner
radius by one slider page (5 steps); the next press waits until the kernel is idle again, so
moves never overlap and each is a fresh computation (no value repeats, so the core's memo does
not help). Times are reported, never asserted.
"""

from __future__ import annotations

import dataclasses
import statistics

from browser_helpers import kernel_json, wait_kernel_idle

_INSTRUMENT_JS = """
(root) => {
  const panel = root.querySelector("[data-panel='segments']");
  const state = {t0: null, samples: []};
  window.__dpcLatency = state;
  document.addEventListener('keydown', () => { state.t0 = performance.now(); }, true);
  new MutationObserver(() => {
    const t0 = state.t0;
    if (t0 === null) { return; }
    state.t0 = null;
    const drawn = performance.now() - t0;
    requestAnimationFrame(() => state.samples.push({drawn, frame: performance.now() - t0}));
  }).observe(panel, {attributes: true, attributeFilter: ['data-checksum'], subtree: true,
                     childList: true});
}
"""

PAGE_STEPS = 5  # noUiSlider moves a handle by 5 steps on PageUp


@dataclasses.dataclass(frozen=True)
class Latency:
    """Per-move times in milliseconds.

    Attributes
    ----------
    drawn : list[float]
        Key press to the end of the segment images' redraw (pixels written to the canvases).
    frame : list[float]
        Key press to the next animation frame after that redraw (the first frame showing it).
    kernel : list[float]
        The explorer's own update time in the kernel (``explorer.update_seconds``) per move.
    """

    drawn: list[float]
    frame: list[float]
    kernel: list[float]

    def row(self, label: str) -> str:
        """One Markdown table row: label, moves, medians and 90th percentiles."""

        def p90(values: list[float]) -> float:
            return sorted(values)[max(0, round(0.9 * len(values)) - 1)]

        return (
            f"| {label} | {len(self.frame)} | {statistics.median(self.frame):.0f} | "
            f"{p90(self.frame):.0f} | {statistics.median(self.drawn):.0f} | "
            f"{statistics.median(self.kernel):.0f} |"
        )


TABLE_HEADER = (
    "| dataset | moves | key to frame, median (ms) | p90 (ms) | key to drawn, median (ms) "
    "| kernel update, median (ms) |\n|---|---|---|---|---|---|"
)


def measure_inner_slider(page, moves: int = 30, name: str = "explorer") -> Latency:
    """Move the inner-radius slider ``moves`` times with PageUp and time each repaint.

    The page must show the explorer ``name`` of the current JupyterLab notebook (its kernel is
    used to place the inner radius so that every move stays below the outer radius).
    """
    step, outer, low = kernel_json(
        page, f"[{name}.inner.step, {name}.outer.value, {name}.inner.min]"
    )
    start = max(low, outer - (moves + 2) * PAGE_STEPS * step)
    kernel_json(page, f"setattr({name}.inner, 'value', {round(start, 9)}) or 0")
    wait_kernel_idle(page)
    page.wait_for_function(
        "(v) => Math.abs(Number(document.querySelector('div.dpc-view').dataset.inner) - v) < 1e-9",
        arg=round(start, 9),
    )
    page.locator("div.dpc-view").first.evaluate(_INSTRUMENT_JS)
    handle = page.locator(".dpc-ctl-inner .noUi-handle")
    handle.focus()
    kernel_ms = []
    for _ in range(moves):
        count = page.evaluate("() => window.__dpcLatency.samples.length")
        handle.press("PageUp")
        page.wait_for_function(
            "(n) => window.__dpcLatency.samples.length > n", arg=count, timeout=300_000
        )
        wait_kernel_idle(page)
        kernel_ms.append(1e3 * kernel_json(page, f"{name}.update_seconds"))
    samples = page.evaluate("() => window.__dpcLatency.samples")
    return Latency(
        drawn=[sample["drawn"] for sample in samples],
        frame=[sample["frame"] for sample in samples],
        kernel=kernel_ms,
    )
