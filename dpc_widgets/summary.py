"""What ``dpc-widgets info`` reports about a file: format, shape, calibration, disc and the
memory the detector cache takes at its default radius."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from . import _own_warnings as own_warnings
from .core import DPC
from .core.engine import cache_dtype, cached_pixels
from .detectors import area_spread
from .io import Datacube, load
from .io.formats import find_format
from .widgets.settings import AREA_TOLERANCE, initial_settings


def describe(path: str | os.PathLike, **load_options: Any) -> dict[str, Any]:
    """Open ``path`` and summarise it (reads headers and a bounded sample, not the data).

    Parameters
    ----------
    path : str or path-like
        The file.
    **load_options
        Keyword arguments of :func:`dpc_widgets.load` (``format``, ``energy``, ...).

    Returns
    -------
    dict
        JSON-ready: ``path``, ``format``, ``format_title``, ``shape`` (Rx, Ry, Qx, Qy),
        ``dtype``, ``bytes``; ``scan_sampling`` in ``scan_units``, ``detector_sampling`` in
        ``detector_units``, ``energy_eV`` (``None`` when unknown); ``origin_px``; ``disc``
        (:func:`disc_summary`); ``cache`` (:func:`cache_summary`); ``segments``
        (:func:`segments_summary`); ``warnings`` (what opening said).

    Raises
    ------
    Exception
        Whatever :func:`dpc_widgets.load` raises for the file.
    """
    with own_warnings.collect() as caught:  # others go back to the warning filters
        cube = load(path, **load_options)
        disc = disc_summary(cube)
    spec = find_format(Path(path), load_options.get("format"))
    return {
        "path": str(Path(path).resolve()),
        "format": spec.name,
        "format_title": spec.title,
        "shape": list(cube.shape),
        "dtype": str(cube.dtype),
        "bytes": cube.nbytes,
        "scan_sampling": cube.scan_sampling,
        "scan_units": cube.scan_units,
        "detector_sampling": cube.detector_sampling,
        "detector_units": cube.detector_units,
        "energy_eV": cube.energy,
        "origin_px": list(cube.origin),
        "disc": disc,
        "cache": cache_summary(cube),
        "segments": segments_summary(cube),
        "warnings": list(caught.notes),
    }


def disc_summary(cube: Datacube) -> dict[str, Any]:
    """The bright-field disc (:meth:`Datacube.sample_disc`): ``found``, ``center_px``,
    ``radius_px``, ``radius`` (detector units; both ``None`` when not found), ``clipped``
    (touches the detector edge) and ``message`` (why none was found)."""
    disc = cube.sample_disc()
    radius = disc.radius if disc.found and math.isfinite(disc.radius) else None
    return {
        "found": bool(disc.found),
        "center_px": [float(c) for c in disc.center],
        "radius_px": radius,
        "radius": None if radius is None else radius * cube.detector_sampling,
        "clipped": bool(disc.clipped),
        "message": disc.message,
    }


def cache_summary(cube: Datacube) -> dict[str, Any]:
    """The detector cache a :class:`~dpc_widgets.core.DPC` builds first for ``cube``.

    Its radius is :meth:`DPC.plan_cache_radius` around the cube's origin (1.5 disc radii, the
    whole detector without a disc, shrunk to the memory budget); it holds
    :func:`~dpc_widgets.core.engine.cached_pixels` pixels of every pattern, ``pixels x
    (Rx Ry) x itemsize`` bytes.

    Returns
    -------
    dict
        ``radius`` (detector units; ``None``: the whole detector), ``pixels``,
        ``detector_pixels``, ``bytes`` and ``fraction`` (of the cube's bytes).
    """
    radius = DPC(cube, progress=False).plan_cache_radius(cube.origin)
    pixels = cached_pixels(cube, cube.origin, radius)
    nbytes = pixels * math.prod(cube.scan_shape) * cache_dtype(cube.dtype).itemsize
    return {
        "radius": radius if math.isfinite(radius) else None,
        "pixels": pixels,
        "detector_pixels": math.prod(cube.detector_shape),
        "bytes": nbytes,
        "fraction": nbytes / cube.nbytes,
    }


def segments_summary(cube: Datacube) -> dict[str, Any]:
    """The segmented detector the explorer and ``process`` start with on ``cube``, and the area
    of each of its segments.

    Returns
    -------
    dict
        ``inner``, ``outer`` (detector units), ``segments``, ``rotation`` (degrees),
        ``weighting``, ``areas_px`` (each segment's area in pixels: its weights' sum),
        ``spread`` (``(max - min) / mean``, :func:`~dpc_widgets.detectors.area_spread`) and
        ``unequal`` (the spread exceeds 1 %, so each difference signal carries an offset).
    """
    detector = initial_settings(cube, cube.sample_mean_pattern, {}).detector()
    areas = detector.areas(cube)
    spread = area_spread(areas)
    return {
        "inner": detector.inner,
        "outer": detector.outer,
        "segments": detector.segments,
        "rotation": detector.rotation,
        "weighting": detector.weighting,
        "areas_px": [float(a) for a in areas],
        "spread": spread,
        "unequal": spread > AREA_TOLERANCE,
    }
