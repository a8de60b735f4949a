"""Conversions of the solved rotation to py4DSTEM, LiberTEM and quantem parameters.

Each tool's formula is re-implemented here from its documented convention (see the docstrings of
``dpc_widgets.core.conventions``), and applied with the converted parameters to the same measured
CoM: the scan-frame field must equal ours.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpc_widgets import simulate
from dpc_widgets.core import DPC
from dpc_widgets.core.conventions import (
    from_libertem,
    py4dstem_sweep_equivalent,
    to_libertem,
    to_py4dstem,
    to_quantem,
    wrap_deg,
)
from dpc_widgets.core.rotation import rotate_com

ANGLES = (-179.0, -150.0, -90.0, -15.0, 0.0, 12.5, 40.0, 90.0, 135.0, 180.0)


def py4dstem_corrected(nx, ny, force_com_rotation, force_com_transpose):
    """py4DSTEM: swap (Nx, Ny) if transposed, then x = c Nx - s Ny, y = s Nx + c Ny."""
    t = math.radians(force_com_rotation)
    if force_com_transpose:
        nx, ny = ny, nx
    return np.stack([math.cos(t) * nx - math.sin(t) * ny, math.sin(t) * nx + math.cos(t) * ny])


def libertem_corrected(y_centers, x_centers, scan_rotation, flip_y):
    """LiberTEM: (y, x) vectors, transform = rotate_deg(a) @ (flip_y or identity)."""
    a = math.radians(scan_rotation)
    rotate = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    flip = np.array([[-1.0, 0.0], [0.0, 1.0]]) if flip_y else np.eye(2)
    transform = rotate @ flip
    yx = transform @ np.stack([y_centers.ravel(), x_centers.ravel()])
    return yx.reshape(2, *y_centers.shape)  # (y', x') = (axis 0, axis 1) components


def quantem_corrected(com_normalized, detector_rotation_deg, detector_transpose):
    """quantem: (..., 2) components, flip([-1]) if transposed, then the py4DSTEM formula."""
    t = math.radians(detector_rotation_deg)
    com = com_normalized[..., ::-1] if detector_transpose else com_normalized
    return np.stack(
        [
            math.cos(t) * com[..., 0] - math.sin(t) * com[..., 1],
            math.sin(t) * com[..., 0] + math.cos(t) * com[..., 1],
        ]
    )


@pytest.fixture(scope="module")
def measured():
    return np.random.default_rng(3).normal(size=(2, 5, 6))


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("angle", ANGLES)
def test_every_tool_reproduces_our_scan_frame_field(measured, angle, transpose):
    ours = rotate_com(measured, angle, transpose)
    p4 = to_py4dstem(angle, transpose)
    np.testing.assert_allclose(py4dstem_corrected(*measured, **p4), ours, atol=1e-12)
    lt = to_libertem(angle, transpose)
    assert -180.0 < lt["scan_rotation"] <= 180.0 and lt["flip_y"] is transpose
    np.testing.assert_allclose(libertem_corrected(*measured, **lt), ours, atol=1e-12)
    qt = to_quantem(angle, transpose)
    np.testing.assert_allclose(
        quantem_corrected(np.moveaxis(measured, 0, -1), **qt), ours, atol=1e-12
    )
    assert from_libertem(**lt) == (pytest.approx(wrap_deg(angle)), transpose)


def test_libertem_numbers_written_out():
    assert to_libertem(-15.0, False) == {"scan_rotation": 15.0, "flip_y": False}
    assert to_libertem(-15.0, True) == {"scan_rotation": 105.0, "flip_y": True}
    assert to_libertem(120.0, True) == {"scan_rotation": -30.0, "flip_y": True}
    assert to_libertem(180.0, False)["scan_rotation"] == 180.0


def test_results_are_accepted_and_the_applied_correction_is_used():
    sim = simulate(scan_shape=(16, 16), rotation=40.0, transpose=True)
    dpc = DPC(sim.cube)
    result = dpc.run(sim_detector(), com_source="pixelated")
    assert to_py4dstem(result) == {
        "force_com_rotation": result.angle_deg,
        "force_com_transpose": True,
    }
    assert to_libertem(result.rotation) == to_libertem(result.angle_deg, True)
    assert to_quantem(result)["detector_transpose"] is True
    # with the converted parameters each tool's formula gives the true (scan-frame) CoM
    com = result.com
    truth = sim.com
    for field in (
        py4dstem_corrected(*com, **to_py4dstem(result)),
        libertem_corrected(*com, **to_libertem(result)),
        quantem_corrected(np.moveaxis(com, 0, -1), **to_quantem(result)),
    ):
        assert np.corrcoef(field.ravel(), truth.ravel())[0, 1] > 0.999
    with pytest.raises(TypeError, match="pass transpose only with an explicit angle"):
        to_libertem(result, True)


def sim_detector():
    from dpc_widgets import SegmentedDetector

    return SegmentedDetector(10, 25, 4, 45.0)


def test_py4dstem_sweep_equivalent():
    assert py4dstem_sweep_equivalent(-15.0) == (-15.0, False)
    assert py4dstem_sweep_equivalent(-150.0) == (30.0, True)
    assert py4dstem_sweep_equivalent(135.0) == (-45.0, True)
    assert py4dstem_sweep_equivalent(89.5) == (89.5, False)


def test_bad_inputs_are_typed_errors():
    with pytest.raises(TypeError, match="'abc'"):
        to_libertem("abc")
    with pytest.raises(TypeError, match="True"):
        to_py4dstem(True)
    with pytest.raises(ValueError, match="nan"):
        to_quantem(float("nan"))
    with pytest.raises(TypeError, match="transpose must be True or False, got 'yes'"):
        to_libertem(10.0, "yes")
    assert to_libertem(10.0, np.bool_(True))["flip_y"] is True
