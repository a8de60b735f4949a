"""One helper for the format tests: ``load`` with its warnings collected."""

import warnings

from dpc_widgets import load


def load_quietly(path, **kwargs):
    """``load(path, **kwargs)`` and the messages of the UserWarnings it issued.

    The format tests are about data and calibration, not the detector centre: ``origin``
    defaults to ``"geometric"`` here (so no "no disc found" warning on random test data).
    """
    kwargs.setdefault("origin", "geometric")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cube = load(path, **kwargs)
    return cube, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
