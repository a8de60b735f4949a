"""Timing and memory measurement: samples, medians, adaptive repeats, peak anonymous memory."""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass
class Timing:
    """Samples of one operation.

    Attributes
    ----------
    samples : list of float
        Durations in seconds.
    note : str
        How the samples were taken or answered (shown in the report).
    """

    samples: list[float]
    note: str = ""

    @property
    def median(self) -> float:
        """Median sample (s)."""
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        """Shortest sample (s)."""
        return min(self.samples)


def time_calls(calls: list[Callable[[], Any]], warmup: int = 1) -> Timing:
    """Time each call (the first ``warmup`` ones are run but not recorded)."""
    samples = []
    for index, call in enumerate(calls):
        start = time.perf_counter()
        call()
        elapsed = time.perf_counter() - start
        if index >= warmup:
            samples.append(elapsed)
    return Timing(samples)


def time_adaptive(call: Callable[[], Any], repeats: int, budget_s: float) -> Timing:
    """Up to ``repeats`` runs (no warm-up) while the total stays within ``budget_s`` seconds."""
    samples: list[float] = []
    while len(samples) < repeats and (not samples or sum(samples) + samples[0] <= budget_s):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    note = f"{len(samples)} run{'s' if len(samples) > 1 else ''}, no warm-up"
    return Timing(samples, note)


def rss_anon() -> int:
    """Anonymous resident memory of this process in bytes (``RssAnon``; 0 off Linux).

    Unlike RSS it leaves out the pages of memory-mapped files.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class RssSampler:
    """Peak ``RssAnon`` (bytes) during a ``with`` block, sampled every ``interval`` seconds.

    Attributes
    ----------
    base, peak : int
        Anonymous resident memory at the start and its maximum (bytes); ``peak - base`` is
        the additional memory.
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.base = self.peak = 0

    def __enter__(self) -> RssSampler:
        self._linux = os.path.exists("/proc/self/status")
        self.base = self.peak = rss_anon()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        if self._linux:
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_anon())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._linux:
            self._thread.join()
            self.peak = max(self.peak, rss_anon())


class PeakMemory:
    """Peak additional memory during a ``with`` block: tracemalloc (NumPy buffers) and the
    process's anonymous resident memory sampled every millisecond (Linux).

    Attributes
    ----------
    traced : int
        Peak bytes traced by tracemalloc.
    rss : int
        Peak additional ``RssAnon`` in bytes.
    """

    def __enter__(self) -> PeakMemory:
        self._rss = RssSampler().__enter__()
        tracemalloc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        _, self.traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        self._rss.__exit__(*exc)
        self.rss = self._rss.peak - self._rss.base


def log(message: str) -> None:
    """Progress message on stderr (the report goes to stdout and the output file)."""
    print(message, file=sys.stderr, flush=True)
