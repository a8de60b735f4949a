"""The explorer renders however it is displayed (:mod:`dpc_widgets.widgets.display`): the
widget view with Colab's metadata in Colab, under ipywidgets 7 (``_ipython_display_``) and 8
(``_repr_mimebundle_``), as a bare last line and through ``display()``; a PNG of the current
view (:mod:`dpc_widgets.widgets.snapshot`) and a line of text for front ends without widgets.

Runs in both environments: the main one (ipywidgets 8) and the Colab-like one (7.7.1).
"""

from __future__ import annotations

import base64
import io
import math
import sys
import types

import ipywidgets
import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image

import dpc_widgets
from dpc_widgets.detectors import pixel_geometry, segment_labels
from dpc_widgets.widgets import Explorer, display, render, snapshot

WIDGET = "application/vnd.jupyter.widget-view+json"
URL = (
    "https://ssl.gstatic.com/colaboratory-static/widgets/colab-cdn-widget-manager/x/manager.min.js"
)
IPYWIDGETS_7 = ipywidgets.__version__.startswith("7.")


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    return Explorer(dpc_widgets.simulate().cube, segments=4)


@pytest.fixture
def colab(monkeypatch) -> types.SimpleNamespace:
    """A stand-in ``google.colab.output``: enabling sets ``_widgets._installed_url``."""
    widgets = types.SimpleNamespace(_installed_url=None)
    calls: list[int] = []

    def enable_custom_widget_manager():
        calls.append(1)
        widgets._installed_url = URL

    output = types.ModuleType("google.colab.output")
    output._widgets = widgets
    output.enable_custom_widget_manager = enable_custom_widget_manager
    for name in ("google", "google.colab"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    return types.SimpleNamespace(widgets=widgets, calls=calls)


def png_of(data: dict) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGB"))


def test_bundle_has_the_widget_view_a_png_and_a_line_of_text(explorer):
    data, metadata = explorer._repr_mimebundle_()
    assert data[WIDGET] == {"version_major": 2, "version_minor": 0, "model_id": explorer.model_id}
    assert metadata == {}  # not in Colab
    text = data["text/plain"]
    assert "\n" not in text and "VBox" not in text
    assert "32x32 scan" in text and "widget" in text
    image = png_of(data)
    assert image.shape[2] == 3 and min(image.shape[:2]) > 2 * snapshot.PANEL


def test_include_and_exclude_leave_the_png_out(explorer):
    data, _ = explorer._repr_mimebundle_(exclude={"image/png"})
    assert "image/png" not in data and WIDGET in data
    data, _ = explorer._repr_mimebundle_(include={WIDGET, "text/plain"})
    assert "image/png" not in data


def test_colab_metadata_enables_the_custom_widget_manager_once(explorer, colab):
    expected = {WIDGET: {"colab": {"custom_widget_manager": {"url": URL}}}}
    for _ in range(2):
        _, metadata = explorer._repr_mimebundle_()
        assert metadata == expected
    assert colab.calls == [1]  # enabled by the first display, as anywidget does


def test_colab_without_a_manager_url_gets_no_metadata(colab, monkeypatch):
    monkeypatch.setattr(sys.modules["google.colab.output"], "enable_custom_widget_manager", None)
    assert display.colab_metadata() == {}


def test_snapshot_panels_are_the_pages_colour_maps_in_its_order(explorer):
    """Scan panels: the view's colour maps of the results, scaled 5x (32 -> 160 px) nearest."""
    result, clip = explorer.results, explorer.settings.clip
    image = png_of(explorer._repr_mimebundle_()[0])
    com = result.com_rotated
    expected = {
        "com_x": render.diverging(com[0], *render.clip_range(com[0], clip)),
        "com_y": render.diverging(com[1], *render.clip_range(com[1], clip)),
        "com_color": render.complex_hsv(com, render.magnitude_max(com, clip)),
        "phase": render.sequential(result.phase, *render.clip_range(result.phase, clip)),
    }
    scale = snapshot.PANEL // 32
    for k, rgba in expected.items():
        top, left = snapshot.panel_origin(k)
        panel = image[top : top + snapshot.PANEL, left : left + snapshot.PANEL]
        centres = panel[scale // 2 :: scale, scale // 2 :: scale]
        np.testing.assert_array_equal(centres, rgba[..., :3])


def test_snapshot_detector_panel_blends_the_segments_and_draws_the_rings(explorer):
    settings, cube = explorer.settings, explorer.dpc.cube
    mean = explorer.dpc.mean_pattern()
    figure = snapshot.detector_figure(mean, settings, explorer.dpc.origin, cube.detector_sampling)
    geometry = pixel_geometry(mean.shape, explorer.dpc.origin, cube.detector_sampling)
    labels = segment_labels(
        geometry.radius,
        geometry.angle,
        settings.inner,
        settings.outer,
        4,
        math.radians(settings.rotation),
    )
    gray = render.log_gray(mean, float(mean.max()))[..., 0].astype(float)
    i, j = np.argwhere(labels == 2)[0]
    colour = render.PALETTE[2].astype(float)
    np.testing.assert_array_equal(figure[i, j, :3], np.round(0.6 * gray[i, j] + 0.4 * colour))
    outside = labels < 0
    np.testing.assert_array_equal(figure[outside][:, 0], gray[outside])
    # the outer ring: white pixels on the panel at the outer radius right of the centre
    image = png_of(explorer._repr_mimebundle_()[0])
    top, left = snapshot.panel_origin("mean_pattern")
    scale = snapshot.PANEL / max(mean.shape)
    cx, cy = explorer.dpc.origin
    row = round(top + (cx + 0.5) * scale)
    column = left + (cy + 0.5) * scale + settings.outer / cube.detector_sampling * scale
    assert (image[row, round(column) - 1 : round(column) + 2] == 255).all(axis=1).any()


def test_snapshot_is_small(explorer):
    size = len(base64.b64decode(explorer._repr_mimebundle_()[0]["image/png"]))
    assert size < 60_000


def shell_outputs(code: str, namespace: dict) -> tuple[list, list]:
    """Run ``code`` in an IPython shell: (execute_result bundles, display_data bundles)."""
    shell = InteractiveShell.instance()
    results: list = []
    displays: list = []
    try:
        shell.user_ns.update(namespace)
        shell.displayhook.write_format_data = lambda data, md=None: results.append((data, md))
        shell.display_pub.publish = lambda data, metadata=None, **kw: displays.append(
            (data, metadata)
        )
        shell.run_cell(code, store_history=False)
    finally:
        InteractiveShell.clear_instance()
    return results, displays


def test_a_bare_last_line_carries_colabs_metadata(explorer, colab):
    """ipywidgets 8: an execute_result from _repr_mimebundle_; 7: a display_data from
    _ipython_display_. Either way the view, Colab's metadata, the PNG and our text."""
    results, displays = shell_outputs("explorer", {"explorer": explorer})
    assert len(results) + len(displays) == 1
    assert displays if IPYWIDGETS_7 else results, (results, displays)
    data, metadata = (displays or results)[0]
    assert data[WIDGET]["model_id"] == explorer.model_id
    assert metadata[WIDGET]["colab"]["custom_widget_manager"]["url"] == URL
    assert data["text/plain"].startswith("DPC explorer") and "image/png" in data


def test_display_carries_colabs_metadata(explorer, colab):
    code = "from IPython.display import display\ndisplay(explorer)"
    results, displays = shell_outputs(code, {"explorer": explorer})
    assert results == [] and len(displays) == 1
    data, metadata = displays[0]
    assert data[WIDGET]["model_id"] == explorer.model_id
    assert metadata[WIDGET]["colab"]["custom_widget_manager"]["url"] == URL


def test_a_closed_explorer_displays_no_widget_view():
    ex = Explorer(dpc_widgets.simulate().cube)
    ex.close()
    results, displays = shell_outputs("ex", {"ex": ex})
    assert all(WIDGET not in data for data, _ in results + displays)


def test_html_export_picks_the_png_without_widget_state_and_the_view_with_it(explorer):
    """nbconvert's choice of output (its HTML export's filter): a widget view whose state was
    not saved is skipped, so the PNG takes its place."""
    module = pytest.importorskip("nbconvert.filters.widgetsdatatypefilter")
    data, _ = explorer._repr_mimebundle_()
    priority = [WIDGET, "text/html", "image/svg+xml", "image/png", "text/plain"]  # HTMLExporter's
    without = module.WidgetsDataTypeFilter({"": {}}, display_data_priority=priority)
    assert without(data) == ["image/png"]
    state = {"state": {explorer.model_id: {}}}
    saved = {"": {"widgets": {"application/vnd.jupyter.widget-state+json": state}}}
    with_state = module.WidgetsDataTypeFilter(saved, display_data_priority=priority)
    assert with_state(data) == [WIDGET]


def test_snapshot_draws_the_pixelated_coms_region_in_cyan():
    cube = dpc_widgets.simulate().cube
    ex = Explorer(cube, com_source="pixelated", com_mask=True, com_inner=5.0, com_outer=30.0)
    image = png_of(ex._repr_mimebundle_()[0])
    top, left = snapshot.panel_origin("mean_pattern")
    panel = image[top : top + snapshot.PANEL, left : left + snapshot.PANEL]
    assert (panel == snapshot.MASK_RING).all(axis=2).sum() > 100
    ex.com_mask.value = False
    image = png_of(ex._repr_mimebundle_()[0])
    panel = image[top : top + snapshot.PANEL, left : left + snapshot.PANEL]
    assert not (panel == snapshot.MASK_RING).all(axis=2).any()
