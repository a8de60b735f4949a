"""Checks of what the DPC explorer drew in the browser against what Python computed.

The DOM hooks are those of ``dpc_widgets/widgets`` (``div.dpc-view``, ``canvas.dpc-image`` with
``data-checksum``, ``.dpc-ctl-<name>`` controls). The expected pixels come from an explorer's
current :class:`~dpc_widgets.core.DPCResult` and view traits, coloured with
:mod:`dpc_widgets.widgets.render` (the colour maps the JS mirrors, within one level of the
map: :func:`tolerance`).

Where the explorer lives:

- JupyterLab and Notebook 7: in the notebook's kernel; :func:`kernel_source` runs
  ``EXPECTED_CODE`` there.
- Voila: its kernel accepts comm messages only, so :func:`local_source` runs the notebook's code
  in the test process (no kernel; ipywidgets models work without one) and applies the same
  control changes to that twin. The computation is deterministic, so checksums must agree.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np
from browser_helpers import (
    kernel_exec,
    kernel_json,
    lab_cell_errors,
    lab_run_all,
    open_lab_notebook,
)

from dpc_widgets.widgets import render

# Defines _dpc_expected(explorer): per panel, the checksum of the bytes the view received for it
# (16-bit codes, or float32; see dpc_widgets.widgets.encoding) and the RGBA pixels it must show,
# coloured from the float results (so the +-1 tolerance also covers the codes' rounding), plus
# the state of the explorer's controls, result and view.
EXPECTED_CODE = """
import base64 as _b64
import numpy as _np
from dpc_widgets.widgets import render as _render


def _dpc_expected(ex):
    r, v = ex.results, ex.view

    def enc(rgba):
        return _b64.b64encode(_np.ascontiguousarray(rgba, dtype=_np.uint8).tobytes()).decode()

    def cs(data, k=0, count=1):  # checksum of image k of count in a trait's bytes
        if len(data) % count:  # the view holds another number of images than the result
            return f"{len(data)} bytes for {count} images"
        return _render.fnv1a(_np.frombuffer(data, dtype=_np.uint8).reshape(count, -1)[k].tobytes())

    mean = ex.dpc.mean_pattern()
    com = r.com_rotated
    canvases = {
        "detector-image": (
            cs(v.pattern),
            enc(_render.pattern_gray(mean, v.pattern_vmax, v.pattern_scale, v.pattern_gamma)),
        ),
        "detector-segments": (None, enc(_render.segment_rgba(r.detector.labels(ex.dpc.cube)))),
        "com-x-image": (cs(v.com, 0, 2), enc(_render.diverging(com[0], *v.com_ranges[0]))),
        "com-y-image": (cs(v.com, 1, 2), enc(_render.diverging(com[1], *v.com_ranges[1]))),
        "com-color-image": (cs(v.com), enc(_render.complex_hsv(com, v.com_vmax))),
        "phase-image": (cs(v.phase), enc(_render.sequential(r.phase, *v.phase_range))),
    }
    count = len(r.segment_images)
    for k, (image, limits) in enumerate(zip(r.segment_images, v.segment_ranges)):
        canvases[f"segment-image-{k}"] = (
            cs(v.segment_images, k, count),
            enc(_render.sequential(image, *limits)),
        )
    return {
        "controls": {name: getattr(ex, name).value for name in ("inner", "outer", "segments")},
        "view": {"inner": v.inner, "outer": v.outer, "segments": v.segments},
        "result": {
            "inner": r.detector.inner,
            "outer": r.detector.outer,
            "segments": r.detector.n_segments,
        },
        "canvases": canvases,
        "building": bool(getattr(ex, "building", False)),
        "status": ex.status.value,
    }
"""

# Reads every image canvas of the first explorer view: checksum attribute and RGBA pixels.
_READ_VIEW_JS = """
(root) => {
  const encode = (bytes) => {
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  };
  const canvases = {};
  for (const canvas of root.querySelectorAll('canvas.dpc-image, canvas.dpc-segments')) {
    const ctx = canvas.getContext('2d');
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    canvases[canvas.dataset.testid] = {
      checksum: canvas.dataset.checksum || null,
      width: canvas.width,
      height: canvas.height,
      rgba: encode(new Uint8Array(data.buffer)),
    };
  }
  return {attrs: Object.assign({}, root.dataset), canvases};
}
"""


@dataclasses.dataclass(frozen=True)
class ViewState:
    """One snapshot: the view's data attributes and, per canvas test id, (checksum, RGBA)."""

    attrs: dict
    canvases: dict[str, tuple[str | None, np.ndarray]]


def _decode(text: str, shape: tuple[int, int]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8).reshape(*shape, 4)


Source = Callable[[], dict]


def kernel_source(page, name: str = "explorer") -> Source:
    """Expected state from the explorer ``name`` in the notebook's kernel (JupyterLab or
    Notebook 7)."""
    kernel_exec(page, EXPECTED_CODE)
    kind = kernel_json(page, f"type({name}).__name__")
    assert kind == "Explorer", f"kernel variable {name!r} is a {kind}, not an Explorer"
    return lambda: kernel_json(page, f"_dpc_expected({name})")


def run_notebook_locally(path: Path) -> dict:
    """Execute a notebook's code cells in a fresh namespace of this process and return it.

    Each cell is first transformed as IPython does (the Colab setup cell's ``%pip`` line becomes
    a ``get_ipython()`` call, which runs only in Colab).
    """
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    namespace: dict = {"__name__": "__notebook__"}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            source = transform(cell.source)
            exec(compile(source, f"{path.name}:{cell.id}", "exec"), namespace)
    exec(compile(EXPECTED_CODE, "EXPECTED_CODE", "exec"), namespace)
    return namespace


def local_source(namespace: dict, name: str = "explorer") -> Source:
    """Expected state from the explorer ``name`` of :func:`run_notebook_locally`'s namespace."""
    explorer = namespace[name]
    expected = namespace["_dpc_expected"]
    return lambda: json.loads(json.dumps(expected(explorer)))


def drawn_state(page) -> ViewState:
    """What the browser shows now (first ``div.dpc-view`` on the page)."""
    raw = page.locator("div.dpc-view").first.evaluate(_READ_VIEW_JS)
    canvases = {
        key: (value["checksum"], _decode(value["rgba"], (value["height"], value["width"])))
        for key, value in raw["canvases"].items()
    }
    return ViewState(attrs=raw["attrs"], canvases=canvases)


def expected_state(source: Source) -> tuple[dict, ViewState]:
    """The controls, result geometry and view traits, and the canvases they imply."""
    raw = source()
    canvases = {}
    for key, (checksum, rgba) in raw["canvases"].items():
        pixels = np.frombuffer(base64.b64decode(rgba), dtype=np.uint8)
        canvases[key] = (checksum, pixels)
    return raw, ViewState(attrs=raw["view"], canvases=canvases)


def _step(lut: np.ndarray) -> int:
    """Largest change of a channel between neighbouring levels of a colour table."""
    return max(1, int(np.abs(np.diff(lut.astype(np.int16), axis=0)).max()))


def tolerance(key: str) -> int:
    """Per-channel tolerance of canvas ``key``: one level of its colour map (the codes'
    rounding moves a level by at most one: 1 for grey, the table's largest step for the
    sequential and diverging maps)."""
    if key in ("com-x-image", "com-y-image"):
        return _step(render.DIVERGING_LUT)
    if key == "phase-image" or key.startswith("segment-image-"):
        return _step(render.SEQUENTIAL_LUT)
    return 1


def _pixel_mismatch(drawn: np.ndarray, expected_flat: np.ndarray, tol: int = 1) -> int:
    """Number of pixels differing by more than ``tol`` in some channel (shape mismatch: all)."""
    if drawn.size != expected_flat.size:
        return drawn.shape[0] * drawn.shape[1] or 1
    diff = np.abs(drawn.reshape(-1, 4).astype(np.int16) - expected_flat.reshape(-1, 4))
    return int(np.count_nonzero(diff.max(axis=1) > tol))


def compare(drawn: ViewState, expected: ViewState) -> list[str]:
    """Human-readable differences between the drawn and the expected canvases (empty: match)."""
    problems = []
    missing = sorted(set(expected.canvases) - set(drawn.canvases))
    extra = sorted(
        key
        for key in set(drawn.canvases) - set(expected.canvases)
        if key.startswith("segment-image-")
    )
    if missing or extra:
        problems.append(f"canvases missing {missing}, unexpected {extra}")
    for key, (checksum, pixels) in expected.canvases.items():
        if key not in drawn.canvases:
            continue
        drawn_checksum, drawn_pixels = drawn.canvases[key]
        if checksum is not None and drawn_checksum != checksum:
            problems.append(f"{key}: checksum {drawn_checksum} != kernel {checksum}")
            continue
        bad = _pixel_mismatch(drawn_pixels, pixels, tolerance(key))
        if bad:
            problems.append(
                f"{key}: {bad} of {drawn_pixels.shape[:2]} pixels differ by > {tolerance(key)}"
            )
    return problems


def _settled(raw: dict, drawn: ViewState) -> list[str]:
    """Differences between the controls, the computed result, the view traits and the DOM."""
    problems = ["the kernel is still building a detector cache"] if raw.get("building") else []
    for key in ("inner", "outer", "segments"):
        values = {
            "control": raw["controls"][key],
            "result": raw["result"][key],
            "view trait": raw["view"][key],
            "drawn": float(drawn.attrs.get(key, "nan")),
        }
        if max(values.values()) - min(values.values()) > 1e-9 or any(
            value != value for value in values.values()
        ):
            problems.append(f"{key} differs: {values}")
    return problems


def wait_views_match(page, source: Source, *, timeout: float = 60.0, until=None):
    """Poll until the browser shows exactly what the kernel computed; return both states.

    Settled means: the controls, the geometry of the current result, the view's traits and the
    view's ``data-*`` attributes agree, and every canvas matches the kernel (checksums and
    pixels). ``until(raw)``, if given, must also hold for the kernel's state ``raw`` (e.g. a
    control reached its new value). Raises AssertionError with the last differences on timeout.
    """
    deadline = time.monotonic() + timeout
    problems: list[str] = ["never compared"]
    raw: dict = {}
    while time.monotonic() < deadline:
        raw, expected = expected_state(source)
        if until is None or until(raw):
            drawn = drawn_state(page)
            problems = _settled(raw, drawn) or compare(drawn, expected)
            if not problems:
                return raw, drawn
        else:
            problems = [f"kernel state not reached yet: {raw['controls']}"]
        time.sleep(0.25)
    status = raw.get("status", "")
    raise AssertionError(
        f"browser view does not match the kernel (status {status!r}):\n" + "\n".join(problems)
    )


# ---------------------------------------------------------------- driving the explorer
def press(page, selector: str, key: str, times: int) -> None:
    """Focus ``selector`` (e.g. a slider's ``.noUi-handle``) and press ``key`` ``times`` times."""
    handle = page.locator(selector)
    handle.focus()
    for _ in range(times):
        handle.press(key)


def drag(page, selector: str, dx: float, dy: float, *, steps: int = 10, offset=(0, 0)) -> None:
    """Drag with the mouse from the centre of ``selector`` (plus ``offset``) by (dx, dy) CSS px."""
    box = page.locator(selector).bounding_box()
    x = box["x"] + box["width"] / 2 + offset[0]
    y = box["y"] + box["height"] / 2 + offset[1]
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=steps)
    page.mouse.up()


def repainted(before: ViewState, after: ViewState, prefix: str = "segment-image-") -> list[str]:
    """Canvases (test ids starting with ``prefix``) whose checksum and pixels both changed."""
    changed = []
    for key, (checksum, pixels) in after.canvases.items():
        if key.startswith(prefix) and key in before.canvases:
            old_checksum, old_pixels = before.canvases[key]
            if checksum != old_checksum and (pixels != old_pixels).any():
                changed.append(key)
    return changed


# ------------------------- steps shared by the JupyterLab, Notebook 7 and classic Notebook tests
#: The slider handle that takes the keyboard: ipywidgets 8's noUiSlider; ipywidgets 7 (the
#: classic Notebook, Colab) draws a jQuery UI slider, whose handle is ``.ui-slider-handle``.
NOUI_HANDLE = ".noUi-handle"
JQUERY_UI_HANDLE = ".ui-slider-handle"


def explorer_shown(page) -> tuple[Source, dict, ViewState]:
    """Wait until the explorer's view exists and shows what the kernel computed (after the
    notebook's cells ran in JupyterLab, Notebook 7 or the classic Notebook).

    Returns the kernel source and the first matching (kernel state, drawn state).
    """
    page.locator("div.dpc-view canvas[data-testid='phase-image']").wait_for()
    page.locator("div.dpc-view").scroll_into_view_if_needed()
    source = kernel_source(page)
    raw, drawn = wait_views_match(page, source)
    return source, raw, drawn


def open_explorer(page, server, name: str) -> tuple[Source, dict, ViewState]:
    """Open notebook ``name`` in ``server`` (JupyterLab or Notebook 7), run all its cells without
    error and wait until the explorer shows what the kernel computed (:func:`explorer_shown`).
    """
    open_lab_notebook(page, server, name)
    assert lab_run_all(page), f"run all failed: {lab_cell_errors(page)}"
    assert lab_cell_errors(page) == []
    return explorer_shown(page)


def inner_by_keyboard(
    page,
    source: Source,
    before: dict,
    key: str = "ArrowRight",
    presses: int = 10,
    steps: int = 1,
    handle: str = NOUI_HANDLE,
):
    """Press ``key`` ``presses`` times on the inner-radius slider's ``handle``, ``steps`` slider
    steps each (noUiSlider: 1 for an arrow key, 5 for PageUp; jQuery UI: 1 for an arrow key),
    and wait until the view matches the kernel with the new radius.

    ``before`` is the kernel state before; returns (kernel state, drawn state, target radius).
    """
    step = kernel_json(page, "explorer.inner.step")
    target = round(before["controls"]["inner"] + presses * steps * step, 9)
    press(page, f".dpc-ctl-inner {handle}", key, presses)
    raw, drawn = wait_views_match(
        page, source, until=lambda state: abs(state["controls"]["inner"] - target) < 1e-6
    )
    return raw, drawn, target


def drag_outer_ring(page, source: Source, before: dict, dx: float = 20):
    """Drag the outer ring's handle ``dx`` CSS px outwards (it sits right of the centre) and wait
    until the view matches the kernel with the radius grown by that much (+-2 px).

    ``before`` is the kernel state before; returns (kernel state, drawn state).
    """
    drag(page, "div.dpc-view div.dpc-handle[data-ring='outer']", dx, 0)
    scale = kernel_json(
        page,
        "explorer.view.panel_size / max(explorer.view.detector_shape)"
        " / explorer.view.detector_sampling",
    )  # CSS px per detector unit
    old_outer = before["controls"]["outer"]
    expected = old_outer + dx / scale
    raw, drawn = wait_views_match(
        page,
        source,
        until=lambda state: (
            abs(state["controls"]["outer"] - expected) < 2 / scale
            and state["controls"]["outer"] > old_outer
        ),
    )
    page.wait_for_function("() => document.querySelector('div.dpc-view').dataset.pending === '0'")
    return raw, drawn


_WATCH_BINS_JS = """
() => {
  const seen = window.__dpcBins = [];
  const segments = document.querySelector("div.dpc-view [data-panel='segments']");
  new MutationObserver(() => {
    const canvas = segments.querySelector("canvas[data-index='0']");
    seen.push([canvas.dataset.bin, canvas.width, canvas.style.width]);
  }).observe(segments, {attributes: true, subtree: true, attributeFilter: ['data-checksum']});
}
"""


def binned_drag_frames(page, source: Source, before: dict, panel_size: int = 28):
    """Shrink the view's panels to ``panel_size`` CSS px so that its segment tiles are smaller
    than the scan, press ArrowRight three times on the inner-radius slider and wait until the
    view matches the kernel (the exact frame, once the updates pause).

    Returns (kernel state, drawn state, the segment tile's [data-bin, canvas width, CSS width]
    at each redraw since the first press).
    """
    kernel_json(page, f"setattr(explorer.view, 'panel_size', {panel_size}) or 0")
    page.wait_for_function(
        "(s) => document.querySelector('div.dpc-view').dataset.version > 0"
        " && Math.abs(parseFloat(document.querySelector(\"[data-testid='phase-image']\")"
        ".style.width) - s) < 1",
        arg=panel_size,
    )
    page.evaluate(_WATCH_BINS_JS)
    raw, drawn, _ = inner_by_keyboard(page, source, before, presses=3)
    return raw, drawn, page.evaluate("() => window.__dpcBins")
