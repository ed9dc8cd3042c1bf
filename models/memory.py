"""Peak memory of a stretch of work: the process' resident set size, sampled by a thread.

    with PeakRSS() as peak:
        train(...)
    peak.result()   # {"peak_rss_bytes": ..., "peak_rss_delta_bytes": ..., "rss_sample_interval_s": ...}

Why sampled RSS and not the alternatives: tracemalloc sees only Python's allocator (PyTorch's
tensors are allocated in C++ and would not count), and getrusage's ru_maxrss is the peak of the
whole process' life, so a stage after a bigger one would show no growth at all. RSS is read with
psutil every `interval` seconds; a spike shorter than that can be missed. `peak_rss_delta_bytes` is
the peak minus the RSS at the start: the memory the work added (activations, gradients, optimizer
state, the data it built). Compare methods each trained in a fresh process: in one process a later
stage reuses memory the allocator kept from an earlier one, and its growth reads low
(scripts/quality_common.py's in_fresh_process).
"""
from __future__ import annotations

import threading


class PeakRSS:
    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.start_rss = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _rss() -> int:
        import psutil

        return int(psutil.Process().memory_info().rss)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> "PeakRSS":
        self.start_rss = self.peak = self._rss()
        self._thread = threading.Thread(target=self._watch, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, self._rss())

    def result(self) -> dict:
        return {"peak_rss_bytes": self.peak, "peak_rss_delta_bytes": max(0, self.peak - self.start_rss),
                "rss_sample_interval_s": self.interval}
