"""Whether this process is a Jupyter (IPython) kernel, without importing IPython."""

from __future__ import annotations

import sys


def in_kernel() -> bool:
    """True inside a Jupyter (IPython) kernel, whose event loop handles the widgets' messages.

    A kernel has imported IPython before any user code runs, so IPython is only looked up in
    ``sys.modules``, never imported here.
    """
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return shell is not None and getattr(shell, "kernel", None) is not None
