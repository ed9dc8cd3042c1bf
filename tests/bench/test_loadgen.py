"""MLPerf LoadGen as the load generator: its log parsed, the server scenario's real runs (a pass
below capacity, a shed and failed level above it), single-stream through LoadGen and without it.
Runs are a second or so each, against fake sessions; no assertion is on a measured time."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from rankbench.bench import scenarios as scenarios_module
from rankbench.bench.loadgen import LoadgenSettings, complete, early_stopping, run_loadgen
from rankbench.bench.scenarios import ScenarioContext, run_scenario
from rankbench.bench.timing import TimingConfig

FAST = TimingConfig(min_samples=5, min_seconds=0.2, max_seconds=5, warmup_min=1, warmup_max=2)


class _Encoder:
    max_length = 16
    template = None

    def encode(self, pairs, pad_to=None):
        return {"input_ids": np.zeros((len(pairs), pad_to or 8), np.int64)}

    def encode_requests(self, requests, pad_to=None):
        return self.encode([(c, t) for c, texts in requests for t in texts], pad_to)


class _FiveMs:
    """5 ms per call, whatever the batch: at most 200 calls/s."""

    device = "none"

    def run(self, batch):
        time.sleep(0.005)
        return np.arange(batch["input_ids"].shape[0], dtype=np.float32)

    def synchronize(self):
        pass


def test_a_run_is_parsed_into_loadgen_figures():
    def issue(samples):  # completes from another thread, as a real system does
        for query_id, _index in samples:
            threading.Timer(0.002, complete, args=(query_id,)).start()

    figures = run_loadgen(issue, 8, LoadgenSettings("server", target_qps=50, latency_ms=100, min_duration_ms=600))
    assert figures["validity"] in ("VALID", "INVALID") and figures["version"]
    assert figures["query_count"] >= 10 and figures["scheduled_qps"] > 0 and figures["completed_qps"] > 0
    assert figures["latency_ms"]["p99"] >= figures["latency_ms"]["p50"] > 0
    # 30 queries cannot establish a p99: LoadGen says so, and why is kept
    assert figures["early_stopping"]["met"] is False and figures["early_stopping"]["more_needed"] > 0
    assert figures["validity"] == "INVALID" and any("early stopping" in r for r in figures["invalid_reasons"])


def test_early_stopping_text_is_read():
    detail = {"early_stopping_met": True, "early_stopping_result":
              " * Processed at least 64 queries (360).  * Would discard 21 highest latency queries.  "
              "* Early stopping 90.0th percentile estimate: 4201370  * Not enough queries processed"}
    out = early_stopping(detail)
    assert out["met"] is True and out["processed"] == 360 and out["estimates_ms"] == {"p90": 4.20137}
    assert out["more_needed"] is None


def test_settings_are_checked_before_any_run():
    with pytest.raises(ValueError, match="target_qps and latency_ms"):
        LoadgenSettings("server")
    with pytest.raises(ValueError, match="scenario"):
        LoadgenSettings("multi-stream")


def test_server_finds_a_passing_rate_and_fails_an_overloaded_one(requests_):
    ctx = ScenarioContext(_FiveMs(), _Encoder(), requests_, FAST)
    srv = run_scenario("server", ctx, {"candidates": 4, "sla_p99_ms": 200.0, "seconds_per_rate": 1.0,
                                       "rates": [20, 1000], "max_batch_requests": 2, "max_wait_ms": 1.0})
    low, high = srv["points"]
    assert low["passed"] and low["complete"] and low["shed"] == 0 and low["stats"]["p99_ms"] <= 200
    assert srv["max_rate_under_sla_rps"] == 20 and srv["sla_p99_ms"] == 200.0
    # 1000/s into a system that serves at most 400/s (2 per 5 ms call): late queries are shed, the
    # level fails, and LoadGen's own verdict is kept beside ours
    assert not high["passed"] and high["shed"] > 0 and high["utilization"] > 0
    assert high["loadgen"]["validity"] == "INVALID" and high["loadgen"]["perf_constraints_met"] is False
    assert high["loadgen"]["overlatency_query_count"] > 0 and high["achieved_rps"] > 0
    for point in (low, high):
        assert point["loadgen"]["latency_ms"]["p99"] > 0 and point["simulated_p99_ms"] >= 0
        assert len(point["samples_ms"]) == point["loadgen"]["query_count"]
        assert 1 <= point["mean_batch_requests"] <= 2
    assert srv["loadgen"] == low["loadgen"]


def test_single_stream_goes_through_loadgen_or_says_why_not(requests_, monkeypatch):
    ctx = ScenarioContext(_FiveMs(), _Encoder(), requests_, FAST)
    out = run_scenario("single-stream", ctx, {"candidates": 3})
    assert out["loadgen"]["scenario"] == "single-stream" and out["loadgen"]["query_count"] == len(out["samples_ms"])
    assert set(out["parts_ms"]) == {"tokenize", "model", "sort"} and out["catalog"] is False  # no template
    monkeypatch.setattr(scenarios_module, "loadgen_available", lambda: (False, "not installed here"))
    out = run_scenario("single-stream", ctx, {"candidates": 3})
    assert out["loadgen"] is None and "not installed here" in out["loadgen_note"] and len(out["samples_ms"]) >= 5
