"""The explorer's update plumbing for a live feel: the images' message first, the rest later in a
kernel (:class:`~dpc_widgets.widgets.flow.Later`), slider values the browser does not echo
back, warnings logged once, and the opt-in hop timestamps (:mod:`dpc_widgets.widgets.trace`).
"""

from __future__ import annotations

import asyncio
import logging
import warnings

import ipywidgets as w
import pytest
from _loops import run_in_own_loop, run_on_own_thread

import dpc_widgets
from dpc_widgets.widgets import Explorer, flow
from dpc_widgets.widgets.controls import browser_value
from dpc_widgets.widgets.flow import Later
from dpc_widgets.widgets.snapping import nouislider_value
from dpc_widgets.widgets.trace import HOPS, UpdateTrace


def record_sends(monkeypatch) -> list[tuple[str, dict]]:
    """Every comm message any widget sends: (widget class name, message)."""
    sent: list[tuple[str, dict]] = []
    original = w.Widget._send

    def send(self, msg, buffers=None):
        sent.append((type(self).__name__, msg))
        return original(self, msg, buffers)

    monkeypatch.setattr(w.Widget, "_send", send)
    return sent


# ------------------------------------------------------------------- browser slider values
# What noUiSlider 15 (bundled by ipywidgets 8's JupyterLab manager) shows for a value set from
# Python: min, max, step, [(value, shown)]. Computed by node from noUiSlider's toStepping,
# getStep and fromStepping as that bundle has them (Math.round: halves up).
NOUISLIDER = [
    (0, 71.2, 0.1, [(20.5, 20.5), (7.04, 7), (19.96, 19.999999999999996), (0.05, 0.1),
                    (0.15, 0.2), (71.2, 71.2), (80, 71.2), (26.7, 26.699999999999996)]),
    (-180, 180, 0.1, [(-15.27, -15.300000000000011), (12.35, 12.400000000000006), (0.04, 0),
                      (-179.96, -180), (-15.25, -15.199999999999989), (33.0, 33.0)]),
    (0, 10, 0.1, [(2.5, 2.5), (2.45, 2.5), (9.95, 9.9)]),
]  # fmt: skip


@pytest.mark.parametrize(("low", "high", "step", "pairs"), NOUISLIDER)
def test_browser_value_is_what_the_browser_slider_shows(low, high, step, pairs):
    for value, shown in pairs:  # ipywidgets 7's jQuery UI slider: tests/test_snapping.py
        assert nouislider_value(low, high, step, value) == shown  # exactly: the browser uses !==
        assert nouislider_value(low, high, step, shown) == shown  # and keeps it (no echo)


# ------------------------------------------------------------------------------- Later
def test_later_runs_at_once_without_an_event_loop():
    def scenario():
        runs = []
        later = Later(lambda: runs.append(1), delay=10.0, max_wait=10.0, deferred=True)
        later.request()
        later.request()
        return runs, later.pending

    assert run_on_own_thread(scenario) == ([1, 1], False)


def test_later_waits_for_a_pause_and_at_most_max_wait():
    async def scenario():
        runs = []
        loop = asyncio.get_running_loop()
        later = Later(lambda: runs.append(loop.time()), delay=0.05, max_wait=0.2, deferred=True)
        start = loop.time()
        later.request()
        assert later.pending and runs == []
        await asyncio.sleep(0.02)
        later.request()  # within the delay: postponed, still one run
        await asyncio.sleep(0.1)
        assert len(runs) == 1 and runs[0] - start >= 0.069
        # a burst that never pauses for 0.05 s still runs by max_wait after its first request
        runs.clear()
        start = loop.time()
        for _ in range(20):
            later.request()
            await asyncio.sleep(0.02)
        assert len(runs) >= 1 and runs[0] - start < 0.2 + 0.05
        later.request()
        later.flush()  # runs the pending one now
        assert not later.pending
        return len(runs)

    assert run_in_own_loop(scenario) >= 2


def test_later_not_deferred_outside_a_kernel():
    runs = []

    async def scenario():
        later = Later(lambda: runs.append(1), delay=10.0, max_wait=10.0)  # not in a kernel
        later.request()
        assert runs == [1]

    run_in_own_loop(scenario)


# ------------------------------------------------------ the explorer in a kernel-like loop
def test_in_a_kernel_the_images_go_first_and_the_rest_follows_once(monkeypatch):
    monkeypatch.setattr(flow, "in_kernel", lambda: True)

    async def scenario():
        ex = Explorer(dpc_widgets.simulate().cube)
        await asyncio.sleep(0.5)  # the first update's details
        sent = record_sends(monkeypatch)
        status, code = ex.status.value, ex.code_text.value
        for _ in range(5):  # a drag: five updates in a row
            ex.inner.value = ex.inner.value + ex.inner.step
            assert ex.results.detector.inner == pytest.approx(ex.inner.value)
        kinds = [name for name, msg in sent if msg.get("method") == "update"]
        # the sliders set here and the view's messages, nothing of the plots, status or code
        assert set(kinds) == {"RadiusSlider", "ExplorerView"} and kinds.count("ExplorerView") == 5
        assert (ex.status.value, ex.code_text.value) == (status, code)
        await asyncio.sleep(0.5)
        later = [name for name, msg in sent[10:] if msg.get("method") == "update"]
        assert "ExplorerView" not in later and "Textarea" in later and "HTML" in later
        assert later.count("Textarea") == 1  # once for the whole burst
        assert f"{ex.results.detector.inner!r}" in ex.code_text.value
        assert ex.plots.radius_marks.x[0][0] == pytest.approx(ex.inner.value)
        # an error meanwhile is not overwritten by a pending "ok"
        ex.inner.value = ex.inner.value + ex.inner.step
        ex.segments.value = 1  # segmented DPC with one segment: bad geometry
        assert "dpc-status-error" in ex.status.value
        await asyncio.sleep(0.5)
        assert "dpc-status-error" in ex.status.value

    run_in_own_loop(scenario)


def test_turning_auto_rotation_off_starts_from_the_last_solved_angle(monkeypatch):
    monkeypatch.setattr(flow, "in_kernel", lambda: True)

    async def scenario():
        ex = Explorer(dpc_widgets.simulate(rotation=-15).cube)
        await asyncio.sleep(0.5)
        ex.inner.value = ex.inner.value + 10 * ex.inner.step  # its details are still pending
        solved = ex.results.angle_deg
        ex.auto_rotation.value = False  # flushes them: the manual controls take the angle
        assert ex.scan_rotation.value == pytest.approx(solved, abs=0.05)
        assert ex.results.angle_deg == pytest.approx(ex.scan_rotation.value)

    run_in_own_loop(scenario)


def test_ring_drag_sets_slider_values_the_browser_keeps():
    ex = Explorer(dpc_widgets.simulate().cube)
    drag = {"type": "geometry", "seq": 1, "inner": 7.04, "outer": 19.96}
    ex.view._on_custom_msg(ex.view, drag, [])
    for slider in (ex.inner, ex.outer):
        assert browser_value(slider, slider.value) == slider.value


def test_a_warning_is_logged_once_while_it_persists(caplog):
    ex = Explorer(dpc_widgets.simulate().cube)
    with caplog.at_level(logging.WARNING, logger="dpc_widgets.widgets"):
        for k in range(4):  # beyond the detector edge on every update
            ex.outer.value = 70.0 + k
    assert caplog.text.count("beyond the detector edge") == 1
    assert "beyond the detector edge" in ex.status.value  # the status line says it each time
    ex.outer.value = 30.0  # gone
    with caplog.at_level(logging.WARNING, logger="dpc_widgets.widgets"):
        ex.outer.value = 75.5  # back (a value not computed before): logged again
    assert caplog.text.count("beyond the detector edge") == 2


def test_an_unclosed_file_collected_during_an_update_is_not_its_warning(monkeypatch, caplog):
    ex = Explorer(dpc_widgets.simulate().cube)
    run = ex.dpc.run

    def run_collecting_garbage(*args, **kwargs):
        warnings.warn("unclosed file <_io.TextIOWrapper name=64>", ResourceWarning, stacklevel=1)
        return run(*args, **kwargs)

    monkeypatch.setattr(ex.dpc, "run", run_collecting_garbage)
    with caplog.at_level(logging.WARNING, logger="dpc_widgets.widgets"):
        ex.inner.value = ex.inner.value + ex.inner.step
    assert ex.results.detector.inner == pytest.approx(ex.inner.value)
    assert "dpc-status-ok" in ex.status.value and "unclosed" not in ex.status.value
    assert "unclosed" not in caplog.text


# ------------------------------------------------------------------------------- trace
def test_trace_is_off_by_default_and_records_ordered_hops():
    ex = Explorer(dpc_widgets.simulate().cube)
    assert not ex.trace.enabled
    ex.inner.value = ex.inner.value + ex.inner.step
    assert len(ex.trace.records) == 0
    ex.trace.enabled = True
    ex.inner.value = ex.inner.value + ex.inner.step
    ex.inner.value = ex.inner.value  # no change: no update, nothing recorded
    ex.segments.value = 6
    assert len(ex.trace.records) == 2
    for record in ex.trace.records:
        assert list(record) == list(HOPS)
        times = [record[hop] for hop in HOPS]
        assert times == sorted(times)


def test_trace_drops_updates_that_showed_nothing():
    trace = UpdateTrace(size=2)
    trace.mark("received")
    trace.close(keep=False)
    assert len(trace.records) == 0  # disabled: nothing at all
    trace.enabled = True
    trace.mark("received")
    trace.close(keep=False)
    for _ in range(3):
        trace.mark("received")
        trace.mark("received")  # the first time counts
        trace.close(keep=True)
    assert len(trace.records) == 2 and all(list(r) == ["received"] for r in trace.records)


def test_a_failing_plot_goes_to_the_status_line(monkeypatch, caplog):
    ex = Explorer(dpc_widgets.simulate().cube)

    def broken(*args, **kwargs):
        raise ValueError("no plot today")

    monkeypatch.setattr(ex.plots, "show_histogram", broken)
    with caplog.at_level(logging.WARNING, logger="dpc_widgets.widgets"):
        ex.inner.value = ex.inner.value + ex.inner.step
    assert "showing the plots failed: ValueError: no plot today" in ex.status.value
    assert ex.results.detector.inner == pytest.approx(ex.inner.value)  # the images are shown
