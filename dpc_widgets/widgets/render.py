"""Colour maps of the explorer in NumPy: the pixels the canvas view draws, and the PNG export.

Every function mirrors ``js/src/colormaps.js`` operation for operation, so the RGBA arrays here
are what the browser puts on the native-resolution canvases (to within one level where ``log``
or ``atan2`` differ in the last bit between JavaScript and NumPy). Images are indexed
``[i, j]`` with ``i`` along array axis 0 (drawn downwards) and ``j`` along axis 1 (rightwards).
A fraction ``t`` becomes the byte ``floor(255 t + 0.5)`` with ``t`` clipped to [0, 1];
non-finite values become 0.
"""

from __future__ import annotations

import math

import numpy as np

#: Colours (r, g, b) of segments 0..15; segment k uses ``PALETTE[k % 16]``.
PALETTE = np.array(
    [
        [230, 25, 75],
        [60, 180, 75],
        [255, 225, 25],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [250, 190, 212],
        [0, 128, 128],
        [220, 190, 255],
        [170, 110, 40],
        [255, 250, 200],
        [128, 0, 0],
        [170, 255, 195],
    ],
    dtype=np.uint8,
)

#: Dynamic range of the log scale: ``log1p(v * LOG_RANGE / vmax) / log1p(LOG_RANGE)``.
LOG_RANGE = 1000.0


def to_byte(t: np.ndarray) -> np.ndarray:
    """Fractions (any float array) to bytes: 0 below 0 and for NaN, 255 from 1 up."""
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = np.floor(255.0 * t + 0.5)
        out = np.where(t > 0, out, 0.0)
        out = np.where(t >= 1, 255.0, out)
    return out.astype(np.uint8)


def _rgba(r: np.ndarray, g: np.ndarray, b: np.ndarray, a: np.ndarray | int = 255) -> np.ndarray:
    out = np.empty((*np.shape(r), 4), dtype=np.uint8)
    out[..., 0], out[..., 1], out[..., 2], out[..., 3] = r, g, b, a
    return out


#: Values above which :func:`percentiles` narrows the search with a histogram.
_SELECT_DIRECT = 4096
#: Bins of each histogram level in :func:`percentiles`.
_SELECT_BINS = 1024
#: Size of the regular subsample that brackets the ranks in :func:`percentiles`.
_SELECT_SAMPLE = 2048


def _by_subsample(values: np.ndarray, ranks: np.ndarray) -> np.ndarray | None:
    """Exact order statistics ``ranks`` of ``values`` bracketed by a subsample.

    Every ``n // _SELECT_SAMPLE``-th value is taken; for the ranks in the lower half, the
    subsample value safely above the highest of them (its expected place plus 4 binomial
    standard deviations plus 16) bounds the candidates ``values <= bound``: exactly the
    smallest ``k`` values, so the order statistics below ``k`` are those of the candidates
    (ties included). The upper half likewise from above. ``None`` when a bound does not hold
    (the subsample misjudged the distribution), so the caller falls back to histograms.
    """
    out, ok = _rows_by_subsample(values[None], ranks)
    return out[0] if ok[0] else None


def _rows_by_subsample(values: np.ndarray, ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_by_subsample` for each row of ``values`` (rows, n), vectorised over the rows.

    Returns
    -------
    out : ndarray (rows, len(ranks))
        The order statistics of each row where ``ok``.
    ok : ndarray (rows,) of bool
        Rows whose bounds held (the others need another method).
    """
    rows, n = values.shape
    out = np.empty((rows, ranks.size), dtype=values.dtype)
    ok = np.ones(rows, dtype=bool)
    sample = values[:, :: n // _SELECT_SAMPLE].copy()
    m = sample.shape[1]
    lower = ranks <= (n - 1) // 2
    sides = [(side, ranks[side], side is not lower) for side in (lower, ~lower) if side.any()]
    places = []  # subsample ranks of the bounds: expected place + 4 sigma + 16
    for _, wanted, top in sides:
        r = int(n - 1 - wanted.min()) if top else int(wanted.max())  # rank from its end
        q = r / (n - 1)
        reach = math.ceil(q * (m - 1) + 4.0 * math.sqrt(m * q * (1.0 - q)) + 16.0)
        if reach >= m - 1:
            return out, np.zeros(rows, dtype=bool)
        places.append(m - 1 - reach if top else reach)
    sample.partition(places, axis=1)
    for (side, wanted, top), place in zip(sides, places, strict=True):
        bound = sample[:, place, None]
        inside = values >= bound if top else values <= bound
        for row in range(rows):
            if not ok[row]:
                continue
            candidates = values[row][inside[row]]
            first = n - candidates.size if top else 0  # rank of the smallest candidate
            if wanted.min() < first or wanted.max() - first >= candidates.size:
                ok[row] = False
                continue
            out[row, side] = np.partition(candidates, wanted - first)[wanted - first]
    return out, ok


def _order_statistics(values: np.ndarray, ranks: np.ndarray, depth: int = 0) -> np.ndarray:
    """Exact ``np.sort(values)[ranks]`` of finite float64 ``values`` without sorting them all.

    First through a sorted subsample (:func:`_by_subsample`); when that cannot bracket the
    ranks, a histogram of ``_SELECT_BINS`` equal bins over ``[min, max]`` locates the bin holding
    each rank; only that bin's values are searched further (recursively, then
    ``np.partition`` once at most ``_SELECT_DIRECT`` are left). The bin index
    ``floor((v - min) * scale)`` is non-decreasing in ``v`` (rounding is monotonic), so the
    bins keep the order of the values and the result is exact, not an approximation.
    """
    if values.size <= _SELECT_DIRECT or depth >= 8:
        return np.partition(values, ranks)[ranks]
    if depth == 0:
        found = _by_subsample(values, ranks)
        if found is not None:
            return found
    low, high = values.min(), values.max()
    if not high > low:
        return np.full(ranks.shape, low)
    # int32 then intp: a direct float64 -> intp cast is several times slower in NumPy 2.4
    bins = ((values - low) * (_SELECT_BINS / (high - low))).astype(np.int32)
    np.minimum(bins, _SELECT_BINS - 1, out=bins)
    cumulative = np.cumsum(np.bincount(bins.astype(np.intp), minlength=_SELECT_BINS))
    where = np.searchsorted(cumulative, ranks, side="right")  # bin of each rank
    out = np.empty(ranks.shape, dtype=values.dtype)
    for b in np.unique(where):
        chosen = where == b
        before = int(cumulative[b - 1]) if b > 0 else 0
        out[chosen] = _order_statistics(values[bins == b], ranks[chosen] - before, depth + 1)
    return out


def percentiles(image: np.ndarray, percents: tuple[float, ...]) -> np.ndarray:
    """Percentiles of the finite values of ``image``, as ``np.percentile`` (linear method).

    Exact order statistics found through histograms (:func:`_order_statistics`) instead of a
    partition of the whole image: several times faster on scan-sized images, and equal to
    ``np.percentile(image[np.isfinite(image)], percents)`` to rounding in the last
    interpolation step (relative 1e-15 of the value range; tested against ``np.percentile``).

    Parameters
    ----------
    image : ndarray
        Any shape, real values (image units); NaN and infinities are ignored.
    percents : tuple of float
        Percentiles in [0, 100].

    Returns
    -------
    ndarray (len(percents),)
        float64, in the units of ``image``; zeros when no value is finite.
    """
    values = np.asarray(image, dtype=np.float64).ravel()
    if values.size and not (np.isfinite(values.min()) and np.isfinite(values.max())):
        values = values[np.isfinite(values)]
    if values.size == 0:
        return np.zeros(len(percents))
    position, below, above = _positions(values.size, percents)
    ranks, inverse = np.unique(np.concatenate([below, above]), return_inverse=True)
    stats = _order_statistics(values, ranks)[inverse]
    return _interpolate(stats[: len(below)], stats[len(below) :], position - below)


def _positions(n: int, percents: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fractional rank of each percentile among ``n`` sorted values, and its two neighbours."""
    position = np.asarray(percents, dtype=np.float64) / 100.0 * (n - 1)
    below = np.floor(position).astype(np.intp)
    return position, below, np.minimum(below + 1, n - 1)


def _interpolate(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """NumPy's linear interpolation between neighbouring order statistics ``a`` and ``b``."""
    return np.where(t >= 0.5, b - (b - a) * (1.0 - t), a + (b - a) * t)


def clip_ranges(
    stack: np.ndarray, clip: float, extremes: tuple[np.ndarray, np.ndarray] | None = None
) -> list[tuple[float, float]]:
    """:func:`clip_range` of every image of ``stack`` (N, ...), with the same numbers.

    The subsample, its partition and the candidate masks are computed for all images at once
    (one NumPy call each instead of one per image); images with non-finite values, small
    images and those the subsample cannot bracket go through :func:`clip_range`.

    Parameters
    ----------
    stack : ndarray (N, ...)
        N images, each in its own units.
    clip : float
        Percent clipped at each end, in [0, 50).
    extremes : (ndarray (N,), ndarray (N,)), optional
        Each image's ``min`` and ``max`` (NaN or infinite where it has such values), when the
        caller has them (:func:`~dpc_widgets.widgets.encoding.extremes`); else computed here.

    Returns
    -------
    list of (float, float)
        Low and high limit of each image, in its units (exact percentiles).
    """
    values = np.asarray(stack, dtype=np.float64).reshape(len(stack), -1)
    n = values.shape[1]
    if n > _SELECT_DIRECT and extremes is None:
        extremes = values.min(axis=1), values.max(axis=1)
    if n <= _SELECT_DIRECT or not np.isfinite(np.concatenate(extremes)).all():
        return [clip_range(image, clip) for image in values]
    position, below, above = _positions(n, (clip, 100.0 - clip))
    ranks, inverse = np.unique(np.concatenate([below, above]), return_inverse=True)
    stats, ok = _rows_by_subsample(values, ranks)
    ranges = []
    for row in range(len(values)):
        found = stats[row] if ok[row] else _order_statistics(values[row], ranks)
        found = found[inverse]
        low, high = _interpolate(found[:2], found[2:], position - below)
        ranges.append((float(low), float(high)))
    return ranges


def clip_range(image: np.ndarray, clip: float) -> tuple[float, float]:
    """Display range of ``image``: its ``clip`` and ``100 - clip`` percentiles (finite values).

    Parameters
    ----------
    image : ndarray
        Image in its own units.
    clip : float
        Percent clipped at each end, in [0, 50).

    Returns
    -------
    (float, float)
        Low and high limit in the units of ``image``, exact percentiles (see
        :func:`percentiles`); ``(0, 0)`` when no value is finite.
    """
    low, high = percentiles(image, (clip, 100.0 - clip))
    return float(low), float(high)


def magnitude_max(com: np.ndarray, clip: float) -> float:
    """Colour-wheel saturation: the ``100 - clip`` percentile of |CoM| (finite values).

    ``|CoM|`` as :func:`magnitude` computes it.

    Parameters
    ----------
    com : ndarray (2, Rx, Ry)
        Vector field in any units.
    clip : float
        Percent, in [0, 50).

    Returns
    -------
    float
        In the units of ``com`` (exact percentile, see :func:`percentiles`); 0 when no value
        is finite.
    """
    return float(percentiles(magnitude(com), (100.0 - clip,))[0])


def magnitude(com: np.ndarray) -> np.ndarray:
    """``|CoM| = sqrt(x^2 + y^2)`` of a vector field ``com`` (2, ...), float64.

    The formula of :func:`vector_colors` and the view (``Math.sqrt(x * x + y * y)``), several
    times faster than ``np.hypot`` (which guards against overflow beyond 1e154, far from any
    CoM); in the units of ``com``.
    """
    x = np.asarray(com[0], dtype=np.float64)
    y = np.asarray(com[1], dtype=np.float64)
    out = x * x
    out += y * y
    return np.sqrt(out, out=out)


def gray(image: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Linear grey RGBA (rows, cols, 4) of ``image`` between ``vmin`` and ``vmax``.

    ``image`` is taken as float32 (what the view receives); mid-grey when ``vmax <= vmin``.
    """
    v = np.asarray(image, dtype=np.float32).astype(np.float64)
    span = float(vmax) - float(vmin)
    t = (v - float(vmin)) / span if span > 0 else np.full(v.shape, 0.5)
    level = np.where(np.isfinite(v), to_byte(t), 0)
    return _rgba(level, level, level)


#: Control points (r, g, b at t = k / 32) of the sequential map: CET-L1 (colorcet
#: ``linear_grey_0-100_c0``, lightness linear in CIELAB L*), sampled from colorcet 3.2.1's
#: table (Peter Kovesi's maps, CC-BY 4.0; Kovesi 2015, arXiv:1509.03700). For intensities
#: and the phase. The same numbers as ``SEQUENTIAL`` in ``js/src/colormaps.js``.
SEQUENTIAL = np.array(
    [[v, v, v] for v in (0, 11, 19, 26, 32, 39, 45, 52, 59, 66, 73, 81, 88, 96, 103, 111)]
    + [[v, v, v] for v in (118, 126, 134, 142, 150, 159, 167, 175, 184, 192, 201, 210, 219)]
    + [[227, 228, 228], [236, 236, 236], [245, 245, 245], [254, 255, 255]],
    dtype=np.float64,
)

#: Control points of the diverging map: CET-D1A (colorcet ``diverging_bwr_20-95_c54``,
#: blue-white-red), sampled as :data:`SEQUENTIAL`. For signed quantities (CoM x / y), drawn
#: over a range symmetric about 0 (:func:`symmetric_range`).
DIVERGING = np.array(
    [
        [23, 41, 113], [26, 49, 137], [28, 58, 161], [31, 68, 185], [40, 78, 207],
        [59, 89, 221], [81, 100, 230], [101, 113, 237], [118, 124, 243], [135, 137, 249],
        [152, 150, 252], [168, 164, 252], [184, 179, 250], [198, 193, 248], [212, 208, 245],
        [226, 221, 241], [238, 226, 231], [245, 218, 213], [250, 201, 190], [252, 182, 168],
        [252, 164, 145], [251, 144, 124], [248, 125, 103], [241, 107, 85], [232, 90, 70],
        [222, 73, 54], [212, 53, 39], [200, 30, 25], [184, 6, 15], [164, 0, 11],
        [143, 3, 9], [122, 5, 6], [102, 7, 2],
    ],
    dtype=np.float64,
)  # fmt: skip


def lut_of(points: np.ndarray) -> np.ndarray:
    """256 x 3 bytes interpolated linearly between control points (n, 3), as ``lutOf`` in JS.

    Level ``i`` sits at ``x = i (n - 1) / 255`` between points ``floor(x)`` and the next; each
    channel is ``floor(a + (b - a) f + 0.5)`` (the same double-precision operations as JS).
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    x = np.arange(256, dtype=np.float64) * (n - 1) / 255.0
    k = np.minimum(np.floor(x), n - 2).astype(np.intp)
    f = (x - k)[:, None]
    a, b = points[k], points[k + 1]
    return np.floor(a + (b - a) * f + 0.5).astype(np.uint8)


SEQUENTIAL_LUT = lut_of(SEQUENTIAL)
DIVERGING_LUT = lut_of(DIVERGING)
#: Level of 0 on a symmetric range (``floor(255 * 0.5 + 0.5)``): the diverging map's centre.
CENTRE_LEVEL = 128


def symmetric_range(vmin: float, vmax: float) -> tuple[float, float]:
    """``(-m, m)`` with ``m = max(|vmin|, |vmax|)`` (image units); ``(0, 0)`` if not finite."""
    vmin, vmax = float(vmin), float(vmax)
    if not (math.isfinite(vmin) and math.isfinite(vmax)):
        return 0.0, 0.0
    m = max(abs(vmin), abs(vmax))
    return -m, m


def mapped(image: np.ndarray, vmin: float, vmax: float, lut: np.ndarray) -> np.ndarray:
    """RGBA (rows, cols, 4) of ``image`` through a 256-level table (:func:`lut_of`).

    The level is :func:`gray`'s (``image`` taken as float32, ``vmin``/``vmax`` in its units);
    non-finite values are transparent black (no value: e.g. the rows of a live scan not
    received yet), as ``lutRGBA`` in JS.
    """
    level = gray(image, vmin, vmax)[..., 0]
    rgb = np.asarray(lut)[level]
    finite = np.isfinite(np.asarray(image, dtype=np.float32))
    rgb = np.where(finite[..., None], rgb, 0)
    return _rgba(rgb[..., 0], rgb[..., 1], rgb[..., 2], np.where(finite, 255, 0))


def sequential(image: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """:func:`mapped` through the sequential map (segment images, phase)."""
    return mapped(image, vmin, vmax, SEQUENTIAL_LUT)


def diverging(image: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """:func:`mapped` through the diverging map over :func:`symmetric_range` of the limits
    (signed images: CoM x / y), so 0 is drawn in the centre colour."""
    return mapped(image, *symmetric_range(vmin, vmax), DIVERGING_LUT)


def no_data(rows: int, cols: int) -> np.ndarray:
    """RGB (rows, cols, 3) of the "no data" hatch shown through transparent pixels (as
    ``.dpc-image``'s background in ``explorer.css``: #f4f4f4 with a #d0d0d0 line of one pixel
    every six along the anti-diagonal)."""
    i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    line = (i + j) % 6 == 5
    value = np.where(line, 0xD0, 0xF4).astype(np.uint8)
    return np.repeat(value[..., None], 3, axis=-1)


def over_no_data(rgba: np.ndarray) -> np.ndarray:
    """RGB (rows, cols, 3) of an RGBA image (uint8) drawn over :func:`no_data` (alpha
    blending, exact for alpha 0 and 255)."""
    rgba = np.asarray(rgba)
    alpha = rgba[..., 3:4].astype(np.float64) / 255.0
    if (alpha == 1.0).all():
        return np.ascontiguousarray(rgba[..., :3])
    blend = alpha * rgba[..., :3] + (1.0 - alpha) * no_data(*rgba.shape[:2])
    return np.floor(blend + 0.5).astype(np.uint8)


def bar(width: int, lut: np.ndarray) -> np.ndarray:
    """A colour bar RGBA (1, width, 4): column ``c`` shows level ``floor(255 c / (width - 1)
    + 0.5)`` (``barRGBA`` in JS)."""
    t = np.arange(width, dtype=np.float64) / (width - 1) if width > 1 else np.full(width, 0.5)
    rgb = np.asarray(lut)[to_byte(t)]
    return _rgba(rgb[:, 0], rgb[:, 1], rgb[:, 2])[None]


def log_gray(pattern: np.ndarray, vmax: float) -> np.ndarray:
    """Logarithmic grey RGBA of a diffraction pattern: 0 at intensity <= 0, 255 at ``vmax``."""
    v = np.asarray(pattern, dtype=np.float32).astype(np.float64)
    if not vmax > 0:
        level = np.zeros(v.shape, dtype=np.uint8)
    else:
        with np.errstate(invalid="ignore"):
            t = np.log1p(np.maximum(v, 0.0) * (LOG_RANGE / float(vmax))) / np.log1p(LOG_RANGE)
        level = np.where(np.isfinite(v), to_byte(t), 0)
    return _rgba(level, level, level)


#: Scales of the diffraction image (the detector panel's choice; ``js/src/colormaps.js``).
PATTERN_SCALES = ("log", "linear", "gamma")


def pattern_gray(
    pattern: np.ndarray, vmax: float, scale: str = "log", gamma: float = 0.5
) -> np.ndarray:
    """Grey RGBA of a diffraction pattern on the detector panel's scale.

    Parameters
    ----------
    pattern : ndarray
        Intensities (counts).
    vmax : float
        Intensity drawn white (counts).
    scale : {"log", "linear", "gamma"}
        ``"log"``: :func:`log_gray`; ``"linear"``: ``t = v / vmax``; ``"gamma"``: ``t**gamma``
        (``t`` clipped below at 0; levels ``floor(255 t + 0.5)`` clipped to 0..255).
    gamma : float
        Exponent of ``"gamma"`` (> 0; below 1 brightens faint signal).

    Returns
    -------
    ndarray (..., 4) uint8
        Non-finite values and ``vmax <= 0`` map to black.
    """
    if scale not in PATTERN_SCALES:
        raise ValueError(f"scale must be one of {PATTERN_SCALES}, got {scale!r}")
    if not (isinstance(gamma, (int, float)) and math.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be a positive finite number, got {gamma!r}")
    if scale == "log":
        return log_gray(pattern, vmax)
    v = np.asarray(pattern, dtype=np.float32).astype(np.float64)
    if not vmax > 0:
        level = np.zeros(v.shape, dtype=np.uint8)
    else:
        with np.errstate(invalid="ignore"):
            t = np.maximum(v, 0.0) / float(vmax)
            if scale == "gamma":
                t = t ** float(gamma)
        level = np.where(np.isfinite(v), to_byte(t), 0)
    return _rgba(level, level, level)


def hsv_to_rgb(h: np.ndarray, s: np.ndarray | float, v: np.ndarray) -> np.ndarray:
    """HSV (each in [0, 1], ``h`` periodic) to bytes, shape ``h.shape + (3,)``."""
    h, s, v = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (h, s, v)))
    h6 = (h - np.floor(h)) * 6.0
    i = np.floor(h6)
    f = h6 - i
    p, q, t = v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f))
    sector = i.astype(np.int64) % 6
    table = np.stack(
        [
            np.stack(channels, axis=-1)
            for channels in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))
        ]
    )
    rgb = np.take_along_axis(table, sector[None, ..., None], axis=0)[0]
    return to_byte(rgb)


def vector_colors(x: np.ndarray, y: np.ndarray, vmax: float) -> np.ndarray:
    """Colour-wheel RGB bytes of vectors (x, y), x along array axis 0.

    Hue is the direction ``atan2(y, x) / 2 pi`` (red along +x), value ``min(|v| / vmax, 1)``,
    full saturation; non-finite vectors are black.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    magnitude = np.sqrt(x * x + y * y)
    value = np.minimum(magnitude / vmax, 1.0) if vmax > 0 else np.zeros(x.shape)
    hue = np.arctan2(y, x) / (2.0 * np.pi) + 1.0
    finite = np.isfinite(x) & np.isfinite(y)
    with np.errstate(invalid="ignore"):
        rgb = hsv_to_rgb(np.where(finite, hue, 0.0), 1.0, np.where(finite, value, 0.0))
    return rgb


def complex_hsv(com: np.ndarray, vmax: float) -> np.ndarray:
    """Colour-wheel RGBA (Rx, Ry, 4) of a vector field ``com`` (2, Rx, Ry), taken as float32;
    transparent black where a component is not finite (``complexRGBA`` in JS)."""
    field = np.asarray(com, dtype=np.float32).astype(np.float64)
    rgb = vector_colors(field[0], field[1], vmax)
    finite = np.isfinite(field[0]) & np.isfinite(field[1])
    return _rgba(rgb[..., 0], rgb[..., 1], rgb[..., 2], np.where(finite, 255, 0))


def wheel(size: int) -> np.ndarray:
    """Colour-wheel legend RGBA (size, size, 4); transparent black outside the disc.

    The pixel at screen offset (right, down) from the centre shows the vector
    (x, y) = (down, right) / radius, matching the axis mapping of the images.
    """
    c = (size - 1) / 2.0
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    x, y = (rows - c) / (size / 2.0), (cols - c) / (size / 2.0)
    inside = x * x + y * y <= 1.0
    rgb = vector_colors(x, y, 1.0) * inside[..., None]
    return _rgba(rgb[..., 0], rgb[..., 1], rgb[..., 2], np.where(inside, 255, 0))


def segment_rgba(labels: np.ndarray) -> np.ndarray:
    """Opaque ``PALETTE`` colours of segment labels (>= 0); transparent where the label is -1."""
    labels = np.asarray(labels)
    rgb = PALETTE[np.where(labels >= 0, labels, 0) % len(PALETTE)]
    inside = labels >= 0
    return _rgba(
        np.where(inside, rgb[..., 0], 0),
        np.where(inside, rgb[..., 1], 0),
        np.where(inside, rgb[..., 2], 0),
        np.where(inside, 255, 0),
    )


def fnv1a(data: bytes) -> str:
    """FNV-1a 32-bit hash of ``data`` as 8 hex digits (the canvases' ``data-checksum``).

    Pure Python (about 1 s per 4 MB): meant for tests and small images.
    """
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{value:08x}"


#: CSS px between segment tiles and the width of each tile's coloured frame (``js/src/tiles.js``).
TILE_GAP, TILE_FRAME = 4, 2
#: A tile grid with empty cells is chosen only when its tiles are this much larger.
EMPTY_CELL_GAIN = 1.25


def tile_layout(n: int, size: int) -> tuple[int, int, int]:
    """The segments panel's grid, as ``tileLayout`` in ``js/src/tiles.js`` draws it.

    The grid lies within ``size`` x ``size`` CSS px (one column of the explorer's panel grid),
    each tile at most ``size / 2`` (``size`` for one tile). Among grids without empty cells, the
    one with the largest tiles (ties: fewer rows); a grid with empty cells only when its tiles
    are :data:`EMPTY_CELL_GAIN` times larger (8 segments: 3 x 3 with one empty cell).

    Parameters
    ----------
    n : int
        Number of tiles (segments).
    size : int
        The panel size (CSS px).

    Returns
    -------
    (columns, rows, tile) : (int, int, int)
        Grid columns and rows, and the CSS size of each tile's image (px, its longer side,
        inside its :data:`TILE_FRAME` frame).
    """
    count = max(1, int(n))
    cap = size if count == 1 else size / 2
    full = best = None
    for columns in range(count, 0, -1):
        rows = -(-count // columns)
        box = min(
            (size - (columns - 1) * TILE_GAP) / columns,
            (size - (rows - 1) * TILE_GAP) / rows,
            cap,
        )
        tile = max(1, math.floor(box) - 2 * TILE_FRAME)
        empty = rows * columns - count
        if empty == 0 and (full is None or tile > full[2]):
            full = (columns, rows, tile, empty)
        if best is None or tile > best[2] or (tile == best[2] and empty < best[3]):
            best = (columns, rows, tile, empty)
    chosen = best if best[2] >= EMPTY_CELL_GAIN * full[2] else full
    return chosen[:3]
