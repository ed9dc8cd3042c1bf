"""Timing loops: a monotonic clock, warm-up until times settle, min samples AND min duration.

    config = TimingConfig(min_samples=30, min_seconds=2.0)
    result = measure(step, session.synchronize, config)     # result.samples_ms, result.warmup_ms
    overhead_us = harness_overhead_us()                      # per-call cost of the loop itself

`step(i)` does one unit of work (one request, one batch) and may return a dict of part durations
in nanoseconds (e.g. tokenize / model / sort), kept per sample. A sample ends only after
`synchronize()` returns: the backend's own way of waiting for its device, so this module never asks
which backend it times. Statistics are not computed here: bench.stats.summarize does that, from the
raw samples this returns.
"""
from __future__ import annotations

import gc
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

now_ns = time.perf_counter_ns  # monotonic, highest resolution available


@dataclass(frozen=True)
class TimingConfig:
    """How long to measure. Both minimums must be met; either maximum stops the loop."""

    min_samples: int = 20  # at least this many timed samples ...
    min_seconds: float = 1.0  # ... and at least this much timed wall time
    max_samples: int = 2000  # stop here even if min_seconds is not reached
    max_seconds: float = 60.0  # stop here even if min_samples is not reached (after >= 3 samples)
    warmup_min: int = 2  # warm-up runs, at least
    warmup_max: int = 30  # and at most
    warmup_max_seconds: float = 20.0  # warm-up time budget
    warmup_tolerance: float = 0.10  # warm-up ends when the last `warmup_window` runs are within 10% ...
    warmup_window: int = 3  # ... of their median (compilation and cold caches are out by then)

    def __post_init__(self):
        if self.min_samples < 1 or self.max_samples < self.min_samples:
            raise ValueError(f"need 1 <= min_samples <= max_samples, got {self.min_samples}, {self.max_samples}")
        if self.min_seconds < 0 or self.max_seconds <= 0:
            raise ValueError("min_seconds must be >= 0 and max_seconds > 0")
        if self.warmup_min < 0 or self.warmup_max < self.warmup_min or self.warmup_window < 1:
            raise ValueError("need 0 <= warmup_min <= warmup_max and warmup_window >= 1")
        if not 0 < self.warmup_tolerance < 1:
            raise ValueError("warmup_tolerance must be in (0, 1)")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict | None) -> "TimingConfig":
        raw = dict(raw or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown timing option(s) {unknown}; known: {sorted(known)}")
        return cls(**raw)

    def scaled(self, **changes) -> "TimingConfig":
        return TimingConfig(**{**self.to_dict(), **changes})


@dataclass
class Measurement:
    samples_ms: list[float] = field(default_factory=list)
    parts_ms: dict[str, list[float]] = field(default_factory=dict)
    warmup_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the timed loop


def _settled(times: list[float], config: TimingConfig) -> bool:
    if len(times) < max(config.warmup_min, config.warmup_window):
        return False
    window = sorted(times[-config.warmup_window:])
    median = window[len(window) // 2]
    return all(abs(t - median) <= config.warmup_tolerance * median for t in window)


def warm_up(step: Callable[[int], object], synchronize: Callable[[], None], config: TimingConfig,
            at_least: int = 0) -> list[float]:
    """Run until successive times settle (bounded by count and time); return the warm-up times.
    `at_least` steps always run first (e.g. one per distinct input, so every shape a backend
    compiles for is compiled before timing starts)."""
    times: list[float] = []
    start = now_ns()
    for i in range(max(config.warmup_max, at_least)):
        if i >= at_least and _settled(times, config):
            break
        if i >= at_least and (now_ns() - start) / 1e9 > config.warmup_max_seconds and len(times) >= config.warmup_min:
            break
        t0 = now_ns()
        step(i)
        synchronize()
        times.append((now_ns() - t0) / 1e6)
    return times


def measure(step: Callable[[int], dict | None], synchronize: Callable[[], None],
            config: TimingConfig = TimingConfig(), warmup: bool = True, distinct_inputs: int = 0) -> Measurement:
    """Warm up (covering `distinct_inputs` steps at least), then time samples; see TimingConfig."""
    result = Measurement()
    if warmup:
        result.warmup_ms = warm_up(step, synchronize, config, at_least=distinct_inputs)
    # A collection inside the timed loop would land in one sample as a pause that is the harness's,
    # not the model's: collect now, and none while timing.
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _timed_loop(step, synchronize, config, result)
    finally:
        if was_enabled:
            gc.enable()
    return result


def _timed_loop(step, synchronize, config: TimingConfig, result: Measurement) -> None:
    samples, parts = result.samples_ms, result.parts_ms
    loop_start = now_ns()
    i = 0
    while True:
        t0 = now_ns()
        part_ns = step(i)
        synchronize()
        t1 = now_ns()
        samples.append((t1 - t0) / 1e6)
        if part_ns:
            for name, value in part_ns.items():
                parts.setdefault(name, []).append(value / 1e6)
        i += 1
        elapsed = (t1 - loop_start) / 1e9
        if i >= config.max_samples or (elapsed >= config.max_seconds and i >= min(3, config.min_samples)):
            break
        if i >= config.min_samples and elapsed >= config.min_seconds:
            break
    result.seconds = (now_ns() - loop_start) / 1e9


class _NullSession:
    """A session that returns at once: what remains in its timings is the harness itself."""

    def run(self, batch):
        return batch

    def synchronize(self) -> None:
        pass


def harness_overhead_us(calls: int = 2000) -> float:
    """Median per-call overhead (µs) of `measure` around a session that returns at once."""
    session = _NullSession()
    batch = {"input_ids": None}

    def step(_i):
        session.run(batch)

    config = TimingConfig(min_samples=calls, max_samples=calls, min_seconds=0.0, warmup_min=10,
                          warmup_max=10)
    samples = sorted(measure(step, session.synchronize, config).samples_ms)
    return samples[len(samples) // 2] * 1000.0
