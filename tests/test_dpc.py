"""The DPC core against explicit formulas: segment sums, segmented/monolithic/pixelated CoM."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _cubes import random_cube
from hypothesis import given, settings
from hypothesis import strategies as st

from dpc_widgets import AnnularDetector, Datacube, SegmentedDetector
from dpc_widgets.core import DPC
from dpc_widgets.detectors import weighted_reach


def explicit_sums(cube: Datacube, masks: np.ndarray) -> np.ndarray:
    data = np.asarray(cube.data, dtype=np.float64)
    return np.stack([(data * m).sum((-2, -1)) for m in masks])


@pytest.mark.parametrize("dtype", [np.float32, np.uint16, np.int32])
@pytest.mark.parametrize(("segments", "rotation"), [(4, 60.0), (1, 0.0), (7, -33.3), (16, 400.0)])
def test_segment_images_equal_explicit_mask_sums(dtype, segments, rotation):
    cube = random_cube(dtype=dtype, detector_sampling=0.8, detector_units="mrad")
    det = SegmentedDetector(1.0, 7.5, segments, rotation)
    images = DPC(cube).segment_images(det)
    assert images.shape == (segments, 6, 7) and images.dtype == np.float64
    expected = explicit_sums(cube, det.masks(cube))
    np.testing.assert_allclose(images, expected, rtol=1e-12)
    if dtype != np.float32:
        np.testing.assert_array_equal(images, expected)  # integers summed exactly


def test_segmented_com_is_the_tutorial_difference_for_four_segments(cube):
    det = SegmentedDetector(2, 8, 4, 60)
    dpc = DPC(cube)
    i = dpc.segment_images(det)
    com = dpc.segmented_com(det)
    np.testing.assert_array_equal(com[0], i[0] - i[2])
    np.testing.assert_array_equal(com[1], i[1] - i[3])


def test_segmented_com_even_generalisation(cube):
    det = SegmentedDetector(2, 8, 8, 10)
    dpc = DPC(cube)
    i = dpc.segment_images(det)
    angles = 2 * np.pi * np.arange(4) / 8
    expected_x = sum((i[k] - i[k + 4]) * np.cos(angles[k]) for k in range(4))
    expected_y = sum((i[k] - i[k + 4]) * np.sin(angles[k]) for k in range(4))
    np.testing.assert_allclose(dpc.segmented_com(det), [expected_x, expected_y], atol=1e-9)
    with pytest.raises(ValueError, match="at least 2 segments, got 1"):
        dpc.segmented_com(SegmentedDetector(2, 8, 1))


@pytest.mark.parametrize("weighting", ["binary", "area"])
@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_monolithic_com_matches_centroid_formula(dtype, weighting):
    cube = random_cube(dtype=dtype)
    det = SegmentedDetector(2, 9, 5, 17, weighting=weighting)
    masks = det.masks(cube).astype(np.float64)  # weights: 0 / 1, or each pixel's overlap
    sums = explicit_sums(cube, masks)
    qx, qy = np.meshgrid(np.arange(24), np.arange(20), indexing="ij")
    cx = np.array([(qx * m).sum() / m.sum() for m in masks]) - cube.origin[0]
    cy = np.array([(qy * m).sum() / m.sum() for m in masks]) - cube.origin[1]
    expected = np.stack([np.tensordot(cx, sums, 1), np.tensordot(cy, sums, 1)])
    np.testing.assert_allclose(DPC(cube).monolithic_com(det), expected, rtol=1e-10)


def explicit_com(cube: Datacube, ring=None) -> np.ndarray:
    data = np.asarray(cube.data, dtype=np.float64)
    if ring is not None:
        data = data * ring
    qx, qy = np.meshgrid(*(np.arange(n) for n in cube.detector_shape), indexing="ij")
    total = data.sum((-2, -1))
    return np.stack([(data * qx).sum((-2, -1)) / total, (data * qy).sum((-2, -1)) / total])


def test_pixelated_com_modes(cube):
    dpc = DPC(cube)
    raw = explicit_com(cube)
    origin = np.array(cube.origin)[:, None, None]
    np.testing.assert_allclose(dpc.com(descan=None), raw - origin, atol=1e-10)
    constant = dpc.com()
    np.testing.assert_allclose(constant, raw - raw.mean(axis=(1, 2), keepdims=True), atol=1e-10)
    plane = dpc.com(descan="plane")
    rx, ry = np.meshgrid(np.arange(6), np.arange(7), indexing="ij")
    design = np.stack([np.ones(42), rx.ravel(), ry.ravel()], 1)
    for c in range(2):
        residual = plane[c].ravel()
        assert np.abs(design.T @ residual).max() < 1e-9  # orthogonal to the plane model


def test_pixelated_com_in_an_annulus_and_units():
    cube = random_cube(detector_sampling=0.5, detector_units="mrad", energy=300e3)
    dpc = DPC(cube)
    ring = AnnularDetector(1.0, 4.0, weighting="binary").masks(cube)[0]  # pixel-centre rule
    expected = explicit_com(cube, ring) - np.array(cube.origin)[:, None, None]
    np.testing.assert_allclose(dpc.com(inner=1.0, outer=4.0, descan=None), expected, atol=1e-10)
    px = dpc.com(descan=None)
    np.testing.assert_allclose(dpc.com(descan=None, units="mrad"), px * 0.5, rtol=1e-12)
    inv_a = dpc.com(descan=None, units="A^-1")
    np.testing.assert_allclose(inv_a, px * cube.detector_pixel_size("A^-1"), rtol=1e-12)
    with pytest.raises(ValueError, match="unknown detector units 'furlong'"):
        dpc.com(units="furlong")
    with pytest.raises(ValueError, match="descan must be one of"):
        dpc.com(descan="linear")


def test_units_need_calibration_and_energy():
    dpc = DPC(random_cube(detector_sampling=0.5, detector_units="mrad"))
    with pytest.raises(ValueError, match="needs the beam energy"):
        dpc.com(units="A^-1")
    with pytest.raises(ValueError, match="not calibrated"):
        DPC(random_cube()).com(units="mrad")


def test_zero_dose_patterns_give_zero_not_nan():
    cube = random_cube()
    data = np.array(cube.data)
    data[2, 3] = 0
    com = DPC(Datacube(data)).com()
    assert np.isfinite(com).all() and (com[:, 2, 3] == 0).all()
    zero = DPC(Datacube(np.zeros((4, 4, 8, 8), np.uint16)))
    assert (zero.com() == 0).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("stream_first", [True, False])
def test_nan_and_inf_are_masked_and_counted(bad, stream_first):
    """A NaN / inf pixel counts as 0 (the CoM equals that of the data with a 0 there)."""
    data = np.array(random_cube().data, dtype=np.float64)
    data[4, 1, 3, 3] = bad
    kept = data.copy()
    dpc = DPC(Datacube(data), stream_first=stream_first)
    assert dpc.nonfinite_pixels == 0  # nothing read yet
    com = dpc.com()
    zeroed = np.where(np.isfinite(data), data, 0.0)
    np.testing.assert_array_equal(com, DPC(Datacube(zeroed), stream_first=stream_first).com())
    assert dpc.nonfinite_pixels == 1
    np.testing.assert_array_equal(data, kept)


@settings(max_examples=40, deadline=None)
@given(
    shift=st.tuples(st.integers(-5, 5), st.integers(-5, 5)),
    scale=st.floats(1e-3, 1e3),
)
def test_com_follows_shifts_and_ignores_scale(shift, scale):
    base = np.zeros((1, 2, 32, 32), np.float64)
    base[0, 0, 12:18, 13:17] = 1.0
    base[0, 0, 14, 15] = 5.0
    base[0, 1] = np.roll(base[0, 0], shift, axis=(0, 1)) * scale
    com = DPC(Datacube(base)).com(descan=None)
    np.testing.assert_allclose(com[:, 0, 1] - com[:, 0, 0], shift, atol=1e-9)


def test_inputs_are_not_mutated(cube):
    before = np.array(cube.data, copy=True)
    dpc = DPC(cube)
    det = SegmentedDetector(1, 8, 4, 20)
    dpc.segment_images(det)
    dpc.monolithic_com(det)
    dpc.com(inner=1, outer=6)
    np.testing.assert_array_equal(cube.data, before)


def test_results_are_memoised_and_read_only(cube):
    dpc = DPC(cube)
    det = SegmentedDetector(1, 8, 4, 20)
    first = dpc.segment_images(det)
    assert dpc.segment_images(SegmentedDetector(1, 8, 4, 20)) is first
    with pytest.raises(ValueError):
        first[0, 0, 0] = 1.0


def test_origin_change_invalidates_caches(cube):
    dpc = DPC(cube)
    det = SegmentedDetector(1, 6, 4, 20)
    before_images = dpc.segment_images(det)
    before_com = dpc.com(descan=None)
    dpc.origin = (cube.origin[0] - 2, cube.origin[1] + 1)
    moved = cube.with_origin(dpc.origin)
    np.testing.assert_allclose(dpc.segment_images(det), explicit_sums(moved, det.masks(moved)))
    assert not np.allclose(dpc.segment_images(det), before_images)
    np.testing.assert_allclose(dpc.com(descan=None), before_com + [[[2.0]], [[-1.0]]], atol=1e-9)


def test_cube_change_invalidates_caches(cube):
    dpc = DPC(cube)
    det = SegmentedDetector(1, 6, 4, 20)
    dpc.segment_images(det)
    other = random_cube(seed=5)
    dpc.cube = other
    np.testing.assert_allclose(dpc.segment_images(det), explicit_sums(other, det.masks(other)))


def test_bad_arguments(cube):
    with pytest.raises(TypeError, match="cube must be a dpc_widgets.Datacube, got ndarray"):
        DPC(np.zeros((2, 2, 4, 4)))
    with pytest.raises(ValueError, match="unknown backend 'torch'"):
        DPC(cube, backend="torch")
    dpc = DPC(cube)
    with pytest.raises(TypeError, match="detector must be a SegmentedDetector"):
        dpc.segment_images((1, 2, 4))
    with pytest.raises(ValueError, match="com_source must be one of"):
        dpc.run(SegmentedDetector(1, 6), com_source="magic")
    with pytest.raises(ValueError, match="method must be one of"):
        dpc.phase(method="magic")


def test_outer_beyond_detector_warns_but_computes(cube):
    dpc = DPC(cube)
    with pytest.warns(RuntimeWarning, match="beyond the detector edge"):
        images = dpc.segment_images(SegmentedDetector(1, 100, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = explicit_sums(cube, SegmentedDetector(1, 100, 4).masks(cube))
    np.testing.assert_allclose(images, expected, rtol=1e-12)


def test_radial_profile_of_a_ring():
    qx, qy = np.meshgrid(np.arange(41) - 20, np.arange(41) - 20, indexing="ij")
    ring = ((np.hypot(qx, qy) >= 8) & (np.hypot(qx, qy) < 9)).astype(np.float32)
    cube = Datacube(
        np.broadcast_to(ring, (2, 2, 41, 41)).copy(), detector_sampling=2.0, detector_units="mrad"
    )
    radii, values = DPC(cube).radial_profile()
    assert radii[np.argmax(values)] == pytest.approx(17.0)  # bin [8, 9) px -> 17 mrad centre


def test_phase_padding_modes_all_recover_the_truth():
    from dpc_widgets import simulate

    sim = simulate(rotation=20.0)
    dpc = DPC(sim.cube)
    truth = sim.phase_blurred.ravel()
    results = {}
    # Zero padding (py4DSTEM's choice) puts edges into a periodic field: visibly worse here.
    expected = {("mirror", 2): 0.999, ("zeros", 2): 0.95, ("mirror", 1): 0.99999}
    for (pad_mode, padding), minimum in expected.items():
        phase = dpc.phase(pad_mode=pad_mode, padding=padding)
        results[pad_mode, padding] = phase
        assert np.corrcoef(phase.ravel(), truth)[0, 1] > minimum
    assert not np.allclose(results["mirror", 2], results["zeros", 2])
    with pytest.raises(ValueError, match="pad_mode"):
        dpc.phase(pad_mode="wrap")
    run = dpc.run(SegmentedDetector(10, 25), com_source="pixelated", pad_mode="zeros")
    np.testing.assert_allclose(run.phase, results["zeros", 2], atol=1e-12)


def test_memo_is_bounded_in_bytes(monkeypatch):
    import dpc_widgets.core.dpc as core

    dpc = DPC(random_cube())
    one = dpc.segment_images(SegmentedDetector(1, 8, 4, 0)).nbytes
    monkeypatch.setattr(core, "_MEMO_BYTES", 3 * one)
    for k in range(10):
        dpc.segment_images(SegmentedDetector(1, 8, 4, k))
    assert sum(core._result_bytes(v) for v in dpc._memo.values()) <= 3 * one
    assert len(dpc._memo) == 3


@pytest.mark.filterwarnings("ignore:the 180-degree choice")
def test_memo_keeps_a_running_byte_total(monkeypatch):
    import dpc_widgets.core.dpc as core

    dpc = DPC(random_cube(), stream_first=False)  # every run on the cache: same entries
    one = dpc.segment_images(SegmentedDetector(1, 8, 4, 0)).nbytes
    monkeypatch.setattr(core, "_MEMO_BYTES", 40 * one)
    real = core._result_bytes
    summed = []

    def counting(value):
        summed.append(1)
        return real(value)

    monkeypatch.setattr(core, "_result_bytes", counting)

    def check():
        assert dpc._memo_bytes == sum(real(v) for v in dpc._memo.values())
        assert dpc._memo_sizes.keys() == dpc._memo.keys()
        assert dpc._memo_bytes <= 40 * one

    counts = []
    for k in range(30):
        summed.clear()
        dpc.run(SegmentedDetector(1, 8, 4, k))
        counts.append(len(summed))
        check()
    # only the new entries are counted: the same work on an empty and on a full memo
    assert len(set(counts[1:])) == 1
    assert len(dpc._memo) < 90  # the byte bound evicted entries
    dpc.origin = (7.0, 8.0)  # the mean pattern is kept, with its bytes
    check()
    assert set(dpc._memo) <= {"mean_pattern", "default_cache_radius"}
    dpc.cube = random_cube()
    assert dpc._memo_bytes == 0 and not dpc._memo_sizes


def test_memo_is_bounded_in_entries(monkeypatch):
    import dpc_widgets.core.dpc as core

    dpc = DPC(random_cube())
    monkeypatch.setattr(core, "_MEMO_ENTRIES", 5)
    for k in range(12):
        dpc.segment_images(SegmentedDetector(1, 8, 4, k))
    assert len(dpc._memo) == len(dpc._memo_sizes) == 5
    assert dpc._memo_bytes == sum(core._result_bytes(v) for v in dpc._memo.values())


def test_a_detector_beyond_the_cache_radius_extends_the_cache_exactly():
    cube = random_cube(dtype=np.uint16, detector_sampling=0.8, detector_units="mrad")
    dpc = DPC(cube, cache_radius=4.0, stream_first=False)
    assert dpc.cached_radius is None  # nothing cached yet
    small = SegmentedDetector(1.0, 3.0, 4, 60.0)  # area weights reach 0.57 beyond: 3.57 < 4
    np.testing.assert_array_equal(dpc.segment_images(small), explicit_sums(cube, small.masks(cube)))
    first = dpc._engine
    assert dpc.cached_radius == first.cache_radius == 4.0
    wide = SegmentedDetector(1.0, 6.0, 4, 60.0)
    np.testing.assert_array_equal(dpc.segment_images(wide), explicit_sums(cube, wide.masks(cube)))
    reach = 6.0 + weighted_reach(0.8, wide.subsample)  # area weights reach half a diagonal out
    assert dpc._engine is not first
    assert dpc.cached_radius == np.inf or 1.25 * reach <= dpc.cached_radius <= 1.25 * (reach + 1)
    annular = dpc.com(inner=0.0, outer=7.0, descan=None)  # extends again, still exact
    np.testing.assert_allclose(annular, DPC(cube).com(inner=0.0, outer=7.0, descan=None))
    with pytest.raises(ValueError, match=r"cache_radius \(detector units\) must be positive"):
        DPC(cube, cache_radius=-1.0)


def test_the_default_cache_covers_one_and_a_half_disc_radii():
    from dpc_widgets import simulate
    from dpc_widgets.core.sums import CACHE_DISC_FACTOR

    cube = simulate().cube
    dpc = DPC(cube, stream_first=False)
    det = SegmentedDetector(10, 25, 4, 60)
    expected = explicit_sums(cube, det.masks(cube))
    np.testing.assert_allclose(dpc.segment_images(det), expected, rtol=1e-12)
    disc = cube.sample_disc()
    engine = dpc._engine
    assert engine.cache_radius == CACHE_DISC_FACTOR * disc.radius * cube.detector_sampling
    held = engine._pix.nbytes / cube.nbytes
    assert 0.2 < held < 0.35  # about pi (1.5 r)^2 / Qx Qy, r the disc radius


def test_build_cache_in_a_thread_keeps_the_old_cache_until_it_is_ready():
    import threading

    cube = random_cube(dtype=np.uint16, detector_sampling=0.8, detector_units="mrad")
    dpc = DPC(cube, cache_radius=4.0, stream_first=False)
    small = SegmentedDetector(1.0, 3.0, 4, 60.0)  # area weights reach 0.57 beyond: 3.57 < 4
    dpc.segment_images(small)
    old = dpc._engine
    # area-weighted pixels half a diagonal (0.57 mrad) beyond a reach count: 3.0 + 0.57 < 4
    assert dpc.cache_ready(cube.origin, 3.0) and not dpc.cache_ready(cube.origin, 3.5)
    radius = dpc.plan_cache_radius(cube.origin, 6.0)
    assert radius == 1.25 * (6.0 + weighted_reach(0.8, 8))
    seen = []
    thread = threading.Thread(
        target=dpc.build_cache,
        args=(cube.origin, 6.0),
        kwargs={"radius": radius, "keep_old": True, "on_progress": lambda d, t: seen.append(d)},
    )
    thread.start()
    wide = SegmentedDetector(1.0, 6.0, 4, 60.0)
    thread.join()
    assert dpc._engine is not old and dpc.cache_ready(cube.origin, 6.0)
    assert seen[-1] == 42  # scan positions of the 6 x 7 scan
    np.testing.assert_array_equal(dpc.segment_images(wide), explicit_sums(cube, wide.masks(cube)))
    # A build that ends after the cube changed is not installed.
    other = random_cube(dtype=np.uint16, seed=3)
    dpc2 = DPC(cube, cache_radius=4.0)

    def build_then_swap(done, total):
        if done == total:
            dpc2.cube = other

    dpc2.build_cache(cube.origin, 3.0, on_progress=build_then_swap)
    assert dpc2._engine is None


@pytest.mark.filterwarnings("ignore:the 180-degree choice")
def test_pixelated_run_does_not_redo_rotation_and_phase_per_detector():
    cube = random_cube(scan_sampling=0.5, scan_units="A", energy=200e3, detector_sampling=0.9)
    dpc = DPC(cube)
    first = dpc.run(SegmentedDetector(1, 8, 4, 0), com_source="pixelated", high_pass=0.01)
    second = dpc.run(SegmentedDetector(2, 8, 4, 0), com_source="pixelated", high_pass=0.01)
    assert second.phase is first.phase and second.com_rotated is first.com_rotated
    assert not np.array_equal(second.segment_images, first.segment_images)
    fresh = DPC(cube).run(SegmentedDetector(2, 8, 4, 0), com_source="pixelated", high_pass=0.01)
    np.testing.assert_array_equal(second.phase, fresh.phase)
    assert second.angle_deg == fresh.angle_deg and second.rotation == fresh.rotation
    other = dpc.run(SegmentedDetector(2, 8, 4, 0), com_source="pixelated", high_pass=0.02)
    assert not np.array_equal(other.phase, second.phase)  # other options: integrated anew
    segmented = dpc.run(SegmentedDetector(3, 8, 4, 0))
    assert not np.array_equal(segmented.phase, second.phase)


# ---------------------------------------------------------------------- an off-grid centre
def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


@pytest.fixture(scope="module")
def off_grid():
    """The simulator's data with the detector centre a few thousandths of a pixel off the
    grid, as ``load`` finds it on a file (the issue's (48.0036, 48.0010))."""
    from dpc_widgets import simulate

    sim = simulate(seed=0)
    cube = sim.cube
    return sim, cube.with_origin((48.0036, 48.0010))


@pytest.mark.filterwarnings("ignore:the 180-degree choice")
def test_area_weights_make_segment_dpc_unbiased_at_an_off_grid_centre(off_grid):
    sim, cube = off_grid
    dpc = DPC(cube)
    phases = {}
    for weighting in ("area", "binary"):
        det = SegmentedDetector(10.0, 25.1, 4, 0.0, weighting=weighting)  # the explorer's
        for source in ("segmented", "monolithic"):
            for descan in (None, "constant"):
                result = dpc.run(det, com_source=source, descan=descan)
                phases[weighting, source, descan] = _correlation(result.phase, sim.phase_blurred)
        np.testing.assert_array_equal(result.segment_areas, det.areas(cube))
    for source in ("segmented", "monolithic"):
        assert phases["area", source, None] >= 0.99  # unbiased without any offset removal
        assert phases["area", source, "constant"] >= 0.99
        assert phases["binary", source, "constant"] >= 0.99  # the offset removed by descan
    # Binary masks there: segments of 352 / 366 / 380 / 366 pixels, a constant offset each.
    assert phases["binary", "segmented", None] < 0.6
    assert phases["binary", "monolithic", None] < 0.95


@pytest.mark.filterwarnings("ignore:the 180-degree choice")
def test_descan_of_segment_sources_is_the_scan_mean_and_leaves_segmented_com_alone(cube):
    det = SegmentedDetector(2, 8, 4, 60)
    dpc = DPC(cube)
    raw = dpc.segmented_com(det, frame="detector")
    for source, com in (("segmented", raw), ("monolithic", dpc.monolithic_com(det))):
        none = dpc.run(det, com_source=source, descan=None).com
        constant = dpc.run(det, com_source=source, descan="constant").com
        np.testing.assert_allclose(none, com, rtol=1e-12)
        expected = com - com.mean(axis=(1, 2), keepdims=True)
        np.testing.assert_allclose(constant, expected, rtol=1e-9, atol=1e-9 * np.abs(com).max())
        plane = dpc.run(det, com_source=source, descan="plane").com
        rx, ry = np.meshgrid(*(np.arange(n) for n in com.shape[1:]), indexing="ij")
        design = np.stack([np.ones(rx.size), rx.ravel(), ry.ravel()], axis=1)
        for k in range(2):  # the residual of a plane fit: orthogonal to 1, rx and ry
            np.testing.assert_allclose(
                design.T @ plane[k].ravel(), 0, atol=1e-8 * np.abs(com).max() * rx.size
            )
    i = dpc.segment_images(det)
    np.testing.assert_array_equal(dpc.segmented_com(det), [i[0] - i[2], i[1] - i[3]])
    with pytest.raises(ValueError, match="descan must be one of .* got 'bogus'"):
        dpc.run(det, com_source="segmented", descan="bogus")
