"""Timing loop rules, harness overhead, the Poisson arrival process and the server simulation."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from rankbench.bench.scenarios import poisson_arrivals, simulate_server
from rankbench.bench.timing import TimingConfig, harness_overhead_us, measure


def test_measure_meets_min_samples_and_calls_synchronize():
    syncs = []
    config = TimingConfig(min_samples=7, min_seconds=0.0, warmup_min=2, warmup_max=3)
    m = measure(lambda i: {"part": 1000}, lambda: syncs.append(1), config)
    assert len(m.samples_ms) == 7 and len(m.parts_ms["part"]) == 7
    assert 2 <= len(m.warmup_ms) <= 3
    assert len(syncs) == len(m.samples_ms) + len(m.warmup_ms)  # every sample ends after a synchronize
    assert m.parts_ms["part"][0] == pytest.approx(0.001)


def test_measure_meets_min_duration():
    m = measure(lambda i: None, lambda: None, TimingConfig(min_samples=1, min_seconds=0.05, max_samples=10**7, warmup_min=0,
                                                          warmup_max=0))
    assert sum(m.samples_ms) <= m.seconds * 1000 and m.seconds >= 0.05 and len(m.samples_ms) > 1


def test_timing_config_is_validated():
    with pytest.raises(ValueError):
        TimingConfig(min_samples=0)
    with pytest.raises(ValueError, match="unknown timing option"):
        TimingConfig.from_dict({"samples": 3})


def test_harness_overhead_under_20_microseconds():
    # Median over many calls: robust to the other jobs sharing this machine's two cores.
    assert harness_overhead_us(calls=3000) < 20.0


def test_poisson_arrivals_rate_and_exponential_gaps():
    rate, n = 40.0, 20000
    arrivals = poisson_arrivals(rate, n, seed=1)
    gaps = np.diff(np.concatenate([[0.0], arrivals]))
    assert np.all(gaps > 0)
    assert n / arrivals[-1] == pytest.approx(rate, rel=0.03)
    ks = sps.kstest(gaps, "expon", args=(0, 1 / rate))
    assert ks.pvalue > 0.01
    assert np.array_equal(arrivals, poisson_arrivals(rate, n, seed=1))  # seeded
    with pytest.raises(ValueError):
        poisson_arrivals(0, 10)


def test_server_simulation_single_worker_queueing():
    served = []

    def serve(indices):
        served.append(indices)
        return 0.5

    lat, complete, busy = simulate_server(np.array([0.0, 0.1, 0.2, 5.0]), serve)
    assert complete and served == [[0], [1], [2], [3]] and busy == pytest.approx(2.0)
    assert lat == pytest.approx([0.5, 0.9, 1.3, 0.5])  # queueing included


def test_server_batcher_merges_queued_requests_within_wait():
    served = []

    def serve(indices):
        served.append(indices)
        return 0.5

    lat, _, _ = simulate_server(np.array([0.0, 0.01, 0.02, 0.03, 3.0]), serve, max_batch=3, max_wait_s=0.05)
    # the first batch fills at 0.02 (3 requests) before the wait limit; then 0.03 waits for the worker
    assert served == [[0, 1, 2], [3], [4]]
    assert lat[:3] == pytest.approx([0.52, 0.51, 0.50])
    assert lat[3] == pytest.approx(0.52 + 0.5 - 0.03)
    assert lat[4] == pytest.approx(0.5 + 0.05)  # alone: waits the full limit


def test_server_stops_early_when_the_sla_is_lost():
    lat, complete, _ = simulate_server(np.linspace(0, 1, 200), lambda idx: 0.1, sla_s=0.2)
    assert not complete and len(lat) < 200
