"""Shared fixtures: small deterministic cubes."""

from __future__ import annotations

import pytest
from _cubes import random_cube

from dpc_widgets import Datacube


@pytest.fixture
def cube() -> Datacube:
    return random_cube()
