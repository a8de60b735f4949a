"""Shared fixtures: small deterministic cubes, the engine's code paths (``use_numba``).

Hypothesis: under CI (``CI`` set, as ``.ci/run`` is called) every property test is
derandomized (the same seeded examples each run, so a run is reproducible and a red CI is never
a draw of the dice); by hand each run explores new examples, and what one finds is kept as an
explicit ``@example``. ``tests/test_properties.py`` has its own profiles.

Colab-like environment: ``scripts/test.sh`` runs the tests marked ``colab_env`` a second time in
``.venv-colab`` (``scripts/colab_env.sh``: Python 3.13, Colab's pins, ipywidgets 7.7.1). A file
joins by being named in :data:`COLAB_ENV_FILES` or by carrying
``pytestmark = pytest.mark.colab_env`` (new front-end tests for Colab's stack do).

Widgets: under ipywidgets 7 every widget gets a comm that counts as connected
(``tests/_comms.py``), so messages reach ``Widget._send`` as ipywidgets 8 sends them.
"""

from __future__ import annotations

import os

import pytest
from _comms import install_kernelless_comms
from _cubes import random_cube
from _numba_paths import use_numba  # noqa: F401  (a fixture for every test module)
from hypothesis import settings

from dpc_widgets import Datacube

install_kernelless_comms()  # ipywidgets 7 sends nothing without a kernel; 8 does (tests/_comms.py)

# Run again in the Colab-like environment: the widgets, the update flow, the notebooks, display
# and warnings (ipywidgets 7, Python 3.13's jupyter_client), the file formats (rosettasciio, zarr,
# pint as a Colab install gets them) and the install's own checks.
COLAB_ENV_FILES = frozenset(
    {
        "test_widget.py",
        "test_widget_compat.py",
        "test_controls_guide.py",
        "test_update_flow.py",
        "test_encoding.py",
        "test_drag_resolution.py",
        "test_explorer_calibration.py",
        "test_cache_build.py",
        "test_settings_json.py",
        "test_user_file_defaults.py",
        "test_parameter_checks.py",
        "test_notebooks.py",
        "test_display.py",
        "test_update_warnings.py",
        "test_colab_setup_cell.py",
        "test_after_cell.py",
        "test_imports.py",
        "test_cluster_extra.py",
        "test_io_load.py",
        "test_formats_cameras.py",
        "test_formats_hdf5_family.py",
        "test_formats_microscope.py",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of :data:`COLAB_ENV_FILES` ``colab_env``."""
    for item in items:
        if item.path.name in COLAB_ENV_FILES:
            item.add_marker(pytest.mark.colab_env)


settings.register_profile("dpc-seeded", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("dpc-seeded")


@pytest.fixture
def cube() -> Datacube:
    return random_cube()
