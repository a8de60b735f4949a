"""Whether this process is a Jupyter (IPython) kernel, and the end of its running cell, without
importing IPython."""

from __future__ import annotations

import sys
from collections.abc import Callable


def _kernel_shell():
    """The kernel's IPython shell, or None outside a kernel."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def in_kernel() -> bool:
    """True inside a Jupyter (IPython) kernel, whose event loop handles the widgets' messages.

    A kernel has imported IPython before any user code runs, so IPython is only looked up in
    ``sys.modules``, never imported here.
    """
    return _kernel_shell() is not None


def after_cell(callback: Callable[[], None]) -> bool:
    """Call ``callback()`` once, when the kernel's current (or next) cell has run, still inside
    its execution (IPython's ``post_run_cell`` event): what it sends belongs to that cell, so a
    notebook run headless and saved with its widget state (nbclient, nbconvert, docs builders)
    keeps it. Returns False (nothing registered) outside a kernel.
    """
    shell = _kernel_shell()
    events = getattr(shell, "events", None)
    if events is None:
        return False

    def once(*_result) -> None:
        events.unregister("post_run_cell", once)
        callback()

    events.register("post_run_cell", once)
    return True
