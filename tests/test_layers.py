"""The layers of docs/design.md, imported one way only: a module imports nothing from a layer
above its own (lazy imports inside functions included). The package root (``__version__``,
the public names) is not a layer: Python imports it before any module anyway."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dpc_widgets"

#: Layer of each top-level name under dpc_widgets (docs/design.md, "Layers").
LAYERS = {
    "_kernel": 0,
    "_own_warnings": 0,
    "_extras": 0,
    "_lazy": 0,
    "backend": 0,
    "physics": 0,
    "io": 1,
    "detectors": 2,
    "simulate": 2,
    "core": 3,
    "live": 4,
    "widgets": 5,
    "figures": 5,
    "summary": 5,
    "batch": 6,
    "cli": 6,
    "cluster": 6,
    "bench": 6,
    "__main__": 6,
}
_ROOT = {"__init__", "__version__"}


def _top(module: Path) -> str:
    parts = module.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _imported(module: Path) -> set[str]:
    """Top-level dpc_widgets names ``module`` imports (relative or absolute)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    package = module.relative_to(PACKAGE).with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
                if target:
                    names.add(target[0])
                else:  # from . import x (in the package root)
                    names.update(alias.name for alias in node.names)
            elif node.module and node.module.split(".")[0] == "dpc_widgets":
                parts = node.module.split(".")
                names.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "dpc_widgets":
                    names.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and str(arg.value).startswith("."):
                names.add(str(arg.value).lstrip(".").split(".")[0] or "__init__")
    return names


def test_every_module_imports_only_its_own_layer_and_those_below():
    wrong = []
    for module in sorted(PACKAGE.rglob("*.py")):
        if module == PACKAGE / "__init__.py":
            continue
        own = LAYERS[_top(module)]
        for name in _imported(module) - _ROOT:
            layer = LAYERS.get(name)
            if layer is None:
                wrong.append(f"{module.relative_to(PACKAGE)} imports unknown {name}")
            elif layer > own:
                wrong.append(
                    f"{module.relative_to(PACKAGE)} (layer {own}) imports {name} ({layer})"
                )
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_relative_and_lazy_imports(tmp_path):
    assert "core" in _imported(PACKAGE / "widgets" / "explorer.py")
    assert "io" in _imported(PACKAGE / "core" / "growing.py")
