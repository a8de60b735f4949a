"""Saving the explorer's current results: arrays (.npy, HDF5) and figures (PNG).

PNGs are encoded here (8-bit RGBA, zlib, no extra dependency) from the same colour maps the
canvas view draws (:mod:`dpc_widgets.widgets.render`).
"""

from __future__ import annotations

import json
import pathlib
import struct
import zlib
from os import PathLike

import h5py
import numpy as np

from ..core import DPCResult
from . import render
from .settings import Settings

FORMATS = ("npy", "h5", "png")


def png_bytes(rgba: np.ndarray) -> bytes:
    """Encode an RGBA image (rows, cols, 4) of uint8 as a PNG file's bytes."""
    rgba = np.asarray(rgba)
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(
            f"PNG data must be uint8 of shape (rows, cols, 4), got {rgba.dtype} {rgba.shape}"
        )
    rows, cols, _ = rgba.shape
    raw = np.zeros((rows, 1 + 4 * cols), dtype=np.uint8)  # filter byte 0 per row
    raw[:, 1:] = rgba.reshape(rows, 4 * cols)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", cols, rows, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def tile(images: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """RGBA images (n, rows, cols, 4) in a grid of ``columns`` with transparent gaps."""
    n, rows, cols, _ = images.shape
    grid_rows = -(-n // columns)
    out = np.zeros((grid_rows * (rows + gap) - gap, columns * (cols + gap) - gap, 4), np.uint8)
    for k in range(n):
        r, c = divmod(k, columns)
        out[
            r * (rows + gap) : r * (rows + gap) + rows, c * (cols + gap) : c * (cols + gap) + cols
        ] = images[k]
    return out


def figures(result: DPCResult, mean_pattern: np.ndarray, clip: float) -> dict[str, np.ndarray]:
    """RGBA images of the current views: mean pattern, segments, CoM x/y, CoM colour, phase.

    In the view's maps (:mod:`.render`): segment images and phase sequential (CET-L1), each
    between its ``clip`` percentiles; CoM x / y diverging (CET-D1A) over their ``clip``
    percentiles made symmetric about 0.
    """
    segments = np.stack(
        [render.sequential(im, *render.clip_range(im, clip)) for im in result.segment_images]
    )
    com = result.com_rotated
    return {
        "mean_pattern": render.log_gray(mean_pattern, float(mean_pattern.max())),
        "segments": tile(segments, render.tile_layout(len(segments), 220)[0]),
        "com_x": render.diverging(com[0], *render.clip_range(com[0], clip)),
        "com_y": render.diverging(com[1], *render.clip_range(com[1], clip)),
        "com_color": com_color_figure(com, clip),
        "phase": phase_figure(result.phase, clip),
    }


def phase_figure(phase: np.ndarray, clip: float) -> np.ndarray:
    """Sequential RGBA (Rx, Ry, 4) of a phase image between its ``clip`` percentiles (as the
    view)."""
    return render.sequential(phase, *render.clip_range(phase, clip))


def com_color_figure(com: np.ndarray, clip: float) -> np.ndarray:
    """Colour-wheel RGBA (Rx, Ry, 4) of a CoM field (2, Rx, Ry), saturating at the
    ``100 - clip`` percentile of its magnitude (as the view)."""
    return render.complex_hsv(com, render.magnitude_max(com, clip))


def arrays(result: DPCResult, mean_pattern: np.ndarray) -> dict[str, np.ndarray]:
    """The result arrays by name (float64, as computed)."""
    return {
        "mean_pattern": mean_pattern,
        "segment_images": result.segment_images,
        "com": result.com,
        "com_rotated": result.com_rotated,
        "phase": result.phase,
    }


def save(
    folder: str | PathLike,
    result: DPCResult,
    mean_pattern: np.ndarray,
    settings: Settings,
    *,
    prefix: str = "dpc",
    formats: tuple[str, ...] = FORMATS,
    code: str = "",
    attributes: dict | None = None,
) -> list[pathlib.Path]:
    """Write the current results into ``folder`` (created if missing).

    Writes ``{prefix}_{name}.npy`` per array, ``{prefix}.h5`` (all arrays, with the settings as
    JSON, units, applied rotation, ``code`` and any ``attributes`` (str, number or bool
    values; e.g. a live scan's rows) as attributes) and ``{prefix}_{figure}.png``.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ValueError
        For an unknown format or a prefix containing a path separator.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; expected some of {FORMATS}")
    check_prefix(prefix)
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = arrays(result, mean_pattern)
    written = []
    if "npy" in formats:
        for name, array in data.items():
            written.append(folder / f"{prefix}_{name}.npy")
            np.save(written[-1], array)
    if "h5" in formats:
        written.append(folder / f"{prefix}.h5")
        with h5py.File(written[-1], "w") as file:
            for name, array in data.items():
                file.create_dataset(name, data=array)
            file.attrs["settings"] = json.dumps(_jsonable(settings))
            file.attrs["com_units"] = result.com_units
            file.attrs["phase_units"] = result.phase_units
            file.attrs["angle_deg"] = result.angle_deg
            file.attrs["transpose"] = result.transpose
            file.attrs["code"] = code
            for key, value in (attributes or {}).items():
                file.attrs[key] = value
    if "png" in formats:
        for name, rgba in figures(result, mean_pattern, settings.clip).items():
            written.append(folder / f"{prefix}_{name}.png")
            written[-1].write_bytes(png_bytes(rgba))
    return written


def check_prefix(prefix: str) -> None:
    """Raise ValueError unless ``prefix`` is a non-empty file name part (no path separator)."""
    if not prefix or any(sep in prefix for sep in "/\\"):
        raise ValueError(f"prefix must be a non-empty file name part, got {prefix!r}")


def _jsonable(settings: Settings) -> dict:
    values = dict(settings.__dict__)
    return {
        k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in values.items()
    }
