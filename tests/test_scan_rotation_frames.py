"""One physical scan rotation for every CoM source and segment offset (issue 10, item 3).

The segmented DPC vector is measured in the segment frame; ``frame_deg`` turns it into the
detector frame. These tests prove the formula from ``segment_labels`` itself and check, on the
simulator, that segmented, monolithic and pixelated CoM then give the same scan rotation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpc_widgets import Datacube, SegmentedDetector, simulate
from dpc_widgets.core import DPC
from dpc_widgets.core.rotation import rotate_com
from dpc_widgets.detectors import segment_labels

OFFSETS = (0.0, 15.0, 45.0, 60.0, 100.0, 200.0, 333.0)
SOURCES = ("segmented", "monolithic", "pixelated")


def angle_error(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize("segments", [3, 4, 5, 8])
@pytest.mark.parametrize("offset", OFFSETS)
def test_segment_centres_follow_frame_deg(segments, offset):
    # Label a dense ring of directions with the one segment formula; each segment's mean
    # direction must be e(2 pi k / N + frame), i.e. the index direction turned by frame_deg.
    det = SegmentedDetector(1.0, 2.0, segments, offset)
    phi = np.linspace(-math.pi, math.pi, 36000, endpoint=False)
    labels = segment_labels(np.full_like(phi, 1.5), phi, 1.0, 2.0, segments, math.radians(offset))
    frame = math.radians(det.frame_deg)
    for k in range(segments):
        mean = np.exp(1j * phi[labels == k]).mean()
        expected = 2 * math.pi * k / segments + frame
        assert abs(np.angle(mean * np.exp(-1j * expected))) < 1e-3


@pytest.mark.parametrize("segments", [3, 4, 6, 7])
def test_segment_frame_identity(segments):
    # sum_k e(a_k) e(a_k + delta)^T = (N / 2) R(-delta) for N >= 3: the algebra behind frame_deg.
    det = SegmentedDetector(1.0, 2.0, segments, 37.0)
    delta = math.radians(det.frame_deg)
    a = 2 * math.pi * np.arange(segments) / segments
    u = np.stack([np.cos(a + delta), np.sin(a + delta)], axis=1)
    m = det.directions.T @ u
    c, s = math.cos(-delta), math.sin(-delta)
    np.testing.assert_allclose(m, segments / 2 * np.array([[c, -s], [s, c]]), atol=1e-12)


def shifted_disc_cube(shifts: np.ndarray, n: int = 64, radius: float = 24.0) -> Datacube:
    """Patterns of a uniform disc shifted by ``shifts`` (P, 2) pixels, anti-aliased by 4x4."""
    sub = (np.arange(4 * n) + 0.5) / 4 - 0.5
    qx, qy = np.meshgrid(sub, sub, indexing="ij")
    data = []
    for sx, sy in shifts:
        fine = (np.hypot(qx - n // 2 - sx, qy - n // 2 - sy) < radius).astype(np.float64)
        data.append(fine.reshape(n, 4, n, 4).mean((1, 3)))
    return Datacube(np.asarray(data).reshape(len(shifts), 1, n, n))


@pytest.mark.parametrize("offset", [0.0, 45.0, 100.0, 333.0])
def test_detector_frame_vector_points_along_the_disc_shift(offset):
    directions = np.radians([0.0, 30.0, 75.0, 160.0, -110.0])
    shifts = 0.8 * np.stack([np.cos(directions), np.sin(directions)], axis=1)
    dpc = DPC(shifted_disc_cube(shifts))
    det = SegmentedDetector(3.0, 30.0, 4, offset)
    com = dpc.segmented_com(det, frame="detector")[:, :, 0]
    measured = np.degrees(np.arctan2(com[1], com[0]))
    for got, want in zip(measured, np.degrees(directions), strict=True):
        assert angle_error(got, want) < 2.0
    # and the tutorial contract of the default frame is untouched
    segs = dpc.segment_images(det)
    raw = dpc.segmented_com(det)
    np.testing.assert_array_equal(raw[0], segs[0] - segs[2])
    np.testing.assert_array_equal(raw[1], segs[1] - segs[3])
    np.testing.assert_allclose(
        dpc.segmented_com(det, frame="detector"), rotate_com(raw, det.frame_deg)
    )


def test_segmented_com_rejects_unknown_frame(cube):
    with pytest.raises(ValueError, match="frame must be one of .*got 'scan'"):
        DPC(cube).segmented_com(SegmentedDetector(2, 8, 4), frame="scan")


@pytest.fixture(
    scope="module", params=[(-15.0, False), (40.0, True), (-150.0, False), (-150.0, True)]
)
def simulated(request):
    rotation, transpose = request.param
    return simulate(rotation=rotation, transpose=transpose)


def test_every_source_and_offset_gives_the_scan_rotation(simulated):
    dpc = DPC(simulated.cube)
    worst = 0.0
    for offset in OFFSETS:
        det = SegmentedDetector(10, 25, 4, offset)
        for source in SOURCES:
            result = dpc.run(det, com_source=source)
            assert result.transpose is simulated.transpose, (offset, source)
            assert result.rotation.angle_deg == result.angle_deg
            error = angle_error(result.angle_deg, simulated.rotation)
            worst = max(worst, error)
            assert error <= 3.0, (offset, source, result.angle_deg)
    assert worst > 0.1  # segmentation error exists (the check is not vacuous)


def test_run_com_is_the_detector_frame_vector(simulated):
    dpc = DPC(simulated.cube)
    det = SegmentedDetector(10, 25, 4, 100.0)
    result = dpc.run(det, descan=None)
    np.testing.assert_array_equal(result.com, dpc.segmented_com(det, frame="detector"))
    # by default the scan-mean offset is removed (descan="constant", as for every source)
    vector = dpc.segmented_com(det, frame="detector")
    offset = vector.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(dpc.run(det).com, vector - offset, atol=1e-9 * np.abs(vector).max())
    # the raw (segment-frame) vector needs the scan rotation plus frame_deg
    raw = dpc.solve_rotation(dpc.segmented_com(det))
    sign = -1.0 if simulated.transpose else 1.0
    expected = result.angle_deg + sign * det.frame_deg
    assert angle_error(raw.angle_deg, expected) < 0.5


def test_uncertainty_matches_the_error_over_shot_noise_seeds():
    # Poisson noise (1000 electrons per pattern) on the simulator, 8 seeds: the reported
    # one-sigma uncertainty must be of the size of the actual scatter of the solved angle.
    sim = simulate(rotation=-15.0, dtype=np.float64)
    data = np.asarray(sim.cube.data)
    errors, sigmas = [], []
    for seed in range(8):
        counts = np.random.default_rng(seed).poisson(1000.0 * data).astype(np.float32)
        result = DPC(Datacube(counts)).solve_rotation()
        assert not result.weak_half_turn
        errors.append((result.angle_deg + 15.0 + 180.0) % 360.0 - 180.0)
        sigmas.append(result.uncertainty_deg)
    spread, sigma = float(np.std(errors, ddof=1)), float(np.mean(sigmas))
    assert 1.0 < sigma < 4.0  # about 2 degrees at this dose
    assert 0.5 < spread / sigma < 2.0, (spread, sigma)
    assert abs(np.mean(errors)) < 3 * sigma / math.sqrt(8)  # no bias beyond the noise


def test_run_memoises_the_rotation_with_its_uncertainty(simulated):
    dpc = DPC(simulated.cube)
    det = SegmentedDetector(10, 25, 4, 15.0)
    first = dpc.run(det)
    assert dpc.run(det) is first
    assert first.rotation.uncertainty_deg >= 0.0 and not first.rotation.weak_half_turn
    assert dpc.segmented_com(det, frame="detector") is dpc.segmented_com(det, frame="detector")
