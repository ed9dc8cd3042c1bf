"""Accuracy per served cell: a cell reuses its artifact's reference scores only when its parity shows
the same rankings within the reuse tolerance; otherwise its own session scores every request. Every
figure carries a 95% interval; retention and fidelity are paired with the teacher."""
from __future__ import annotations

import numpy as np
import pytest

from rankbench.bench.accuracy import REUSE_TOLERANCE, may_reuse, summarize_accuracy
from rankbench.bench.backends import BACKENDS, Backend, BackendOptions, Session, register_backend
from rankbench.bench.runner import run_benchmark
from rankbench.bench.timing import TimingConfig
from tests.bench.conftest import make_data

FAST = TimingConfig(min_samples=2, min_seconds=0, warmup_min=1, warmup_max=2)


class _Nudged(Session):
    """The torch session, every score raised by 4e-4: the same rankings (fp32 parity passes), but
    not the same scores (beyond the reuse tolerance)."""

    def __init__(self, inner):
        self.inner, self.device, self.info = inner, inner.device, {}

    def run(self, batch):
        scores = self.inner.run(batch)
        return (np.asarray(scores, np.float64) + 4e-4).astype(np.float32)

    def close(self):
        self.inner.close()


@pytest.fixture
def nudged_backend():
    @register_backend("nudged-test")
    class Nudged(Backend):
        def supports(self, artifact, options):
            return True, ""

        def prepare(self, artifact, options):
            from rankbench.bench.backends.torch_backend import TorchBackend

            return _Nudged(TorchBackend().prepare(artifact, BackendOptions(device="cpu", threads=1)))

    yield "nudged-test"
    del BACKENDS["nudged-test"]


def test_each_cell_gets_its_own_accuracy_or_says_whose_it_reuses(nudged_backend, tiny_artifact, tmp_path):
    data = make_data(n_requests=8, n_candidates=12)
    results = run_benchmark({"tiny": tiny_artifact}, tmp_path, ["torch:threads=1", nudged_backend],
                            ["single-stream"], data=data, users=8, teacher="tiny", timing=FAST,
                            latency_requests=2, parity_requests=3, progress=False)
    cells = {c["backend"]: c for c in results["cells"]}
    torch_acc, nudged_acc = cells["torch"]["accuracy"], cells[nudged_backend]["accuracy"]
    assert cells[nudged_backend]["parity"]["passed"]  # within fp32 parity ...
    assert "reference run" in torch_acc["scores_from"] and torch_acc["reuse_tolerance"] == REUSE_TOLERANCE
    assert nudged_acc["scores_from"] == "this cell's own session"  # ... but not the same scores: scored itself
    (own,) = (tmp_path / "accuracy").glob(f"tiny-*-{nudged_backend}-*.scores.jsonl")
    (reference,) = (tmp_path / "accuracy").glob("tiny-????????????????.scores.jsonl")
    from rankbench.bench.scores import ScoreFile

    mine, theirs = ScoreFile(own).rows, ScoreFile(reference).rows
    assert set(mine) == set(theirs) and len(mine) == 8  # every request scored by the cell's own session
    assert all(np.allclose(np.array(mine[k]["scores"]) - theirs[k]["scores"], 4e-4, atol=2e-5) for k in mine)
    assert results["run"]["eval_requests"] and len(results["run"]["eval_requests"]) == 8
    for acc in (torch_acc, nudged_acc):
        assert acc["users"] == 8 and len(acc["per_request"]["ndcg@10"]) == 8
        low, high = acc["ci"]["ndcg@10"]
        assert low <= acc["ndcg@10"] <= high
        assert acc["retention_ci"][0] <= acc["retention"] <= acc["retention_ci"][1]
    assert torch_acc["retention"] == 1.0 and torch_acc["fidelity"]["spearman"] == pytest.approx(1.0)
    assert results["baselines"]["popularity"]["retention"] is not None


def test_reuse_needs_the_same_rankings_within_the_tolerance():
    same = {"passed": True, "max_abs_diff": 1e-6, "spearman": 1.0, "top10_overlap": 1.0}
    assert may_reuse(same)
    assert not may_reuse({**same, "max_abs_diff": 2e-4})
    assert not may_reuse({**same, "top10_overlap": 0.9})
    assert not may_reuse({**same, "passed": False}) and not may_reuse(None)


def test_paired_intervals_of_retention_and_fidelity():
    from tests.bench.conftest import make_requests

    requests = make_requests(n_requests=30, n_candidates=10)
    rng = np.random.default_rng(0)
    teacher = [rng.normal(size=10) for _ in requests]
    from rankbench.models.metrics import per_request

    teacher_ndcg = per_request(teacher, requests)["ndcg@10"]
    same = summarize_accuracy(teacher, requests, teacher, np.asarray(teacher_ndcg))
    assert same["retention"] == 1.0 and same["retention_ci"] == pytest.approx([1.0, 1.0])  # paired: no noise left
    assert same["fidelity"]["spearman"] == pytest.approx(1.0) and same["fidelity"]["top10_overlap"] == 1.0
    noisy = [t + rng.normal(scale=1.0, size=10) for t in teacher]
    other = summarize_accuracy(noisy, requests, teacher, np.asarray(teacher_ndcg))
    assert other["fidelity"]["spearman"] < 0.9 and other["fidelity"]["ci"]["spearman"][1] < 1.0
    assert other["retention_ci"][0] < other["retention"] < other["retention_ci"][1]
