"""Sustained ingest rate of the Merlin source, against LiberTEM-live's Merlin simulator.

Merlin only (a DECTRIS measurement can reuse ``run_spool_copy``, ``median`` and the layout).
The simulator runs in a process of its own on 127.0.0.1 (free ports), serving a ``.mib`` of
256 x 256 uint16 frames (Merlin at 12-bit counter depth) from memory (``--cached MEM``). Per run
it is triggered over its control port and the time from the trigger is taken for:

``socket``   a plain socket reading the data port into one buffer: the simulator and the
             loopback alone (what the receiver could get at best);
``spool copy alone``  no network: the flip-copy of decoded frames into a new spool file;
``receive``  ``dw.live.connect("merlin")``: the receiver, decoding, the up-down flip and the
             spool write (frames/s to the last frame written);
``dpc``      the same with ``DPC(source)`` following (its growing detector cache built as rows
             arrive): frames/s received, and the seconds after the last frame until every row
             is processed (the lag at the end).

Usage::

    python scripts/measure_ingest.py --scan 32 32 --runs 3

Prints a Markdown table (medians over the runs; frames/s and GB/s, GB = 1e9 bytes of pixels).
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import dpc_widgets as dw
from dpc_widgets import DPC, SegmentedDetector

FRAME = (256, 256)
PIXEL_BYTES = 2


def write_mib(path: Path, n: int) -> Path:
    """``n`` frames of 256 x 256 U16 with a bright disc (NUL-padded 384-byte headers)."""
    y, x = np.mgrid[: FRAME[0], : FRAME[1]]
    disc = np.where((y - 140) ** 2 + (x - 120) ** 2 < 40**2, 900, 20).astype(">u2")
    pixels = disc.tobytes()
    with open(path, "wb") as file:
        for i in range(n):
            head = (
                f"MQ1,{i + 1:06d},00384,01,{FRAME[1]:04d},{FRAME[0]:04d},U16,   1x1,01,"
                "2021-05-07 18:51:10.000000,0.100000,0,0,0,"
                + ",".join(["4.000000E+1", "5.110000E+2"] + ["0.000000E+0"] * 6)
                + ",3RX,"
                + ",".join(["068", "511"] + ["000"] * 25)
                + ",MQ1A,2021-05-07T16:51:10.000000000Z,100000000ns,12,"
            ).encode("ascii")
            file.write(head.ljust(384, b"\x00"))
            file.write(pixels)
    return path


class Simulator:
    """``python -m libertem_live.detectors.merlin.sim`` on 127.0.0.1, free ports."""

    def __init__(self, mib: Path, scan: tuple[int, int], log: Path) -> None:
        self.log = log
        command = [
            sys.executable,
            "-m",
            "libertem_live.detectors.merlin.sim",
            str(mib),
            "--nav-shape",
            str(scan[0]),
            str(scan[1]),
            "--host",
            "127.0.0.1",
            "--data-port",
            "0",
            "--control-port",
            "0",
            "--trigger-port",
            "0",
            "--wait-trigger",
            "--cached",
            "MEM",
        ]
        with open(log, "w") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        self.ports = self._ports()

    def _ports(self) -> dict[str, int]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = dict(
                re.findall(r"(\w+)Server listening \('127.0.0.1', (\d+)\)", self.log.read_text())
            )
            if len(found) == 3:
                return {name: int(port) for name, port in found.items()}
            if self.process.poll() is not None:
                raise RuntimeError(f"the simulator exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        raise TimeoutError("the simulator did not listen within 60 s")

    def command(self, text: str) -> None:
        body = text.encode("ascii")
        with socket.create_connection(("127.0.0.1", self.ports["ControlSocket"]), 5) as s:
            s.sendall(b"MPX,%010d," % (len(body) + 1) + body)
            s.recv(100)

    def trigger(self) -> float:
        self.command("CMD,STARTACQUISITION")
        started = time.monotonic()
        self.command("CMD,SOFTTRIGGER")
        return started

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def run_socket(sim: Simulator, n: int) -> float:
    """Seconds from the trigger until ``n`` frames' bytes were read by a plain socket."""
    total = n * (15 + 384 + FRAME[0] * FRAME[1] * PIXEL_BYTES)
    buffer = bytearray(16 * 2**20)
    view = memoryview(buffer)
    with socket.create_connection(("127.0.0.1", sim.ports["DataSocket"]), 5) as s:
        time.sleep(0.2)  # the simulator sees the connection before the trigger
        started = sim.trigger()
        header = 0
        got = 0
        while got < total + header:
            chunk = s.recv_into(view)
            if not chunk:
                raise RuntimeError(f"the simulator closed after {got} bytes")
            if header == 0:  # the acquisition header's record: 'MPX,<10 digits>,' + length - 1
                header = 15 + int(bytes(view[4:14])) - 1
            got += chunk
        return time.monotonic() - started


def run_source(
    sim: Simulator, scan: tuple[int, int], follow: bool, spools: Path
) -> tuple[float, float, float]:
    """(seconds to the last frame written, seconds more until every row was processed, CPU
    cores this process kept busy meanwhile: its CPU seconds over the wall seconds)."""
    port = sim.ports["DataSocket"]
    with dw.live.connect("merlin", port=port, scan_shape=scan, spool_dir=spools) as source:
        time.sleep(0.3)  # connected, waiting for the arm
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        started = sim.trigger()
        if follow:
            DPC(source.wait_for_cube(60)).run(SegmentedDetector(10, 40, 4, 0))
        if not source.wait(120):
            raise TimeoutError(f"no complete scan within 120 s: {source.status}")
        scan_ = source.scan
        if scan_.reason or source.error:
            raise RuntimeError(f"{scan_.reason} {source.error}")
        done = time.monotonic()
        used = resource.getrusage(resource.RUSAGE_SELF)
        busy = (used.ru_utime - cpu.ru_utime + used.ru_stime - cpu.ru_stime) / (done - started)
        return scan_.finished_at - started, done - scan_.finished_at, busy


def run_spool_copy(n: int, spools: Path) -> float:
    """Seconds to copy ``n`` frames, flipped up-down, from a decode buffer into a new spool
    (what the source does after the receiver decoded a stack; first touch of the file's pages
    included)."""
    from dpc_widgets.live.spool import Spool

    buffer = np.ones((64, *FRAME), np.uint16)
    spool = Spool(n, FRAME, np.uint16, spools)
    try:
        started = time.monotonic()
        for f0 in range(0, n, len(buffer)):
            count = min(len(buffer), n - f0)
            spool.writable(f0, count)[...] = buffer[:count, ::-1, :]
        return time.monotonic() - started
    finally:
        spool.delete()


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scan", type=int, nargs=2, default=(32, 32), metavar=("RX", "RY"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    scan = tuple(args.scan)
    n = scan[0] * scan[1]
    gb = n * FRAME[0] * FRAME[1] * PIXEL_BYTES / 1e9
    folder = Path(tempfile.mkdtemp(prefix="measure-ingest-"))
    mib = write_mib(folder / "scan.mib", n)
    sim = Simulator(mib, scan, folder / "sim.log")
    rows = []
    try:
        run_socket(sim, n)  # warm: the simulator fills its cache on its first acquisition
        timings = {"socket": [], "spool copy alone": [], "receive": [], "dpc": []}
        lags = []
        cores = {"receive": [], "dpc": []}
        for _ in range(args.runs):
            timings["socket"].append(run_socket(sim, n))
            timings["spool copy alone"].append(run_spool_copy(n, folder))
            seconds, _, busy = run_source(sim, scan, follow=False, spools=folder)
            timings["receive"].append(seconds)
            cores["receive"].append(busy)
            seconds, lag, busy = run_source(sim, scan, follow=True, spools=folder)
            timings["dpc"].append(seconds)
            lags.append(lag)
            cores["dpc"].append(busy)
        for name, values in timings.items():
            s = median(values)
            extra = f"{median(lags):.2f}" if name == "dpc" else ""
            busy = f"{median(cores[name]):.2f}" if name in cores else ""
            rows.append(f"| {name} | {n / s:,.0f} | {gb / s:.2f} | {busy} | {extra} |")
    finally:
        sim.stop()
        shutil.rmtree(folder, ignore_errors=True)  # the .mib and the scans' spool files
    print(f"{n} frames of {FRAME[0]}x{FRAME[1]} uint16, median of {args.runs} runs")
    print("| stage | frames/s | GB/s | CPU cores busy | processing after the last frame (s) |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
