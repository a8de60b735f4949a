"""Optional dependencies: the ``[cluster]`` extra (``dask.distributed``) and the ``[live]``
extra (LiberTEM-live's detector receivers).

``distributed`` is not installed with ``pip install dpc-widgets``: a classroom (Colab) install
needs no cluster, Colab's CPU image does not ship it, and its exact ``dask==`` pin can make pip
replace the ``dask`` a runtime already has. Everything that needs it imports it through
:func:`import_distributed`, which names the extra when it is missing. No package imports.
"""

from __future__ import annotations

import importlib
from types import ModuleType

CLUSTER_INSTALL = 'pip install "dpc-widgets[cluster]"'
"""The command that installs the cluster extra."""


class ClusterExtraError(ImportError):
    """A Dask cluster was asked for without ``distributed`` (the ``[cluster]`` extra)."""


def import_distributed(needed_by: str) -> ModuleType:
    """The :mod:`distributed` module, or a :class:`ClusterExtraError` naming the extra.

    Parameters
    ----------
    needed_by : str
        What asked for it (e.g. ``"dpc-widgets process --workers"``), named in the error.

    Returns
    -------
    module
        :mod:`distributed`.

    Raises
    ------
    ClusterExtraError
        If :mod:`distributed` cannot be imported; the message says ``needed_by`` needs it and
        gives :data:`CLUSTER_INSTALL`.
    """
    try:
        return importlib.import_module("distributed")
    except ImportError as err:
        raise ClusterExtraError(
            f"{needed_by} needs dask.distributed, which dpc-widgets does not install by "
            f"default: {CLUSTER_INSTALL}",
            name="distributed",
        ) from err


LIVE_INSTALL = 'pip install "dpc-widgets[live]"'
"""The command that installs the live-acquisition extra."""


class LiveExtraError(ImportError):
    """A detector connection was asked for without its receiver (the ``[live]`` extra)."""


def import_receiver(module: str, needed_by: str) -> ModuleType:
    """A LiberTEM-live receiver module (``libertem_qd_mpx``, ``libertem_dectris``), or a
    :class:`LiveExtraError` naming the extra.

    Parameters
    ----------
    module : str
        The receiver's module name.
    needed_by : str
        What asked for it (e.g. ``"dpc_widgets.live.connect('merlin')"``), named in the error.

    Raises
    ------
    LiveExtraError
        If the module cannot be imported; the message gives :data:`LIVE_INSTALL`.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise LiveExtraError(
            f"{needed_by} needs {module} (LiberTEM-live's receiver), which dpc-widgets does not "
            f"install by default: {LIVE_INSTALL}",
            name=module,
        ) from err
