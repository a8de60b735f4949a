"""Numba kernels made ready without holding up the work that answers meanwhile.

Kernels come in groups, each a module of ``@njit(cache=True)`` functions with a
``warm_calls(dtype)`` list of tiny calls typed exactly like the real ones: :data:`GROUPS`,
``"stream"`` (the streaming pass, needed for the first image) before ``"cache"`` (the detector
cache). The first :func:`kernels_ready` call for a dtype starts one background thread that

1. starts a separate Python process (it imports only numpy, numba and the kernel modules)
   which runs the groups' tiny calls in order: each kernel loads from numba's disk cache or
   compiles and writes it there; the child reports each group done. The first group runs at
   normal priority (it is awaited), the others at the lowest (``nice 19``: only CPU time left
   idle);
2. meanwhile imports numba here and loads every kernel of the groups from numba's disk cache,
   never compiling (each group is *settled* then: ready, or known to be missing);
3. loads each missing group from the disk cache as soon as the child reports it.

Compiling takes seconds per dtype and holds the interpreter lock of the process doing it; in
the child it never competes for this process's lock. Importing numba and loading a kernel from
the disk cache takes about half a second of mostly interpreter time here, during which the
callers are better off waiting than competing for it (:func:`wait_until_settled`). If the child
cannot run or the disk cache cannot be written, the thread compiles the kernels itself (the
fallback). Every path ends with the same compiled code, so results are identical whichever way
the kernels became ready.

A warm-up that is still importing numba when the interpreter exits stops silently (numba then
cannot register its exit hooks: "can't register atexit after shutdown"); ``dpc-widgets info``
starts none (:func:`not_started`).

In a Jupyter kernel ``import dpc_widgets`` starts this ahead of any data
(:func:`warm_up_ahead`, for :data:`AHEAD_DTYPES`), so that numba's start-up passes while the
next cell is written; ``DPC_WIDGETS_WARM_UP=0`` turns that off.

The cache lookup mirrors the first steps of numba's ``Dispatcher.compile`` (its ``_cache`` and
``targetctx``); on a numba whose internals differ, the lookup counts as a miss.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import numpy as np

logger = logging.getLogger("dpc_widgets.core")

#: Kernel groups in the order they are made ready: name -> module file (in this package).
GROUPS = {"stream": "_stream_kernels.py", "cache": "_kernels.py"}
#: The group made ready last: once it is, a dtype's warm-up is done.
GROUPS_LAST = list(GROUPS)[-1]
#: Cache dtypes :func:`warm_up_ahead` prepares by default: the usual detector counts and floats.
AHEAD_DTYPES = ("uint16", "float32")

_lock = threading.Lock()
_ready: dict[tuple[str, str], threading.Event] = {}
_settled: dict[tuple[str, str], threading.Event] = {}
#: How each (group, dtype) became ready: "disk cache", "child process" or "this process".
ready_how: dict[tuple[str, str], str] = {}
#: When each (group, dtype) became ready, ``time.perf_counter()`` seconds (for benchmarks).
ready_at: dict[tuple[str, str], float] = {}
#: False inside :func:`not_started`: no new warm-up starts (the NumPy paths answer).
_enabled = True
#: Set when the interpreter exits (atexit): a warm-up still importing numba then stops
#: silently (numba cannot register its own exit hooks any more).
_stopping = threading.Event()
atexit.register(_stopping.set)


@contextmanager
def not_started() -> Iterator[None]:
    """No warm-up starts inside this block (:func:`kernels_ready` stays False for dtypes not
    started before: the NumPy paths answer, bit-identical).

    For short-lived work such as ``dpc-widgets info``, which computes nothing with the kernels
    and would otherwise exit while the background thread is still importing numba.
    """
    global _enabled
    before, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = before


def numba_installed() -> bool:
    """True when numba can be imported (found without importing it: that takes 0.1-0.3 s)."""
    return importlib.util.find_spec("numba") is not None


def kernels_ready(group: str, dtype: np.dtype) -> bool:
    """True when the numba kernels of ``group`` for data of ``dtype`` are ready in this process.

    The first call for a dtype starts the background warm-up of every group (see the module
    docstring) and returns False. False for good without numba or when compiling fails.

    Raises
    ------
    ValueError
        For an unknown ``group``.
    """
    event = _start(group, dtype)
    return event is not None and event.is_set()


def wait_for_kernels(group: str, dtype: np.dtype, timeout: float | None = None) -> bool:
    """Block until :func:`kernels_ready` (started here if needed); False on timeout or failure."""
    event = _start(group, dtype)
    return bool(event is not None and event.wait(timeout))


def wait_until_settled(group: str, dtype: np.dtype, timeout: float | None = None) -> bool:
    """Block until the kernels of ``group`` are ready or known not to be in the disk cache
    (then they compile in the child for seconds); returns :func:`kernels_ready`."""
    if _start(group, dtype) is not None:
        _settled[(group, np.dtype(dtype).str)].wait(timeout)
    return kernels_ready(group, dtype)


def warm_up_ahead(dtypes: Sequence[str | np.dtype] = AHEAD_DTYPES) -> threading.Thread | None:
    """Make the kernels for ``dtypes`` ready in the background, one dtype after the other,
    before any data asks for them.

    What ``import dpc_widgets`` does in a Jupyter kernel (see :mod:`dpc_widgets`): numba's
    start-up (about 0.9 s of interpreter time here, 2-3 s more with an empty disk cache, as on
    a fresh Colab runtime) then passes while the user writes the next cell, instead of before
    the first image. Data of another dtype starts its own warm-up when it is first used, as
    always. Returns the thread, or None without numba or with ``DPC_WIDGETS_WARM_UP=0``.
    """
    if os.environ.get("DPC_WIDGETS_WARM_UP", "1") == "0" or not numba_installed():
        return None

    def run() -> None:
        for index, dtype in enumerate(dtypes):  # after the first, only CPU time left idle
            event = _start(GROUPS_LAST, np.dtype(dtype), nice_from=1 if index == 0 else 0)
            if event is not None:
                event.wait()

    thread = threading.Thread(target=run, name="dpc-numba-ahead", daemon=True)
    thread.start()
    return thread


def kernel_module(group: str) -> ModuleType:
    """The kernel module of ``group`` (imports numba)."""
    from . import _kernels, _stream_kernels

    return {"stream": _stream_kernels, "cache": _kernels}[group]


def _start(group: str, dtype: np.dtype, nice_from: int = 1) -> threading.Event | None:
    """The ready event of ``group`` for ``dtype``, starting the warm-up on first use (its
    child process compiles the groups from number ``nice_from`` on at the lowest priority)."""
    if group not in GROUPS:
        raise ValueError(f"unknown kernel group {group!r}; known: {sorted(GROUPS)}")
    if not numba_installed() or np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize < 4:
        return None  # numba has no float16: the NumPy paths answer (bit-identical)
    dtype = np.dtype(dtype)
    with _lock:
        if (group, dtype.str) not in _ready:
            if not _enabled:
                return None
            for name in GROUPS:
                _ready[(name, dtype.str)] = threading.Event()
                _settled[(name, dtype.str)] = threading.Event()
            thread = threading.Thread(
                target=_warm_up,
                args=(dtype, nice_from),
                name="dpc-numba-warm-up",
                daemon=True,
            )
            thread.start()
        return _ready[(group, dtype.str)]


def _warm_up(dtype: np.dtype, nice_from: int) -> None:
    """The background thread: child process and disk cache at once, then the fallback."""
    key = dtype.str
    try:
        child = _start_child(dtype, nice_from)
        missing = []
        for group in GROUPS:  # each group ready as soon as it is loaded
            if _load_group(group, dtype):
                _set_ready(group, key, "disk cache")
            else:
                missing.append(group)
            _settled[(group, key)].set()
        for group in _reports(child):
            if group in missing and _load_group(group, dtype):
                _set_ready(group, key, "child process")
                missing.remove(group)
        for group in missing:  # the fallback: compile here
            for kernel, args in kernel_module(group).warm_calls(dtype):
                kernel(*args)
            _set_ready(group, key, "this process")
    except Exception:
        if _stopping.is_set() or sys.is_finalizing():  # the interpreter exits: nothing failed
            logger.debug("numba warm-up stopped by the interpreter's exit", exc_info=True)
        else:  # numba broken on this machine: stay on NumPy
            logger.exception("numba kernels failed to compile")
    finally:
        for group in GROUPS:
            _settled[(group, key)].set()


def _set_ready(group: str, key: str, how: str) -> None:
    ready_how[(group, key)] = how
    ready_at[(group, key)] = time.perf_counter()
    _ready[(group, key)].set()


def _load_group(group: str, dtype: np.dtype) -> bool:
    """Load every kernel of ``group`` for ``dtype`` from numba's disk cache; never compile.

    True when all of them were there (each then runs once on its tiny call).
    """
    calls = kernel_module(group).warm_calls(dtype)
    if not all(_load_cached(kernel, args) for kernel, args in calls):
        return False
    for kernel, args in calls:
        kernel(*args)
    return True


def _load_cached(kernel, args: tuple) -> bool:
    """Add ``kernel``'s overload for ``args`` from numba's disk cache (numba's own lookup)."""
    try:
        signature = tuple(kernel.typeof_pyval(a) for a in args)
        if signature in kernel.overloads:
            return True
        result = kernel._cache.load_overload(signature, kernel.targetctx)
        if result is None:
            return False
        kernel.targetctx.insert_user_function(result.entry_point, result.fndesc, [result.library])
        kernel.add_overload(result)
    except Exception:  # noqa: BLE001 - another numba version: compile instead
        logger.debug("numba disk-cache lookup failed", exc_info=True)
        return False
    return True


_CHILD = """
import importlib.util, os, sys
import numpy as np
dtype, nice_from = np.dtype(sys.argv[1]), int(sys.argv[2])
for index, (group, name, path) in enumerate(zip(sys.argv[3::3], sys.argv[4::3], sys.argv[5::3])):
    if index == nice_from and hasattr(os, "nice"):
        os.nice(19)  # groups before nice_from are awaited; the rest take only idle CPU time
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its real name: numba's cache refers to the module by it
    spec.loader.exec_module(module)
    for kernel, args in module.warm_calls(dtype):
        kernel(*args)
    print(group, flush=True)
"""


def _start_child(dtype: np.dtype, nice_from: int = 1) -> subprocess.Popen | None:
    """The child process compiling (or loading) every group for ``dtype``; None if it cannot
    start."""
    if not sys.executable:
        return None
    here = Path(__file__).resolve().parent
    argv = [sys.executable, "-c", _CHILD, dtype.str, str(nice_from)]
    for group, module in GROUPS.items():
        argv += [group, f"{__package__}.{module[:-3]}", str(here / module)]
    try:
        return subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ)
        )
    except OSError:
        logger.debug("cannot start the numba compile process", exc_info=True)
        return None


def _reports(child: subprocess.Popen | None):
    """Each group the child reports done, as it does (reads its output to the end)."""
    if child is None or child.stdout is None:
        return
    with child.stdout:  # closed when read to the end (else a ResourceWarning at its collection)
        for line in child.stdout:  # group names, or messages (numba's warnings, a traceback)
            if line.strip() in GROUPS:
                yield line.strip()
            else:
                logger.debug("numba compile process: %s", line.rstrip())
    if child.wait() != 0:
        logger.debug("numba compile process failed with exit status %s", child.returncode)
