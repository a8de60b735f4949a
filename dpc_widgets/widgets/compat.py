"""What differs between ipywidgets 7.7 (Colab's) and 8.x for the widgets the explorer uses.

The package supports ``ipywidgets>=7.7.1,<9``. Two differences reach its code:

- a tooltip on a widget with a description (a slider, a ``Checkbox``, a text field) is
  ``description_tooltip`` in 7.x and ``tooltip`` in 8.x, where ``description_tooltip`` is
  deprecated; 7.x takes ``tooltip`` silently as an unknown keyword (a ``DeprecationWarning``)
  and shows nothing. Buttons have ``tooltip`` in both (:func:`set_tooltip` knows all three);
- an ``Accordion``'s titles are ``set_title`` in both, but a new 7.x accordion opens its first
  page and an 8.x one none (:func:`section` says which).

The browser sliders also differ (7.x jQuery UI, 8.x noUiSlider): ``snapping.py`` has both,
``controls.browser_value`` picks one by :data:`IPYWIDGETS_MAJOR`.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version

import ipywidgets as w

IPYWIDGETS_MAJOR: int = int(version("ipywidgets").split(".")[0])
"""The installed ipywidgets' major version: 7 or 8."""


def tooltip_name(widget: w.DOMWidget, major: int = IPYWIDGETS_MAJOR) -> str:
    """The trait holding ``widget``'s tooltip: ``"tooltip"`` (8.x, and buttons in 7.x) or
    ``"description_tooltip"`` (7.x widgets with a description).

    Raises
    ------
    TypeError
        For a 7.x widget that has no tooltip at all (a box, an ``HTML`` without description).
    """
    if major >= 8 or isinstance(widget, w.Button):
        return "tooltip"
    if isinstance(widget, w.widgets.widget_description.DescriptionWidget):
        return "description_tooltip"
    raise TypeError(f"widget {type(widget).__name__!r} has no tooltip in ipywidgets {major}")


def set_tooltip(widget: w.DOMWidget, text: str) -> None:
    """Show ``text`` when the pointer rests on ``widget`` (see :func:`tooltip_name`)."""
    setattr(widget, tooltip_name(widget), text)


def tooltip(widget: w.DOMWidget) -> str:
    """The tooltip text of ``widget`` (empty when none)."""
    return getattr(widget, tooltip_name(widget)) or ""


def section(title: str, children: Sequence[w.Widget], open_: bool) -> w.Accordion:
    """A collapsible section: an ``Accordion`` of one page holding ``children`` in a VBox.

    Parameters
    ----------
    title : str
        The section's heading (also when collapsed).
    children : sequence of Widget
        Its controls, top to bottom.
    open_ : bool
        Whether it starts open (the same under ipywidgets 7 and 8).

    Returns
    -------
    ipywidgets.Accordion
    """
    page = w.VBox(list(children))
    accordion = w.Accordion(children=[page])
    accordion.set_title(0, title)
    accordion.selected_index = 0 if open_ else None
    return accordion


def is_open(accordion: w.Accordion) -> bool:
    """Whether the section made by :func:`section` shows its controls."""
    return accordion.selected_index == 0
