"""The canvas view: one anywidget model carrying every image of the explorer as binary buffers.

Images go to the browser as 16-bit codes with an affine map per image (``Bytes`` traits, sent
as binary buffers, never PNG/base64, beside a ``<name>_map`` list; see
:mod:`~dpc_widgets.widgets.encoding`, which also says when float32 goes instead) and their
display ranges as small JSON lists. :meth:`ExplorerView.set_image` skips arrays equal to what
was last sent (while its codes still meet the resolution asked for), and the explorer sets all
traits of one update inside ``hold_sync()``, so one update is one comm message carrying only
the buffers that changed. The drawing code is
``js/src/*.js``, bundled into ``dpc_widgets/static/explorer.js`` by ``npm run build``.

Axis mapping: array element ``[i, j]`` is drawn at canvas row ``i``, column ``j``.
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Callable
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from . import render
from .encoding import encode

STATIC = pathlib.Path(__file__).resolve().parent.parent / "static"

IMAGE_TRAITS = ("pattern", "segment_images", "com", "phase")
#: Image traits over the scan: each has a ``<name>_bin`` trait, its images' binning.
SCAN_TRAITS = ("segment_images", "com", "phase")


def _same(last: np.ndarray, array: np.ndarray) -> bool:
    """Whether ``array`` equals ``last`` (same shape and values; NaN never equals).

    About 64 evenly spaced elements are compared first, so an array that changed everywhere
    (a new image on every drag) is told apart without a full comparison.
    """
    if last is array:
        return True
    if last.shape != array.shape:
        return False
    a, b = last.reshape(-1), np.asarray(array).reshape(-1)
    probe = slice(None, None, max(1, a.size // 64))
    return bool(np.array_equal(a[probe], b[probe]) and np.array_equal(a, b))


class ExplorerView(anywidget.AnyWidget):
    """All canvases of the explorer (see ``dpc_widgets/widgets/explorer.py`` for the binding).

    Traits are in the cube's units: detector radii in ``detector_units``, ``center`` in
    detector pixels (qx, qy), ``rotation`` in degrees, scan positions in ``scan_units``.
    The ``*_units`` traits hold the units as a reader sees them (``physics.unit_text``: Å,
    Å⁻¹, mrad, rad), for scale bars, read-outs and colour bars; nothing computes with them.
    The browser drags the rings and the centre handle through custom messages (see
    :meth:`on_geometry`, :meth:`on_center`); the explorer also follows ``center`` when it is
    set from Python.
    """

    _esm = STATIC / "explorer.js"
    _css = STATIC / "explorer.css"

    # CSS px of each image panel; with fit_width the browser sets it from the width its view
    # is given (js/src/layout.js) and the kernel bins drag frames to it (resolution.py)
    panel_size = t.Int(220).tag(sync=True)
    fit_width = t.Bool(True).tag(sync=True)
    # diffraction plane
    pattern = t.Bytes(b"").tag(sync=True)
    pattern_map = t.List(t.List(t.Float()), []).tag(sync=True)
    pattern_vmax = t.Float(0.0).tag(sync=True)
    # intensity scale of the diffraction image (render.pattern_gray; the panel's dropdown)
    pattern_scale = t.Enum(render.PATTERN_SCALES, "log").tag(sync=True)
    pattern_gamma = t.Float(0.5).tag(sync=True)
    detector_shape = t.List(t.Int(), [0, 0]).tag(sync=True)
    center = t.List(t.Float(), [0.0, 0.0]).tag(sync=True)
    detector_sampling = t.Float(1.0).tag(sync=True)
    detector_units = t.Unicode("px").tag(sync=True)
    inner = t.Float(0.0).tag(sync=True)
    outer = t.Float(1.0).tag(sync=True)
    segments = t.Int(4).tag(sync=True)
    rotation = t.Float(0.0).tag(sync=True)
    com_mask = t.List(t.Float(), []).tag(sync=True)
    # radius below which the detector cache answers (dashed ring); 0: none or the whole detector
    cache_radius = t.Float(0.0).tag(sync=True)
    # zoom of the detector view (zoom.py): 1 shows the whole detector; focus (u, v) is the
    # detector point (pixels, pixel [i, j] spanning [i, i + 1) x [j, j + 1)) in the panel's
    # middle, [] for the detector's middle. Set by the kernel ("fit disc") and the browser.
    detector_zoom = t.Float(1.0).tag(sync=True)
    detector_focus = t.List(t.Float(), []).tag(sync=True)
    # bright-field disc radius in pixels for the "fit disc" button (0: unknown)
    disc_radius = t.Float(0.0).tag(sync=True)
    # scan plane
    scan_shape = t.List(t.Int(), [0, 0]).tag(sync=True)
    scan_sampling = t.Float(1.0).tag(sync=True)
    scan_units = t.Unicode("px").tag(sync=True)
    segment_images = t.Bytes(b"").tag(sync=True)
    segment_images_map = t.List(t.List(t.Float()), []).tag(sync=True)
    segment_ranges = t.List(t.List(t.Float()), []).tag(sync=True)
    com = t.Bytes(b"").tag(sync=True)
    com_map = t.List(t.List(t.Float()), []).tag(sync=True)
    com_ranges = t.List(t.List(t.Float()), []).tag(sync=True)
    com_vmax = t.Float(0.0).tag(sync=True)
    com_units = t.Unicode("").tag(sync=True)
    phase = t.Bytes(b"").tag(sync=True)
    phase_map = t.List(t.List(t.Float()), []).tag(sync=True)
    phase_range = t.List(t.Float(), [0.0, 0.0]).tag(sync=True)
    phase_units = t.Unicode("").tag(sync=True)
    # binning of each scan trait's images (1: every scan position; b: means of b x b blocks,
    # see resolution.py), set with the images
    segment_images_bin = t.Int(1).tag(sync=True)
    com_bin = t.Int(1).tag(sync=True)
    phase_bin = t.Int(1).tag(sync=True)
    # the browser's devicePixelRatio (device pixels per CSS pixel), set by the view
    pixel_ratio = t.Float(1.0).tag(sync=True)

    @t.validate("pattern_gamma")
    def _check_gamma(self, proposal: Any) -> float:
        gamma = proposal["value"]
        if not (math.isfinite(gamma) and gamma > 0):
            raise t.TraitError(f"pattern_gamma must be a positive finite number, got {gamma!r}")
        return gamma

    @t.validate("detector_zoom")
    def _check_zoom(self, proposal: Any) -> float:
        zoom = proposal["value"]
        if not (math.isfinite(zoom) and zoom > 0):
            raise t.TraitError(f"detector_zoom must be a positive finite number, got {zoom!r}")
        return zoom

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sent: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # array, scale per image
        self._geometry_handler: Callable[[float, float], None] | None = None
        self._center_handler: Callable[[float, float], None] | None = None
        self.on_msg(self._on_custom_msg)

    def changed(self, name: str, array: np.ndarray) -> bool:
        """Whether ``array`` differs from the last array sent as ``name`` (or none was)."""
        if name not in IMAGE_TRAITS:
            raise ValueError(f"unknown image trait {name!r}; expected one of {IMAGE_TRAITS}")
        last = self._sent.get(name)
        return last is None or not _same(last[0], array)

    def set_image(
        self,
        name: str,
        array: np.ndarray,
        resolution: np.ndarray | float = 0.0,
        limits: tuple[np.ndarray, np.ndarray] | None = None,
        binning: int = 1,
    ) -> bool:
        """Send the images ``array`` (N, ...) as trait ``name`` unless the view has them.

        Parameters
        ----------
        name : str
            One of :data:`IMAGE_TRAITS`.
        array : ndarray (N, ...)
            N images (one image: shape (1, rows, cols)).
        resolution : float or ndarray (N,)
            Largest code step per image (see :func:`~dpc_widgets.widgets.encoding.encode`);
            the default 0 sends float32 unless an image is constant. An array equal to the
            last one sent is resent only when its codes are coarser than ``resolution``.
        limits : (ndarray (N,), ndarray (N,)), optional
            :func:`~dpc_widgets.widgets.encoding.extremes` of ``array`` when known.
        binning : int
            For :data:`SCAN_TRAITS`: ``array`` holds the means of ``binning x binning`` blocks
            of scan positions (:func:`~dpc_widgets.widgets.resolution.bin_images`).

        Returns
        -------
        bool
            Whether new bytes were assigned (and so will be sent).
        """
        if binning != 1 and name not in SCAN_TRAITS:
            raise ValueError(f"trait {name!r} is not over the scan: binning must be 1")
        steps = np.broadcast_to(np.asarray(resolution, dtype=np.float64), (len(array),))
        if not self.changed(name, array) and (self._sent[name][1] <= steps).all():
            return False
        data, maps = encode(array, steps, limits)
        scales = np.array([m[1] for m in maps]) if maps else np.zeros(len(array))
        self._sent[name] = (array, scales)
        with self.hold_sync():  # bytes, maps and binning in one message
            setattr(self, f"{name}_map", maps)
            setattr(self, name, data)
            if name in SCAN_TRAITS:
                setattr(self, f"{name}_bin", binning)
        return True

    def on_geometry(self, handler: Callable[[float, float], None]) -> None:
        """Call ``handler(inner, outer)`` for each ring-drag request from the browser.

        The view is answered (``{"type": "ack", "seq": n}``) after the handler returns or fails.
        """
        self._geometry_handler = handler

    def on_center(self, handler: Callable[[float, float], None]) -> None:
        """Call ``handler(qx, qy)`` (pixels) for each centre-drag request from the browser.

        Message ``{"type": "center", "seq": n, "qx": ..., "qy": ...}``; answered like
        :meth:`on_geometry`.
        """
        self._center_handler = handler

    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") not in ("geometry", "center"):
            return
        try:
            if content["type"] == "geometry" and self._geometry_handler is not None:
                self._geometry_handler(float(content["inner"]), float(content["outer"]))
            elif content["type"] == "center" and self._center_handler is not None:
                self._center_handler(float(content["qx"]), float(content["qy"]))
        finally:
            self.send({"type": "ack", "seq": content.get("seq")})
