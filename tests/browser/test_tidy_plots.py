"""The explorer's bqplot plots as drawn (issue 19, part 7): no clipped tick label, legends off
the curves and titles, units written Å⁻¹ / mrad, at 1280x800 and 1920x1080 in JupyterLab.

Measured on the page: every tick label, axis label and title lies inside its figure's SVG; the
title overlaps no tick label; no bqplot legend box is drawn inside a plot area (the legends are
a line of text under their figure, outside the SVG); no label says ``^`` or ``A^-1``.
"""

from __future__ import annotations

import pytest
from explorer_checks import open_explorer

pytestmark = pytest.mark.browser

MEASURE = """() => {
  const rect = (el) => { const r = el.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom]; };
  const out = {};
  for (const name of ["profile", "curl", "hist"]) {
    const fig = document.querySelector(`.dpc-plot-${name}`);
    const texts = (sel) => [...fig.querySelectorAll(sel)]
      .filter((t) => t.textContent.trim() && t.getBBox().width > 0)
      .map((t) => ({ text: t.textContent, box: rect(t) }));
    const legend = fig.parentElement.querySelector(".dpc-plot-legend");
    out[name] = {
      svg: rect(fig),
      plot: rect(fig.querySelector(".plotarea_background")),
      ticks: texts(".tick text"),
      labels: texts(".axislabel"),
      title: texts(".mainheading"),
      legends: fig.querySelectorAll(".g_legend rect").length,
      // each axis line with its end ticks (d3's "domain" path) and that axis's labels
      axes: [...fig.querySelectorAll("g.axis")].filter((g) => g.querySelector("path.domain"))
        .map((g) => ({ domain: rect(g.querySelector("path.domain")),
                       ticks: [...g.querySelectorAll(".tick text")].map(rect) })),
      legendText: legend ? legend.textContent : null,
      legendBox: legend ? rect(legend) : null,
    };
  }
  return out;
}"""


def _inside(box, outer, slack=0.5):
    return (
        box[0] >= outer[0] - slack
        and box[1] >= outer[1] - slack
        and box[2] <= outer[2] + slack
        and box[3] <= outer[3] + slack
    )


def _overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1920, 1080)])
def test_plot_labels_fit_and_legends_stay_off_the_plots(
    page, lab_server, fresh_notebook, network_guard, artifacts, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    name = fresh_notebook("02_explorer.ipynb", f"plots{width}")
    open_explorer(page, lab_server, name)
    page.locator(".dpc-plot-curl .tick text").first.wait_for()
    plots = page.locator(".dpc-plot-profile").first
    plots.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # bqplot lays its axes out after the first frame
    measured = page.evaluate(MEASURE)
    box = page.locator(".dpc-plot-profile").first.locator("xpath=../..")
    box.screenshot(path=str(artifacts / f"plots_{width}x{height}.png"))
    for name, fig in measured.items():
        texts = fig["ticks"] + fig["labels"] + fig["title"]
        assert fig["ticks"], f"{name}: no tick labels drawn"
        for text in texts:
            assert _inside(text["box"], fig["svg"]), f"{name}: {text['text']!r} is clipped"
            assert "^" not in text["text"] and "A^-1" not in text["text"]
        for title in fig["title"]:
            for tick in fig["ticks"]:
                assert not _overlap(title["box"], tick["box"]), f"{name}: title on {tick}"
        assert fig["legends"] == 0, f"{name}: a bqplot legend box inside the plot area"
        for axis in fig["axes"]:  # the axis line and its end ticks cross none of its labels
            assert axis["ticks"]
            for tick in axis["ticks"]:
                assert not _overlap(axis["domain"], tick), f"{name}: axis line over a label"
    profile = measured["profile"]
    assert any("10\u207b" in tick["text"] for tick in profile["ticks"])  # 10⁻³, not 1e-3
    assert any(label["text"] == "radius (mrad)" for label in profile["labels"])
    assert "inner radius" in profile["legendText"]
    assert profile["legendBox"][1] >= profile["svg"][3] - 0.5  # under the figure, not on it
    curl = measured["curl"]
    assert {tick["text"].replace("\u2212", "-") for tick in curl["ticks"]} >= {
        "-180",
        "180",
        "0",
        "1",
    }
    assert any(label["text"] == "curl score" for label in curl["labels"])
    hist = measured["hist"]
    assert any(
        "\u00c5\u207b\u00b9" in label["text"] or "arb." in label["text"] for label in hist["labels"]
    )
    assert page.errors == [], f"JavaScript errors: {page.errors}"
    assert network_guard.blocked == [], f"requests left 127.0.0.1: {network_guard.blocked}"
