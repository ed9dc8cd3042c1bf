"""The collaborative-filtering baseline on the tiny synthetic data: better than chance, the same on
every run, and explicit about the requests it cannot score by itself."""
from __future__ import annotations

import numpy as np
import pytest

from rankbench.bench.stats import mean_ci, paired_diff_ci
from rankbench.models.baselines import baseline_scores
from rankbench.models.cf_baseline import CFConfig, CFUnavailable, cf_scores, fit_cf
from rankbench.models.metrics import per_request
from rankbench.models.requests import Candidate, RankingData, Request


@pytest.mark.parametrize("model", ["als", "bpr"])
def test_it_is_deterministic(tiny_data, model):
    config = CFConfig(model=model, iterations=20 if model == "bpr" else 15)
    first, notes = cf_scores(tiny_data, tiny_data.test, config)
    again, _ = cf_scores(tiny_data, tiny_data.test, config)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert notes["config"]["model"] == model and notes["cold_requests"] == 0


def test_it_beats_random_on_the_tiny_data(tiny_data):
    requests = tiny_data.valid + tiny_data.test
    scores, _ = cf_scores(tiny_data, requests)
    ours = per_request(scores, requests)
    # Constant scores: the metrics' fair tie-breaking makes them exactly a random ranking's expectation.
    chance = per_request([np.zeros(len(r.candidates)) for r in requests], requests)
    assert mean_ci(ours["auc"])[0] > 0.5
    assert paired_diff_ci(ours["ndcg@10"], chance["ndcg@10"])[1][0] > 0


def handmade() -> RankingData:
    """Two tastes: users a* watch items 1-4, users b* watch items 5-8."""
    interactions = {f"a{k}": ["1", "2", "3", "4"] for k in range(6)} | {f"b{k}": ["5", "6", "7", "8"] for k in range(6)}
    interactions["a0"] = ["1", "2", "3"]  # a0 has not seen 4: a neighbour-like item for it
    cands = (Candidate("4", "four", 1), Candidate("7", "seven", 0), Candidate("99", "unseen", 0))
    test = [Request("a0:test", "a0", cands), Request("new:test", "new", cands)]
    counts = {"4": 5, "7": 6, "99": 0}
    return RankingData("handmade", [], [], test, counts, train_interactions=interactions,
                       request_users={"a0:test": "a0", "new:test": "new-user"})


def test_unseen_items_score_lowest_and_unseen_users_fall_back_to_popularity():
    data = handmade()
    scores, notes = cf_scores(data, data.test, CFConfig(factors=4, regularization=0.01))
    known, cold = scores
    assert known[0] > known[1] > known[2]  # its own taste first, the never-seen item last
    assert list(cold) == [5, 6, 0]  # popularity counts, as the popularity baseline
    assert notes["cold_requests"] == 1 and "1 of 2 requests" in notes["fallback"]
    assert notes["unseen_candidate_share"] == round(2 / 6, 4)


def test_without_training_interactions_only_popularity_is_offered():
    data = handmade()
    data.train_interactions = {}
    assert set(baseline_scores(data, data.test)) == {"popularity"}
    with pytest.raises(CFUnavailable):
        fit_cf({})
    with pytest.raises(ValueError, match="cf model must be one of"):
        CFConfig(model="svd")
    with pytest.raises(ValueError, match="cf factors must be an integer"):
        CFConfig(factors=True)


def test_the_run_records_it_beside_popularity(tiny_data):
    from rankbench.bench.runner import baselines_accuracy

    requests = tiny_data.test[:10]
    teacher = [np.linspace(0, 1, len(r.candidates)) for r in requests]
    rows = baselines_accuracy(tiny_data, requests, teacher)
    assert set(rows) == {"popularity", "cf-als"}
    cf = rows["cf-als"]
    assert cf["users"] == 10 and cf["notes"]["config"]["factors"] == 32
    low, high = cf["retention_ci"]
    assert low <= cf["retention"] <= high and cf["fidelity"] is not None
