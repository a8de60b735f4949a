"""The live DPC explorer: ipywidgets controls bound to the cached core, drawn by one canvas view.

Update flow (see :mod:`dpc_widgets.widgets.flow` for why no stale values pile up):

1. A control changes (slider, ring drag in the view, or ``explorer.inner.value = 12`` in
   Python). Its observer only calls ``LatestWins.request()``. Dragging the centre handle
   (or setting ``explorer.view.center``) sets the origin controls (``origin_qx``,
   ``origin_qy``, clamped into the detector) the same way.
2. A new origin first moves :attr:`DPC.origin` (the pixel cache is rebuilt: the status line
   says so before the rebuild starts; a drag meanwhile only keeps its newest centre).
3. The update reads all controls into :class:`Settings`; if the inputs of the computation
   (detector, ``DPC.run`` arguments, contrast clip) equal the last computed ones it stops.
4. Otherwise it calls :meth:`DPC.run` (memoised in the core: only what changed is recomputed),
   then sets, inside one ``hold_sync()``, the view traits that changed: one comm message with
   only the changed image buffers (16-bit codes, see :mod:`.encoding`), sent before anything
   else of the update. The plots (only marks whose data changed), status line, code text and
   solved-rotation controls follow through :class:`~dpc_widgets.widgets.flow.Later`: in a
   kernel once the updates pause for 0.25 s (at the latest 1 s into a drag), so they neither
   delay the images nor run for every frame. In a kernel, scan images larger than their
   panels go binned to the panels' size (:mod:`.resolution`); the exact images come first
   when the plots follow.
5. Errors (bad geometry, a typed origin outside the detector, failed loads) go to the status
   line (``.dpc-status``) and the ``dpc_widgets.widgets`` logger; the widget keeps the last
   good images and stays usable. Warnings raised by the computation go there too, only the
   package's own and numerical ones (each once per update; logged when they appear); all
   others go back to the warning filters (:mod:`dpc_widgets._own_warnings`).

Displayed, the explorer gives the widget view (with Colab's metadata in Colab), a PNG of its
current view and a line of text, under ipywidgets 7 and 8 (:mod:`.display`).
"""

from __future__ import annotations

import dataclasses
import html
import logging
import math
import os
import pathlib
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets as w
import numpy as np

from .. import _own_warnings as own_warnings
from ..core import DPC, DPCResult
from ..io import Datacube, load
from ..io.disc import find_disc
from ..physics import integer_at_least, unit_text
from . import display, encoding, export, render, resolution, snapshot
from .cache_build import CacheBuild
from .calibration import CalibrationError, CalibrationFields, units_notes
from .compat import set_tooltip
from .controls import NAMES, ORIGIN_NAMES, Controls, browser_value
from .flow import Later, LatestWins
from .live_follow import LiveFollow, is_live_source
from .plots import Plots
from .settings import (
    SETTING_NAMES,
    Settings,
    check_setting,
    com_region_text,
    initial_settings,
    segment_area_text,
)
from .settings_file import SavedSettings, as_saved, write_settings
from .trace import UpdateTrace
from .views import ExplorerView
from .zoom import fit_view, visible_radii, window_pixels

logger = logging.getLogger("dpc_widgets.widgets")
# The status line shows what is logged here; without a handler of the user's, Python's last
# resort would also print it to stderr, a box above the widget that no update clears.
logger.addHandler(logging.NullHandler())

#: Controls that only matter with the automatic rotation off (each update sets them when on).
_MANUAL_ROTATION = ("scan_rotation", "transpose")
#: In a kernel an update's plots, status line and code text follow its images once the updates
#: pause for DETAILS_DELAY seconds, at the latest DETAILS_MAX_WAIT seconds into a drag.
DETAILS_DELAY, DETAILS_MAX_WAIT = 0.25, 1.0
_NUMBER = re.compile(r"[-+]?\d[\d.]*(?:e[-+]?\d+)?")
#: The copy-as-code text's cube line for a live scan.
LIVE_CUBE_LINE = "# cube: the live scan shown in the explorer (explorer.cube; source.cube)"
#: Seconds between two mean patterns sent while the rows of a live scan arrive.
LIVE_PATTERN_S = 1.0
#: Warnings of the rotation solver: logged, and shown on the rotation line, not the status line.
ROTATION_WARNINGS = ("the 180-degree choice of the scan rotation",)


def open_cube(data: Any, **cube_options: Any) -> tuple[Datacube, str]:
    """A Datacube from a Datacube, a path (:func:`dpc_widgets.load`) or a 4D array.

    Returns
    -------
    cube : Datacube
    cube_line : str
        Python code (or a comment) that defines ``cube`` for the copy-as-code text.

    Raises
    ------
    TypeError
        For options given with a Datacube, or data that is none of the above.
    FileNotFoundError, ValueError
        From :func:`dpc_widgets.load` or :class:`Datacube`.
    """
    if isinstance(data, Datacube):
        if cube_options:
            raise TypeError(
                f"options {sorted(cube_options)} only apply when loading a path or wrapping an "
                "array; the Datacube already has its calibration"
            )
        return data, "# cube: the Datacube shown in the explorer (explorer.dpc.cube)"
    if isinstance(data, (str, os.PathLike)):
        path = str(pathlib.Path(data).expanduser())
        options = "".join(f", {key}={value!r}" for key, value in cube_options.items())
        return load(path, **cube_options), f"cube = load({path!r}{options})"
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return Datacube(data, **cube_options), (
            "# cube: the Datacube shown in the explorer (explorer.dpc.cube), i.e. "
            f"Datacube(your_array, **{cube_options!r})"
        )
    raise TypeError(
        f"Explorer needs a Datacube, a file path or a 4D array, got {type(data).__name__}"
    )


class Explorer(w.VBox):
    """Interactive DPC explorer: one widget with controls, canvases, plots and export.

    Parameters
    ----------
    data : Datacube, str, PathLike or 4D array
        The 4D-STEM data (Rx, Ry, Qx, Qy); paths go through :func:`dpc_widgets.load`.
    backend : {"numpy", "cupy"}
        Backend of the :class:`~dpc_widgets.core.DPC` core.
    memory_budget : int, optional
        Bytes the detector cache may take (see :class:`~dpc_widgets.core.DPC`).
    client : distributed.Client, optional
        Keep the detector cache on this Dask cluster (see :class:`~dpc_widgets.core.DPC`);
        the status line says "rebuilding" while blocks lost with a worker are rebuilt.
    background : bool, optional
        Build new detector caches (re-centred detector, radius beyond the cache) in a
        background thread with a progress bar: ``None`` (default) in a Jupyter kernel, else
        synchronously; see :mod:`dpc_widgets.widgets.cache_build`.
    panel_size : int, optional
        Display size of each image panel in CSS pixels. ``None`` (default): the panels fill
        the width the output area gives the view (230 to 420 px each, up to three columns).
    settings : Settings, SavedSettings, str or PathLike, optional
        Initial settings, or a settings file (:mod:`dpc_widgets.widgets.settings_file`, as
        :meth:`save_settings` writes) whose detector centre, when it has one, also applies
        (unless ``origin=`` is given).
    **options
        Initial settings (any :class:`Settings` field: ``inner``, ``outer``, ``segments``,
        ``rotation``, ``com_source``, ...; they win over ``settings``; radii default to 0.5 and
        1.25 times the bright-field disc radius, and on a loaded file whose disc was found the
        pixelated CoM to the pixels within 1.25 disc radii: see
        :func:`~dpc_widgets.widgets.settings.default_com_region`) and, for paths or arrays,
        options of :func:`dpc_widgets.load` or :class:`~dpc_widgets.Datacube` (``energy``,
        ``scan_sampling``, ...).

    Attributes
    ----------
    dpc : DPC
        The compute core.
    controls : Controls
        The controls; each is also an attribute of the explorer (``explorer.inner``, ...).
    view : ExplorerView
        The canvas view (all image buffers).
    plots : Plots
        The bqplot figures.
    calibration : CalibrationFields
        The beam energy (keV) and detector pixel-size fields (empty: unknown); typing a value
        calls :meth:`recalibrate`.
    status : ipywidgets.HTML
        The status line: timing and notes, the pixelated CoM's region and any unknown
        calibration with what to pass.
    update_seconds : float
        Duration of the last update that computed something.
    trace : UpdateTrace
        Opt-in timestamps of each update's hops (off by default; for latency measurements).

    Raises
    ------
    TypeError, ValueError, FileNotFoundError
        For unusable data or initial settings (a bad settings file:
        :class:`~dpc_widgets.widgets.settings_file.SettingsFileError`, a ValueError); later
        errors go to the status line.
    """

    _ready = False
    _result: DPCResult | None = None
    _live: LiveFollow | None = None

    def __init__(
        self,
        data: Any,
        *,
        backend: str = "numpy",
        memory_budget: int | None = None,
        client: Any = None,
        background: bool | None = None,
        panel_size: int | None = None,
        settings: Settings | SavedSettings | str | os.PathLike | None = None,
        **options: Any,
    ) -> None:
        if panel_size is not None:  # checked at the door, before the data is read
            panel_size = integer_at_least(panel_size, "panel_size", 1)
        saved = as_saved(settings)
        cube_options = {k: v for k, v in options.items() if k not in SETTING_NAMES}
        self.source: Any = None
        self._live: LiveFollow | None = None
        self._ready = False
        setup = dict(
            backend=backend,
            memory_budget=memory_budget,
            client=client,
            background=background,
            panel_size=panel_size,
            saved=saved,
            values={k: v for k, v in options.items() if k in SETTING_NAMES},
            cube_options=cube_options,
        )
        if is_live_source(data):
            if cube_options:
                raise TypeError(
                    f"options {sorted(cube_options)} do not apply to a live source: give the "
                    "calibration to the source (dw.live.connect / replay / follow)"
                )
            for name, value in setup["values"].items():  # at the door, before any rows
                check_setting(name, value)
            self.source = data
            self._setup_options = setup
            self._live = LiveFollow(data, self._live_cube, self._live_rows)
            super().__init__([self._live.line])
            self.add_class("dpc-explorer")
            self._cube_line = LIVE_CUBE_LINE
            # set up at once when rows are there (errors raise here), else on a later look
            self._live.start(guarded=False)
            return
        cube, self._cube_line = open_cube(data, **cube_options)
        self._setup(cube, **setup)

    def _setup(
        self,
        cube: Datacube,
        *,
        backend: str,
        memory_budget: int | None,
        client: Any,
        background: bool | None,
        panel_size: int | None,
        saved: SavedSettings,
        values: dict[str, Any],
        cube_options: dict[str, Any],
    ) -> None:
        """Build the controls, view and plots for ``cube`` and show its first view (the
        constructor's work once the data is there: at once, or for a live source when the
        first rows arrived)."""
        self.dpc = DPC(cube, backend=backend, memory_budget=memory_budget, client=client)
        self._loaded_origin = cube.origin
        if saved.origin is not None and "origin" not in cube_options:
            self.dpc.origin = saved.origin  # ValueError outside the detector
        values = {**saved.values, **values}
        settings = initial_settings(self.dpc.cube, self.dpc.cube.sample_mean_pattern, values)
        settings.detector()  # bad initial geometry raises here
        self.controls = Controls(self.dpc.cube, settings)
        self.calibration = CalibrationFields(self.dpc.cube)
        self.controls.add_section("Calibration", [self.calibration.box], open_=False)
        self._loaded_calibration = cube.calibration
        self._disc_px = _disc_px(cube)
        for name in NAMES + ORIGIN_NAMES:
            setattr(self, name, getattr(self.controls, name))
        fit = panel_size is None
        self.view = ExplorerView(panel_size=220 if fit else panel_size, fit_width=fit)
        # the canvases take the width beside the controls (the view measures its own width)
        self.view.layout = w.Layout(
            flex="1 1 auto", min_width="0", width="auto", margin="0 0 0 12px"
        )
        self.plots = Plots(cube.detector_units)
        self.status = w.HTML()
        self.status.add_class("dpc-status")
        self.code_text = w.Textarea(layout=w.Layout(width="100%", height="200px"))
        self.code_text.add_class("dpc-code")
        self.update_seconds = 0.0
        self._pass_seconds: float | None = None  # the last update that read all the data
        self.trace = UpdateTrace()
        self._result: DPCResult | None = None
        self._result_settings: Settings | None = None  # the settings of self._result
        self._key: Any = None
        self._shown_clip: float | None = None  # clip of the contrast limits the view has
        # (field, |field|) of the last CoM field sent at full resolution (for the histogram)
        self._magnitude: tuple[np.ndarray, np.ndarray] | None = None
        self._error: Exception | None = None
        self._noted: set[str] = set()  # kinds of the warnings of the last update (see below)
        self._flow = LatestWins(self._refresh)
        # what the next _show_details() shows: "radii", "result", "status" (see _refresh)
        self._pending: dict[str, Any] = {}
        self._details = Later(
            lambda: self._guarded("showing the plots", self._show_details),
            DETAILS_DELAY,
            DETAILS_MAX_WAIT,
        )
        self._build = CacheBuild(self.dpc, self._cache_built, background)
        self._pattern_shown = 0.0  # time.monotonic() the mean pattern was last sent (live)
        children = [
            w.HBox([self.status, self._build.box]),
            w.HBox(
                [self.controls.box, self.view],
                layout=w.Layout(align_items="flex-start", width="100%"),
            ),
            self.plots.box,
            self._file_box(),
            self.code_text,
        ]
        if self._live is None:
            super().__init__(children)
            self.add_class("dpc-explorer")
        self._flow.request()  # the first view: one streaming pass, which yields the mean pattern
        if self._error is not None:
            raise self._error
        self._show_cube()
        self._frame_detector()
        if self._live is not None:  # shown complete (a page draws the view with all its state)
            self.children = [self._live.line, *children]
        # automatic rotation turned off: the manual controls first take the last solved values
        self.auto_rotation.observe(lambda c: c["new"] or self._details.flush(), "value")
        for name, widget in self.controls.widgets().items():
            if name in _MANUAL_ROTATION:
                widget.observe(self._manual_rotation_changed, "value")
            else:
                widget.observe(self._control_changed, "value")
        for widget in (self.origin_qx, self.origin_qy):
            widget.observe(self._control_changed, "value")
        for widget in self.calibration.widgets():
            widget.observe(lambda _: self._calibration_typed(), "value")
        self.find_disc.on_click(lambda _: self._guarded("re-find disc", self._find_disc_clicked))
        self.geometric.on_click(lambda _: self._guarded("geometric centre", self._geometric))
        self.view.observe(lambda _: self._show_view_radii(), ["detector_zoom", "detector_focus"])
        self.view.on_geometry(self._on_ring_drag)
        self.view.on_center(self._on_center_drag)
        self.view.observe(lambda change: self._on_center_drag(*change["new"]), "center")
        self._ready = True

    # ------------------------------------------------------------------ public API
    @property
    def results(self) -> DPCResult | None:
        """The current :class:`~dpc_widgets.core.DPCResult` (of the last successful update)."""
        return self._result

    @property
    def building(self) -> bool:
        """True while a detector cache is built in the background (and its update pending)."""
        return self._build.active

    @property
    def settings(self) -> Settings:
        """The settings the controls show now."""
        return self.controls.settings()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Change several controls at once with one update at the end of the block."""
        with self._flow.hold():
            yield

    def close(self) -> None:
        """Close the widget (and stop following a live source; the source keeps receiving:
        ``source.close()`` stops it)."""
        if self._live is not None:
            self._live.stop()
        super().close()

    @property
    def ready(self) -> bool:
        """True once the explorer shows data (for a live source: once the first rows came)."""
        return self._ready

    @property
    def cube(self) -> Datacube | None:
        """The data shown (``explorer.dpc.cube``); for a live source the current scan's cube,
        which follows ``source.scan`` (None before the first rows arrived)."""
        return self.dpc.cube if self._ready else None

    def wait(self, timeout: float | None = None) -> bool:
        """Follow a live source until its current scan is complete and shown (True), or
        ``timeout`` seconds passed (False); True at once for data in hand.

        The explorer follows a live source by itself in a Jupyter kernel while the kernel is
        idle; a cell (or script) that waits here instead does the looking in the meantime, so
        the images still fill in, and the explorer shows the complete scan's exact results
        (images, plots, status) when it returns True.
        """
        if self._live is None:
            return True
        done = self._live.wait(timeout)
        if done and self._ready:
            self._details.flush()
        return done

    def code(self) -> str:
        """Python code reproducing the current results with the core API."""
        return self.settings.code(self._code_cube_line(), self.dpc.backend)

    def recalibrate(self, **calibration: Any) -> None:
        """Give the data other calibrations and update (the pixel data and caches are kept).

        Parameters
        ----------
        **calibration
            Any of ``energy`` (eV; ``None``: unknown), ``detector_sampling``,
            ``detector_units``, ``scan_sampling``, ``scan_units`` (see
            :meth:`dpc_widgets.core.DPC.recalibrate`). The radii keep their pixels: with a new
            detector pixel size they are shown in the new units. The calibration fields
            (energy in keV, detector pixel size) call this when a value is typed.

        Raises
        ------
        TypeError, ValueError
            For a bad keyword or value (nothing changes).
        """
        old, settings = self.dpc.cube, self.controls.settings()
        self.dpc.recalibrate(**calibration)
        cube = self.dpc.cube
        scale = cube.detector_sampling / old.detector_sampling
        with self.hold():
            self.controls.configure(cube)
            if cube.detector_units != old.detector_units or scale != 1.0:
                radii = ("inner", "outer", "com_inner", "com_outer")
                rescaled = {k: round(getattr(settings, k) * scale, 12) for k in radii}
                self.controls.set(dataclasses.replace(settings, **rescaled))
            self.calibration.show(cube)
            self._key = None
            self._flow.request()
        self.plots.set_detector_units(cube.detector_units)
        self._show_cube()

    def save(
        self,
        folder: str | os.PathLike,
        *,
        prefix: str = "dpc",
        formats: tuple[str, ...] = export.FORMATS,
        frames: bool = False,
        scan: int | None = None,
    ) -> list[pathlib.Path]:
        """Save the current arrays (.npy, HDF5) and figures (PNG); see :func:`export.save`.

        For a live scan (``Explorer(source)``): the results of the rows received when called
        (the rows after them are NaN in the arrays, transparent in the PNGs), and the HDF5
        file's attributes ``rows`` (rows received), ``scan_rows``, ``complete`` and, for a scan
        that ended early, ``reason``. The frames themselves are the source's (its spool file,
        or the detector software's own file); ``frames=True`` also writes the rows received as
        ``{prefix}_frames.npy`` ((rows, Ry, Qx, Qy), the cube's orientation and dtype), which
        :func:`dpc_widgets.load` and ``dpc-widgets process`` read. ``scan`` picks another of
        the scans the source keeps (an index into ``source.scans``: ``-2`` is the one before the
        current, e.g. the finished scan after a new acquisition started), computed with the
        current settings (its own centre unless the centre was moved, as for a new
        acquisition); None (default): the scan shown.

        Raises
        ------
        RuntimeError
            Before any result.
        ValueError
            For ``frames=True`` or ``scan`` on data that is not a live scan (it is in a file
            already), a ``scan`` the source does not keep, an unknown format or a bad prefix.
        """
        if self._result is None:
            raise RuntimeError("no results to save yet")
        cube = self.dpc.cube
        if (frames or scan is not None) and cube.feed is None:
            raise ValueError(
                "frames=True and scan= save a live scan; this data is not a live scan (its "
                "frames are in the file or array it came from)"
            )
        result, settings = self._result, self.settings
        mean = self.dpc.mean_pattern()
        if scan is not None:
            cube, result, mean = self._other_scan(scan, settings)
        attributes = None
        if cube.feed is not None:
            attributes = {
                "rows": int(result.rows if result.rows is not None else cube.scan_shape[0]),
                "scan_rows": cube.scan_shape[0],
                "complete": bool(cube.feed.complete),
            }
            if cube.feed.reason:
                attributes["reason"] = cube.feed.reason
        written = export.save(
            folder,
            result,
            mean,
            settings,
            prefix=prefix,
            formats=formats,
            code=self.code(),
            attributes=attributes,
        )
        if frames:
            path = pathlib.Path(folder) / f"{prefix}_frames.npy"
            np.save(path, np.asarray(cube.data[: attributes["rows"]]))
            written.append(path)
        return written

    def _other_scan(self, index: int, settings: Settings) -> tuple[Datacube, DPCResult, Any]:
        """(cube, result, mean pattern) of ``source.scans[index]`` under ``settings``."""
        scans = list(self.source.scans)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"scan must be an index into source.scans, got {index!r}")
        if not -len(scans) <= index < len(scans):
            raise ValueError(f"scan must index source.scans ({len(scans)} kept), got {index!r}")
        cube = scans[index].cube
        if cube is None:
            raise ValueError(f"scan {index} received no rows: nothing to save")
        if cube.feed is self.dpc.cube.feed:  # the scan shown
            return self.dpc.cube, self._result, self.dpc.mean_pattern()
        dpc = DPC(cube.with_origin(self._kept_origin(cube)), backend=self.dpc.backend)
        return dpc.cube, dpc.run(settings.detector(), **settings.run_kwargs()), dpc.mean_pattern()

    def _kept_origin(self, cube: Datacube) -> tuple[float, float]:
        """The centre for another scan of a live source: the current one when it was moved
        from the one found and lies on ``cube``'s detector, else ``cube``'s own."""
        origin = self.dpc.origin
        moved = origin != self._loaded_origin
        fits = all(0.0 <= c <= n - 1 for c, n in zip(origin, cube.detector_shape, strict=True))
        return origin if moved and fits else cube.origin

    def save_settings(self, path: str | os.PathLike) -> pathlib.Path:
        """Write the current settings as a settings file (JSON; folder created if missing).

        The detector centre is saved when it was moved from the loaded one (else ``null``:
        whatever data the file is applied to keeps its own centre). ``Explorer(data,
        settings=path)`` and ``dpc-widgets process --settings path`` apply the file; see
        :mod:`dpc_widgets.widgets.settings_file`. Returns the path written.
        """
        origin = None if self.dpc.origin == self._loaded_origin else self.dpc.origin
        return write_settings(
            path, self.settings, origin=origin, calibration=self.dpc.cube.calibration
        )

    def load(self, data: Any, **cube_options: Any) -> None:
        """Show new data (as in the constructor); the settings are kept where they fit."""
        cube, cube_line = open_cube(data, **cube_options)
        self._cube_line = cube_line
        self._install_cube(cube, cube.origin)
        self._frame_detector()

    def _install_cube(self, cube: Datacube, origin: tuple[float, float]) -> None:
        """Show ``cube`` centred at ``origin`` (pixels) with the current settings: its
        calibration and detector in the controls, its first update asked for, then its mean
        pattern (after the first view, whose pass yields it)."""
        self.dpc.cube = cube
        if origin != cube.origin:
            self.dpc.origin = origin
        self._loaded_origin = cube.origin
        self._loaded_calibration = cube.calibration
        self._disc_px = _disc_px(cube)
        with self.hold():
            self.calibration.show(cube)
            self.controls.configure(cube)
            self.controls.set_origin(self.dpc.origin)
            self._key = None
            self._flow.request()
        self._show_cube()

    def snapshot_png(self) -> bytes | None:
        """PNG bytes of the current view (:mod:`.snapshot`); None before any result.

        The explorer's display output carries it for front ends without a widget manager
        (GitHub, nbviewer, a PDF): see :mod:`dpc_widgets.widgets.display`.
        """
        if self._result is None:
            return None
        result, settings = self._result, self._result_settings
        cube = self.dpc.cube
        view = self.view
        return snapshot.snapshot_png(
            result,
            self.dpc.mean_pattern(),
            settings,
            self.dpc.origin,
            cube.detector_sampling,
            pattern_scale=view.pattern_scale,
            pattern_gamma=view.pattern_gamma,
            window=window_pixels(cube.detector_shape, view.detector_zoom, view.detector_focus),
        )

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **kwargs: Any
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The widget view, a PNG of the current view and a line of text, with Colab's
        metadata in Colab (:mod:`dpc_widgets.widgets.display`); None once closed."""
        if self.comm is None:  # closed (ipywidgets 8 hides this method then, 7 does not)
            return None
        png = None
        if display.wanted("image/png", include, exclude):
            try:
                png = self.snapshot_png()
            except Exception as err:  # noqa: BLE001 - the widget view is shown all the same
                logger.warning("DPC explorer: no PNG snapshot: %s: %s", type(err).__name__, err)
        return display.mimebundle(self.model_id, self._text_line(), png)

    if display.USES_IPYTHON_DISPLAY:  # ipywidgets 7: IPython prefers this to the bundle

        def _ipython_display_(self, **kwargs: Any) -> None:
            """Display :meth:`_repr_mimebundle_`'s output (a ``display_data``)."""
            from IPython.display import display as show

            bundle = self._repr_mimebundle_()
            if bundle is not None:
                show(bundle[0], metadata=bundle[1], raw=True)

    def _text_line(self) -> str:
        """The ``text/plain`` of the display output: what this is, and what it needs."""
        if not self._ready:
            return (
                "DPC explorer (dpc-widgets) waiting for a live scan: an interactive widget; "
                "run the notebook in Jupyter, Colab or VS Code to use it"
            )
        rx, ry, qx, qy = self.dpc.cube.shape
        return (
            f"DPC explorer (dpc-widgets) of a {rx}x{ry} scan with {qx}x{qy} detector pixels: "
            "an interactive widget; run the notebook in Jupyter, Colab or VS Code to use it"
        )

    # ------------------------------------------------------------------ internals
    def _file_box(self) -> w.VBox:
        self._load_path = w.Text(
            placeholder="path of a 4D-STEM file", description="data", layout=w.Layout(width="420px")
        )
        self._load_path.add_class("dpc-load-path")
        load_button = w.Button(description="Load")
        load_button.add_class("dpc-load-button")
        load_button.on_click(lambda _: self._guarded("load", self.load, self._load_path.value))
        self._export_dir = w.Text(
            value="dpc_export", description="folder", layout=w.Layout(width="420px")
        )
        self._export_dir.add_class("dpc-export-dir")
        self._export_prefix = w.Text(
            value="dpc", description="prefix", layout=w.Layout(width="200px")
        )
        self._export_prefix.add_class("dpc-export-prefix")
        save_button = w.Button(description="Save")
        save_button.add_class("dpc-export-button")
        save_button.on_click(
            lambda _: self._guarded(
                "save", self._save_clicked, self._export_dir.value, self._export_prefix.value
            )
        )
        settings_button = w.Button(
            description="Save settings", tooltip="write {folder}/{prefix}_settings.json"
        )
        settings_button.add_class("dpc-settings-button")
        settings_button.on_click(
            lambda _: self._guarded(
                "save settings",
                self._save_settings_clicked,
                self._export_dir.value,
                self._export_prefix.value,
            )
        )
        for widget, text in (
            (self._load_path, "path of a 4D-STEM file to show instead (any format load() reads)"),
            (load_button, "load the file; the settings are kept where they fit"),
            (self._export_dir, "folder the files are saved in (created if missing)"),
            (self._export_prefix, "start of every saved file's name"),
            (save_button, "write the current arrays (.npy, HDF5) and figures (PNG) there"),
        ):
            set_tooltip(widget, text)
        return w.VBox(
            [
                w.HBox([self._load_path, load_button]),
                w.HBox([self._export_dir, self._export_prefix, save_button, settings_button]),
            ]
        )

    def _save_clicked(self, folder: str, prefix: str) -> None:
        written = self.save(folder, prefix=prefix)
        self._set_status("ok", f"saved {len(written)} files to {pathlib.Path(folder).resolve()}")

    def _save_settings_clicked(self, folder: str, prefix: str) -> None:
        export.check_prefix(prefix)
        path = self.save_settings(pathlib.Path(folder) / f"{prefix}_settings.json")
        self._set_status("ok", f"saved the settings to {path.resolve()}")

    def _guarded(self, action: str, function: Any, *args: Any) -> None:
        """Run a button action; errors go to the status line and the log."""
        try:
            function(*args)
        except Exception as err:  # noqa: BLE001 - shown to the user, logged below
            self._report(f"{action} failed", err)

    def _show_cube(self) -> None:
        """Send what depends only on the cube: mean pattern, calibrations, radial profile."""
        cube = self.dpc.cube
        mean = self.dpc.mean_pattern()
        view = self.view
        with view.hold_sync():
            view.set_image("pattern", mean[None])
            view.pattern_vmax = float(mean.max())
            view.detector_shape = list(cube.detector_shape)
            view.center = [float(c) for c in cube.origin]
            view.detector_sampling = cube.detector_sampling
            view.detector_units = unit_text(cube.detector_units)
            view.scan_shape = list(cube.scan_shape)
            view.scan_sampling = cube.scan_sampling
            view.scan_units = unit_text(cube.scan_units)
        self.plots.show_profile(*self.dpc.radial_profile())

    def _code_cube_line(self) -> str:
        """The cube line of the copy-as-code text, with the origin when it was moved."""
        origin = self.dpc.origin
        line = self._cube_line
        calibration = self.dpc.cube.calibration
        changed = {k: v for k, v in calibration.items() if self._loaded_calibration[k] != v}
        if changed:
            keywords = ", ".join(f"{k}={v!r}" for k, v in changed.items())
            line += f"\ncube = cube.with_calibration({keywords})"
        if origin == self._loaded_origin:
            return line
        return f"{line}\ncube = cube.with_origin(({origin[0]!r}, {origin[1]!r}))"

    def _on_center_drag(self, qx: float, qy: float) -> None:
        """A centre from the view (drag or trait): clamped into the detector, 0.01 px;
        non-finite ones (NaN from the page) are ignored."""
        if not (math.isfinite(qx) and math.isfinite(qy)):
            return
        rows, cols = self.dpc.cube.detector_shape
        center = tuple(min(max(float(v), 0.0), n - 1.0) for v, n in ((qx, rows), (qy, cols)))
        if center in (self.dpc.origin, self.controls.origin()):
            return  # the view shows the current origin (or the one already asked for)
        with self.hold():
            self.controls.set_origin([round(v, 2) for v in center])

    def _find_disc_clicked(self) -> None:
        disc = find_disc(self.dpc.mean_pattern())
        if not disc.found:
            self._set_status("warning", f"re-find disc: {disc.message}; centre unchanged")
            return
        with self.hold():
            self.controls.set_origin(disc.center)

    def _geometric(self) -> None:
        qx, qy = self.dpc.cube.detector_shape
        with self.hold():
            self.controls.set_origin((qx // 2, qy // 2))

    def _recentre(self, origin: tuple[float, float]) -> None:
        """Move the DPC origin (ValueError outside the detector: nothing changes)."""
        self._set_status("busy", "re-centring: rebuilding the cache\u2026")
        self.dpc.origin = origin
        self._key = None
        self.view.center = [float(c) for c in self.dpc.origin]
        self.plots.show_profile(*self.dpc.radial_profile())

    def _calibration_typed(self) -> None:
        """A calibration field changed: apply it, or say why not (the value is not applied)."""
        if self.calibration.showing:
            return
        try:
            changes = self.calibration.changes(self.dpc.cube)
            if changes:
                self.recalibrate(**changes)
        except (CalibrationError, TypeError, ValueError) as err:
            self._set_status("error", f"calibration not applied: {err}")

    def _control_changed(self, _change: Any) -> None:
        self.trace.mark("received")
        self._flow.request()

    def _manual_rotation_changed(self, _change: Any) -> None:
        """A manual rotation control changed: an update only when the rotation is manual.

        With the automatic rotation every update moves these controls to the solved values;
        they are not inputs of the computation then, so no second (empty) update follows.
        """
        if not self.auto_rotation.value:
            self._flow.request()

    def _on_ring_drag(self, inner: float, outer: float) -> None:
        """Radii from a ring drag in the view; non-finite ones (NaN from the page) are ignored."""
        if not (math.isfinite(inner) and math.isfinite(outer)):
            return
        self.trace.mark("received")
        controls = self.controls
        asked = {  # as the browser's sliders show them: not echoed back
            "inner": browser_value(controls.inner, inner),
            "outer": browser_value(controls.outer, outer),
        }
        # only the dragged ring is set: one dragged past the other pushes it (as the sliders do)
        moved = [name for name, value in asked.items() if value != getattr(controls, name).value]
        with self.hold():
            for name in moved:
                getattr(controls, name).value = asked[name]

    def _show_geometry(self, settings: Settings) -> None:
        view = self.view
        masked = settings.com_source == "pixelated" and settings.com_mask
        with view.hold_sync():
            view.inner, view.outer = settings.inner, settings.outer
            view.segments, view.rotation = settings.segments, settings.rotation
            view.com_mask = [settings.com_inner, settings.com_outer] if masked else []
        self._pending["radii"] = (settings.inner, settings.outer)

    def _refresh(self) -> None:
        """One update (called through LatestWins only): one view message at most, sent first.

        The plots, status line, code text and solved-rotation controls follow through
        :class:`~dpc_widgets.widgets.flow.Later` (in a kernel once the updates pause).
        """
        with self.view.hold_sync():
            shown = self._compute_and_show()
            self.trace.mark("computed")
        self.trace.mark("replied")
        self.trace.close(keep=shown)
        if self._pending:
            self._details.request()

    def _show_details(self) -> None:
        """Show what an update left pending: radius marks, result plots, code, status."""
        pending, self._pending = self._pending, {}
        if "radii" in pending:
            self.plots.show_radii(*pending["radii"])
        if "result" in pending:
            result, settings = pending["result"]
            if "exact" in pending:  # the images at full resolution, before the plots
                with self.view.hold_sync():
                    self._show_result(result, settings.clip)
            self.plots.show_rotation(result.rotation, result.angle_deg)
            known = self._magnitude
            magnitude = known[1] if known and known[0] is result.com_rotated else None
            self.plots.show_histogram(result.com, result.com_units, magnitude)
            self.code_text.value = settings.code(self._code_cube_line(), self.dpc.backend)
            rotation = result.rotation  # undetermined: the line names the angle used
            self.controls.show_rotation(
                rotation.angle_deg if rotation.determined else result.angle_deg,
                result.rotation.transpose,
                result.rotation.curl_score[result.rotation.transpose],
                result.rotation.uncertainty_deg,
                result.rotation.weak_half_turn and result.rotation.determined,
                result.rotation.reason,
                None if self.dpc.cube.feed is None else (result.rows, self.dpc.cube.scan_shape[0]),
            )
        if "status" in pending:
            self._set_status(*pending["status"])

    def _compute_and_show(self) -> bool:
        """Compute and show the results of the controls' settings; False if nothing changed."""
        try:
            settings = self.controls.settings()
            self._show_geometry(settings)
            origin = self.controls.origin()
            if origin != self.dpc.origin:
                self._recentre(origin)
            detector = settings.detector()
            kwargs = settings.run_kwargs()
            feed = self.dpc.cube.feed  # a live scan: its rows so far are an input too
            version = None if feed is None else feed.version
            key = (self.dpc.origin, detector, tuple(kwargs.items()), settings.clip, version)
            if key == self._key:
                return False
            center = detector.resolved_center(self.dpc.cube)
            reach = settings.cache_reach()
            cached = self.dpc.cache_ready(center, reach)
            # The first view is computed at once (one streaming pass, see DPC(stream_first=)).
            if not cached and self._result is not None and self._build.start(center, reach):
                self._set_status("busy", "building the detector cache\u2026 (last images kept)")
                return False
            lost = self.dpc.cluster_blocks_lost()
            if lost:
                self._set_status("busy", f"rebuilding {lost} blocks lost with a worker\u2026")
            start = time.perf_counter()
            with own_warnings.collect() as caught:  # others go back to the warning filters
                result = self.dpc.run(detector, **kwargs)
                # in a kernel, at display resolution until the updates pause (resolution.py)
                binned = self._show_result(result, settings.clip, self._details.defers)
        except Exception as err:  # noqa: BLE001 - shown in the status line and logged
            self._key = None
            self._error = err
            self._report("update failed", err)
            return False
        self.update_seconds = time.perf_counter() - start
        self._key, self._result, self._error = key, result, None
        self._result_settings = settings
        notes = list(caught.notes)  # the package's own and numerical warnings, each once
        # logged when they appear, not on every frame of a drag (the status line shows them
        # each time); a note's kind is its text without its numbers
        kinds = {_NUMBER.sub("#", note) for note in notes}
        for note in notes:
            if _NUMBER.sub("#", note) not in self._noted:
                logger.warning("DPC explorer: %s", note)
        self._noted = kinds
        # the rotation's own warnings are said on the rotation line (controls.show_rotation)
        notes = [note for note in notes if not note.startswith(ROTATION_WARNINGS)]
        if not cached:  # this update made one pass over the data: what a new cache costs
            self._pass_seconds = self.update_seconds
        message = f"updated in {_milliseconds(self.update_seconds)}"
        cached = self.dpc.cached_radius
        bounded = cached is not None and math.isfinite(cached)
        self.view.cache_radius = cached if bounded else 0.0  # the detector panel's dashed ring
        if bounded:
            message += "; " + reach_text(
                cached, self.dpc.cube.detector_units, self._build.seconds or self._pass_seconds
            )
        # an undetermined rotation is said on the rotation line (controls.show_rotation)
        nonfinite = self.dpc.nonfinite_pixels
        if nonfinite:
            notes.append(f"{nonfinite} NaN/inf pixels set to 0")
        if self.dpc.binning > 1:
            notes.append(
                f"live view on a {self.dpc.binning}\u00d7 binned detector; exact results: "
                "explorer.dpc.stream_run(explorer.settings.detector(), "
                "**explorer.settings.run_kwargs())"
            )
        info = units_notes(self.dpc.cube)
        if settings.com_source != "pixelated" and result.segment_areas is not None:
            areas, unequal = segment_area_text(result.segment_areas, detector.weighting)
            (notes if unequal else info).insert(0, areas)
        if settings.com_source == "pixelated":
            units = self.dpc.cube.detector_units
            info.insert(0, com_region_text(settings, self._disc_radius(), units))
        self._pending["result"] = (result, settings)
        if binned:
            self._pending["exact"] = True
        text = "; ".join([message, *notes, *info])
        self._pending["status"] = ("warning" if notes else "ok", text)
        if not self.dpc.cache_ready(center, reach):  # the first view came from a streaming
            self._build.start(center, reach)  # pass: fill the cache behind it
        return True

    # ------------------------------------------------------------------ a live source
    def _live_cube(self, cube: Datacube) -> None:
        """A scan's first rows arrived: set up (the first scan) or follow the new cube."""
        if not self._ready:
            self._setup(cube, **self._setup_options)
            self._pattern_shown = time.monotonic()
        else:
            self._follow_cube(cube)

    def _live_rows(self, final: bool) -> None:
        """Rows arrived (``final``: the scan is complete): the current settings' update on
        them, the mean pattern now and then, and at the end the exact images and plots."""
        if not self._ready:
            return
        self._flow.request()  # the key holds feed.version: a slider move's update, newest rows
        now = time.monotonic()
        if final or now - self._pattern_shown >= LIVE_PATTERN_S:
            self._pattern_shown = now
            self._guarded("showing the mean pattern", self._show_pattern)
        if final:
            self._details.flush()  # the exact images, plots, status and rotation line now

    def _follow_cube(self, cube: Datacube) -> None:
        """A new acquisition: show its cube with the current settings.

        Radii, segments, offset, CoM source, rotation and phase options stay as they are; a
        detector centre moved from the one found on the last scan stays too when it lies on
        the new detector, else the new scan's own centre (its disc, found on its first rows) is
        used, as a settings file with a ``null`` centre does.
        """
        old = self.dpc.cube
        self._install_cube(cube, self._kept_origin(cube))
        if cube.detector_shape != old.detector_shape:
            self._frame_detector()  # else the user's zoom stays
        self._pattern_shown = time.monotonic()

    def _show_pattern(self) -> None:
        """The mean pattern of the rows so far and its radial profile (a live scan)."""
        mean = self.dpc.mean_pattern()
        with self.view.hold_sync():
            self.view.set_image("pattern", mean[None])
            self.view.pattern_vmax = float(mean.max())
        self.plots.show_profile(*self.dpc.radial_profile())

    def _frame_detector(self) -> None:
        """Give the detector view its "fit disc" default (``zoom.fit_view``) for a new cube.

        The disc radius is the one found on loading; for an array (no disc searched on
        loading) it is found on the mean pattern here (:func:`find_disc`); none found, or a
        detector too small for a disc (under 3 x 3 pixels): the view shows the whole detector.
        """
        cube = self.dpc.cube
        disc = self._disc_px
        if disc is None and cube.disc is None and min(cube.detector_shape) >= 3:
            found = find_disc(self.dpc.mean_pattern())
            disc = found.radius if found.found else None
        outer_px = self.controls.settings().outer / cube.detector_sampling
        zoom, focus = fit_view(cube.detector_shape, self.dpc.origin, disc, outer_px)
        with self.view.hold_sync():
            self.view.disc_radius = float(disc) if disc is not None else 0.0
            self.view.detector_zoom = zoom
            self.view.detector_focus = list(focus)
        self._show_view_radii()

    def _show_view_radii(self) -> None:
        """The radial profile spans the radii in the detector view (all of it unzoomed)."""
        view, cube = self.view, self.dpc.cube
        if view.detector_zoom <= 1.0:
            self.plots.show_view_radii(None)
            return
        low, high = visible_radii(
            cube.detector_shape, view.detector_zoom, view.detector_focus, self.dpc.origin
        )
        self.plots.show_view_radii((low * cube.detector_sampling, high * cube.detector_sampling))

    def _disc_radius(self) -> float | None:
        """The bright-field disc radius found on loading, in detector units (None: none)."""
        if self._disc_px is None:
            return None
        return self._disc_px * self.dpc.cube.detector_sampling

    def _cache_built(self, error: Exception | None) -> None:
        """A background cache build ended: update with it, or say why it failed."""
        if error is not None:
            self._report("building the detector cache failed", error)
            return
        self._key = None
        self._flow.request()

    def _show_result(self, result: DPCResult, clip: float, at_display: bool = False) -> bool:
        """Set the view's images that changed, with their contrast limits.

        Contrast limits are only recomputed for images that changed (or a new ``clip``): a
        buffer the view skips as equal to the last one sent keeps its limits. With
        ``at_display``, each scan image larger than its panel goes binned to the panel's size
        (:mod:`.resolution`). The limits are always those of the full-resolution images, so a
        binned drag frame and the exact frame after it share them. ``|com|`` is kept in
        ``self._magnitude`` (for the histogram). Returns whether any image went binned (the
        exact ones are then due).
        """
        view = self.view
        com = result.com_rotated
        fresh = clip != self._shown_clip
        self._shown_clip = None  # until all limits below are in place
        bins = self._display_bins(len(result.segment_images)) if at_display else {}
        with view.hold_sync():
            b = bins.get("segment_images", 1)
            images = resolution.bin_images(result.segment_images, b)
            if fresh or view.changed("segment_images", images):
                ranges, limits = _ranges_and_limits(result.segment_images, images, clip)
                view.segment_ranges = [list(r) for r in ranges]
                steps = [encoding.gray_resolution(*r) for r in ranges]
                view.set_image("segment_images", images, np.array(steps), limits, b)
            b = bins.get("com", 1)
            field = resolution.bin_images(com, b)
            if fresh or view.changed("com", field):
                magnitude = render.magnitude(com)  # rotation keeps |CoM|: wheel and histogram
                self._magnitude = (com, magnitude)
                ranges, limits = _ranges_and_limits(com, field, clip)
                view.com_ranges = [list(r) for r in ranges]
                view.com_vmax = float(render.percentiles(magnitude, (100.0 - clip,))[0])
                wheel = encoding.wheel_resolution(view.com_vmax)
                steps = [min(encoding.gray_resolution(*r), wheel) for r in ranges]
                view.set_image("com", field, np.array(steps), limits, b)
            view.com_units = unit_text(result.com_units)
            b = bins.get("phase", 1)
            full = result.phase[None]
            phase = resolution.bin_images(full, b)
            if fresh or view.changed("phase", phase):
                ranges, limits = _ranges_and_limits(full, phase, clip)
                view.phase_range = list(ranges[0])
                step = encoding.gray_resolution(*view.phase_range)
                view.set_image("phase", phase, step, limits, b)
            view.phase_units = unit_text(result.phase_units)
        self._shown_clip = clip
        return any(b > 1 for b in bins.values())

    def _display_bins(self, n_segments: int) -> dict[str, int]:
        """Binning of each scan trait to its panel's size in device pixels (resolution.py)."""
        scan = self.dpc.cube.scan_shape
        size = self.view.panel_size * self.view.pixel_ratio
        tile = resolution.tile_size(self.view.panel_size, n_segments) * self.view.pixel_ratio
        panel = resolution.display_bin(scan, size)
        return {
            "segment_images": resolution.display_bin(scan, tile),
            "com": panel,
            "phase": panel,
        }

    def _set_status(self, kind: str, text: str) -> None:
        self._pending.pop("status", None)  # newer than an update's pending "ok"
        self.status.value = f'<span class="dpc-status-{kind}">{html.escape(text)}</span>'

    def _report(self, what: str, err: Exception) -> None:
        """Show an error in the status line and log it (with a traceback if unexpected)."""
        self._set_status("error", f"{what}: {type(err).__name__}: {err}")
        if isinstance(err, (TypeError, ValueError, FileNotFoundError, OSError)):
            logger.warning("DPC explorer %s: %s: %s", what, type(err).__name__, err)
        else:
            logger.error("DPC explorer %s", what, exc_info=err)


def reach_text(radius: float, units: str, pass_seconds: float | None) -> str:
    """The status line's words for the detector cache: which radii answer at once and what a
    larger one costs.

    Parameters
    ----------
    radius : float
        The cache radius (:attr:`DPC.cached_radius`), detector ``units``.
    units : str
        The detector's units.
    pass_seconds : float or None
        Measured duration (s) of the last pass over the data (the first view's streaming pass
        or a cache build); None: not measured yet (the sentence then stops after the radii).
    """
    text = f"radii up to {radius:.3g} {units} answer at once"
    if pass_seconds is None or not math.isfinite(pass_seconds):
        return text
    return f"{text}; beyond that one pass of about {_duration(pass_seconds)}"


def _duration(seconds: float) -> str:
    """``seconds`` in words a person reads at a glance: 0.3 s, 2 s, 40 s, 3 min."""
    if seconds < 0.95:
        return f"{max(seconds, 0.1):.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def _milliseconds(seconds: float) -> str:
    """``seconds`` in ms for the status line: whole ms from 10 ms, else one decimal (an answer
    from the memo takes well under a millisecond: "0.2 ms", not "0 ms")."""
    ms = 1e3 * seconds
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def _ranges_and_limits(
    full: np.ndarray, shown: np.ndarray, clip: float
) -> tuple[list[tuple[float, float]], tuple[np.ndarray, np.ndarray]]:
    """Contrast ranges of the images ``full`` (N, ...) and the extremes of ``shown``, the same
    images as sent (``full`` itself, or binned: :mod:`.resolution`)."""
    limits = encoding.extremes(full)
    ranges = render.clip_ranges(full, clip, limits)
    return ranges, limits if shown is full else encoding.extremes(shown)


def _disc_px(cube: Datacube) -> float | None:
    """The radius (pixels) of the disc found on loading ``cube``; None when none was found."""
    disc = cube.disc
    return disc.radius if disc is not None and disc.found else None
