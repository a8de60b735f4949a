"""ipywidgets 7.7 / 8.x differences (dpc_widgets/widgets/compat.py), under the installed one."""

from __future__ import annotations

import warnings

import ipywidgets as w
import pytest
from _comms import ipywidgets_major

from dpc_widgets.widgets.compat import IPYWIDGETS_MAJOR, set_tooltip, tooltip_name

TEXT = "pixelated CoM over the mask's annulus only; unticked: every pixel"


def test_major_version_is_the_installed_one():
    assert IPYWIDGETS_MAJOR == ipywidgets_major() == int(w.__version__.split(".")[0])
    assert IPYWIDGETS_MAJOR in (7, 8)


@pytest.mark.parametrize(("major", "key"), [(7, "description_tooltip"), (8, "tooltip")])
def test_description_tooltip_trait(major, key):
    assert tooltip_name(w.Checkbox(description="CoM mask"), major) == key


def test_checkbox_tooltip_is_shown_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 7.x warns on an unknown keyword; 8.x on the old name
        box = w.Checkbox(description="CoM mask")
        set_tooltip(box, TEXT)
    key = "tooltip" if IPYWIDGETS_MAJOR >= 8 else "description_tooltip"
    assert getattr(box, key) == TEXT
    assert box.get_state()[key] == TEXT  # synced: the front end draws it


def test_explorer_mask_checkbox_carries_its_tooltip():
    import dpc_widgets as dw

    explorer = dw.Explorer(dw.simulate(scan_shape=(8, 8), detector_shape=(32, 32)).cube)
    key = "tooltip" if IPYWIDGETS_MAJOR >= 8 else "description_tooltip"
    assert getattr(explorer.controls.com_mask, key) == TEXT


def test_state_changes_and_custom_messages_reach_send_without_a_kernel():
    """The tests' capture (replacing ``_send``) sees what a kernel would send, under 7 and 8.

    ipywidgets 7 sends nothing when no kernel is attached; tests/_comms.py (installed by
    conftest) gives every widget a comm that counts as connected, as ipywidgets 8's DummyComm.
    """
    slider = w.IntSlider()
    sent = []
    slider._send = lambda msg, buffers=None: sent.append(msg)
    slider.value = 3
    slider.send({"type": "ping"})
    assert {"method": "update", "state": {"value": 3}, "buffer_paths": []} in sent
    assert {"method": "custom", "content": {"type": "ping"}} in sent
