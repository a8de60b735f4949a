"""``find_disc``: sub-pixel centre and radius of the bright-field disc in a mean pattern.

Synthetic discs are area-sampled (8 x 8 sub-pixels per pixel) or have a tanh edge, so the true
centre and radius are known exactly. Bounds asserted here, and the errors measured over 20 seeds
of each case (maximum centre error; range of radius errors), in pixels:

=====================================  ======  ==============  ======  ================
case                                   centre  measured max    radius  measured
=====================================  ======  ==============  ======  ================
plain, sub-pixel offsets (96 x 96)     0.02    0.0032          0.02    -0.007..+0.001
saturated (5x over the clip level)     0.1     0.065           0.5     +0.38..+0.45 [1]
clipped by the detector edge           0.02    0.0067          0.03    -0.010..0.000
quarter disc in a detector corner      0.15    0.062           0.1     -0.061..+0.047
clipped, blurred edge (tanh 1.5 px)    0.02    0.0052          0.02    -0.004..+0.002
halo: diffuse background + DF ring     0.02    0.0083          0.06    +0.024..+0.048
20 hot pixels of 50x the disc level    0.02    0.0036          0.02    -0.007..+0.001
2 px disc 3 px off centre, 256 x 256   0.05    0.019           0.08    -0.050..-0.022
Poisson noise, 50 counts in the disc   0.15    0.085           0.1     +0.013..+0.052
disc far off centre (128 x 128)        0.02    0.0059          0.02    -0.013..-0.004
simulator, noiseless / Poisson         1e-6    0 / 0.008       0.1     +0.02..+0.04
=====================================  ======  ==============  ======  ================

[1] Saturation makes every pixel covered more than 20 % read as full: the half-level contour of
the saturated pattern really is about 0.4 px wider than the disc.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import dpc_widgets
from dpc_widgets.io.disc import Disc, find_disc


def disc_image(shape, center, radius, level=1.0, background=0.0, sub=8) -> np.ndarray:
    """A disc area-sampled on the pixel grid (pixel [i, j] covers i +- 0.5, j +- 0.5)."""
    rows, cols = shape
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    i = np.arange(rows)[:, None, None, None] + offsets[None, None, :, None]
    j = np.arange(cols)[None, :, None, None] + offsets[None, None, None, :]
    inside = (i - center[0]) ** 2 + (j - center[1]) ** 2 <= radius**2
    return background + level * inside.mean(axis=(2, 3))


def centre_error(disc: Disc, center) -> float:
    return math.hypot(disc.center[0] - center[0], disc.center[1] - center[1])


def check(image, center, radius, centre_bound, radius_bound, *, clipped=False) -> Disc:
    before = image.copy()
    disc = find_disc(image)
    np.testing.assert_array_equal(image, before)  # never modified
    assert disc.found, disc.message
    assert disc.clipped == clipped
    assert centre_error(disc, center) <= centre_bound, (disc, center)
    assert abs(disc.radius - radius) <= radius_bound, (disc.radius, radius)
    return disc


SEEDS = [0, 1, 2]


def offset_centre(seed, base=(48.0, 47.0), spread=5.0):
    rng = np.random.default_rng(seed)
    return tuple(b + rng.uniform(-spread, spread) for b in base)


@pytest.mark.parametrize("seed", SEEDS)
def test_plain_disc_subpixel(seed):
    center = offset_centre(seed)
    check(disc_image((96, 96), center, 18.3), center, 18.3, 0.02, 0.02)


@pytest.mark.parametrize("seed", SEEDS)
def test_saturated_flat_top(seed):
    center = offset_centre(seed)
    image = np.minimum(disc_image((96, 96), center, 18.3, level=5.0), 1.0)
    disc = check(image, center, 18.3, 0.1, 0.5)
    assert disc.radius > 18.3  # see [1] in the module docstring


@pytest.mark.parametrize("shift", [0.0, 0.31, 0.62])
def test_clipped_by_the_detector_edge(shift):
    center = (8.3 + shift, 50.7)  # 10 px of an 18.3 px disc lie beyond row 0
    check(disc_image((96, 96), center, 18.3), center, 18.3, 0.02, 0.03, clipped=True)


@pytest.mark.parametrize("shift", [0.0, 0.45, 0.9])
def test_clipped_with_a_blurred_edge(shift):
    center = (6.3 + shift, 50.7)
    i, j = np.indices((96, 96))
    image = 0.5 * (1 - np.tanh((np.hypot(i - center[0], j - center[1]) - 18.3) / 1.5))
    check(image, center, 18.3, 0.02, 0.02, clipped=True)


@pytest.mark.parametrize("shift", [0.0, 1.0, 2.0])
def test_quarter_disc_in_a_corner(shift):
    center = (95.2, 0.4 + shift)
    check(disc_image((96, 96), center, 30.0), center, 30.0, 0.15, 0.1, clipped=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_halo_and_dark_field_ring(seed):
    center = offset_centre(seed)
    i, j = np.indices((96, 96))
    r = np.hypot(i - center[0], j - center[1])
    halo = 0.3 * np.exp(-r / 25) + 0.25 * np.exp(-(((r - 32) / 3) ** 2)) + 0.02
    check(disc_image((96, 96), center, 18.3) + halo, center, 18.3, 0.02, 0.06)


@pytest.mark.parametrize("seed", SEEDS)
def test_hot_pixels(seed):
    rng = np.random.default_rng(seed)
    center = offset_centre(seed)
    image = disc_image((96, 96), center, 18.3)
    hot = rng.integers(0, 96, size=(20, 2))
    image[hot[:, 0], hot[:, 1]] = 50.0
    check(image, center, 18.3, 0.02, 0.02)


@pytest.mark.parametrize("seed", SEEDS)
def test_tiny_disc_off_centre(seed):
    rng = np.random.default_rng(seed)
    center = (128 + 3.0 + rng.uniform(-0.5, 0.5), 128 - 1.7 + rng.uniform(-0.5, 0.5))
    image = 100 * disc_image((256, 256), center, 2.0) + 1
    check(image, center, 2.0, 0.05, 0.08)


@pytest.mark.parametrize("seed", SEEDS)
def test_poisson_noise(seed):
    rng = np.random.default_rng(seed)
    center = offset_centre(seed)
    image = rng.poisson(disc_image((96, 96), center, 18.3, level=50, background=2))
    check(image.astype(np.float64), center, 18.3, 0.15, 0.1)


def test_far_off_the_geometric_centre():
    center = (20.4, 70.9)
    check(disc_image((128, 128), center, 10.0), center, 10.0, 0.02, 0.02)


def test_integer_input_and_non_square_detector():
    center = (30.25, 17.75)
    image = np.round(1000 * disc_image((64, 40), center, 8.0)).astype(np.uint16)
    check(image, center, 8.0, 0.02, 0.03)


@pytest.mark.parametrize(
    "options",
    [{}, {"rotation": 15.0}, {"dose": 1000.0, "dtype": np.uint16, "seed": 0}],
)
def test_simulated_data(options):
    sim = dpc_widgets.simulate(**options)
    qx, qy = sim.cube.detector_shape
    assert sim.cube.origin == (qx // 2, qy // 2)  # the simulator keeps the geometric centre
    disc = find_disc(sim.cube.mean_pattern())
    bound = 1e-6 if "dose" not in options else 0.02
    assert centre_error(disc, (qx // 2, qy // 2)) <= bound, disc
    alpha_px = sim.convergence / sim.cube.detector_sampling
    assert abs(disc.radius - alpha_px) <= 0.1, (disc.radius, alpha_px)


@pytest.mark.parametrize(
    "image, reason",
    [
        (np.zeros((16, 16)), "contrast 0"),
        (np.full((16, 16), 7.0), "contrast 0"),
        (np.random.default_rng(0).poisson(5.0, (64, 64)).astype(float), "pixel noise"),
    ],
)
def test_no_disc_returns_geometric_centre_with_flag(image, reason):
    disc = find_disc(image)
    assert not disc.found
    assert disc.center == (image.shape[0] // 2, image.shape[1] // 2)
    assert math.isnan(disc.radius)
    assert "no bright-field disc" in disc.message and reason in disc.message


def test_bad_input():
    with pytest.raises(TypeError, match=r"real numeric, got dtype complex128"):
        find_disc(np.ones((8, 8), dtype=complex))
    with pytest.raises(ValueError, match=r"2D .* got shape \(2, 8, 8\)"):
        find_disc(np.ones((2, 8, 8)))
    with pytest.raises(ValueError, match=r"at least 3 x 3 pixels, got shape \(2, 8\)"):
        find_disc(np.ones((2, 8)))
    image = disc_image((32, 32), (16, 16), 5.0)
    image[3, 4] = np.nan
    with pytest.raises(ValueError, match=r"holds 1 NaN or infinite pixels"):
        find_disc(image)
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\), got 1.5"):
        find_disc(disc_image((32, 32), (16, 16), 5.0), threshold=1.5)
    with pytest.raises(TypeError, match=r"threshold must be a number .* got '0.5'"):
        find_disc(disc_image((32, 32), (16, 16), 5.0), threshold="0.5")


def test_disc_is_frozen():
    disc = find_disc(disc_image((32, 32), (16.5, 15.25), 6.0))
    with pytest.raises(AttributeError):
        disc.radius = 3.0  # type: ignore[misc]


# A 36 x 60 pattern (found by fuzzing) whose only bright region is a 1-2 px ring clipped by the
# bottom edge: packed bits of its mask, zlib-compressed, base64.
_RING_MASK = (
    "eNqtjsENgCAMRT/h0CMjuAiRtTwYJXExRmEEjhyIlV8nMLFp8vqbD7/AH3W/OIchaCO8arbtZetQpE64jkS5wNHlKwJdEdgm"
    "pLBtjpQZ/rPcrTkLf16Bztw2I5mbvV03cBDSE98gKU0PwH8kaQ=="
)


def test_a_thin_ring_around_a_dark_interior_is_no_disc():
    """The ring's interior level equals the background: not found, with a reason, no crash."""
    import base64
    import zlib

    bits = np.frombuffer(zlib.decompress(base64.b64decode(_RING_MASK)), dtype=np.uint8)
    mask = np.unpackbits(bits)[: 36 * 60].reshape(36, 60).astype(bool)
    pattern = np.where(mask, 30.28904674, 0.28904674)
    disc = find_disc(pattern, threshold=0.254)
    assert not disc.found
    assert "interior level" in disc.message
