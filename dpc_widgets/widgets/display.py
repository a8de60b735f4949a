"""How the explorer displays itself: one output for every front end, under ipywidgets 7 and 8.

The display output (a MIME bundle) carries

- ``application/vnd.jupyter.widget-view+json``: the widget view, what front ends with a widget
  manager draw (JupyterLab, Notebook, Voila, VS Code, Colab, an HTML export with widget state);
- ``image/png``: the current view (:mod:`.snapshot`), what GitHub's notebook view, nbviewer, an
  HTML export without widget state (nbconvert skips a widget view whose state was not saved)
  or a PDF show instead;
- ``text/plain``: one line saying what it is and that it needs a widget front end;

and, in Google Colab, the metadata that makes Colab draw it with its custom widget manager
(which loads the anywidget and bqplot children), as anywidget's own widgets do. Colab adds
that metadata itself only to ``display_data`` messages (a hook on ``display_pub``), not to the
``execute_result`` of a bare ``explorer`` on a cell's last line under ipywidgets 8.

ipywidgets 8 widgets display through ``_repr_mimebundle_`` (a bare last line is an
``execute_result``); ipywidgets 7 through ``_ipython_display_``, which IPython prefers, calling
``display`` (a ``display_data``). :class:`~.explorer.Explorer` defines both around
:func:`mimebundle`.
"""

from __future__ import annotations

import base64
import sys
from typing import Any

import ipywidgets as w

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: ipywidgets 7 displays through ``_ipython_display_`` (removed in 8).
USES_IPYTHON_DISPLAY = hasattr(w.Widget, "_ipython_display_")


def colab_metadata() -> dict[str, Any]:
    """Colab's custom-widget-manager metadata for a widget view; ``{}`` outside Colab.

    In Colab (``google.colab.output`` imported) the custom widget manager is enabled first when
    it is not (``enable_custom_widget_manager()``), as anywidget does; its URL is then
    ``google.colab.output._widgets._installed_url``.
    """
    output = sys.modules.get("google.colab.output")
    if output is None:
        return {}
    widgets = getattr(output, "_widgets", None)
    if getattr(widgets, "_installed_url", None) is None:
        enable = getattr(output, "enable_custom_widget_manager", None)
        if callable(enable):
            enable()
    url = getattr(widgets, "_installed_url", None)
    if not url:
        return {}
    return {WIDGET_MIME: {"colab": {"custom_widget_manager": {"url": url}}}}


def mimebundle(
    model_id: str,
    text: str,
    png: bytes | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The display output of a widget: data (widget view, PNG, text) and metadata (Colab's).

    Parameters
    ----------
    model_id : str
        The widget's model id.
    text : str
        The ``text/plain`` line.
    png : bytes or None
        The ``image/png`` fallback (left out when None).

    Returns
    -------
    data, metadata : dict
        As ``_repr_mimebundle_`` returns them; the PNG base64-encoded (ASCII text), as a
        notebook stores it, so the ``raw`` display of ipywidgets 7 can send it too.
    """
    data: dict[str, Any] = {
        "text/plain": text,
        WIDGET_MIME: {"version_major": 2, "version_minor": 0, "model_id": model_id},
    }
    if png is not None:
        data["image/png"] = base64.b64encode(png).decode("ascii")
    return data, colab_metadata()


def wanted(mime: str, include: Any = None, exclude: Any = None) -> bool:
    """Whether a ``_repr_mimebundle_(include, exclude)`` call asks for ``mime``."""
    return (not include or mime in include) and not (exclude and mime in exclude)
