"""The explorer's perceptual colour maps, colour bars and segment-tile layout
(:mod:`dpc_widgets.widgets.render`, mirrored by ``js/src/colormaps.js`` and ``js/src/tiles.js``;
the JS tests compare with ``js/tests/fixtures/python_reference.json``)."""

from __future__ import annotations

import io

import numpy as np
import pytest

import dpc_widgets
from dpc_widgets.widgets import render, snapshot
from dpc_widgets.widgets.settings import Settings


def lightness(rgb: np.ndarray) -> np.ndarray:
    """CIELAB L* of sRGB bytes (n, 3) (D65), the quantity a perceptual map keeps even."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = linear @ np.array([0.2126, 0.7152, 0.0722])
    f = np.where(y > (6 / 29) ** 3, np.cbrt(y), y / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116.0 * f - 16.0


def test_sequential_map_is_linear_in_lightness():
    """CET-L1: L* rises from 0 to 100 in equal steps (within 1.5 of a straight line)."""
    L = lightness(render.SEQUENTIAL_LUT)
    assert np.all(np.diff(L) >= 0)
    np.testing.assert_allclose(L, np.linspace(0.0, 100.0, 256), atol=1.5)


def test_diverging_map_is_symmetric_in_lightness_about_its_centre():
    """CET-D1A: blue below, red above, the lightest colour in the middle, and equal L* at
    equal distances from the centre (within 3 L*), so +v and -v look equally strong."""
    lut = render.DIVERGING_LUT.astype(int)
    L = lightness(lut)
    assert abs(int(np.argmax(L)) - render.CENTRE_LEVEL) <= 4
    np.testing.assert_allclose(L[:128], L[255:127:-1], atol=3.0)
    assert (lut[:100, 2] > lut[:100, 0]).all()  # blue side
    assert (lut[156:, 0] > lut[156:, 2]).all()  # red side


def test_lut_interpolates_the_control_points():
    lut = render.lut_of(np.array([[0, 0, 0], [100, 200, 250], [255, 255, 255]]))
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    np.testing.assert_array_equal(lut[0], [0, 0, 0])
    np.testing.assert_array_equal(lut[255], [255, 255, 255])
    # level 51 sits at x = 51 * 2 / 255 = 0.4 of the way to the middle point
    np.testing.assert_array_equal(lut[51], np.floor(0.4 * np.array([100, 200, 250]) + 0.5))


@pytest.mark.parametrize(("low", "high", "m"), [(-0.5, 2.0, 2.0), (-3.0, 1.0, 3.0), (1, 4, 4)])
def test_signed_images_are_symmetric_about_zero(low, high, m):
    assert render.symmetric_range(low, high) == (-m, m)
    image = np.array([[0.0, -m, m, 10 * m, np.nan]])
    rgba = render.diverging(image, low, high)
    lut = render.DIVERGING_LUT
    np.testing.assert_array_equal(rgba[0, 0, :3], lut[render.CENTRE_LEVEL])  # zero: centre
    np.testing.assert_array_equal(rgba[0, 1, :3], lut[0])
    np.testing.assert_array_equal(rgba[0, 2, :3], lut[255])
    np.testing.assert_array_equal(rgba[0, 3, :3], lut[255])  # clipped
    np.testing.assert_array_equal(rgba[0, 4], [0, 0, 0, 0])  # not finite: transparent
    assert render.symmetric_range(-np.inf, 1.0) == (0.0, 0.0)


def test_sequential_levels_are_the_grey_levels_through_the_table():
    rng = np.random.default_rng(3)
    image = rng.normal(size=(5, 7))
    level = render.gray(image, -1.0, 1.5)[..., 0]
    np.testing.assert_array_equal(
        render.sequential(image, -1.0, 1.5)[..., :3], render.SEQUENTIAL_LUT[level]
    )
    bar = render.bar(256, render.SEQUENTIAL_LUT)
    np.testing.assert_array_equal(bar[0, :, :3], render.SEQUENTIAL_LUT)


@pytest.mark.parametrize("size", [120, 220, 400])
def test_tile_layout_fills_the_panel(size):
    for n in range(1, 17):
        columns, rows, tile = render.tile_layout(n, size)
        box = tile + 2 * render.TILE_FRAME
        assert columns * rows >= n
        assert columns * box + (columns - 1) * render.TILE_GAP <= size
        assert rows * box + (rows - 1) * render.TILE_GAP <= size
    assert render.tile_layout(16, size)[:2] == (4, 4)  # no empty cell
    assert render.tile_layout(4, size)[:2] == (2, 2)
    # 8: 3 x 3 with one empty cell (a third of the panel each), not 4 x 2 at a quarter
    assert render.tile_layout(8, size)[:2] == (3, 3)
    assert render.tile_layout(8, 220)[2] == (220 - 8) // 3 - 4  # 66 px; was 53 px


def test_snapshot_draws_colour_bars_and_framed_tiles():
    from PIL import Image

    data = dpc_widgets.simulate()
    dpc = dpc_widgets.DPC(data.cube)
    settings = Settings(inner=5.0, outer=16.0, segments=8)
    result = dpc.run(settings.detector(), **settings.run_kwargs())
    mean = dpc.mean_pattern()
    png = snapshot.snapshot_png(result, mean, settings, dpc.origin, data.cube.detector_sampling)
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    # CoM x's colour bar: the diverging table across the panel's width under the image
    top, left = snapshot.panel_origin("com_x")
    strip = top + snapshot.PANEL + 2
    bar = image[strip + snapshot.BAR // 2, left : left + snapshot.PANEL]
    np.testing.assert_array_equal(bar, render.bar(snapshot.PANEL, render.DIVERGING_LUT)[0, :, :3])
    # each tile's frame: its segment's overlay colour, at the top-right corner of the tile
    top, left = snapshot.panel_origin("segments")
    columns, _, tile = render.tile_layout(8, snapshot.PANEL)
    step = tile + 2 * render.TILE_FRAME + render.TILE_GAP
    for k in range(8):
        row, column = divmod(k, columns)
        y, x = top + row * step, left + column * step + tile + 2 * render.TILE_FRAME - 1
        np.testing.assert_array_equal(image[y, x], render.PALETTE[k])
