"""Modules imported on first use: ``h5py = lazy_import("h5py")`` costs nothing until used."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    """The module ``name``, whose code runs on its first attribute access.

    ``import dpc_widgets`` and loading a ``.npy`` file thus never import, say, h5py or
    scipy.sparse (a tenth of a second each); an already imported module is returned as is.
    Uses :class:`importlib.util.LazyLoader`.

    Raises
    ------
    ModuleNotFoundError
        If ``name`` is not installed.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
