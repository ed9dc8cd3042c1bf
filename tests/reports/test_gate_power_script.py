"""scripts/gate_power.py's code paths on the tiny model: its pair rates come from the gate's rule."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import gate_power  # noqa: E402


def test_rates_use_the_gate_rule():
    rng = np.random.default_rng(0)
    runs = [list(100 * rng.lognormal(0, 0.05, 40)) for _ in range(6)]
    report = gate_power.rates([(a, b) for i, a in enumerate(runs) for b in runs[i + 1:]])
    assert report["pairs"] == 15 and report["false_alarm_rate"] == 0.0
    assert report["detection"]["0.50"] == 1.0 and report["detection"]["0.05"] == 0.0  # +5% is within the 10% limit
    assert report["smallest_slowdown_caught_95"] is not None and report["smallest_slowdown_caught_95"] > 0.10


def test_runs_on_the_tiny_model(tiny_artifact):
    from tests.bench.conftest import make_requests

    requests_ = make_requests()
    independent = gate_power.independent_runs(tiny_artifact, "torch", requests_, runs=2, samples=4, candidates=12)
    interleaved = gate_power.interleaved_runs(tiny_artifact, "torch", requests_, runs=2, samples=4, candidates=12)
    assert [len(r) for r in independent] == [4, 4] and [tuple(map(len, r)) for r in interleaved] == [(4, 4)] * 2
