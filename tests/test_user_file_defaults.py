"""Every default on a file made as a user's would be (issue 17's acceptance check).

The simulator's SrTiO3 data (the seed tutorial's: 32x32 scan x 96x96 detector, 200 keV, true
scan rotation -15 degrees) is shifted by a few thousandths of a pixel on the detector (bilinear,
as any real disc sits off the pixel grid), saved in py4DSTEM's HDF5 layout (no beam energy
stored), and opened with ``Explorer(path)`` and nothing else. For each CoM source the phase must
correlate with the true (probe-blurred) phase and the solved scan rotation must match the truth.
Clean data: correlation >= 0.99; Poisson noise at 1e4 electrons per pattern: >= 0.95.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage as ndi
from _py4dstem_layout import write_py4dstem_h5

import dpc_widgets as dw

TRUE_ROTATION = -15.0
SHIFT_PX = (0.004, -0.003)
DOSE = 1e4


def correlation(phase: np.ndarray, truth: np.ndarray) -> float:
    p, t = phase - phase.mean(), truth - truth.mean()
    return float((p * t).sum() / math.sqrt((p * p).sum() * (t * t).sum()))


@pytest.fixture(scope="module")
def sim() -> dw.SimulatedData:
    return dw.simulate(rotation=TRUE_ROTATION)


def user_file(tmp_path_factory, sim, dose: float | None) -> str:
    """The simulated cube off the pixel grid, in py4DSTEM's layout; Poisson counts if ``dose``."""
    data = np.asarray(sim.cube.data, dtype=np.float64)
    shifted = np.empty_like(data)
    for index in np.ndindex(*data.shape[:2]):
        shifted[index] = ndi.shift(data[index], SHIFT_PX, order=1, mode="constant")
    if dose is None:
        stored = shifted.astype(np.float32)
    else:
        expected = shifted / shifted.sum(axis=(2, 3), keepdims=True) * dose
        stored = np.random.default_rng(7).poisson(expected).astype(np.uint16)
    path = tmp_path_factory.mktemp("user") / "sto.h5"
    write_py4dstem_h5(
        path,
        stored,
        r_pixel_size=sim.cube.scan_sampling,
        r_units="A",
        q_pixel_size=sim.cube.detector_sampling,
        q_units="mrad",
    )
    return str(path)


@pytest.mark.parametrize(("dose", "floor"), [(None, 0.99), (DOSE, 0.95)], ids=["clean", "noisy"])
def test_every_default_gives_the_true_phase_for_each_com_source(tmp_path_factory, sim, dose, floor):
    explorer = dw.Explorer(user_file(tmp_path_factory, sim, dose))
    origin = explorer.dpc.cube.origin
    assert origin != (48.0, 48.0)  # the disc found off the grid, as in users' files
    for source in ("segmented", "monolithic", "pixelated"):
        explorer.com_source.value = source
        result = explorer.results
        assert result.com_units != "A^-1"  # no energy in the file: nothing in 1/A
        corr = correlation(result.phase, sim.phase_blurred)
        assert corr >= floor, (source, corr, origin)
        error = (result.rotation.angle_deg - TRUE_ROTATION + 180.0) % 360.0 - 180.0
        assert abs(error) <= 2.0, (source, result.rotation.angle_deg)
