"""Measure how far the compute core falls behind a scan being recorded, with and without a user
dragging the detector rings meanwhile; print a Markdown table.

A scan of ``--frames`` frames (``--detector``: Merlin-like 256 x 256 uint16 or ARINA-like
192 x 192 uint32, a bright disc with Poisson noise) is replayed into a live scan
(:func:`dpc_widgets.live.replay`, no network: the receiver's side is a copy into the spool file)
at ``--rate`` frames per second, with ``DPC(source)`` following it (the growing detector cache
takes each block of rows once). "drag" runs ``DPC.run`` with a moving inner radius in a loop
meanwhile, as the explorer does during a ring drag. Sampled every 20 ms: ``source.lag_s`` (how
long the oldest unprocessed row has waited) and the rows behind; reported: median and largest
lag, the rate received, and the time from the last frame to the last row processed. Medians
over ``--repeats`` runs.

Usage::

    .venv/bin/python scripts/measure_live_lag.py [--detector merlin|arina] [--rate 1200]
        [--frames 16384] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import threading
import time

import numpy as np

import dpc_widgets as dw
from dpc_widgets import DPC, SegmentedDetector

FRAMES = {"merlin": (256, np.uint16), "arina": (192, np.uint32)}


def scan_data(detector: str, frames: int) -> np.ndarray:
    """(Rx, Ry, Q, Q) frames: 16 distinct noisy patterns of a disc off the pixel grid, repeated."""
    q, dtype = FRAMES[detector]
    ry = 128
    rx = max(1, frames // ry)
    rng = np.random.default_rng(0)
    i, j = np.mgrid[:q, :q]
    disc = (np.hypot(i - q / 2 - 0.3, j - q / 2 + 0.2) < q / 10) * 900.0
    distinct = rng.poisson(disc + 5, size=(16, q, q)).astype(dtype)
    return np.ascontiguousarray(distinct[np.arange(rx * ry) % 16].reshape(rx, ry, q, q))


def one_run(data: np.ndarray, rate: float, drag: bool) -> dict[str, float]:
    q = data.shape[-1]
    source = dw.live.replay(
        data, frames_per_second=rate, frames_per_write=64, origin=(q / 2, q / 2)
    )
    lags: list[float] = []
    stop = threading.Event()
    try:
        live = DPC(source, progress=False)
        detector = SegmentedDetector(q / 40, q / 8, 4, 0)
        live.run(detector)

        def dragging() -> None:
            step = 0
            while not stop.is_set():
                live.run(SegmentedDetector(q / 40 + 0.3 * (step % 20), q / 8, 4, 0))
                step += 1

        worker = threading.Thread(target=dragging, daemon=True) if drag else None
        if worker is not None:
            worker.start()
        scan = source.scan
        while not scan.ended:
            lags.append(scan.lag_s)
            time.sleep(0.02)
        last_frame = time.monotonic()
        scan.wait_for_rows(scan.scan_shape[0], 600)
        catch_up = time.monotonic() - last_frame
        stop.set()
        if worker is not None:
            worker.join(60)
        return {
            "rate": scan.frames_per_second,
            "lag_median": statistics.median(lags) if lags else 0.0,
            "lag_max": max(lags) if lags else 0.0,
            "catch_up": catch_up,
        }
    finally:
        stop.set()
        source.close()
        for scan in source.scans:
            scan.spool.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detector", choices=sorted(FRAMES), default="merlin")
    parser.add_argument("--rate", type=float, default=1200.0, help="frames per second")
    parser.add_argument("--frames", type=int, default=16384)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = scan_data(args.detector, args.frames)
    q = data.shape[-1]
    print(
        f"{args.detector}: {data.shape[0]} x {data.shape[1]} scan of {q} x {q} {data.dtype} "
        f"frames ({data.nbytes / 1e9:.2f} GB), asked rate {args.rate:g} frames/s; "
        f"{platform.processor() or platform.machine()}, {args.repeats} runs each, medians\n"
    )
    header = ("load", "frames/s received", "lag median (s)", "lag max (s)", "last row after (s)")
    print("| " + " | ".join(header) + " |")
    print("|---|---|---|---|---|")
    for drag in (False, True):
        runs = [one_run(data, args.rate, drag) for _ in range(args.repeats)]
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        label = "DPC following, rings dragged" if drag else "DPC following"
        print(
            f"| {label} | {med['rate']:,.0f} | {med['lag_median']:.3f} | {med['lag_max']:.3f} "
            f"| {med['catch_up']:.3f} |"
        )


if __name__ == "__main__":
    main()
