"""What differs between ipywidgets 7.7 (Colab's) and 8.x for the widgets the explorer uses.

The package supports ``ipywidgets>=7.7.1,<9``. One difference reaches its code: a tooltip on a
widget with a description (a ``Checkbox``) is ``description_tooltip`` in 7.x and ``tooltip`` in
8.x, where ``description_tooltip`` is deprecated; 7.x takes ``tooltip`` silently as an unknown
keyword (a ``DeprecationWarning``) and shows nothing. Buttons have ``tooltip`` in both.
The browser sliders also differ (7.x jQuery UI, 8.x noUiSlider): ``snapping.py`` has both,
``controls.browser_value`` picks one by :data:`IPYWIDGETS_MAJOR`.
"""

from __future__ import annotations

from importlib.metadata import version

IPYWIDGETS_MAJOR: int = int(version("ipywidgets").split(".")[0])
"""The installed ipywidgets' major version: 7 or 8."""


def description_tooltip(text: str, major: int = IPYWIDGETS_MAJOR) -> dict[str, str]:
    """The keyword that puts ``text`` in the tooltip of a widget with a description.

    Parameters
    ----------
    text : str
        The tooltip's text.
    major : int, optional
        The ipywidgets major version to target (default: the installed one).

    Returns
    -------
    dict
        ``{"tooltip": text}`` for ipywidgets 8 and later, ``{"description_tooltip": text}``
        for 7.x; pass it to the widget's constructor with ``**``.
    """
    return {"tooltip": text} if major >= 8 else {"description_tooltip": text}
