"""The detector view's zoom (widgets/zoom.py, the mirror of js/src/geometry.js), the diffraction
image's scales (render.pattern_gray, the mirror of js/src/colormaps.js) and the explorer's
default "fit disc" view with the radial profile following it."""

from __future__ import annotations

import json
import math
import os
import pathlib

import numpy as np
import pytest
import traitlets

from dpc_widgets import simulate
from dpc_widgets.widgets import render, zoom
from dpc_widgets.widgets.explorer import Explorer
from dpc_widgets.widgets.views import ExplorerView

pytestmark = pytest.mark.colab_env  # also in the Colab-like environment (ipywidgets 7.7.1)

FIXTURE = pathlib.Path(__file__).parents[1] / "js" / "tests" / "fixtures" / "zoom_reference.json"


def small_disc_cube(scan=(8, 8), detector=(128, 128), radius=3.0) -> np.ndarray:
    """A float32 cube whose bright-field disc (radius px, soft edge of 1 px) moves by up to
    0.3 px over the scan, on a background of 1 count."""
    rows, cols = detector
    u = np.arange(rows)[:, None] - rows // 2
    v = np.arange(cols)[None, :] - cols // 2
    cube = np.empty((*scan, rows, cols), dtype=np.float32)
    for x in range(scan[0]):
        for y in range(scan[1]):
            du = 0.3 * math.sin(2 * math.pi * x / scan[0])
            dv = 0.3 * math.cos(2 * math.pi * y / scan[1])
            r = np.hypot(u - du, v - dv)
            cube[x, y] = 1.0 + 1000.0 * np.clip(radius + 0.5 - r, 0.0, 1.0)
    return cube


# --- zoom.py: the transform, explicit formulas -------------------------------------------


def test_view_transform_places_points_by_the_formula():
    view = zoom.view_transform((10, 20), 4.0, 2.0, (5.0, 12.0))
    assert view.s == 8.0
    # the focus is drawn in the middle of the 80 x 40 px panel
    assert view.to_screen(5.0, 12.0) == (40.0, 20.0)
    assert view.to_screen(6.0, 12.0) == (40.0, 28.0)  # one pixel down: 8 px lower
    assert view.to_detector(*view.to_screen(3.25, 17.5)) == pytest.approx((3.25, 17.5))
    assert zoom.element_at(view, (10, 20), 40.0, 20.0) == (5, 12)
    assert zoom.element_at(view, (10, 20), 39.9, 19.9) == (4, 11)
    # unzoomed: the whole detector, element [i, j] centred at ((j + .5) s0, (i + .5) s0)
    whole = zoom.view_transform((10, 20), 4.0, 1.0, [])
    assert whole.to_screen(2.5, 3.5) == (14.0, 10.0)
    assert (whole.ox, whole.oy, whole.focus) == (0.0, 0.0, (5.0, 10.0))


def test_view_stays_on_the_detector_and_zoom_is_clamped():
    view = zoom.view_transform((10, 20), 4.0, 2.0, (0.0, 100.0))
    assert view.focus == (2.5, 15.0)  # half the view (5 x 10 pixels) from the edges
    assert zoom.view_transform((10, 20), 4.0, 1000.0, (5, 5)).zoom == zoom.MAX_ZOOM
    assert zoom.view_transform((10, 20), 4.0, 0.5, (5, 5)).zoom == 1.0
    assert zoom.view_transform((10, 20), 4.0, math.nan, (math.nan, 3)).focus == (5.0, 10.0)


def test_zoom_at_keeps_the_point_under_the_pointer():
    shape = (128, 128)
    view = zoom.view_transform(shape, 2.0, 4.0, (60.0, 70.0))
    left, top = 100.0, 150.0
    before = view.to_detector(left, top)
    z, focus = zoom.zoom_at(view, shape, left, top, 1.5)
    after = zoom.view_transform(shape, 2.0, z, focus)
    assert z == 6.0
    assert after.to_detector(left, top) == pytest.approx(before)


def test_fit_view_frames_three_disc_radii_or_the_outer_ring():
    # disc radius 3 on 128: half width 9 px -> zoom 128 / 18, centred on the centre pixel
    z, focus = zoom.fit_view((128, 128), (64.0, 64.0), 3.0, outer_px=3.0)
    assert z == pytest.approx(128 / 18)
    assert focus == (64.5, 64.5)
    # an outer ring at 12 px widens it to 1.15 * 12
    z, _ = zoom.fit_view((128, 128), (64.0, 64.0), 3.0, outer_px=12.0)
    assert z == pytest.approx(128 / (2 * 1.15 * 12))
    # a disc of 1/8 of the detector or more, or none found: the whole detector
    assert zoom.fit_view((128, 128), (64.0, 64.0), 16.0) == (1.0, (64.0, 64.0))
    assert zoom.fit_view((128, 128), (64.0, 64.0), None) == (1.0, (64.0, 64.0))
    # a disc near the edge: the view is moved onto the detector
    z, focus = zoom.fit_view((128, 128), (2.0, 64.0), 3.0, outer_px=3.0)
    assert focus[0] == pytest.approx(128 / (2 * z))


def test_visible_radii():
    shape, center = (100, 100), (49.5, 49.5)  # the point (50, 50)
    assert zoom.visible_radii(shape, 1.0, [], center) == pytest.approx((0.0, math.hypot(50, 50)))
    # zoom 10 about the centre: 10 x 10 pixels, corners at 5 sqrt 2
    assert zoom.visible_radii(shape, 10.0, (50, 50), center) == pytest.approx((0.0, 50**0.5))
    # zoom 10 about (20, 50): rows 15..25, the centre 25 rows below the view
    assert zoom.visible_radii(shape, 10.0, (20, 50), center) == pytest.approx(
        (25.0, math.hypot(35, 5))
    )


# --- render.pattern_gray -----------------------------------------------------------------


def test_pattern_gray_linear_and_gamma_follow_their_formulas():
    values = np.array([[-5.0, 0.0, 25.0, 50.0, 100.0, 400.0, np.nan]])
    linear = render.pattern_gray(values, 100.0, "linear")[0, :, 0]
    assert linear.tolist() == [0, 0, 64, 128, 255, 255, 0]  # floor(255 t + 0.5)
    gamma = render.pattern_gray(values, 100.0, "gamma", 0.5)[0, :, 0]
    assert gamma.tolist() == [0, 0, 128, 180, 255, 255, 0]  # sqrt(0.25) = 0.5, sqrt(0.5)
    log = render.pattern_gray(values, 100.0, "log")
    assert (log == render.log_gray(values, 100.0)).all()
    assert render.pattern_gray(values, 0.0, "gamma")[..., :3].max() == 0
    assert (render.pattern_gray(values, 100.0, "linear")[..., 3] == 255).all()


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"scale": "sqrt"}, "scale"), ({"scale": "gamma", "gamma": 0.0}, "gamma")],
)
def test_pattern_gray_names_a_bad_parameter(kwargs, word):
    with pytest.raises(ValueError, match=word):
        render.pattern_gray(np.ones((2, 2)), 1.0, **kwargs)


def test_view_traits_are_checked():
    view = ExplorerView()
    with pytest.raises(traitlets.TraitError, match="pattern_scale"):
        view.pattern_scale = "sqrt"
    with pytest.raises(traitlets.TraitError, match="pattern_gamma"):
        view.pattern_gamma = -1.0
    with pytest.raises(traitlets.TraitError, match="detector_zoom"):
        view.detector_zoom = math.inf


# --- the fixture the JS tests compare with ------------------------------------------------


def reference_data() -> dict:
    rng = np.random.default_rng(7)
    intensities = (rng.random(30) * 1000).astype(np.float32)
    shape = (96, 128)
    views = []
    for z, focus in [(1.0, []), (3.0, (20.0, 100.0)), (7.5, (0.0, 0.0)), (100.0, (48.2, 64.7))]:
        view = zoom.view_transform(shape, 2.5, z, focus)
        after = zoom.zoom_at(view, shape, 33.0, 71.0, 1.7)
        views.append(
            {
                "zoom": z,
                "focus": list(focus),
                "view": [view.s, view.ox, view.oy, view.zoom, *view.focus],
                "zoomAt": [after[0], *after[1]],
            }
        )
    fits = []
    cases = [((40.0, 70.0), 3.0, 2.0), ((2.0, 3.0), 2.0, 9.0), ((48, 64), 20, 5)]
    for center, disc, outer in cases:
        z, focus = zoom.fit_view(shape, center, disc, outer)
        fits.append({"center": list(center), "disc": disc, "outer": outer, "fit": [z, *focus]})
    return {
        "shape": list(shape),
        "s0": 2.5,
        "views": views,
        "fits": fits,
        "pattern": {
            "values": intensities.tolist(),
            "vmax": 900.0,
            "linear": render.pattern_gray(intensities, 900.0, "linear")[:, 0].tolist(),
            "gamma": render.pattern_gray(intensities, 900.0, "gamma", 0.4)[:, 0].tolist(),
        },
    }


def test_js_zoom_fixture_is_current():
    """js/tests/zoom.test.js compares with this; regenerate with DPC_WRITE_JS_FIXTURE=1."""
    data = json.loads(json.dumps(reference_data()))
    if os.environ.get("DPC_WRITE_JS_FIXTURE") == "1":
        FIXTURE.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    assert json.loads(FIXTURE.read_text()) == data


# --- the explorer -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_disc_explorer():
    return Explorer(small_disc_cube(), panel_size=256)


def test_explorer_frames_a_small_disc_and_the_profile_follows(small_disc_explorer):
    ex = small_disc_explorer
    view = ex.view
    assert view.disc_radius == pytest.approx(3.0, abs=0.5)  # found on the mean pattern
    outer_px = ex.controls.settings().outer / ex.dpc.cube.detector_sampling
    expected = zoom.fit_view((128, 128), ex.dpc.origin, view.disc_radius, outer_px)
    assert view.detector_zoom == pytest.approx(expected[0])
    assert view.detector_focus == pytest.approx(list(expected[1]))
    assert view.detector_zoom > 4
    low, high = zoom.visible_radii(
        (128, 128), view.detector_zoom, view.detector_focus, ex.dpc.origin
    )
    axis = ex.plots.profile.axes[0].scale
    assert axis.min <= low * ex.dpc.cube.detector_sampling
    assert high * ex.dpc.cube.detector_sampling <= axis.max < 2 * high
    # the browser zooms out to the whole detector: the profile spans all radii again
    view.detector_zoom = 1.0
    assert axis.max >= float(ex.dpc.radial_profile()[0].max())
    view.detector_zoom = 16.0
    view.detector_focus = [64.5, 64.5]
    assert axis.max < 10


def test_explorer_shows_a_large_disc_whole():
    ex = Explorer(simulate(scan_shape=(8, 8)).cube)  # disc radius 18.7 px on 96 x 96
    assert ex.view.disc_radius > 96 / 8
    assert ex.view.detector_zoom == 1.0
    assert ex.plots.profile.axes[0].scale.max >= float(ex.dpc.radial_profile()[0].max())


def test_window_pixels_cover_the_view():
    assert zoom.window_pixels((128, 128), 1.0, []) == (0, 128, 0, 128)
    assert zoom.window_pixels((128, 128), 8.0, (64.0, 64.0)) == (56, 72, 56, 72)
    assert zoom.window_pixels((128, 128), 8.0, (64.5, 10.25)) == (56, 73, 2, 19)
    assert zoom.window_pixels((100, 60), 2.0, (0.0, 0.0)) == (0, 50, 0, 30)


def test_snapshot_draws_the_zoomed_window_on_the_chosen_scale(small_disc_explorer):
    from PIL import Image

    from dpc_widgets.widgets import snapshot

    ex = small_disc_explorer
    mean = ex.dpc.mean_pattern()
    settings, origin = ex._result_settings, ex.dpc.origin
    sampling = ex.dpc.cube.detector_sampling
    png = snapshot.snapshot_png(
        ex._result, mean, settings, origin, sampling,
        pattern_scale="gamma", pattern_gamma=0.5, window=(0, 16, 0, 16),
    )  # fmt: skip
    image = np.asarray(Image.open(__import__("io").BytesIO(png)).convert("RGB"))
    top, left = snapshot.panel_origin("mean_pattern")
    panel = image[top : top + snapshot.PANEL, left : left + snapshot.PANEL]
    step = snapshot.PANEL // 16  # 16 pixels of the corner, no ring among them
    figure = snapshot.detector_figure(mean, settings, origin, sampling, "gamma", 0.5)
    np.testing.assert_array_equal(panel[step // 2 :: step, step // 2 :: step], figure[:16, :16, :3])
    assert (
        figure[..., 0] != snapshot.detector_figure(mean, settings, origin, sampling)[..., 0]
    ).any()
