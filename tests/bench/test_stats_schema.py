"""Statistics on known samples, and the results schema (valid passes, corrupted fails clearly)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rankbench.bench.results import ResultsError, read_results, write_results
from rankbench.bench.stats import MLPERF_P99_MIN_SAMPLES, summarize


def test_summary_of_known_samples():
    s = summarize(list(range(1, 101)), pairs_per_sample=100, requests_per_sample=1)
    assert s["n"] == 100
    assert s["p50_ms"] == pytest.approx(50.5)
    assert s["p99_ms"] == pytest.approx(99.01)
    assert s["p90_ms"] == pytest.approx(90.1)
    assert s["mean_ms"] == pytest.approx(50.5)
    assert s["std_ms"] == pytest.approx(np.std(np.arange(1, 101), ddof=1))
    assert s["p50_ci_ms"][0] <= 50.5 <= s["p50_ci_ms"][1]
    assert s["p99_reliable"] is False
    assert s["pairs_per_s"] == pytest.approx(100 / 0.0505)
    assert s["requests_per_s"] == pytest.approx(1 / 0.0505)


def test_p99_reliability_follows_the_mlperf_rule():
    assert summarize([1.0] * MLPERF_P99_MIN_SAMPLES)["p99_reliable"] is True
    assert summarize([1.0] * (MLPERF_P99_MIN_SAMPLES - 1))["p99_reliable"] is False
    with pytest.raises(ValueError):
        summarize([])


def _minimal_results(version: int = 2) -> dict:
    stats = summarize([1.0, 2.0, 3.0], 10)
    return {"schema_version": version, "run": {"name": "t", "created": "2025-01-01T00:00:00+00:00"},
            "environment": {"cpu": "x", "cores": 2, "python": "3.11", "libraries": {}},
            "artifacts": {"tiny": {"name": "tiny", "format": "hf"}},
            "cells": [{"id": "tiny/torch/single-stream", "variant": "tiny", "backend": "torch",
                       "scenario": "single-stream", "status": "ok", "samples_ms": [1.0, 2.0, 3.0],
                       "stats": stats, "parity": {"passed": True, "max_abs_diff": 0.0}}]}


def test_valid_results_round_trip(tmp_path):
    path = write_results(tmp_path / "results.json", _minimal_results())
    assert read_results(path)["cells"][0]["stats"]["n"] == 3


def test_version_1_is_read_as_2_without_per_cell_accuracy(tmp_path):
    old = _minimal_results(version=1)
    old["artifacts"]["tiny"]["accuracy"] = {"ndcg@10": 0.3, "users": 10, "backend": "torch"}
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(old))
    results = read_results(path)
    assert results["schema_version"] == 2 and results["upgraded_from"] == 1
    assert results["cells"][0]["accuracy"] is None  # v1 had no per-cell accuracy: none is invented
    from rankbench.reports.figures import cell_accuracy

    assert cell_accuracy(results, results["cells"][0])["per_artifact"] is True
    path.write_text(json.dumps({**old, "schema_version": 7}))
    with pytest.raises(ResultsError, match="schema_version 7; this rankbench reads versions 1, 2"):
        read_results(path)


def test_corrupted_results_fail_with_a_clear_message(tmp_path):
    path = write_results(tmp_path / "results.json", _minimal_results())
    raw = json.loads(path.read_text())
    raw["cells"][0]["status"] = "great"
    path.write_text(json.dumps(raw))
    with pytest.raises(ResultsError, match=r"cells/0/status"):
        read_results(path)
    path.write_text("{not json")
    with pytest.raises(ResultsError, match="not valid JSON"):
        read_results(path)
    bad = _minimal_results()
    del bad["cells"][0]["stats"]["p50_ms"]
    with pytest.raises(ResultsError, match="cells/0/stats"):
        write_results(tmp_path / "other.json", bad)
    assert not (tmp_path / "other.json").exists()
