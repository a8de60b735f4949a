"""The CDN files an nbconvert HTML export asks for, served from the local environment.

An HTML export of a notebook with widget state (nbconvert's ``lab`` template) loads RequireJS
from cdnjs, ``@jupyter-widgets/html-manager``'s ``embed-amd.js`` from unpkg, and each third-party
widget module (anywidget, bqplot, bqscales) from jsDelivr as ``<package>@<semver>/dist/index.js``.
:class:`LocalCdn` answers those URLs in the browser with local files: the html-manager and
RequireJS npm packages (``js/node_modules``, devDependencies of ``js/package.json``) and the
modules the Python packages install under ``<prefix>/share/jupyter/nbextensions`` (the ones VS
Code and the classic Notebook load). Every other request falls through to the
:class:`~browser_helpers.NetworkGuard` (aborted unless it goes to 127.0.0.1 or a file).
"""

from __future__ import annotations

import dataclasses
import mimetypes
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "js" / "node_modules"
HTML_MANAGER = NODE_MODULES / "@jupyter-widgets" / "html-manager" / "dist"
REQUIRE_JS = NODE_MODULES / "requirejs" / "require.js"
NBEXTENSIONS = Path(sys.prefix) / "share" / "jupyter" / "nbextensions"

_REQUIRE = re.compile(
    r"^https://cdnjs\.cloudflare\.com/ajax/libs/require\.js/[^/]+/require(\.min)?\.js$"
)
_MANAGER = re.compile(
    r"^https://(?:unpkg\.com|cdn\.jsdelivr\.net/npm)/@jupyter-widgets/html-manager@[^/]+/dist/"
    r"(?P<file>[\w.-]+)$"
)
_MODULE = re.compile(r"^https://cdn\.jsdelivr\.net/npm/(?P<package>[\w-]+)@[^/]+/dist/index\.js$")


def missing() -> list[Path]:
    """The local files :class:`LocalCdn` needs that are absent (``npm ci`` in ``js/`` makes
    the npm ones)."""
    return [path for path in (HTML_MANAGER / "embed-amd.js", REQUIRE_JS) if not path.is_file()]


@dataclasses.dataclass
class LocalCdn:
    """Fulfils the export's CDN requests with local files and records what it served.

    Attributes
    ----------
    served : dict[str, Path]
        URL -> the local file that answered it.
    """

    served: dict[str, Path] = dataclasses.field(default_factory=dict)

    def local_file(self, url: str) -> Path | None:
        """The local file for a CDN ``url`` (None: not one of ours)."""
        if _REQUIRE.match(url):
            return REQUIRE_JS
        if match := _MANAGER.match(url):
            return HTML_MANAGER / match["file"]
        if match := _MODULE.match(url):
            return NBEXTENSIONS / match["package"] / "index.js"
        return None

    def install(self, context) -> None:
        """Route the CDN requests of a Playwright ``BrowserContext`` (registered after the
        network guard, so it is asked first)."""
        context.route("**/*", self._handle)

    def _handle(self, route) -> None:
        url = route.request.url
        path = self.local_file(url)
        if path is None or not path.is_file():
            route.fallback()  # the guard decides (and records a block)
            return
        self.served[url] = path
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        route.fulfill(status=200, body=path.read_bytes(), content_type=kind)
