"""The explorer notebook saved with widget state and exported to HTML (nbconvert's html-manager,
which docs sites and VS Code's renderer build on) shows the explorer's last images, offline.

The notebook runs headless (nbclient, ``store_widget_state=True``), nbconvert's ``HTMLExporter``
writes the page as it would for a user (default template and CDN URLs), and headless Chromium
opens the file with every request beyond the file and 127.0.0.1 aborted: the widget JavaScript
the page asks the CDNs for is answered from the local environment (:mod:`offline_cdn`). The
canvases must show what the notebook computed (a twin run in the test process; the computation
is deterministic), checksums and every pixel, as in the other browser tests.

It runs in both environments: ipywidgets 8 (model versions 2.x) and the Colab-like one with
ipywidgets 7.7.1 (controls 1.5.0, anywidget 0.9, bqplot 0.12), both through the one html-manager
nbconvert asks for (``@*``, 1.0.15 pinned in ``js/package.json``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
from browser_helpers import server_env
from explorer_checks import local_source, run_notebook_locally, wait_views_match
from offline_cdn import NBEXTENSIONS, NODE_MODULES, LocalCdn, missing

nbclient = pytest.importorskip("nbclient")
nbconvert = pytest.importorskip("nbconvert")

pytestmark = [pytest.mark.browser, pytest.mark.colab_env]

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# The export's MathJax (cdnjs); the notebook has no maths, so nothing is lost when it is blocked.
KNOWN_EXTERNAL = ("https://cdnjs.cloudflare.com/ajax/libs/mathjax/",)


def _execute_and_export(notebook: Path, workdir: Path) -> tuple[Path, dict, dict[str, float]]:
    """Run ``notebook`` storing its widget state, export it to HTML in ``workdir``.

    Returns the HTML file, the stored widget state and the seconds each step took.
    """
    node = nbformat.read(notebook, as_version=4)
    times = {}
    start = time.perf_counter()
    client = nbclient.NotebookClient(
        node,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        store_widget_state=True,
    )
    client.execute(env=server_env({}))  # the kernel imports this checkout's dpc_widgets
    times["execute"] = time.perf_counter() - start
    start = time.perf_counter()
    body, _ = nbconvert.HTMLExporter().from_notebook_node(node)
    times["export"] = time.perf_counter() - start
    path = workdir / f"{notebook.stem}.html"
    path.write_text(body, encoding="utf-8")
    return path, node.metadata.widgets[WIDGET_STATE], times


def test_exported_html_shows_the_explorer_offline(
    page, browser_context, network_guard, notebook_dir, fresh_notebook, tmp_path, shoot, report
):
    if absent := missing():
        pytest.skip(f"run `npm ci` in js/ first: {', '.join(map(str, absent))} missing")
    cdn = LocalCdn()
    cdn.install(browser_context)
    notebook = notebook_dir / fresh_notebook("02_explorer.ipynb", "html")
    html, state, times = _execute_and_export(notebook, tmp_path)
    models = state["state"].values()
    explorer_views = [m for m in models if m["model_name"] == "AnyModel" and "buffers" in m]
    assert len(explorer_views) == 1  # the view's images are in the saved state
    assert {b["path"][0] for b in explorer_views[0]["buffers"]} >= {"pattern", "phase", "com"}
    twin = run_notebook_locally(notebook)

    start = time.perf_counter()
    page.goto(html.as_uri())
    page.locator("div.dpc-view canvas[data-testid='phase-image']").wait_for(timeout=60_000)
    _, drawn = wait_views_match(page, local_source(twin))
    times["render"] = time.perf_counter() - start
    assert drawn.attrs["segments"] == "4"
    page.locator(".dpc-explorer .bqplot").first.wait_for()  # the plots (bqplot) render too
    assert page.locator(".dpc-explorer .bqplot").count() >= 3
    # the details that follow the images in a kernel (flow.Later) were sent before the cell
    # ended, so the saved state has them: the status line and the code that reproduces the view
    line = page.locator(".dpc-status span").first
    shown = line.inner_text()  # "updated in N ms; ..."
    assert line.get_attribute("class") == "dpc-status-ok", f"status line: {shown}"
    computed = re.sub(r"<[^>]+>", "", twin["explorer"].status.value)
    assert shown.startswith("updated in ") and shown.split(";", 1)[1] == computed.split(";", 1)[1]
    code = page.locator(".dpc-explorer textarea.dpc-code, .dpc-code textarea").first
    assert "SegmentedDetector(inner=10.0, outer=25.1, segments=4" in code.input_value()
    shoot(page, "html_export")

    # served locally: RequireJS and the html-manager from js/node_modules, the widget modules
    # from the environment's nbextensions (the files VS Code loads too)
    names = {
        path.parent.name if path.name == "index.js" else path.name for path in cdn.served.values()
    }
    assert {"require.js", "embed-amd.js", "anywidget", "bqplot"} <= names, cdn.served
    assert all(
        path.is_relative_to(NBEXTENSIONS) or path.is_relative_to(NODE_MODULES)
        for path in cdn.served.values()
    ), cdn.served
    assert page.errors == [], f"JavaScript errors: {page.errors}"
    unexpected = [url for url in network_guard.blocked if not url.startswith(KNOWN_EXTERNAL)]
    assert unexpected == [], f"requests beyond the file and 127.0.0.1 (blocked): {unexpected}"
    report.append(
        "html export: execute {execute:.1f} s, export {export:.2f} s, render offline "
        "{render:.1f} s".format(**times)
        + f", {html.stat().st_size / 1e6:.2f} MB; {len(cdn.served)} CDN files served locally, "
        f"blocked: {network_guard.blocked}"
    )
