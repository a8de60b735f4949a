"""The widget JavaScript that VS Code (and the classic Notebook) load from the environment.

VS Code's Jupyter extension renders a third-party widget with the module the kernel's
environment installs as ``<prefix>/share/jupyter/nbextensions/<module>/index.js`` (a CDN only
when ``jupyter.widgetScriptSources`` allows one). For every widget module the explorer uses
(anywidget, bqplot and, with bqplot 0.13, bqscales) that file must be there after install, be
the very file the installed Python package put there (its RECORD hash), and carry a JavaScript
version inside the range the Python models ask for (``_model_module_version``). What VS Code
then does with it cannot be run here (see the README's front-end section).
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
from importlib.metadata import distribution
from pathlib import Path

import ipywidgets as w
import pytest

import dpc_widgets
from dpc_widgets.widgets import Explorer

pytestmark = pytest.mark.colab_env  # meaningful in both environments

NBEXTENSIONS = Path(sys.prefix) / "share" / "jupyter" / "nbextensions"

# Where each module's bundle states its own version.
JS_VERSION = {
    "anywidget": re.compile(r'var version = "(\d+\.\d+\.\d+)";'),
    "bqplot": re.compile(r'\{version:"(\d+\.\d+\.\d+)"\}'),
    "bqscales": re.compile(r'"name":"bqscales","version":"(\d+\.\d+\.\d+)"'),
}


def _widgets(root: w.Widget):
    """``root`` and every widget reachable through its traits (children, marks, scales...)."""
    seen: dict[int, w.Widget] = {}
    stack = [root]
    while stack:
        widget = stack.pop()
        if id(widget) in seen:
            continue
        seen[id(widget)] = widget
        for name in widget.keys:
            value = getattr(widget, name, None)
            items = list(value) if isinstance(value, list | tuple) else [value]
            items += list(value.values()) if isinstance(value, dict) else []
            stack += [item for item in items if isinstance(item, w.Widget)]
    return seen.values()


def _modules() -> dict[str, set[str]]:
    """Third-party model module -> the ``_model_module_version`` ranges the explorer's widgets
    ask for."""
    explorer = Explorer(dpc_widgets.simulate().cube)
    modules: dict[str, set[str]] = {}
    for widget in _widgets(explorer):
        if not widget._model_module.startswith("@jupyter-widgets/"):
            modules.setdefault(widget._model_module, set()).add(widget._model_module_version)
    return modules


def _satisfies(version: str, spec: str) -> bool:
    """npm semver for the ranges these packages use: ``^a.b[.c]``, ``~a.b.*``, ``~a.b.c``,
    ``a.b.c`` (0.x carets pin the minor, as npm's do)."""
    have = tuple(int(part) for part in version.split("."))
    op, rest = (spec[0], spec[1:]) if spec[0] in "^~" else ("", spec)
    parts = [int(part) for part in rest.split(".") if part not in ("*", "x")]
    want = tuple(parts + [0] * (3 - len(parts)))
    if op == "":
        return have == want
    fixed = 2 if op == "~" or (op == "^" and want[0] == 0) else 1  # leading parts that must match
    return have[:fixed] == want[:fixed] and have >= want


def test_satisfies_reads_the_ranges_as_npm_does():
    assert _satisfies("0.9.21", "~0.9.*") and not _satisfies("0.10.0", "~0.9.*")
    assert _satisfies("0.5.48", "^0.5") and not _satisfies("0.6.1", "^0.5")
    assert _satisfies("0.6.1", "^0.6.1") and not _satisfies("0.6.0", "^0.6.1")
    assert _satisfies("1.4.0", "^1.2") and not _satisfies("2.0.0", "^1.2")


def _recorded_hash(package: str, path: Path) -> str | None:
    """The sha256 (RECORD's urlsafe base64) with which ``package``'s install wrote ``path``."""
    dist = distribution(package)
    for entry in dist.files or []:
        if Path(dist.locate_file(entry)).resolve() == path.resolve() and entry.hash:
            return entry.hash.value
    return None


@pytest.fixture(scope="module")
def modules() -> dict[str, set[str]]:
    return _modules()


def test_the_explorer_uses_anywidget_and_bqplot(modules):
    assert {"anywidget", "bqplot"} <= set(modules)
    assert set(modules) <= set(JS_VERSION), f"a module without a version pattern: {modules}"


@pytest.mark.parametrize("module", sorted(JS_VERSION))
def test_nbextension_module_is_installed_and_matches(module, modules):
    if module not in modules:
        pytest.skip(f"the explorer's widgets do not use {module} with this bqplot")
    path = NBEXTENSIONS / module / "index.js"
    assert path.is_file(), f"{path} missing: VS Code would need a CDN for {module}"
    data = path.read_bytes()
    assert len(data) > 10_000, f"{path} is {len(data)} bytes"
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    assert _recorded_hash(module, path) == digest, f"{path} is not the installed {module}'s"
    found = JS_VERSION[module].findall(data.decode("utf-8", errors="replace"))
    assert len(set(found)) == 1, f"{module}: versions {found} in {path}"
    for spec in modules[module]:
        assert _satisfies(found[0], spec), f"{module} JS {found[0]} outside {spec}"
