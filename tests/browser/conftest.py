"""Fixtures for the real-browser tests: headless Chromium; JupyterLab, Notebook 7, the classic
Notebook (6.x, in the Colab-like environment) and Voila on 127.0.0.1.

Chromium is Debian's (``scripts/install_browser.sh``), driven by the Python ``playwright``
package; the tests skip with a clear reason only when no Chromium executable can be found.
Servers run with sealed config/data/runtime/settings dirs in a temp dir and an empty token (test
servers only, bound to 127.0.0.1), and are stopped with SIGTERM; the session fails if any server
process (kernels included) outlives that.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_helpers import (
    JUPYTER_APPS,
    NetworkGuard,
    ServerProcess,
    launch_chromium,
    shutdown_sessions,
    start_classic_notebook,
    start_jupyter,
    start_voila,
)

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts" / "browser"

# Lines printed in the terminal summary (measurements; never asserted).
REPORT: list[str] = []


def pytest_collection_modifyitems(items) -> None:
    """Every test in this directory is a browser test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter) -> None:
    """Print what the browser tests measured."""
    if REPORT:
        terminalreporter.section("browser measurements")
        for line in REPORT:
            terminalreporter.write_line(line)


def _find_chromium() -> str | None:
    candidates = [os.environ.get("DPC_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of the Chromium binary (DPC_CHROMIUM, else /usr/bin/chromium, else on PATH)."""
    path = _find_chromium()
    if path is None:
        pytest.skip("no Chromium found (set DPC_CHROMIUM or run `bash scripts/install_browser.sh`)")
    return path


@pytest.fixture(scope="session")
def playwright_driver(chromium_executable) -> Iterator:
    """The synchronous Playwright driver for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def network_guard() -> NetworkGuard:
    """The guard installed on :func:`browser_context` (inspect ``blocked`` in tests)."""
    return NetworkGuard()


@pytest.fixture
def browser_context(playwright_driver, chromium_executable, network_guard, tmp_path):
    """A fresh-profile headless Chromium context that can reach 127.0.0.1 only."""
    context = launch_chromium(
        playwright_driver, chromium_executable, tmp_path / "chromium-profile", network_guard
    )
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    """A page of :func:`browser_context` that records uncaught JS errors in ``page.errors``."""
    page = browser_context.pages[0] if browser_context.pages else browser_context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots and measurements go (``test-artifacts/browser``, git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def shoot(artifacts) -> Callable:
    """``shoot(page, name)``: PNG of the explorer (or the whole page) in the artifacts dir."""

    def take(page, name: str) -> Path:
        path = artifacts / f"{name}.png"
        explorer = page.locator(".dpc-explorer").first
        if explorer.count():
            explorer.scroll_into_view_if_needed()
            explorer.screenshot(path=str(path))
        else:
            page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def report() -> list[str]:
    """Append lines here to print them in the terminal summary."""
    return REPORT


@pytest.fixture(scope="session")
def notebook_dir(tmp_path_factory) -> Path:
    """Scratch dir the servers serve (they autosave; the repository stays untouched)."""
    return tmp_path_factory.mktemp("notebooks")


@pytest.fixture
def fresh_notebook(notebook_dir) -> Callable[[str, str], str]:
    """``fresh_notebook(name, tag)``: copy ``notebooks/name`` to the scratch dir as ``tag_name``.

    Each test opens its own copy, so it gets its own kernel session in the shared server.
    """

    def copy(name: str, tag: str) -> str:
        target = notebook_dir / f"{tag}_{name}"
        shutil.copy(NOTEBOOKS / name, target)
        return target.name

    return copy


def _stop_all(servers: list[ServerProcess]) -> None:
    survivors = {server.url: server.stop() for server in servers}
    assert not any(survivors.values()), f"server processes survived SIGTERM: {survivors}"


def _jupyter_process(app: str, notebook_dir: Path, tmp_path_factory) -> Iterator[ServerProcess]:
    server = start_jupyter(app, notebook_dir, tmp_path_factory.mktemp(JUPYTER_APPS[app][0]))
    yield server
    _stop_all([server])


@pytest.fixture(scope="session")
def lab_process(notebook_dir, tmp_path_factory) -> Iterator[ServerProcess]:
    """JupyterLab serving the scratch notebook dir (stopped, kernels included, at the end)."""
    yield from _jupyter_process("lab", notebook_dir, tmp_path_factory)


@pytest.fixture
def lab_server(lab_process) -> Iterator[ServerProcess]:
    """The shared JupyterLab server; the kernels a test started are shut down after it."""
    yield lab_process
    shutdown_sessions(lab_process)


@pytest.fixture(scope="session")
def notebook7_process(notebook_dir, tmp_path_factory) -> Iterator[ServerProcess]:
    """Jupyter Notebook 7 serving the scratch notebook dir (stopped, kernels included)."""
    yield from _jupyter_process("notebook", notebook_dir, tmp_path_factory)


@pytest.fixture
def notebook7_server(notebook7_process) -> Iterator[ServerProcess]:
    """The shared Notebook 7 server; the kernels a test started are shut down after it."""
    yield notebook7_process
    shutdown_sessions(notebook7_process)


@pytest.fixture(scope="session")
def classic_process(notebook_dir, tmp_path_factory) -> Iterator[ServerProcess]:
    """The classic Notebook (6.x) serving the scratch notebook dir (stopped, kernels included)."""
    server = start_classic_notebook(notebook_dir, tmp_path_factory.mktemp("classic"))
    yield server
    _stop_all([server])


@pytest.fixture
def classic_server(classic_process) -> Iterator[ServerProcess]:
    """The shared classic Notebook server; the kernels a test started are shut down after it."""
    yield classic_process
    shutdown_sessions(classic_process)


@pytest.fixture(scope="session")
def voila_server(tmp_path_factory) -> Iterator[Callable[[Path], ServerProcess]]:
    """Factory: Voila on one notebook on a free 127.0.0.1 port (all stopped at the end)."""
    servers: list[ServerProcess] = []

    def start(notebook: Path) -> ServerProcess:
        server = start_voila(notebook, tmp_path_factory.mktemp("voila"))
        servers.append(server)
        return server

    yield start
    _stop_all(servers)
