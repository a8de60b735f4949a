"""Drag frames at display resolution (:mod:`dpc_widgets.widgets.resolution`): in a kernel, scan
images larger than their panels go binned while the updates come, the exact ones once they
pause; outside a kernel every frame is exact.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from _loops import run_in_own_loop

import dpc_widgets
from dpc_widgets.widgets import Explorer, encoding, flow, render, resolution
from dpc_widgets.widgets.views import ExplorerView


def test_tile_size_splits_the_panel_like_the_view():
    # js/src/tiles.js: the grid fills size x size; 4 px gaps, 2 px frames
    assert resolution.tile_size(220, 4) == (220 - 4) // 2 - 4  # 2 x 2
    assert resolution.tile_size(220, 8) == (220 - 8) // 3 - 4  # 3 x 3, one cell empty
    assert resolution.tile_size(220, 16) == (220 - 12) // 4 - 4  # 4 x 4
    assert resolution.tile_size(220, 1) == 220 - 4


@pytest.mark.parametrize(
    ("scan", "pixels", "expected"),
    [
        ((256, 256), 108, 2),  # L's segment tiles in a 220 px panel
        ((256, 256), 148, 2),  # ... in a fitted 300 px panel: 128 drawn as 148 while dragging
        ((256, 256), 220, 1),  # L's CoM and phase panels
        ((256, 256), 200, 1),  # 128 would be drawn 1.56x: too coarse
        ((512, 512), 220, 2),
        ((1024, 1024), 220, 4),
        ((1024, 1024), 440, 2),  # the same panel on a screen of device pixel ratio 2
        ((256, 250), 100, 2),  # the largest b <= 3.84 dividing both sizes
        ((255, 255), 100, 3),  # 85 positions drawn 1.18x
        ((254, 254), 100, 2),  # no whole blocks of 3
        ((300, 300), 50, 6),
        ((32, 32), 0.0, 1),
    ],
)
def test_display_bin_magnifies_drag_frames_at_most_1_5_times(scan, pixels, expected):
    b = resolution.display_bin(scan, pixels)
    assert b == expected
    assert scan[0] % b == 0 and scan[1] % b == 0
    assert b == 1 or resolution.DRAG_UPSCALE * max(scan) / b >= pixels
    # never magnified at upscale 1: the binned scan spans the display
    exact = resolution.display_bin(scan, pixels, upscale=1.0)
    assert exact <= b and (exact == 1 or max(scan) / exact >= pixels)


def test_bin_images_are_block_means():
    rng = np.random.default_rng(0)
    stack = rng.normal(size=(3, 6, 4))
    stack[1, 0, 0] = np.nan
    binned = resolution.bin_images(stack, 2)
    expected = np.empty((3, 3, 2))
    for k, i, j in np.ndindex(expected.shape):
        expected[k, i, j] = stack[k, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].mean()
    np.testing.assert_allclose(binned, expected, rtol=1e-15, atol=0)
    assert np.isnan(binned[1, 0, 0]) and np.isfinite(binned[1, 0, 1])
    assert resolution.bin_images(stack, 1) is stack
    with pytest.raises(ValueError, match="binning 4 does not divide the scan shape"):
        resolution.bin_images(stack, 4)


def test_only_scan_traits_take_a_binning():
    view = ExplorerView()
    with pytest.raises(ValueError, match="'pattern' is not over the scan"):
        view.set_image("pattern", np.zeros((1, 4, 4)), binning=2)
    assert view.set_image("phase", np.ones((1, 2, 2)), binning=2) and view.phase_bin == 2


def _expected_frame(ex: Explorer, b_segments: int, b_panels: int) -> None:
    """The view holds ``ex.results`` binned so, with the contrast limits of the full images."""
    r, v, clip = ex.results, ex.view, ex.settings.clip
    assert (v.segment_images_bin, v.com_bin, v.phase_bin) == (b_segments, b_panels, b_panels)
    for name, images, b in (
        ("segment_images", r.segment_images, b_segments),
        ("com", r.com_rotated, b_panels),
        ("phase", r.phase[None], b_panels),
    ):
        binned = resolution.bin_images(images, b)
        shown = encoding.decode(getattr(v, name), getattr(v, f"{name}_map"), binned.shape)
        steps = np.array(getattr(v, f"{name}_map"))[:, 1]  # at most half a grey level each
        assert (steps <= np.ptp(binned.reshape(len(binned), -1), axis=1) / 65532 * 1.0001).all()
        # codes: within a step; float32 (images too small for codes to pay): its rounding
        np.testing.assert_allclose(shown, binned, rtol=6e-8, atol=float(steps.max()))
    assert v.segment_ranges == [list(x) for x in render.clip_ranges(r.segment_images, clip)]
    assert v.com_ranges == [list(x) for x in render.clip_ranges(r.com_rotated, clip)]
    assert v.phase_range == list(render.clip_range(r.phase, clip))
    assert v.com_vmax == render.magnitude_max(r.com_rotated, clip)


def test_in_a_kernel_drag_frames_are_binned_and_the_exact_one_follows(monkeypatch):
    monkeypatch.setattr(flow, "in_kernel", lambda: True)

    async def scenario():
        # 32 x 32 scan; panel 16 px: 2 x 2 tiles of 2 px inside their 2 px frames
        # (render.tile_layout; b = 16), CoM and phase panels b = 2
        ex = Explorer(dpc_widgets.simulate().cube, panel_size=16)
        await asyncio.sleep(0.5)
        _expected_frame(ex, 1, 1)  # the first view: exact once its details ran
        for _ in range(3):  # a drag
            ex.inner.value = ex.inner.value + ex.inner.step
            _expected_frame(ex, 16, 2)
        await asyncio.sleep(0.5)  # the updates pause: the exact frame, then the plots
        _expected_frame(ex, 1, 1)
        shown = encoding.decode(
            ex.view.segment_images, ex.view.segment_images_map, ex.results.segment_images.shape
        )
        np.testing.assert_allclose(shown, ex.results.segment_images, rtol=0, atol=1e-4)
        ex.view.pixel_ratio = 2.0  # a high-density screen: finer drag frames (tiles 4 px)
        ex.inner.value = ex.inner.value + ex.inner.step
        _expected_frame(ex, 8, 1)
        await asyncio.sleep(0.5)
        _expected_frame(ex, 1, 1)

    run_in_own_loop(scenario)


def test_outside_a_kernel_every_frame_is_exact():
    ex = Explorer(dpc_widgets.simulate().cube, panel_size=14)
    ex.inner.value = ex.inner.value + ex.inner.step
    _expected_frame(ex, 1, 1)
