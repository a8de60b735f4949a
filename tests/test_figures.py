"""dpc_widgets.figures: matplotlib figures with units, colour bars, scale bars and the detector."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

import dpc_widgets
from dpc_widgets import DPC, SegmentedDetector, figures
from dpc_widgets.core import solve_rotation
from dpc_widgets.widgets import render

pytestmark = pytest.mark.colab_env  # Colab's matplotlib 3.10 too

ANGSTROM_INV = "\u00c5\u207b\u00b9"


@pytest.fixture(scope="module")
def sim():
    return dpc_widgets.simulate(rotation=-15.0)


@pytest.fixture(scope="module")
def com(sim):
    return DPC(sim.cube, progress=False).com(units="A^-1", descan="constant")


def _colorbar_axes(figure):
    return [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]


def test_import_dpc_widgets_does_not_import_matplotlib():
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run(
        [sys.executable, "-c", "import sys, dpc_widgets; print('matplotlib' in sys.modules)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "False"
    code = (
        "import sys, dpc_widgets.figures; "
        "print(sorted({'ipywidgets', 'bqplot'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"  # drawing only: no widget library


@pytest.mark.parametrize(
    ("span", "length"),
    [(7.8, 2.0), (10.0, 2.0), (40.0, 10.0), (1.0, 0.2), (0.003, 0.001), (3.0, 1.0)],
)
def test_nice_length_is_round_and_about_a_quarter(span, length):
    assert figures.nice_length(span) == pytest.approx(length)
    assert figures.nice_length(span) <= span / 2


@pytest.mark.parametrize("span", [0.0, -1.0, float("nan"), float("inf")])
def test_nice_length_rejects_bad_spans(span):
    with pytest.raises(ValueError, match="span="):
        figures.nice_length(span)


def test_signed_images_are_diverging_centred_on_zero_with_units(sim, com):
    before = com.copy()
    figure = figures.images({"CoM x": com[0], "CoM y": com[1]}, sim.cube, units="A^-1", signed=True)
    np.testing.assert_array_equal(com, before)  # inputs never modified
    assert plt.fignum_exists(figure.number) is False  # closed: shown once, as the cell's value
    shown = [ax for ax in figure.axes if ax.images and ax.get_label() != "<colorbar>"]
    assert [ax.get_title() for ax in shown] == ["CoM x", "CoM y"]
    for ax, image in zip(shown, com, strict=True):
        mappable = ax.images[0]
        assert mappable.get_cmap().name == figures.SIGNED_CMAP.name
        top = float(render.percentiles(np.abs(image), (99.5,))[0])
        assert mappable.norm.vmin == pytest.approx(-top) and mappable.norm.vmax == pytest.approx(
            top
        )
    bars = _colorbar_axes(figure)
    assert len(bars) == 2
    assert all(bar.get_ylabel() == ANGSTROM_INV for bar in bars)


def test_images_scale_bar_is_in_scan_units(sim):
    cube = sim.cube
    image = np.arange(32 * 32, dtype=float).reshape(32, 32)
    figure = figures.images({"ramp": image}, cube, units="rad", clip=0.0)
    ax = figure.axes[0]
    assert ax.images[0].get_cmap().name == figures.IMAGE_CMAP.name
    assert (ax.images[0].norm.vmin, ax.images[0].norm.vmax) == (0.0, 32 * 32 - 1.0)
    expected = figures.nice_length(32 * cube.scan_sampling)
    bars = [artist for artist in ax.artists if hasattr(artist, "size_bar")]
    assert len(bars) == 1
    assert bars[0].txt_label.get_text() == f"{expected:g} \u00c5"
    width = bars[0].size_bar.get_children()[0].get_width()
    assert width == pytest.approx(expected / cube.scan_sampling)  # in scan pixels


def test_images_without_calibration_have_no_scale_bar():
    figure = figures.images({"a": np.eye(4), "b": np.eye(4), "c": np.eye(4)}, None, columns=2)
    visible = [ax for ax in figure.axes if ax.get_visible() and ax.images]
    assert len(visible) == 3 and not any(ax.artists for ax in visible)
    assert sum(not ax.get_visible() for ax in figure.axes) == 1  # the empty fourth cell


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"panels": {}}, ValueError, "at least one panel"),
        ({"panels": {"x": np.zeros(4)}}, ValueError, "panel 'x' must be a 2D image"),
        ({"panels": {"x": np.zeros((2, 2))}, "clip": 50}, ValueError, "clip=50"),
        ({"panels": {"x": np.zeros((2, 2))}, "clip": True}, ValueError, "clip=True"),
    ],
)
def test_images_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        figures.images(**kwargs)


def test_diffraction_axes_are_detector_units_around_the_origin(sim):
    cube = sim.cube
    mean = DPC(cube, progress=False).mean_pattern()
    detector = SegmentedDetector(10, 25, 8, rotation=0)
    figure = figures.diffraction(mean, cube, detector, units="counts")
    main = figure.axes[0]
    s, (ox, oy) = cube.detector_sampling, cube.origin
    left, right, bottom, top = main.images[0].get_extent()
    assert (left, top) == pytest.approx(((-0.5 - oy) * s, (-0.5 - ox) * s))
    assert (right, bottom) == pytest.approx(((96 - 0.5 - oy) * s, (96 - 0.5 - ox) * s))
    assert main.get_xlabel() == "$q_y$ (mrad)" and main.get_ylabel() == "$q_x$ (mrad)"
    assert main.images[0].norm.vmax == pytest.approx(mean.max())
    assert _colorbar_axes(figure)[0].get_ylabel() == "intensity (counts), log scale"
    # each segment labelled at its centroid, in its colour; qx is drawn downwards
    labels = {text.get_text(): text for text in main.texts}
    assert sorted(labels) == [str(k) for k in range(8)]
    for k, (cx, cy) in enumerate(detector.centroids(cube)):
        assert labels[str(k)].get_position() == pytest.approx(((cy - oy) * s, (cx - ox) * s))
        color = labels[str(k)].get_bbox_patch().get_facecolor()[:3]
        np.testing.assert_allclose(color, render.PALETTE[k] / 255.0)
    # the masks as insets framed in the segment colours
    insets = [ax for ax in figure.axes if ax.get_title().startswith("mask ")]
    assert [ax.get_title() for ax in insets] == [f"mask {k}" for k in range(8)]
    masks = detector.masks(cube)
    for k, inset in enumerate(insets):
        np.testing.assert_array_equal(inset.images[0].get_array(), masks[k])
        edge = inset.spines["left"].get_edgecolor()[:3]
        np.testing.assert_allclose(edge, render.PALETTE[k] / 255.0)
    assert main.get_ylim()[0] > main.get_ylim()[1]  # qx downwards, as the explorer draws


def test_diffraction_rejects_a_pattern_of_another_shape(sim):
    with pytest.raises(ValueError, match=r"pattern shape \(4, 4\)"):
        figures.diffraction(np.ones((4, 4)), sim.cube)


def test_vectors_share_one_saturation_and_point_as_the_page_draws(sim, com):
    rotated = com[::-1].copy()
    figure = figures.vectors({"a": com, "b": rotated}, sim.cube, units="A^-1", arrows=8)
    vmax = max(render.magnitude_max(com, 0.5), render.magnitude_max(rotated, 0.5))
    panels = [ax for ax in figure.axes if ax.get_title() in ("a", "b")]
    np.testing.assert_array_equal(
        panels[0].images[0].get_array(), render.vector_colors(com[0], com[1], vmax)
    )
    legend = figure.axes[-1]
    assert legend.get_title() == f"saturates at\n{vmax:.3g} {ANGSTROM_INV}"
    # a field along +x (array axis 0) is drawn downwards: quiver's V (data y, rows) > 0, U = 0
    down = np.zeros((2, 16, 16))
    down[0] = 1.0
    quiver = figures.vectors({"down": down}, arrows=4).axes[0].collections[0]
    assert np.all(quiver.V > 0) and np.all(quiver.U == 0)
    assert quiver.axes.get_ylim()[0] > quiver.axes.get_ylim()[1]  # rows increase downwards


def test_vectors_rejects_a_scalar_field():
    with pytest.raises(ValueError, match=r"field 'x' must have shape \(2, Rx, Ry\)"):
        figures.vectors({"x": np.zeros((3, 4, 4))})


def test_curl_score_plots_the_score_of_both_transposes(com):
    rotation = solve_rotation(com)
    figure = figures.curl_score(rotation)
    ax = figure.axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    for transpose, label in ((False, "no transpose"), (True, "transpose")):
        x, y = lines[label].get_data()
        np.testing.assert_allclose(y, rotation.score_curve(x, transpose))
    solved = lines[f"solved {rotation.angle_deg:.2f}\u00b0"].get_xdata()
    assert solved[0] == pytest.approx(rotation.angle_deg)
    assert ax.get_ylim() == (0.0, 1.0) and ax.get_ylabel() == "curl score"


def test_radial_profile_marks_the_detector_radii(sim):
    radii, values = DPC(sim.cube, progress=False).radial_profile()
    figure = figures.radial_profile(radii, values, "A^-1", SegmentedDetector(10, 25, 4))
    ax = figure.axes[0]
    assert ax.get_xlabel() == f"radius ({ANGSTROM_INV})"
    marks = [line.get_xdata()[0] for line in ax.lines[1:]]
    assert marks == [10, 25]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.maximum(values / values.max(), 1e-4))


def test_figures_use_the_explorers_colour_maps():
    """The same tables as the page: matplotlib's 256 levels are render.py's LUT bytes."""
    levels = np.linspace(0.0, 1.0, 256)
    signed = np.round(figures.SIGNED_CMAP(levels)[:, :3] * 255).astype(np.uint8)
    image = np.round(figures.IMAGE_CMAP(levels)[:, :3] * 255).astype(np.uint8)
    np.testing.assert_array_equal(signed, render.DIVERGING_LUT)
    np.testing.assert_array_equal(image, render.SEQUENTIAL_LUT)
