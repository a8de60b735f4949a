"""Browser-side latency of the explorer against the Jupyter comm floor, hop by hop, and the frame
rate of a continuous drag.

The measurement notebook (:func:`write_latency_notebook`) shows the explorer and, in the same
page and kernel, the *floor*: a bare ``ipywidgets.IntSlider`` whose observer sets a ``Label``
(the cheapest widget round trip Jupyter can do on that machine). Both are moved by the same key
press (PageUp on the slider handle) and timed the same way, alternately, one move at a time
(the next press waits until the kernel is idle again, so moves never overlap and each is a
fresh computation: no value repeats, so the core's memo does not help).

Hops of one move (milliseconds since the epoch; the browser's ``performance.timeOrigin +
performance.now()`` and the kernel's ``time.time()`` read the same system clock):

======== ============================================================================
key      keydown on the slider handle (capture phase, before the slider sees it)
sent     the slider's comm message leaves the page (``WebSocket.send``)
received kernel: the observer runs (explorer: :class:`~dpc_widgets.widgets.trace.UpdateTrace`)
computed kernel: results computed and the view traits set (explorer only)
replied  kernel: the reply's comm message was sent (explorer: the view's; floor: the Label's)
arrived  that message reaches the page (the kernel socket's ``onmessage`` starts)
changed  the view saw its first trait change (explorer only; ``globalThis.__dpcTrace``)
drawn    the DOM shows it: segment canvases' ``data-checksum`` / the Label's text changed
frame    the next animation frame after that (``requestAnimationFrame``)
painted  the task after that frame's rendering (a ``MessageChannel`` message from the frame)
======== ============================================================================

Times are reported, never asserted.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path

import nbformat
from browser_helpers import kernel_json, wait_kernel_idle

#: The floor: the cheapest widget round trip (slider -> kernel observer -> Label -> page).
FLOOR_CELL = """import time as _time

import ipywidgets as _w

floor_slider = _w.IntSlider(0, min=0, max=100_000, description="floor")
floor_slider.add_class("dpc-floor-slider")
floor_label = _w.Label("0")
floor_label.add_class("dpc-floor-label")
floor_times = []


def _floor_changed(change):
    received = 1e3 * _time.time()
    floor_label.value = str(change["new"])
    floor_times.append({"received": received, "replied": 1e3 * _time.time()})


floor_slider.observe(_floor_changed, "value")
_w.HBox([floor_slider, floor_label])"""

#: The embedded simulated dataset (S).
SIM_CELL = """import dpc_widgets
from dpc_widgets.widgets import Explorer

cube = dpc_widgets.simulate().cube
explorer = Explorer(cube)
explorer.trace.enabled = True
explorer"""

#: The benchmark L cube (256 x 256 scan x 128 x 128 detector, uint16), memory-mapped read-only
#: from a .npy in ``{directory!r}`` (written there first, scan row by scan row).
#: A benchmark cube (``bench_cube`` of ``CubeSpec(name, shape, dtype)``, kept in ``directory``).
CUBE_CELL = """from pathlib import Path

from dpc_widgets import Datacube
from dpc_widgets.bench.cubes import CubeSpec, bench_cube
from dpc_widgets.widgets import Explorer

cube = Datacube(bench_cube(CubeSpec({name!r}, {shape!r}, {dtype!r}), Path({directory!r})))
explorer = Explorer(cube)
explorer.trace.enabled = True
explorer"""


def write_latency_notebook(path: Path, explorer_cell: str) -> None:
    """Write a notebook with :data:`FLOOR_CELL` and then ``explorer_cell`` (defines ``explorer``).

    The floor comes first, above the explorer, so that both sliders are on the screen at once
    (the explorer is taller than the harness's 2100 px viewport at its 1400 px width): a key
    press on a slider off the screen scrolls the notebook to it, and each scroll makes
    JupyterLab's content-visibility observer restyle the cell that left or entered the screen
    some 40 ms later, often in the frame that paints the explorer's images.
    """
    cells = [nbformat.v4.new_code_cell(FLOOR_CELL), nbformat.v4.new_code_cell(explorer_cell)]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, path)


_INSTRUMENT_JS = """
({ids}) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const monotonic = () => performance.timeOrigin + performance.now();
  const state = {move: null, done: [], frames: [], skew: 0, log: []};
  window.__dpcLatency = state;
  // The page's clock runs from a wall-clock reading at page load; the system clock (the
  // kernel's time.time(), Date.now() here) may be slewed since. Date.now() has whole ms: the
  // largest difference over 3 ms of readings is the offset within the 0.1 ms of performance.now.
  state.calibrate = () => {
    const until = monotonic() + 3;
    let skew = -Infinity;
    while (monotonic() < until) skew = Math.max(skew, Date.now() - monotonic());
    state.skew = skew;
    return skew;
  };
  const clock = () => monotonic() + state.skew;
  state.clock = clock;
  const first = (move, hop, t) => {
    if (move && move[hop] === undefined) move[hop] = t === undefined ? clock() : t;
  };
  document.addEventListener('keydown', () => first(state.move, 'key'), true);
  // Other slots of kernel.anyMessage run before this one: the socket's own send and message
  // handler are wrapped to time a message where it leaves and where the page first sees it.
  const wsSend = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    state.wire = clock();
    return wsSend.call(this, data);
  };
  const ws = kernel._ws;  // private: the kernel's socket (re-made only on a reconnect)
  const onMessage = ws.onmessage;
  ws.onmessage = (event) => {
    state.wire = clock();
    return onMessage.call(ws, event);
  };
  kernel.anyMessage.connect((_, {msg, direction}) => {
    const move = state.move;
    if (msg.header.msg_type !== 'comm_msg' && msg.header.msg_type !== 'status') return;
    const t = state.wire;
    const data = msg.content.data || {};
    const id = msg.content.comm_id;
    if (state.frames !== null) {
      state.log.push({direction, id, method: data.method || msg.content.execution_state || '',
                      keys: Object.keys(data.state || {}).join(','), t});
    }
    if (!move || msg.header.msg_type !== 'comm_msg') return;
    move.messages.push({direction, id, method: data.method || '',
                        keys: Object.keys(data.state || {}).join(','), t});
    const mine = ids[move.kind];
    if (direction === 'send' && id === mine.slider && move.sent === undefined) {
      move.sent = t;
      move.value = (data.state || {}).value;
    }
    // the reply to this move's value (not a late message of an earlier move): the view's
    // inner radius (the settings round it to 10 decimals) or the Label's text
    const reply = data.state || {};
    const answers = move.kind === 'explorer'
      ? Math.abs(Number(reply.inner) - move.value) < 1e-6
      : reply.value === String(move.value);
    if (direction === 'recv' && id === mine.reply && data.method === 'update'
        && move.sent !== undefined && answers) {
      first(move, 'arrived', t);
    }
  });
  globalThis.__dpcTrace = {
    mark: (hop) => {
      const move = state.move;
      if (move && move.kind === 'explorer' && move.arrived !== undefined) first(move, hop);
    },
  };
  const afterPaint = (done) => requestAnimationFrame(() => {
    const frame = clock();
    const channel = new MessageChannel();
    channel.port1.onmessage = () => done(frame, clock());
    channel.port2.postMessage(null);
  });
  const drawn = (kind) => () => {
    const t = clock();
    if (state.frames !== null) {
      afterPaint((frame, painted) => state.frames.push({kind, drawn: t, frame, painted}));
    }
    const move = state.move;
    if (!move || move.kind !== kind || move.arrived === undefined) return;
    if (kind === 'explorer' && move.exact === undefined && exactShown()) move.exact = t;
    if (move.drawn !== undefined) return;
    move.drawn = t;
    afterPaint((frame, painted) => {
      move.frame = frame;
      move.painted = painted;
      state.done.push(move);
    });
  };
  // every scan image at full resolution (a drag frame may be binned; resolution.py)
  const exactShown = () => [...document.querySelectorAll("div.dpc-view canvas.dpc-image[data-bin]")]
    .every((canvas) => canvas.dataset.bin === '1');
  const segments = document.querySelector("div.dpc-view [data-panel='segments']");
  new MutationObserver(drawn('explorer')).observe(segments, {
    attributes: true, attributeFilter: ['data-checksum'], subtree: true, childList: true});
  const label = document.querySelector('.dpc-floor-label');
  new MutationObserver(drawn('floor')).observe(label, {
    childList: true, characterData: true, subtree: true});
  state.frames = null;
}
"""

#: Hops of each kind of move, in order (see the module docstring).
HOPS = {
    "explorer": (
        "key",
        "sent",
        "received",
        "computed",
        "replied",
        "arrived",
        "changed",
        "drawn",
        "frame",
        "painted",
    ),
    "floor": ("key", "sent", "received", "replied", "arrived", "drawn", "frame", "painted"),
}

PAGE_STEPS = 5  # noUiSlider moves a handle by 5 steps on PageUp
QUIET_S = 0.5  # pause before each move: nothing of the previous one is still on its way


def _p90(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.9 * len(values)) - 1)]


@dataclasses.dataclass(frozen=True)
class Moves:
    """The hop timestamps of every move of one kind (``"explorer"`` or ``"floor"``).

    Attributes
    ----------
    kind : str
        ``"explorer"`` or ``"floor"``.
    hops : list[dict[str, float]]
        Per move, hop name (see :data:`HOPS`) -> ms since the epoch.
    messages : list[list[dict]]
        Per move, every comm message between the key press and the paint: direction,
        comm id, method, state keys and time.
    kernel_ms : list[float]
        Per move, the explorer's own update time (``explorer.update_seconds``; empty for the
        floor).
    """

    kind: str
    hops: list[dict[str, float]]
    messages: list[list[dict]]
    kernel_ms: list[float]

    def total(self) -> list[float]:
        """Key press to painted frame, ms, per move."""
        return [move["painted"] - move["key"] for move in self.hops]

    def exact(self) -> list[float]:
        """Key press to the first drawing of every scan image at full resolution, ms, per move
        (the explorer's; :attr:`total`'s frame itself when it was not binned)."""
        return [move["exact"] - move["key"] for move in self.hops]

    def steps(self) -> dict[str, list[float]]:
        """Per pair of consecutive hops ``"a -> b"``, the time between them, ms, per move."""
        names = HOPS[self.kind]
        return {
            f"{a} -> {b}": [move[b] - move[a] for move in self.hops]
            for a, b in zip(names, names[1:], strict=False)
        }

    def unordered(self, tolerance_ms: float = 0.0) -> list[str]:
        """Moves whose hops are out of order (beyond ``tolerance_ms`` where the kernel's and the
        browser's clocks meet); empty when all are in order."""
        kernel = {"received", "computed", "replied"}
        names = HOPS[self.kind]
        pairs = list(zip(names, names[1:], strict=False))
        # "replied" is read once the kernel's thread has handed the message to ipykernel's
        # IOPub thread, which may deliver it before that read: the page's "arrived" follows the
        # last kernel hop read before the send ("computed"; the floor's "received").
        before_send = names[names.index("replied") - 1]
        pairs = [(before_send, b) if b == "arrived" else (a, b) for a, b in pairs]
        problems = []
        for index, move in enumerate(self.hops):
            for a, b in pairs:
                slack = tolerance_ms if (a in kernel) != (b in kernel) else 0.0
                if a not in move or b not in move:
                    problems.append(f"move {index}: missing {a} or {b}")
                elif move[b] < move[a] - slack:
                    problems.append(f"move {index}: {b} {move[b] - move[a]:.2f} ms before {a}")
        return problems


def measure_against_floor(page, moves: int = 30, name: str = "explorer") -> dict[str, Moves]:
    """Move the explorer's inner-radius slider and the floor slider ``moves`` times each,
    alternately, with PageUp, and record every hop (see the module docstring).

    The page must show the notebook of :func:`write_latency_notebook` in JupyterLab or
    Notebook 7, its cells run; ``name`` is the explorer's variable. The inner radius is first
    placed so that every move stays below the outer radius, after the detector cache that the
    first view starts building in the background is done (else its update, which no control
    started, could be taken for a move's).
    """
    deadline = time.monotonic() + 600
    while kernel_json(page, f"{name}.building"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name}: the detector cache is still building after 600 s")
        time.sleep(0.5)
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
    ids = kernel_json(
        page,
        f"{{'explorer': {{'slider': {name}.inner.model_id, 'reply': {name}.view.model_id}},"
        " 'floor': {'slider': floor_slider.model_id, 'reply': floor_label.model_id}}",
    )
    page.evaluate(_INSTRUMENT_JS, {"ids": ids})
    handles = {
        "explorer": page.locator("div.dpc-explorer .dpc-ctl-inner .noUi-handle").first,
        "floor": page.locator(".dpc-floor-slider .noUi-handle").first,
    }
    # Both handles on the screen before the first press, so that no press scrolls the notebook
    # (see write_latency_notebook): the floor's cell is above the explorer's.
    handles["floor"].scroll_into_view_if_needed()
    handles["explorer"].scroll_into_view_if_needed()
    records = {
        "explorer": f"[{name}.trace.records[-1], {name}.update_seconds]",
        "floor": "[floor_times[-1], 0]",
    }
    out: dict[str, tuple[list, list, list]] = {kind: ([], [], []) for kind in handles}
    for index in range(2 * moves):
        kind = ("explorer", "floor")[index % 2]
        hops, messages, kernel_ms = out[kind]
        time.sleep(QUIET_S)  # the explorer's plots and status follow its images 0.25 s later
        wait_kernel_idle(page)
        count = page.evaluate(
            "(kind) => { const s = window.__dpcLatency; s.calibrate();"
            " s.move = {kind, messages: []}; return s.done.length; }",
            kind,
        )
        handles[kind].press("PageUp")
        page.wait_for_function(
            "(n) => window.__dpcLatency.done.length > n", arg=count, timeout=300_000
        )
        if kind == "explorer":  # a binned drag frame: its exact images follow the pause
            page.wait_for_function(
                "() => window.__dpcLatency.move.exact !== undefined", timeout=300_000
            )
        wait_kernel_idle(page)
        move = page.evaluate(
            "() => { const s = window.__dpcLatency; s.move = null; "
            "return s.done[s.done.length - 1]; }"
        )
        kernel, seconds = kernel_json(page, records[kind])
        messages.append(move.pop("messages"))
        hops.append({**move, **{hop: kernel[hop] for hop in HOPS[kind] if hop in kernel}})
        if kind == "explorer":
            kernel_ms.append(1e3 * seconds)
    return {kind: Moves(kind, *values) for kind, values in out.items()}


def against_floor_table(label: str, measured: dict[str, Moves]) -> list[str]:
    """Markdown rows: the floor, the explorer and the explorer over the floor (medians, p90)."""
    floor, ours = measured["floor"].total(), measured["explorer"].total()
    kernel = measured["explorer"].kernel_ms
    return [
        f"| {label} | {len(ours)} | {statistics.median(floor):.0f} | {_p90(floor):.0f} | "
        f"{statistics.median(ours):.0f} | {_p90(ours):.0f} | "
        f"+{statistics.median(ours) - statistics.median(floor):.0f} | "
        f"+{_p90(ours) - _p90(floor):.0f} | {statistics.median(kernel):.1f} | "
        f"{statistics.median(measured['explorer'].exact()):.0f} |"
    ]


FLOOR_HEADER = (
    "| dataset | moves | floor, median (ms) | floor p90 | explorer, median | explorer p90 "
    "| explorer - floor, median | p90 - p90 | kernel update, median (ms) "
    "| exact images drawn, median (ms) |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def hop_table(label: str, measured: dict[str, Moves]) -> list[str]:
    """Markdown table of the median time between consecutive hops, explorer beside floor."""
    rows = [
        f"| {label}: hop | explorer, median (ms) | p90 | floor, median (ms) |",
        "|---|---|---|---|",
    ]
    floor_steps = measured["floor"].steps()
    floor_steps["received -> replied"] = floor_steps.get("received -> replied", [])
    for hop, values in measured["explorer"].steps().items():
        if hop.startswith("received"):
            floor_value = floor_steps["received -> replied"]
            hop_floor = f"{statistics.median(floor_value):.1f} (received -> replied)"
        elif hop in floor_steps:
            hop_floor = f"{statistics.median(floor_steps[hop]):.1f}"
        elif hop == "arrived -> changed":
            hop_floor = f"{statistics.median(floor_steps['arrived -> drawn']):.1f} (-> drawn)"
        else:
            hop_floor = ""
        if hop == "computed -> replied":
            hop_floor = ""
        rows.append(
            f"| {hop} | {statistics.median(values):.1f} | {_p90(values):.1f} | {hop_floor} |"
        )
    total_ours, total_floor = measured["explorer"].total(), measured["floor"].total()
    rows.append(
        f"| key -> painted | {statistics.median(total_ours):.1f} | {_p90(total_ours):.1f} | "
        f"{statistics.median(total_floor):.1f} |"
    )
    return rows


# ----------------------------------------------------------------------- continuous drags
@dataclasses.dataclass(frozen=True)
class Drag:
    """Segment-image repaints during a continuous drag.

    Attributes
    ----------
    seconds : float
        Duration of the drag (first move to release), s.
    moves : int
        Pointer moves sent.
    frames : int
        Repaints of the segment images that painted between the first move and the release.
    final : dict[str, list[float]]
        After the release: [inner, outer] of the controls, of the result and drawn, once they
        agree (or when ``settle_s`` ran out).
    settle_s : float
        Seconds from the release until the controls, the result and the view agreed.
    echoes : int
        Messages the page sent for the explorer's sliders that the drag did not move (inner,
        outer, scan rotation): the browser answering values the kernel set.
    messages : list[dict]
        Every comm and status message of the page from the start of the drag until it
        settled: direction, comm id, method (or execution state), state keys and time.
    """

    seconds: float
    moves: int
    frames: int
    final: dict[str, list[float]]
    settle_s: float
    echoes: int
    messages: list[dict]

    @property
    def final_ok(self) -> bool:
        """The controls, the result and the drawn geometry agree on the last value."""
        control, result, drawn = (self.final[key] for key in ("control", "result", "drawn"))
        return all(
            abs(a - b) < 1e-9 and abs(a - c) < 1e-9
            for a, b, c in zip(control, result, drawn, strict=True)
        )

    @property
    def fps(self) -> float:
        """Repainted frames per second during the drag."""
        return self.frames / self.seconds


# Drives a drag from the page for ``ms``: "ring": a pointermove on the grabbed handle at every
# animation frame (as Chromium delivers a real mouse's moves), back and forth up to 12 CSS px
# outwards; "key": an auto-repeated ArrowRight keydown on the focused slider handle every 33 ms.
_DRIVE_JS = """
async ({target, selector, x, y, ms}) => {
  const s = window.__dpcLatency;
  const element = document.querySelector(selector);
  s.calibrate();
  s.frames = [];
  s.log = [];
  const begin = s.clock();
  let moves = 0;
  await new Promise((resolve) => {
    const step = () => {
      if (s.clock() - begin >= ms) { resolve(); return true; }
      moves += 1;
      if (target === 'ring') {
        const phase = (moves % 40) / 20;
        const dx = 12 * (phase <= 1 ? phase : 2 - phase) + 0.5 * (moves % 2);
        element.dispatchEvent(new PointerEvent('pointermove', {
          bubbles: true, pointerId: 1, pointerType: 'mouse', isPrimary: true, buttons: 1,
          clientX: x + dx, clientY: y}));
      } else {
        element.dispatchEvent(new KeyboardEvent('keydown', {
          bubbles: true, key: 'ArrowRight', code: 'ArrowRight', keyCode: 39, repeat: true}));
      }
      return false;
    };
    if (target === 'ring') {
      const frame = () => { if (!step()) requestAnimationFrame(frame); };
      requestAnimationFrame(frame);
    } else {
      const timer = setInterval(() => { if (step()) clearInterval(timer); }, 33);
    }
  });
  return {begin, end: s.clock(), moves};
}
"""


def measure_drag(page, target: str, *, seconds: float = 2.0, name: str = "explorer") -> Drag:
    """Drag continuously for ``seconds`` and count the segment-image repaints it shows.

    ``target``: ``"ring"``: the mouse grabs the inner ring's handle in the diffraction view
    and moves it back and forth by up to 12 CSS px outwards (inside the outer ring, so the
    detector cache always covers it), a move every animation frame;
    ``"key"``: the inner-radius slider's ArrowRight key held (auto-repeat: a keydown every
    33 ms, one slider step each); both start from half the outer radius; ``"floor-key"``: the
    same on the floor slider, counting the Label's repaints. The moves are dispatched by the
    page itself (see ``_DRIVE_JS``), so their rate does not depend on this process.
    :func:`measure_against_floor` must have instrumented the page. After the release, waits
    until the kernel is idle and the view has no request pending, then reads what the
    controls, the result and the view show.
    """
    if target in ("ring", "key"):  # from half the outer radius: far from it, within the cache
        half = kernel_json(
            page, f"round({name}.outer.value / 2 / {name}.inner.step) * {name}.inner.step"
        )
        kernel_json(page, f"setattr({name}.inner, 'value', {half}) or 0")
        _settle(page, name)
        time.sleep(QUIET_S)
    page.locator("div.dpc-view").first.scroll_into_view_if_needed()
    args = {"target": target, "ms": 1e3 * seconds, "x": 0.0, "y": 0.0}
    if target == "ring":
        args["selector"] = "div.dpc-view div.dpc-handle[data-ring='inner']"
        box = page.locator(args["selector"]).first.bounding_box()
        args["x"], args["y"] = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(args["x"], args["y"])
        page.mouse.down()
        driven = page.evaluate(_DRIVE_JS, args)
        page.mouse.up()
    elif target == "floor-key":
        args["selector"] = ".dpc-floor-slider .noUi-handle"
        page.locator(args["selector"]).first.focus()
        driven = page.evaluate(_DRIVE_JS, args)
    elif target == "key":
        args["selector"] = "div.dpc-explorer .dpc-ctl-inner .noUi-handle"
        page.locator(args["selector"]).first.focus()
        driven = page.evaluate(_DRIVE_JS, args)
    else:
        raise ValueError(f"unknown drag target {target!r}; expected 'ring', 'key' or 'floor-key'")
    begin, end, moves = driven["begin"], driven["end"], driven["moves"]
    released = time.monotonic()
    final = _settle(page, name)
    settle_s = time.monotonic() - released
    time.sleep(QUIET_S)
    frames = page.evaluate(
        "() => { const f = window.__dpcLatency.frames; window.__dpcLatency.frames = null;"
        " return f; }"
    )
    kind = "floor" if target == "floor-key" else "explorer"
    painted = [f for f in frames if f["kind"] == kind and begin <= f["painted"] <= end]
    sliders = kernel_json(
        page, f"[{name}.inner.model_id, {name}.outer.model_id, {name}.scan_rotation.model_id]"
    )
    if target == "key":
        sliders = sliders[1:]  # the inner slider's messages are the drag itself
    log = page.evaluate("() => window.__dpcLatency.log")
    echoes = sum(1 for m in log if m["direction"] == "send" and m["id"] in sliders)
    return Drag((end - begin) / 1e3, moves, len(painted), final, settle_s, echoes, log)


def _settle(page, name: str, timeout: float = 60.0) -> dict[str, list[float]]:
    """Poll until the explorer's controls, its result and the drawn view agree on [inner,
    outer] with no request pending and the kernel idle; return the last reading."""
    deadline = time.monotonic() + timeout
    while True:
        wait_kernel_idle(page)
        control, result = kernel_json(
            page,
            f"[[{name}.inner.value, {name}.outer.value],"
            f" [{name}.results.detector.inner, {name}.results.detector.outer]]",
        )
        drawn, pending = page.evaluate(
            "() => { const d = document.querySelector('div.dpc-view').dataset;"
            " return [[Number(d.inner), Number(d.outer)], d.pending]; }"
        )
        final = {"control": control, "result": result, "drawn": drawn}
        agree = all(
            abs(a - b) < 1e-9 and abs(a - c) < 1e-9
            for a, b, c in zip(control, result, drawn, strict=True)
        )
        if (agree and pending == "0") or time.monotonic() > deadline:
            return final
        time.sleep(0.1)
