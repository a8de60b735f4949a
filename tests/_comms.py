"""Widget comms without a kernel that behave alike under ipywidgets 7 and 8.

ipywidgets 8 gives a widget created outside a kernel a ``comm.DummyComm``: state changes and
custom messages still go through ``Widget._send`` (the tests capture them there) and are
dropped by the comm. ipywidgets 7.x gives it an ``ipykernel.comm.Comm`` whose ``kernel`` is
``None``, and then sends nothing at all: ``notify_change`` skips ``send_state`` and ``_send``
returns early. :func:`install_kernelless_comms` makes 7.x behave like 8: every new widget gets
a :class:`KernellessComm`, whose ``kernel`` is a stand-in (so the widget sends) and whose
``open``/``send``/``close`` drop the message, as ``DummyComm`` does. Under ipywidgets 8 it
changes nothing.
"""

from __future__ import annotations

from importlib.metadata import version


def ipywidgets_major() -> int:
    """The installed ipywidgets' major version (7 or 8)."""
    return int(version("ipywidgets").split(".")[0])


class _NoKernel:
    """Stands in for a kernel: a comm holding one counts as connected."""


def install_kernelless_comms() -> bool:
    """Under ipywidgets 7, give widgets created from now on a :class:`KernellessComm`.

    Returns
    -------
    bool
        True if ipywidgets 7 was patched, False under ipywidgets 8 (nothing to do).
    """
    if ipywidgets_major() >= 8:
        return False
    import ipywidgets.widgets.widget as widget_module
    from ipykernel.comm import Comm
    from traitlets import Any

    class KernellessComm(Comm):
        """An ``ipykernel`` comm that counts as connected and drops every message."""

        kernel = Any(_NoKernel())

        def open(self, data=None, metadata=None, buffers=None):
            self._closed = False

        def send(self, data=None, metadata=None, buffers=None):
            return None

        def close(self, data=None, metadata=None, buffers=None, deleting=False):
            self._closed = True

    widget_module.Comm = KernellessComm
    return True
