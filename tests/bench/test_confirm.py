"""The confirmation stage: a cell measured again with enough samples for an upper bound of its p99
at 99% confidence; kept on disk so a rerun does not measure it again."""
from __future__ import annotations

import numpy as np

from rankbench.bench.confirm import confirm_cells
from rankbench.bench.stats import quantile_upper_bound


def test_the_p99_bound_needs_enough_samples():
    samples = np.random.default_rng(0).exponential(size=662)
    bound = quantile_upper_bound(samples, 99, 0.99)
    assert np.percentile(samples, 99) < bound <= samples.max()
    assert quantile_upper_bound(samples[:400], 99, 0.99) is None  # too few for a 99% bound on p99


def test_confirm_measures_once_and_judges_the_sla(tiny_artifact, requests_, tmp_path):
    cell = {"id": "tiny/torch/single-stream", "key": "k1", "variant": "tiny", "backend": "torch",
            "backend_options": {"device": "cpu", "threads": 1}, "scenario": "single-stream",
            "scenario_params": {"candidates": 12}}
    first = confirm_cells([("choice", cell)], {"tiny": tiny_artifact}, requests_, tmp_path, sla_p99_ms=10_000.0,
                          samples=500)
    (entry,) = first
    assert entry["status"] == "ok" and entry["role"] == "choice" and len(entry["samples_ms"]) == 500
    assert entry["stats"]["n"] == 500 and entry["p99_upper_99"] >= entry["stats"]["p99_ms"]
    assert entry["p99_holds"] is True
    again = confirm_cells([("runner-up", cell)], {"tiny": tiny_artifact}, requests_, tmp_path, samples=500)
    assert again[0]["samples_ms"] == entry["samples_ms"] and again[0]["role"] == "runner-up"  # from its file
    broken = dict(cell, key="k2", backend="tensorrt")
    (failed,) = confirm_cells([("choice", broken)], {"tiny": tiny_artifact}, requests_, tmp_path, samples=500)
    assert failed["status"] == "failed" and failed["reason"]
