"""Merlin ``.mib`` / ``.hdr`` writers, laid out as the Merlin software writes them.

Used by the format tests and by ``scripts/make_big_files.py`` (which writes a sparse 8 GiB scan).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MIB_DTYPES = {"U08": ">u1", "U16": ">u2", "U32": ">u4"}


def mib_header(
    seq: int, height: int, width: int, pixel: str = "U16", when: float = 0.0, quad: bool = False
) -> bytes:
    """A frame header laid out as the Merlin software writes it (384 bytes; 768 for a quad)."""
    seconds = 10 + when
    size = 768 if quad else 384
    fields = [
        "MQ1",
        f"{seq:06d}",
        f"{size:05d}",
        "04" if quad else "01",
        f"{width:04d}",
        f"{height:04d}",
        pixel,
        "   2x2" if quad else "   1x1",
        "0F" if quad else "01",
        f"2021-05-07 18:51:{seconds:09.6f}",
        "0.100000",
        "0",
        "0",
        "0",
        *["4.000000E+1", "5.110000E+2"] + ["0.000000E+0"] * 6,
        *(["3RX", *["068", "511"] + ["000"] * 25] * (4 if quad else 1)),
        "MQ1A",
        f"2021-05-07T16:51:{seconds:09.6f}000Z",
        "100000000ns",
        "12",
        "",
    ]
    text = ",".join(fields).encode("ascii")
    assert len(text) <= size
    return text.ljust(size, b" ")


def write_mib(path: Path, frames: np.ndarray, pixel: str = "U16", times=None, quad=False) -> Path:
    """Frames (n, height, width) as a .mib file, big-endian pixels."""
    dtype = MIB_DTYPES[pixel]
    n, height, width = frames.shape
    times = np.arange(n) * 0.001 if times is None else times
    with open(path, "wb") as file:
        for i, frame in enumerate(frames):
            file.write(mib_header(i + 1, height, width, pixel, float(times[i]), quad))
            file.write(frame.astype(dtype).tobytes())
    return path


def write_hdr(path: Path, frames: int, per_trigger: int) -> Path:
    lines = [
        "HDR,\t",
        "Assembly Size (NX1, 2X2):\t   1x1",
        "Counter Depth (number):\t12",
        f"Frames in Acquisition (Number):\t{frames}",
        f"Frames per Trigger (Number):\t{per_trigger}",
        "End\t",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
