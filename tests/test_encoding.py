"""The view's 16-bit image codes (dpc_widgets.widgets.encoding): round trip, drawn levels, sizes."""

from __future__ import annotations

import numpy as np
import pytest

from dpc_widgets.widgets import encoding, render
from dpc_widgets.widgets.views import ExplorerView


def round_trip(stack: np.ndarray, resolution=np.inf) -> tuple[np.ndarray, list]:
    data, maps = encoding.encode(stack, resolution)
    return encoding.decode(data, maps, stack.shape), maps


def test_codes_are_within_half_a_step_of_the_values():
    rng = np.random.default_rng(3)
    stack = (rng.normal(size=(3, 64, 48)) * [[[1.0]], [[1e-6]], [[5e4]]] + 7).astype(np.float32)
    decoded, maps = round_trip(stack)
    assert len(maps) == 3
    for k, (offset, scale) in enumerate(maps):
        image = stack[k].astype(np.float64)
        assert offset == image.min() and scale == pytest.approx((image.max() - offset) / 65532)
        # half a step (0.01 more from float32 arithmetic), plus the float32 rounding of the result
        bound = 0.51 * scale + np.abs(image).max() * 2.0**-24
        assert np.abs(decoded[k] - image).max() <= bound
    assert decoded.dtype == np.float32
    flat, decoded_flat = stack.reshape(3, -1), decoded.reshape(3, -1)
    lowest = flat.argmin(axis=1)
    np.testing.assert_array_equal(decoded_flat[range(3), lowest], flat[range(3), lowest])


def test_non_finite_values_have_their_own_codes():
    image = np.array([[1.0, np.nan, np.inf, -np.inf, 3.0]])
    data, maps = encoding.encode(image, np.inf)
    codes = np.frombuffer(data, dtype="<u2")
    assert codes.tolist() == [0, *range(encoding.CODE_NAN, encoding.CODE_NEG_INF + 1), 65532]
    assert maps == [[1.0, 2.0 / 65532]]
    decoded = encoding.decode(data, maps, image.shape)
    np.testing.assert_array_equal(decoded, image.astype(np.float32))  # NaN == NaN here
    assert image[0, 1] != image[0, 1]  # the input is not mutated (still NaN)


def test_constant_and_all_nan_images_decode_exactly():
    stack = np.stack([np.full((4, 4), -2.5), np.full((4, 4), np.nan)])
    data, maps = encoding.encode(stack, 0.0)  # resolution 0: only constant images qualify
    assert maps == [[-2.5, 0.0], [0.0, 0.0]]
    np.testing.assert_array_equal(encoding.decode(data, maps, stack.shape), stack)


def test_too_wide_a_range_goes_as_float32():
    image = np.concatenate([np.linspace(0, 1, 99), [1e6]])[None]  # one outlier
    resolution = encoding.gray_resolution(0.0, 1.0)
    data, maps = encoding.encode(image, resolution)
    assert maps == [] and len(data) == 4 * image.size
    np.testing.assert_array_equal(encoding.decode(data, maps, image.shape), np.float32(image))
    assert encoding.encode(image[:, :99], resolution)[1]  # without it: codes


@pytest.mark.parametrize("span", [1e-3, 1.0, 250.0])
def test_grey_levels_stay_within_one_of_the_float_values(span):
    """At the resolution of its display range, every pixel is within one level."""
    rng = np.random.default_rng(4)
    image = rng.normal(size=(1, 200, 200)) * span
    image[0, :3, :3] = 60 * span  # spread the range well beyond the display range
    vmin, vmax = render.clip_range(image, 1.0)
    decoded, maps = round_trip(image, encoding.gray_resolution(vmin, vmax))
    assert maps, "expected codes, not float32"
    drawn = render.gray(decoded[0], vmin, vmax).astype(int)
    exact = render.gray(image[0], vmin, vmax).astype(int)
    assert np.abs(drawn - exact).max() <= 1
    assert (drawn != exact).mean() < 0.01


def test_wheel_colours_stay_within_one_level_of_the_float_values():
    rng = np.random.default_rng(5)
    com = rng.normal(size=(2, 256, 256))
    com[:, 0, 0] = [40.0, -40.0]  # an outlier: a wide code range
    vmax = render.magnitude_max(com, 1.0)
    decoded, maps = round_trip(com, encoding.wheel_resolution(vmax))
    assert maps
    drawn = render.complex_hsv(decoded, vmax).astype(int)
    exact = render.complex_hsv(com, vmax).astype(int)
    assert np.abs(drawn - exact).max() <= 1


def test_resolutions_follow_the_display_ranges():
    assert encoding.gray_resolution(-1.0, 1.55) == 2.55 / 255
    assert encoding.gray_resolution(1.0, 1.0) == np.inf  # flat: mid-grey anyway
    assert encoding.wheel_resolution(2.048) == 0.002
    assert encoding.wheel_resolution(0.0) == np.inf


def test_view_sends_half_the_bytes_and_resends_only_when_needed():
    view = ExplorerView()
    rng = np.random.default_rng(6)
    images = rng.normal(size=(4, 32, 32))
    assert view.set_image("segment_images", images, 0.01)
    assert len(view.segment_images) == 2 * images.size  # uint16: half of float32
    assert len(view.segment_images_map) == 4
    np.testing.assert_allclose(
        encoding.decode(view.segment_images, view.segment_images_map, images.shape),
        images,
        atol=0.5 * max(m[1] for m in view.segment_images_map) + 1e-6,
    )
    assert not view.set_image("segment_images", images.copy(), 0.01)  # equal: not resent
    assert not view.set_image("segment_images", images, 1.0)  # coarser allowed: not resent
    assert view.set_image("segment_images", images, 1e-6)  # finer needed: float32 now
    assert view.segment_images_map == [] and len(view.segment_images) == 4 * images.size
    with pytest.raises(ValueError, match="'nope'"):
        view.set_image("nope", images)
