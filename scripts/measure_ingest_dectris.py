"""Sustained ingest rate of the DECTRIS live source: 192 x 192 uint32 frames (ARINA).

LiberTEM-live's DECTRIS simulator (its own process, 127.0.0.1) replays a stream dump made
here as fast as it can; four ways of receiving it, each run ``--runs`` times (median reported):

- ``receive``: LiberTEM-live's receiver alone (frame stacks taken and freed, not decoded): what
  the simulator, zmq and the receiver can do;
- ``decode``: the same, each stack decoded into one reused buffer in memory;
- ``decode>spool``: decoded into a fresh spool file (:class:`dpc_widgets.live.spool.Spool`,
  the pages written for the first time, as a scan's are);
- ``source``: ``dw.live.connect("dectris")`` (decoded into the scan's spool file, rows handed
  to the feed), nothing following;
- ``source/2dec``: the same with two decoding processes (``decoders=2``);
- ``source+dpc``, ``src/2dec+dpc``: the same with ``DPC`` following (the growing detector
  cache built per block of rows) and ``run`` called every 0.2 s, as the explorer updates.

    python scripts/measure_ingest_dectris.py [--scan 64] [--runs 3]

Rates are frames received / time from the arm to the series' end; ``last row`` is how long
after the series' end every row was processed (``source.wait``): the lag at the end. GB/s
counts uncompressed pixels. The cases take turns, run after run, so a load that comes and goes
(the machine is shared) falls on all of them alike.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from contextlib import closing
from pathlib import Path

import numpy as np

import dpc_widgets as dw
from dpc_widgets.live import simplon
from dpc_widgets.live.spool import Spool

FRAME = (192, 192)
FRAME_BYTES = FRAME[0] * FRAME[1] * 4


def frames(n_unique: int, seed: int = 0) -> np.ndarray:
    """Counted patterns: a bright disc (about 4 electrons per pixel) on a sparse background."""
    rng = np.random.default_rng(seed)
    qx, qy = np.meshgrid(*(np.arange(n) for n in FRAME), indexing="ij")
    out = np.empty((n_unique, *FRAME), np.uint32)
    for i in range(n_unique):
        cx, cy = 96 + rng.normal(0, 1.5), 96 + rng.normal(0, 1.5)
        disc = (qx - cx) ** 2 + (qy - cy) ** 2 < 30.0**2
        out[i] = rng.poisson(np.where(disc, 4.0, 0.02))
    return out


def write_dump(path: Path, n_frames: int, unique: np.ndarray) -> int:
    """A dump of ``n_frames`` frames cycling through ``unique``; returns its compressed bytes."""
    blobs = simplon.compress_frames(unique)
    total = 0
    with path.open("wb") as out:
        for message in simplon.header_messages(n_frames, FRAME, np.uint32):
            simplon.write_record(out, message)
        for i in range(n_frames):
            data = blobs[i % len(blobs)]
            total += len(data)
            for message in simplon.frame_messages(i, data, FRAME, np.uint32):
                simplon.write_record(out, message)
        simplon.write_record(out, simplon.footer_message())
    return total


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Simulator:
    """LiberTEM-live's DECTRIS simulator in a process of its own."""

    def __init__(self, dump: Path, dwell_us: int | None = None) -> None:
        # LiberTEM-live 0.3.0's command line cannot take a fixed --zmqport (its replay binds
        # the port twice), so the simulator runs with free ports chosen by itself
        self.process = subprocess.Popen(
            [sys.executable, "-c", SIMULATOR, str(dump), str(dwell_us or 0)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline().split()
        if len(line) != 2:
            raise RuntimeError("the simulator did not start")
        self.api, self.zmq = (int(n) for n in line)

    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.api}{path}", timeout=5) as answer:
            return answer.read()

    def arm(self) -> None:
        url = f"http://127.0.0.1:{self.api}/detector/api/1.8.0/command/arm"
        request = urllib.request.Request(url, data=b"{}", method="PUT")
        request.add_header("Content-Type", "application/json")
        urllib.request.urlopen(request, timeout=5).read()

    def stop(self) -> None:
        self.process.stdin.close()  # the simulator stops when its input closes
        try:
            self.process.wait(40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


SIMULATOR = """
import sys
from libertem_live.detectors.dectris.sim import DectrisSim
dwell = int(sys.argv[2]) or None
sim = DectrisSim(path=sys.argv[1], port=0, zmqport=0, dwelltime=dwell, verbose=False)
sim.start()
sim.wait_for_listen()
print(sim.port, sim.zmqport, flush=True)
sys.stdin.read()
sim.stop()
"""


def receive_only(sim: Simulator, n_frames: int, decode: str) -> tuple[float, float]:
    """The receiver alone, stacks decoded into nothing (``""``), one reused buffer
    (``"buffer"``) or a fresh spool file (``"spool"``): (frames/s, seconds)."""
    import libertem_dectris

    folder = tempfile.mkdtemp(prefix="dpc-ingest-")
    conn = libertem_dectris.DectrisConnection(
        uri=f"tcp://127.0.0.1:{sim.zmq}",
        frame_stack_size=24,
        handle_path=os.path.join(folder, "shm"),
        num_slots=1024 * 2**20 // (FRAME_BYTES // 8 * 24),
        bytes_per_frame=FRAME_BYTES // 8,
    )
    try:
        conn.start_passive()
        client = libertem_dectris.CamClient(conn.get_socket_path())
        buffer = np.empty((128, *FRAME), np.uint32)
        spool = Spool(n_frames, FRAME, np.uint32) if decode == "spool" else None
        sim.arm()
        t0 = time.monotonic()
        assert conn.wait_for_arm(10) is not None
        got = 0
        while True:
            stack = conn.get_next_stack(max_size=128)
            if stack is None:
                break
            if decode:
                out = buffer[: len(stack)] if spool is None else spool.writable(got, len(stack))
                client.decode_range_into_buffer(stack, out, 0, len(stack))
            got += len(stack)
            client.done(stack)
        seconds = time.monotonic() - t0
        client.close()
        if spool is not None:
            spool.delete()
    finally:
        conn.close()
    assert got == n_frames, got
    return got / seconds, seconds


def via_source(
    sim: Simulator, scan: int, follow: bool, decoders: int = 1
) -> tuple[float, float, float, float]:
    """``dw.live.connect``: (frames/s received, seconds, seconds until every row processed,
    the largest ``lag_s`` seen while following)."""
    source = dw.live.connect(
        "dectris", host="127.0.0.1", port=sim.zmq, scan_shape=(scan, scan), decoders=decoders
    )
    try:
        assert source.ready.wait(30)  # the receiver's process listens
        sim.arm()
        t_arm = time.monotonic()
        if follow:
            dpc = dw.DPC(source, progress=False)
            detector = dw.SegmentedDetector(10, 40, segments=4)
            lag = 0.0
            while not source.scan.complete:
                dpc.run(detector, rotation=0.0, transpose=False)
                lag = max(lag, source.lag_s)
                time.sleep(0.2)
        assert source.wait(600)
        done = time.monotonic() - t_arm
        scan = source.scan
        assert scan.reason is None, scan.reason
        seconds = scan.finished_at - t_arm
        return scan.frames_received / seconds, seconds, done, lag if follow else 0.0
    finally:
        source.close()
        for old in source.scans:
            old.spool.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scan", type=int, default=64, help="scan side (frames = side^2)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--dwell-us", type=int, default=None, help="pace the simulator (us a frame)"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)  # weak rotation choices on these patterns
    n_frames = args.scan**2
    with tempfile.TemporaryDirectory(prefix="dpc-ingest-") as folder:
        dump = Path(folder) / "stream.dump"
        compressed = write_dump(dump, n_frames, frames(256))
        print(
            f"{n_frames} frames of {FRAME[0]}x{FRAME[1]} uint32 "
            f"({n_frames * FRAME_BYTES / 1e9:.2f} GB; compressed {compressed / 1e9:.3f} GB, "
            f"{compressed / n_frames / 1e3:.1f} kB/frame); load {os.getloadavg()[0]:.2f}"
        )
        sim = Simulator(dump, args.dwell_us)
        try:
            cases = {
                "receive": lambda: receive_only(sim, n_frames, ""),
                "decode": lambda: receive_only(sim, n_frames, "buffer"),
                "decode>spool": lambda: receive_only(sim, n_frames, "spool"),
                "source": lambda: via_source(sim, args.scan, False),
                "source/2dec": lambda: via_source(sim, args.scan, False, 2),
                "source+dpc": lambda: via_source(sim, args.scan, True),
                "src/2dec+dpc": lambda: via_source(sim, args.scan, True, 2),
            }
            results: dict[str, list] = {name: [] for name in cases}
            for _ in range(args.runs):
                for name, case in cases.items():
                    results[name].append(case())
            for name, runs in results.items():
                rates = [r[0] for r in runs]
                rate = statistics.median(rates)
                text = (
                    f"{name:12s} {rate:9,.0f} frames/s  {rate * FRAME_BYTES / 1e9:5.2f} GB/s"
                    f"  (runs: {', '.join(f'{r:,.0f}' for r in rates)})"
                )
                if len(runs[0]) > 2:
                    late = statistics.median(r[2] - r[1] for r in runs)
                    text += f"  last row processed {late:.2f} s after the last frame"
                    if name.endswith("+dpc"):
                        lag = statistics.median(r[3] for r in runs)
                        text += f", largest lag_s {lag:.2f} s"
                print(text, flush=True)
            print(f"load {os.getloadavg()[0]:.2f}")
        finally:
            sim.stop()


if __name__ == "__main__":
    main()
