"""Shared fixtures: small deterministic cubes, the engine's code paths (``use_numba``).

Hypothesis: under CI (``CI`` set, as ``.ci/run`` is called) every property test is
derandomized (the same seeded examples each run, so a run is reproducible and a red CI is never
a draw of the dice); by hand each run explores new examples, and what one finds is kept as an
explicit ``@example``. ``tests/test_properties.py`` has its own profiles.

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

settings.register_profile("dpc-seeded", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("dpc-seeded")


@pytest.fixture
def cube() -> Datacube:
    return random_cube()
