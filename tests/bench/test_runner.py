"""The runner: cells cached one file each, a rerun measures nothing new, a damaged cell file is
measured again, unavailable cells are recorded with their reason; scenarios produce their fields."""
from __future__ import annotations

import json

import numpy as np

from rankbench.bench import scenarios as scenarios_module
from rankbench.bench.results import read_results
from rankbench.bench.runner import run_benchmark
from rankbench.bench.scenarios import ScenarioContext, run_scenario
from rankbench.bench.timing import TimingConfig

FAST = TimingConfig(min_samples=2, min_seconds=0, warmup_min=1, warmup_max=2)


def _run(artifact, data, out, **kw):
    return run_benchmark({"tiny": artifact}, out, ["torch:threads=1", "tensorrt"], ["single-stream"],
                         data=data, users=3, timing=FAST, latency_requests=2, parity_requests=2,
                         progress=False, **kw)


def test_rerun_measures_nothing_new(tiny_artifact, data, tmp_path, monkeypatch):
    first = _run(tiny_artifact, data, tmp_path)
    by_backend = {c["backend"]: c for c in first["cells"]}
    assert by_backend["torch"]["status"] == "ok" and by_backend["torch"]["parity"]["passed"]
    assert set(by_backend["torch"]["parts_ms"]) == {"context_tokenize", "assemble", "model", "sort"}
    assert by_backend["torch"]["catalog"] is True and by_backend["torch"]["loadgen"]["scenario"] == "single-stream"
    assert by_backend["tensorrt"]["status"] in ("unavailable", "ok") and "tensorrt" in json.dumps(by_backend)
    assert first["artifacts"]["tiny"]["accuracy"]["users"] == 3
    assert "popularity" in first["baselines"]
    read_results(tmp_path / "results.json")

    calls = []
    for name, (defaults, _) in scenarios_module.SCENARIOS.items():
        monkeypatch.setitem(scenarios_module.SCENARIOS, name, (defaults, lambda *a, **k: calls.append(1)))
    second = _run(tiny_artifact, data, tmp_path)
    assert calls == []
    assert second["cells"][0]["samples_ms"] == first["cells"][0]["samples_ms"]


def test_damaged_cell_file_is_not_taken_as_finished(tiny_artifact, data, tmp_path):
    first = _run(tiny_artifact, data, tmp_path)
    key = first["cells"][0]["key"]
    (tmp_path / "cells" / f"{key}.json").write_text('{"id": "half')
    again = _run(tiny_artifact, data, tmp_path)
    assert again["cells"][0]["status"] == "ok" and again["cells"][0]["samples_ms"] != first["cells"][0]["samples_ms"]


class _Instant:
    device = "none"

    def run(self, batch):
        return np.arange(batch["input_ids"].shape[0], dtype=np.float32)

    def synchronize(self):
        pass


class _Encoder:
    max_length = 16

    def encode(self, pairs, pad_to=None):
        return {"input_ids": np.zeros((len(pairs), pad_to or 8), np.int64)}

    def encode_requests(self, requests, pad_to=None):
        return self.encode([(c, t) for c, texts in requests for t in texts], pad_to)


def test_offline_and_server_fields(requests_):
    ctx = ScenarioContext(_Instant(), _Encoder(), requests_, FAST)
    off = run_scenario("offline", ctx, {"batch_sizes": [1, 4], "min_samples": 2, "min_seconds": 0,
                                        "loadgen_seconds": 0.2})
    assert [p["batch_size"] for p in off["points"]] == [1, 4] and off["best_batch_size"] in (1, 4)
    assert off["loadgen"]["scenario"] == "offline" and off["loadgen"]["completed_qps"] > 0
    srv = run_scenario("server-sim", ctx, {"candidates": 5, "sla_p99_ms": 1000.0, "requests_per_rate": 20,
                                       "max_levels": 3, "max_batch_requests": 2})
    assert srv["max_rate_under_sla_rps"] is not None and srv["sla_p99_ms"] == 1000.0
    rates = [p["rate_rps"] for p in srv["points"]]
    assert rates == sorted(rates) and len(rates) == 3 and all(p["complete"] for p in srv["points"])
    sweep = run_scenario("sweep-length", ctx, {"values": [8, 16], "candidates": 4, "min_samples": 2})
    assert [p["value"] for p in sweep["points"]] == [8, 16]


def test_gathering_only_reports_unfinished_cells(tiny_artifact, data, tmp_path):
    results = _run(tiny_artifact, data, tmp_path, only_cached=True)
    torch_cell = next(c for c in results["cells"] if c["backend"] == "torch")
    assert torch_cell["status"] == "failed" and "not measured" in torch_cell["reason"]
    assert not list((tmp_path / "cells").glob("*.json")) if (tmp_path / "cells").exists() else True


class _Sleepy(_Instant):
    def run(self, batch):
        import time

        time.sleep(0.005)  # at least 5 ms per service: capacity at most 200 requests/s
        return super().run(batch)


class _Counted(_Sleepy):
    calls = 0

    def run(self, batch):
        _Counted.calls += 1
        return super().run(batch)


def test_server_estimate_simulates_many_arrivals_from_few_measured_services(requests_):
    ctx = ScenarioContext(_Counted(), _Encoder(), requests_, FAST)
    srv = run_scenario("server-sim", ctx, {"candidates": 3, "sla_p99_ms": 60_000.0, "requests_per_rate": 3000,
                                       "service_samples": 4, "max_batch_requests": 2, "rates": [1.0, 10.0]})
    assert [p["simulated_requests"] for p in srv["points"]] == [3000, 3000] and len(srv["samples_ms"]) == 3000
    assert [len(v) for v in srv["service_samples_ms"].values()] == [4, 4]
    assert _Counted.calls < 100  # warm-up and the 8 timed services, never one per simulated arrival
    # At 1-5% utilization nearly every simulated request finds the worker free: p50 = one service.
    one = min(srv["service_samples_ms"]["1"])
    assert all(p["stats"]["p50_ms"] >= one and p["utilization"] < 0.1 for p in srv["points"])


def test_server_estimate_never_passes_an_overloaded_rate(requests_):
    ctx = ScenarioContext(_Sleepy(), _Encoder(), requests_, FAST)
    srv = run_scenario("server-sim", ctx, {"candidates": 3, "sla_p99_ms": 60_000.0, "requests_per_rate": 12,
                                       "max_levels": 6})
    assert srv["max_rate_under_sla_rps"] is None or srv["max_rate_under_sla_rps"] < 200
    for point in srv["points"]:
        passed = point["rate_rps"] <= (srv["max_rate_under_sla_rps"] or 0)
        assert not passed or point["utilization"] < 1
