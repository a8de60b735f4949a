"""Image buffers of the canvas view: 16-bit codes with an affine map per image, or float32.

An image of ``n`` values goes to the browser as ``n`` little-endian uint16 codes and one pair
``[offset, scale]``; the view decodes code ``q`` to ``float32(offset + scale * q)`` (``q`` at
most :data:`FINITE_MAX`) and the three codes above it to NaN, +inf and -inf
(``js/src/codes.js``; :func:`decode` here is its mirror, operation for operation, so the
kernel knows the exact values the view draws). Half the bytes of float32.

The map spans the image's finite values, ``offset = min`` and ``scale = (max - min) /
FINITE_MAX``, so every decoded value is within ``0.51 * scale`` (plus float32 rounding) of the
original and the read-outs stay exact to about 1/128000 of the image's range. The caller gives
the largest ``scale`` each image may have (its ``resolution``): half a colour level of its
display range keeps every drawn pixel within one level of the float values
(:func:`gray_resolution`, :func:`wheel_resolution`). An image whose range is too wide for that
(an outlier far outside the display range) is sent as float32, exactly as computed; so is any
trait holding such an image, since one trait has one format.
"""

from __future__ import annotations

import numpy as np

#: Largest code of a finite value; the codes above it are the non-finite values.
FINITE_MAX = 65532
CODE_NAN, CODE_POS_INF, CODE_NEG_INF = 65533, 65534, 65535


def gray_resolution(vmin: float, vmax: float) -> float:
    """Largest step of an image drawn in grey between ``vmin`` and ``vmax`` (image units).

    A value moved by at most 0.51 of ``(vmax - vmin) / 255`` moves ``255 t`` by at most 0.51,
    so its grey level ``floor(255 t + 0.5)`` changes by at most one. Infinite for a flat range
    (drawn mid-grey whatever the values).
    """
    span = float(vmax) - float(vmin)
    return span / 255.0 if span > 0 else np.inf


def wheel_resolution(vmax: float) -> float:
    """Largest step of the CoM components drawn on the colour wheel saturating at ``vmax``.

    A vector moved by ``d`` (at most ``0.51 * sqrt(2)`` step) changes ``255 * value`` by at most
    ``255 d / vmax`` and, through the hue, each channel by at most ``255 * 1.05 * 6/(2 pi) *
    d / vmax`` more; below ``|v| = 2d`` every channel is under ``255 * 3d / vmax``. With step
    ``vmax / 1024`` that is under 0.55 of a level: at most one level. Infinite for ``vmax <= 0``
    (all black).
    """
    return float(vmax) / 1024.0 if vmax > 0 else np.inf


def extremes(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``min`` and ``max`` of each image of ``stack`` (N, ...), float64 (NaN/inf propagate).

    What :func:`encode` and :func:`~dpc_widgets.widgets.render.clip_ranges` both start from:
    computed once, the explorer passes them to both.
    """
    images = np.asarray(stack).reshape(len(stack), -1)
    return images.min(axis=1).astype(np.float64), images.max(axis=1).astype(np.float64)


def encode(
    stack: np.ndarray,
    resolution: np.ndarray | float,
    limits: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[bytes, list[list[float]]]:
    """Bytes and maps of the images ``stack`` (N, ...) for the view.

    Parameters
    ----------
    stack : ndarray (N, ...)
        N images, each in its own units; not modified.
    resolution : float or ndarray (N,)
        Largest ``scale`` allowed per image (its units); 0 allows only constant images.
    limits : (ndarray (N,), ndarray (N,)), optional
        :func:`extremes` of ``stack`` when the caller has them; else computed here.

    Returns
    -------
    data : bytes
        uint16 codes of all images (C order) when every image meets its resolution, else
        float32 values.
    maps : list of [offset, scale]
        One per image for codes; empty for float32.
    """
    values = np.asarray(stack)
    if values.size == 0:
        return b"", []
    images = values.reshape(len(values), -1)
    steps = np.broadcast_to(np.asarray(resolution, dtype=np.float64), (len(images),))
    low, high = extremes(images) if limits is None else limits
    finite = np.isfinite(low) & np.isfinite(high)
    if not finite.all():
        low, high = _finite_limits(images)
    scales = (high - low) / FINITE_MAX
    if not (scales <= steps).all():
        return np.ascontiguousarray(values, dtype="<f4").tobytes(), []
    codes = _codes(images, low, scales, bool(finite.all()))
    return codes.tobytes(), [[float(a), float(b)] for a, b in zip(low, scales, strict=True)]


def _finite_limits(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image min and max of the finite values (0, 0 where none is finite)."""
    ok = np.isfinite(images)
    low = np.where(ok, images, np.inf).min(axis=1).astype(np.float64)
    high = np.where(ok, images, -np.inf).max(axis=1).astype(np.float64)
    none = ~ok.any(axis=1)
    low[none], high[none] = 0.0, 0.0
    return low, high


def _codes(images: np.ndarray, low: np.ndarray, scales: np.ndarray, finite: bool) -> np.ndarray:
    """Codes of flat images (N, n): ``floor((v - low) / scale + 0.5)``, non-finite values marked.

    The shifted values ``v - (low - scale / 2)`` in float64 (no cancellation), stored as float32
    and scaled there (faster): the code is that of the nearest grid value to within 0.01 of a
    step (float32's 2^-24 of at most 65532.5).
    """
    inverse = np.divide(1.0, scales, out=np.zeros_like(scales), where=scales > 0)
    t = np.empty(images.shape, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        np.subtract(images, (low - 0.5 * scales)[:, None], out=t, casting="unsafe")  # > 0
        t *= inverse.astype(np.float32)[:, None]  # constant images: all 0
        if not finite:
            t[~np.isfinite(t)] = 0.0
    codes = t.astype("<u2")  # truncation: the floor of a positive number
    if not finite:
        codes[np.isnan(images)] = CODE_NAN
        codes[np.isposinf(images)] = CODE_POS_INF
        codes[np.isneginf(images)] = CODE_NEG_INF
    return codes


def decode(data: bytes, maps: list[list[float]], shape: tuple[int, ...]) -> np.ndarray:
    """The float32 values the view draws from :func:`encode`'s ``data`` and ``maps``.

    Parameters
    ----------
    data : bytes
        Codes (``maps`` not empty) or float32 values.
    maps : list of [offset, scale]
        One per image (the leading axis of ``shape``), or empty for float32.
    shape : tuple of int
        Shape of the images (N, ...).

    Returns
    -------
    ndarray of float32, ``shape``
    """
    if not maps:
        return np.frombuffer(data, dtype="<f4").reshape(shape).copy()
    codes = np.frombuffer(data, dtype="<u2").reshape(len(maps), -1)
    out = np.empty(codes.shape, dtype=np.float32)
    for k, (offset, scale) in enumerate(maps):
        out[k] = offset + scale * codes[k].astype(np.float64)
        out[k][codes[k] == CODE_NAN] = np.nan
        out[k][codes[k] == CODE_POS_INF] = np.inf
        out[k][codes[k] == CODE_NEG_INF] = -np.inf
    return out.reshape(shape)
