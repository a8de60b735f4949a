"""Deferred explorer details run at the latest when the kernel's cell ends
(:func:`dpc_widgets._kernel.after_cell`), so a notebook executed headless and saved with its
widget state holds the plots, status line and code text, not only the images.

The kernel is a stand-in: a module ``IPython`` whose ``get_ipython()`` returns a shell with a
``kernel`` and IPython's real :class:`~IPython.core.events.EventManager`.
"""

from __future__ import annotations

import asyncio
import sys
import types

import pytest
from _loops import run_in_own_loop

from dpc_widgets._kernel import after_cell, in_kernel
from dpc_widgets.widgets.flow import Later

events_module = pytest.importorskip("IPython.core.events")


class FakeShell:
    """The parts of ipykernel's shell that :mod:`dpc_widgets._kernel` looks at."""

    def __init__(self) -> None:
        self.kernel = object()
        self.events = events_module.EventManager(self, events_module.available_events)

    def cell_ran(self) -> None:
        """What IPython does at the end of ``run_cell``."""
        self.events.trigger("post_run_cell", None)


@pytest.fixture
def shell(monkeypatch) -> FakeShell:
    fake = FakeShell()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: fake))
    return fake


def test_outside_a_kernel_nothing_is_registered(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    assert not in_kernel()
    assert after_cell(lambda: None) is False


def test_after_cell_runs_once_at_the_end_of_the_cell(shell):
    runs = []
    assert in_kernel()
    assert after_cell(lambda: runs.append(1)) is True
    assert runs == []
    shell.cell_ran()
    shell.cell_ran()
    assert runs == [1]
    assert shell.events.callbacks["post_run_cell"] == []


def test_a_deferred_later_runs_when_the_cell_ends_not_before(shell):
    async def scenario():
        runs = []
        later = Later(lambda: runs.append(len(runs)), delay=60.0, max_wait=60.0)
        later.request()
        later.request()  # one burst: one registration, one run
        seen = (list(runs), later.pending, len(shell.events.callbacks["post_run_cell"]))
        shell.cell_ran()
        after = (list(runs), later.pending)
        later.request()  # the next burst registers again
        shell.cell_ran()
        return seen, after, runs, later.pending

    seen, after, runs, pending = run_in_own_loop(scenario)
    assert seen == ([], True, 1)
    assert after == ([0], False)
    assert runs == [0, 1] and not pending
    assert shell.events.callbacks["post_run_cell"] == []


def test_a_cell_ending_with_nothing_pending_runs_nothing(shell):
    async def scenario():
        runs = []
        later = Later(lambda: runs.append(1), delay=0.01, max_wait=0.01)
        later.request()
        await asyncio.sleep(0.05)  # the deferred run came first
        shell.cell_ran()
        return runs

    assert run_in_own_loop(scenario) == [1]
