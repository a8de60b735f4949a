"""The explorer notebook as a Voila dashboard: it renders, a slider move redraws it correctly, and
the page contacts nothing but 127.0.0.1 (Voila's template asks a CDN for icon fonts; the guard
blocks those requests, so only icons suffer).

Voila's kernel accepts comm messages only, so the expected pixels come from a twin of the
notebook's explorer run in the test process with the same control changes.
"""

from __future__ import annotations

import pytest
from explorer_checks import local_source, run_notebook_locally, wait_views_match

pytestmark = pytest.mark.browser

# Stylesheets Voila's default template links from a CDN (Font Awesome icon fonts).
KNOWN_EXTERNAL = ("https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@",)


def test_explorer_in_voila(page, voila_server, notebook_dir, fresh_notebook, network_guard, shoot):
    notebook = notebook_dir / fresh_notebook("02_explorer.ipynb", "voila")
    server = voila_server(notebook)
    twin = run_notebook_locally(notebook)
    source = local_source(twin)
    page.goto(server.url)
    page.locator("div.dpc-view canvas[data-testid='phase-image']").wait_for(timeout=120_000)
    assert page.locator(".jp-OutputArea-output[data-mime-type*='error']").count() == 0
    _, before = wait_views_match(page, source)
    shoot(page, "voila_0_loaded")

    inner = twin["explorer"].inner
    inner.value = round(inner.value + 10 * inner.step, 9)
    handle = page.locator(".dpc-ctl-inner .noUi-handle")
    handle.focus()
    for _ in range(10):
        handle.press("ArrowRight")
    page.wait_for_function(
        "(v) => Number(document.querySelector('div.dpc-view').dataset.inner) === v", arg=inner.value
    )
    _, after = wait_views_match(page, source)
    first_before, first_after = (
        before.canvases["segment-image-0"],
        after.canvases["segment-image-0"],
    )
    assert first_before[0] != first_after[0], "segment image 0 was not redrawn"
    assert (first_before[1] != first_after[1]).any(), "segment image 0 shows the same pixels"
    shoot(page, "voila_1_inner_keyboard")

    assert page.errors == [], f"JavaScript errors: {page.errors}"
    assert network_guard.non_loopback(network_guard.allowed) == []
    unexpected = [url for url in network_guard.blocked if not url.startswith(KNOWN_EXTERNAL)]
    assert unexpected == [], f"unexpected requests beyond 127.0.0.1 (blocked): {unexpected}"
