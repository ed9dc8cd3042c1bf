"""Parity figures on known scores, and a backend that perturbs scores -> its cells are "invalid"."""
from __future__ import annotations

import numpy as np
import pytest

from rankbench.bench.backends import BACKENDS, Backend, BackendOptions, Session, register_backend
from rankbench.bench.parity import compare
from rankbench.bench.runner import run_benchmark
from rankbench.bench.timing import TimingConfig


def test_compare_identical_and_reversed():
    ref = [np.arange(20, dtype=float), np.linspace(-1, 1, 15)]
    good = compare([r + 1e-5 for r in ref], ref, "fp32")
    assert good["passed"] and good["spearman"] == pytest.approx(1.0) and good["top10_overlap"] == 1.0
    bad = compare([-r for r in ref], ref, "fp32")
    assert not bad["passed"] and bad["spearman"] == pytest.approx(-1.0)
    assert any("spearman" in f for f in bad["failures"]) and bad["thresholds"]["max_abs_diff"] == 1e-3
    loose = compare([r + 0.02 for r in ref], ref, "fp16")
    assert loose["passed"] and not compare([r + 0.02 for r in ref], ref, "fp32")["passed"]
    nan = compare([np.full(20, np.nan), ref[1]], ref, "fp32")
    assert not nan["passed"] and "non-finite scores" in nan["failures"]


class _Perturbed(Session):
    def __init__(self, inner):
        self.inner, self.device = inner, inner.device
        self.rng = np.random.default_rng(0)

    def run(self, batch):
        scores = self.inner.run(batch)
        return (scores + self.rng.normal(0, 1.0, scores.shape)).astype(np.float32)

    def close(self):
        self.inner.close()


@pytest.fixture
def perturbed_backend():
    @register_backend("perturbed-test")
    class Perturbed(Backend):
        def supports(self, artifact, options):
            return True, ""

        def prepare(self, artifact, options):
            from rankbench.bench.backends.torch_backend import TorchBackend

            return _Perturbed(TorchBackend().prepare(artifact, BackendOptions(device="cpu", threads=1)))

    yield "perturbed-test"
    del BACKENDS["perturbed-test"]


def test_a_cell_failing_parity_is_invalid_and_not_measured(perturbed_backend, tiny_artifact, data, tmp_path):
    results = run_benchmark({"tiny": tiny_artifact}, tmp_path, [perturbed_backend], ["single-stream"],
                            data=data, users=3, timing=TimingConfig(min_samples=2, min_seconds=0),
                            latency_requests=2, parity_requests=3, progress=False)
    (cell,) = results["cells"]
    assert cell["status"] == "invalid" and cell["reason"].startswith("parity failed")
    assert cell["parity"]["passed"] is False and cell["parity"]["max_abs_diff"] > 1e-3
    assert cell["samples_ms"] == [] and cell["stats"] is None
