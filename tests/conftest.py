"""Shared fixtures: small deterministic cubes, the engine's code paths (``use_numba``)."""

from __future__ import annotations

import pytest
from _cubes import random_cube
from _numba_paths import use_numba  # noqa: F401  (a fixture for every test module)

from dpc_widgets import Datacube


@pytest.fixture
def cube() -> Datacube:
    return random_cube()
