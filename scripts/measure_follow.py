"""Follow rate of ``dw.live.follow`` on a Merlin ``.mib`` written as fast as possible.

A writer thread appends 256 x 256 U16 frames (Merlin 12-bit counting, 384-byte headers) to a
new ``.mib`` in 8 MiB writes while ``dw.live.follow`` reads them; the figure is the scan's
frames per second from its first frame header to its last frame (``LiveScan``'s own rate), and
the bytes of the file over that time. Beside it, in the same run: the writer alone, the same
follow on the finished file (no writer competing for the two cores), and the floors of its two
steps (reading the file into a buffer, decoding big-endian pixels flipped up-down into a fresh
memory-mapped spool). Median of ``--runs``.

    PYTHONPATH=$PWD python scripts/measure_follow.py [--rows 32] [--runs 3] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "io"))
from _camera_files import mib_header  # noqa: E402

import dpc_widgets as dw  # noqa: E402
from dpc_widgets.live.spool import Spool  # noqa: E402

FRAME = (256, 256)
COLUMNS = 64
BLOCK_FRAMES = 64  # frames per write (8 MiB)


def block_bytes() -> bytes:
    """64 frames of a .mib (headers and big-endian counts below 4096), written repeatedly."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 4096, size=(BLOCK_FRAMES, *FRAME), dtype=np.uint16)
    return b"".join(
        mib_header(k + 1, *FRAME, "U16") + frames[k].astype(">u2").tobytes()
        for k in range(BLOCK_FRAMES)
    )


def write(path: Path, block: bytes, blocks: int) -> float:
    """Append ``blocks`` copies of ``block`` to ``path``; seconds taken."""
    start = time.perf_counter()
    with open(path, "ab", buffering=0) as file:
        for _ in range(blocks):
            file.write(block)
    return time.perf_counter() - start


def follow(path: Path, rows: int, folder: Path) -> float:
    """Follow ``path`` to its end: frames/s from its first frame header to its last frame."""
    source = dw.live.follow(
        path, scan_shape=(rows, COLUMNS), poll_s=0.002, spool_dir=folder, origin="geometric"
    )
    try:
        if not source.wait(600):
            raise RuntimeError(f"the follow did not finish: {source.status}")
        if source.error is not None or source.scan.reason:
            raise RuntimeError(f"the follow failed: {source.error or source.scan.reason}")
        return source.frames_per_second
    finally:
        source.close()
        for scan in source.scans:
            scan.spool.delete()


def floors(path: Path, frames: int, folder: Path) -> tuple[float, float]:
    """Seconds to read ``path`` into a 16 MiB buffer, and to decode its frames into a spool."""
    frame_bytes = 384 + 2 * FRAME[0] * FRAME[1]
    per = (16 * 2**20) // frame_bytes
    buffer = np.empty(per * frame_bytes, np.uint8)
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as file:
        while file.readinto(memoryview(buffer)):
            pass
    read_s = time.perf_counter() - start
    spool = Spool(frames, FRAME, np.uint16, folder)
    pixels = buffer.reshape(per, frame_bytes)[:, 384:].view(">u2").reshape(per, *FRAME)
    start = time.perf_counter()
    for f0 in range(0, frames, per):
        n = min(per, frames - f0)
        spool.writable(f0, n)[...] = pixels[:n, ::-1]
    decode_s = time.perf_counter() - start
    spool.delete()
    return read_s, decode_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=32, help="scan rows of 64 frames")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    block = block_bytes()
    frames = args.rows * COLUMNS
    blocks = frames // BLOCK_FRAMES
    size = blocks * len(block)
    results: dict[str, list[float]] = {k: [] for k in ("live", "writer", "file", "read", "decode")}
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        folder = Path(folder)
        for run in range(args.runs):
            path = folder / f"scan{run}.mib"
            holder: dict[str, object] = {}
            thread = threading.Thread(
                target=lambda p=path, h=holder: h.update(w=write(p, block, blocks))
            )
            reader = threading.Thread(
                target=lambda p=path, h=holder: h.update(r=follow(p, args.rows, folder))
            )
            reader.start()
            time.sleep(0.05)
            thread.start()
            thread.join()
            reader.join()
            results["live"].append(holder["r"])
            results["writer"].append(frames / holder["w"])
            results["file"].append(follow(path, args.rows, folder))
            read_s, decode_s = floors(path, frames, folder)
            results["read"].append(frames / read_s)
            results["decode"].append(frames / decode_s)
            path.unlink()
    gb = size / frames / 1e9
    print(f"{frames} frames of 256x256 U16 (.mib, {size / 2**20:.0f} MiB), median of {args.runs}")
    for key, label in (
        ("live", "follow while written (frames/s)"),
        ("writer", "writer alone meanwhile      "),
        ("file", "follow a finished file      "),
        ("read", "floor: read into a buffer   "),
        ("decode", "floor: decode into a spool  "),
    ):
        values = results[key]
        med = statistics.median(values)
        runs = ", ".join(f"{v:,.0f}" for v in values)
        print(f"{label}: {med:10,.0f} frames/s  {med * gb:5.2f} GB/s   ({runs})")


if __name__ == "__main__":
    main()
