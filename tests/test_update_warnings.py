"""Only the package's own words reach the notebook: the explorer's status line and logger (and
``dpc-widgets info`` / ``process``) report the package's warnings and numerical ones, each once
per update; any other warning goes back to the user's warning filters
(:mod:`dpc_widgets._own_warnings`)."""

from __future__ import annotations

import logging
import types
import warnings

import numpy as np
import pytest

import dpc_widgets
from dpc_widgets import _own_warnings, summary
from dpc_widgets.widgets import Explorer

LOGGER = "dpc_widgets.widgets"


def module_function(module_name: str, source: str, name: str = "f"):
    """A function defined in a module called ``module_name`` (what warnings.warn sees)."""
    module = types.ModuleType(module_name)
    exec(compile(source, f"<{module_name}>", "exec"), module.__dict__)  # noqa: S102
    return module.__dict__[name]


#: jupyter_client 7.4.9's session.utcnow() on Python 3.12+, in a stand-in module
UTCNOW = module_function(
    "fake_jupyter.session",
    "import warnings\n"
    "def f():\n"
    "    warnings.warn('datetime.datetime.utcnow() is deprecated', DeprecationWarning)\n",
)
#: a warning of the package's own, raised twice in one update
TWICE = module_function(
    "dpc_widgets.core.fake",
    "import warnings\n"
    "def f():\n"
    "    for _ in range(2):\n"
    "        warnings.warn('the fake detector is odd', UserWarning, stacklevel=2)\n",
)
#: a NumPy operation in the package's code that divides by zero
DIVIDE = module_function(
    "dpc_widgets.core.fake_numeric",
    "import numpy as np\ndef f():\n    return np.log(np.zeros(3))\n",
)


@pytest.fixture(scope="module")
def cube():
    return dpc_widgets.simulate().cube


def update_calling(ex: Explorer, monkeypatch, *extra) -> None:
    """One update whose DPC.run first calls each of ``extra``."""
    run = ex.dpc.run

    def run_and_warn(*args, **kwargs):
        for f in extra:
            f()
        return run(*args, **kwargs)

    monkeypatch.setattr(ex.dpc, "run", run_and_warn)
    ex.inner.value = ex.inner.value + ex.inner.step


def test_a_foreign_deprecation_warning_is_not_reported_but_goes_to_the_filters(
    cube, monkeypatch, caplog
):
    ex = Explorer(cube)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("ignore")  # the user's filters: everything off but one module
        warnings.filterwarnings("always", module=r"fake_jupyter\.session")
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            update_calling(ex, monkeypatch, *[UTCNOW] * 17)
    assert ex.results.detector.inner == pytest.approx(ex.inner.value)
    assert "dpc-status-ok" in ex.status.value and "utcnow" not in ex.status.value
    assert "utcnow" not in caplog.text
    # handed back with its own module name: the module filter matched each of the 17
    assert [str(w.message) for w in shown] == ["datetime.datetime.utcnow() is deprecated"] * 17
    assert all(w.category is DeprecationWarning for w in shown)


def test_a_foreign_warning_stays_hidden_under_the_default_filters(cube, monkeypatch, caplog):
    ex = Explorer(cube)
    with warnings.catch_warnings(record=True) as shown:
        warnings.resetwarnings()
        warnings.simplefilter("ignore", DeprecationWarning)  # Python's default for non-__main__
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            update_calling(ex, monkeypatch, UTCNOW)
    assert shown == [] and caplog.text == ""


def test_a_package_warning_raised_twice_in_one_update_appears_once(cube, monkeypatch, caplog):
    ex = Explorer(cube)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            update_calling(ex, monkeypatch, TWICE)
    assert "dpc-status-warning" in ex.status.value
    assert ex.status.value.count("the fake detector is odd") == 1
    assert caplog.text.count("the fake detector is odd") == 1
    assert shown == []  # ours: reported, not shown again by the warning machinery


def test_a_numpy_runtime_warning_of_our_computation_is_reported(cube, monkeypatch, caplog):
    ex = Explorer(cube)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        update_calling(ex, monkeypatch, DIVIDE, lambda: np.mean(np.array([])))
    assert "divide by zero encountered in log" in ex.status.value
    assert "Mean of empty slice" in ex.status.value  # raised inside NumPy's own code
    assert "divide by zero encountered in log" in caplog.text


def test_a_package_warning_is_reported_on_every_update_it_persists(cube, monkeypatch):
    """'always' for our own: the registry of the module does not hide the second one."""
    ex = Explorer(cube)
    update_calling(ex, monkeypatch, TWICE)
    ex.inner.value = ex.inner.value + ex.inner.step
    assert ex.status.value.count("the fake detector is odd") == 1


@pytest.mark.parametrize(
    ("module", "category", "own"),
    [
        ("dpc_widgets", UserWarning, True),
        ("dpc_widgets.core.rotation", RuntimeWarning, True),
        ("dpc_widgets.core.dpc", DeprecationWarning, False),  # e.g. NumPy's C code, our call
        ("dpc_widgets.io.load", FutureWarning, False),
        ("dpc_widgets_extra", UserWarning, False),
        ("numpy._core._methods", RuntimeWarning, True),
        ("scipy.ndimage", RuntimeWarning, True),
        ("numpy.lib", DeprecationWarning, False),
        ("jupyter_client.session", DeprecationWarning, False),
        ("dpc_widgets.io.load", ResourceWarning, False),
    ],
)
def test_is_own(module, category, own):
    assert _own_warnings.is_own(module, category) is own


def test_collect_hands_foreign_warnings_back_once_per_location_under_default(monkeypatch):
    """'default' shows a location once, though every block resets the modules' registries."""
    monkeypatch.setattr(_own_warnings, "_SHOWN", set())
    with warnings.catch_warnings(record=True) as shown:
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for _ in range(3):
            with _own_warnings.collect() as caught:
                UTCNOW()
            assert caught.notes == [] and caught.foreign == 1
    assert len(shown) == 1 and shown[0].filename == "<fake_jupyter.session>"


def test_collect_re_emits_even_when_the_block_raises():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with pytest.raises(ZeroDivisionError), _own_warnings.collect():
            UTCNOW()
            _ = 1 / 0
    assert [w.category for w in shown] == [DeprecationWarning]


def test_info_lists_only_the_package_warnings(tmp_path, monkeypatch):
    path = tmp_path / "cube.npy"
    np.save(path, dpc_widgets.simulate().cube.data)
    load = summary.load

    def load_warning(*args, **kwargs):
        UTCNOW()
        return load(*args, **kwargs)

    monkeypatch.setattr(summary, "load", load_warning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = summary.describe(path, origin="geometric")
    assert not any("utcnow" in note for note in info["warnings"])


def test_collect_honours_filters_inserted_as_plain_strings(monkeypatch):
    """Code may insert filter tuples with plain strings (a kernel's list has them): they match
    exactly, as in CPython, instead of failing the re-emission."""
    monkeypatch.setattr(_own_warnings, "_SHOWN", set())
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")
        warnings.filters.insert(0, ("ignore", None, DeprecationWarning, "fake_jupyter.session", 0))
        warnings.filters.insert(0, ("always", None, Warning, "fake_jupyter", 0))  # not exact
        warnings._filters_mutated()
        with _own_warnings.collect() as caught:
            UTCNOW()
        assert caught.foreign == 1
    assert shown == []
