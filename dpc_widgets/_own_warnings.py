"""The package's own warnings, told apart from everybody else's (no package imports).

The explorer's status line and logger, ``dpc-widgets process`` and ``dpc-widgets info``
report the warnings raised while they compute. Only two kinds are theirs to report:

- warnings raised by this package's code (the frame that called :func:`warnings.warn` is in a
  ``dpc_widgets`` module, whatever ``stacklevel`` it passed), but not those meant for
  developers (:data:`DEVELOPER`: deprecations, which C code such as NumPy's raises in the
  frame of its Python caller, and ``ResourceWarning``);
- numerical ``RuntimeWarning`` s (overflow, invalid value, mean of an empty slice, ...) raised
  by NumPy or SciPy code, or by a NumPy operation in this package's code.

Everything else raised meanwhile (e.g. jupyter_client's ``datetime.utcnow()``
DeprecationWarning on every comm message under Python 3.12+, a library's FutureWarning, a
``ResourceWarning`` from collecting some unclosed file) is *re-emitted* when the block ends
with :func:`warnings.warn_explicit`, with the module name and warning registry of the code
that raised it: the user's warning filters decide, exactly as if nobody had caught it (the
default filters hide DeprecationWarnings outside ``__main__``, so nothing reaches a notebook).

:func:`warnings.catch_warnings` swaps process-wide state, so a block is meant for one thread at
a time (the explorer updates on the kernel's main thread; the background cache build records
nothing). A warning another thread raises during a block is sorted by the same rules.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

#: Module-name prefixes whose warnings are the package's own.
OWN = ("dpc_widgets",)
#: Module-name prefixes whose RuntimeWarnings are numerical results of our computation.
NUMERIC = ("numpy", "scipy")
#: Modules of the warnings machinery itself (skipped to find the code that warned).
_MACHINERY = ("warnings", "_py_warnings")


@dataclass
class Collected:
    """What a :func:`collect` block recorded.

    Attributes
    ----------
    notes : list of str
        Texts of the package's own and numerical warnings, each once, in the order raised.
    foreign : int
        Number of other warnings handed back to the warning filters when the block ended.
    """

    notes: list[str] = field(default_factory=list)
    foreign: int = 0


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _module_of(frame: FrameType | None) -> str:
    return "" if frame is None else str(frame.f_globals.get("__name__", ""))


#: Warnings for developers, never a note for the user: deprecations (e.g. one NumPy's C code
#: raises while our code calls it), imports, and the collection of some unclosed file.
DEVELOPER = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, ImportWarning)


def is_own(module: str, category: type[Warning]) -> bool:
    """Whether a warning of ``category`` raised by code of ``module`` is ours to report."""
    if issubclass(category, (*DEVELOPER, ResourceWarning)):
        return False
    if _within(module, OWN):
        return True
    return issubclass(category, RuntimeWarning) and _within(module, NUMERIC)


@contextmanager
def collect() -> Iterator[Collected]:
    """Record the package's own and numerical warnings raised in the block (see the module
    docstring); re-emit every other one to the normal warning machinery when it ends.

    Each own warning is recorded every time it is raised (``"always"``), so a repeated
    computation reports it again; :attr:`Collected.notes` keeps each text once.

    Yields
    ------
    Collected
        Filled while the block runs.
    """
    collected = Collected()
    foreign: list[dict[str, Any]] = []

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ARG001
        frame = inspect.currentframe()
        frame = frame.f_back if frame is not None else None
        while frame is not None and _module_of(frame) in _MACHINERY:
            frame = frame.f_back
        if is_own(_module_of(frame), category):
            text = str(message)
            if text not in collected.notes:
                collected.notes.append(text)
            return
        # the frame stacklevel pointed at: its module and registry, as warnings.warn uses them
        while frame is not None and not (
            frame.f_code.co_filename == filename and frame.f_lineno == lineno
        ):
            frame = frame.f_back
        context: dict[str, Any] = {}
        if frame is not None:
            module_globals = frame.f_globals
            context = {
                "module": module_globals.get("__name__"),
                "registry": module_globals.setdefault("__warningregistry__", {}),
            }
            # for the source line; Python 3.13 refuses globals without a loader (e.g. __main__)
            if getattr(module_globals.get("__spec__"), "loader", None) is not None:
                context["module_globals"] = module_globals
        foreign.append(
            {
                "message": message,
                "category": category,
                "filename": filename,
                "lineno": lineno,
                **context,
            }
        )

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = show
            yield collected
    finally:
        collected.foreign = len(foreign)
        for item in foreign:  # the user's filters decide now (an "error" filter raises here)
            if _first_time(item):
                _re_emit(item)


def _re_emit(item: dict[str, Any]) -> None:
    """:func:`warnings.warn_explicit` of a recorded warning (a warning turned into an error by
    the user's filters propagates; a module whose globals Python refuses loses its source line)."""
    try:
        warnings.warn_explicit(**item)
    except (ValueError, TypeError):
        if "module_globals" not in item:
            raise
        warnings.warn_explicit(**{k: v for k, v in item.items() if k != "module_globals"})


#: What "default", "module" and "once" filters have let through once (see _first_time);
#: forgotten beyond _SHOWN_MAX entries (texts with changing numbers would grow it forever).
_SHOWN: set[tuple] = set()
_SHOWN_MAX = 10_000


def _first_time(item: dict[str, Any]) -> bool:
    """False for a warning a "default", "module" or "once" filter has already let through.

    Entering and leaving :func:`warnings.catch_warnings` resets every module's registry of the
    warnings shown, so this module keeps its own: a foreign warning raised in every update is
    shown as often as without us (under Python's default filters a UserWarning once per
    location), not once per update. The first matching filter gives the action, as in
    :func:`warnings.warn_explicit`.
    """
    text = str(item["message"])
    category = item["category"]
    module = item.get("module") or str(item["filename"]).removesuffix(".py")
    action = warnings.defaultaction
    for act, message, kind, mod, line in warnings.filters:
        if (
            _matches(message, text)
            and issubclass(category, kind)
            and _matches(mod, module)
            and (line == 0 or item["lineno"] == line)
        ):
            action = act
            break
    keys = {
        "default": (text, category, module, item["lineno"]),
        "module": (text, category, module),
        "once": (text, category),
    }
    if action not in keys:
        return True
    key = (action, *keys[action])
    if key in _SHOWN:
        return False
    if len(_SHOWN) >= _SHOWN_MAX:
        _SHOWN.clear()
    _SHOWN.add(key)
    return True


def _matches(pattern: Any, text: str) -> bool:
    """A filter's message or module pattern: None matches all, a compiled regex from its
    start, a plain string (filters some code inserts directly) only exactly (as CPython)."""
    if pattern is None:
        return True
    if isinstance(pattern, str):
        return pattern == text
    return pattern.match(text) is not None
