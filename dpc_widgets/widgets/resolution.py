"""Drag frames at display resolution: scan images binned down to what their panel shows.

A frame of a large scan carries more pixels than its panel can show: a 512 x 512 scan drawn
in a 220-pixel panel, or a 256 x 256 scan in a 108-pixel segment tile. While the user drags
in a kernel, the explorer sends each scan image binned by :func:`display_bin` (the means of
``b x b`` blocks, :func:`bin_images`), so fewer bytes cross the comm; once the updates pause
it sends the exact images (see :meth:`dpc_widgets.widgets.Explorer`). A drag frame may be
drawn up to :data:`DRAG_UPSCALE` times its size. Outside a kernel, and for scans less than
1.5 times larger than their panels, every frame is exact.

Display sizes are in device pixels: the panel's CSS pixels times the browser's
``devicePixelRatio`` (``ExplorerView.pixel_ratio``), so a high-density screen gets finer
frames.
"""

from __future__ import annotations

import numpy as np

from . import render


def tile_size(panel_size: int, n_images: int) -> int:
    """CSS size (pixels, the longer side) of one segment tile's image in the tile grid.

    Mirrors ``js/src/tiles.js`` through :func:`~dpc_widgets.widgets.render.tile_layout`.
    """
    return render.tile_layout(n_images, panel_size)[2]


#: While dragging, a scan image may be drawn up to this many times its size (CSS scaling with
#: crisp pixels): a 256-position scan in a 148-pixel segment tile goes 2 x 2 binned (128 drawn
#: as 148) rather than exact, a quarter of the bytes per frame. The exact images follow when
#: the updates pause, so the finished view is never upscaled.
DRAG_UPSCALE = 1.5


def display_bin(
    scan_shape: tuple[int, int], display_pixels: float, upscale: float = DRAG_UPSCALE
) -> int:
    """Largest binning ``b`` whose binned scan, drawn at most ``upscale`` times its size,
    still spans ``display_pixels``.

    Parameters
    ----------
    scan_shape : (int, int)
        Scan rows and columns (positions).
    display_pixels : float
        Device pixels along the longer side of the drawn image.
    upscale : float
        Largest magnification of a drag frame (:data:`DRAG_UPSCALE`; 1: never magnified).

    Returns
    -------
    int
        ``b >= 1`` with ``upscale * max(scan_shape) / b >= display_pixels`` that divides both
        scan sizes (so every block is whole); 1 when no larger one does.
    """
    rows, cols = scan_shape
    if not display_pixels > 0:
        return 1
    for b in range(int(upscale * max(rows, cols) // display_pixels), 1, -1):
        if rows % b == 0 and cols % b == 0:
            return b
    return 1


def bin_images(stack: np.ndarray, b: int) -> np.ndarray:
    """Means of the ``b x b`` blocks of each image of ``stack`` (N, rows, cols).

    Block ``[I, J]`` of image ``k`` is ``stack[k, b I : b I + b, b J : b J + b].mean()``
    (float64, in the images' units; a non-finite value makes its block non-finite). ``b`` must
    divide ``rows`` and ``cols`` (:func:`display_bin` ensures it); ``b = 1`` returns ``stack``.
    """
    if b == 1:
        return stack
    n, rows, cols = stack.shape
    if rows % b or cols % b:
        raise ValueError(f"binning {b} does not divide the scan shape {(rows, cols)}")
    blocks = np.asarray(stack, dtype=np.float64).reshape(n, rows // b, b, cols // b, b)
    return blocks.mean(axis=(2, 4))
