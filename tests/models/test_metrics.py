import math

import numpy as np
import pytest

from rankbench.models.baselines import popularity_scores
from rankbench.models.metrics import evaluate, request_metrics


def test_positive_first():
    m = request_metrics([3.0, 1.0, 2.0], [1, 0, 0])
    assert m == {"ndcg@10": 1.0, "hr@10": 1.0, "mrr": 1.0, "auc": 1.0}


def test_positive_third():
    m = request_metrics([1.0, 3.0, 2.0, 0.0], [1, 0, 0, 0])
    assert m["mrr"] == pytest.approx(1 / 3)
    assert m["ndcg@10"] == pytest.approx(1 / math.log2(4))
    assert m["auc"] == pytest.approx(1 / 3)


def test_ties_are_not_won_by_order():
    # All scores equal: the positive is equally likely at positions 1..4.
    m = request_metrics([0.0, 0.0, 0.0, 0.0], [1, 0, 0, 0])
    assert m["mrr"] == pytest.approx(np.mean([1, 1 / 2, 1 / 3, 1 / 4]))
    assert m["ndcg@10"] == pytest.approx(np.mean([1 / math.log2(p + 1) for p in range(1, 5)]))
    assert m["auc"] == pytest.approx(0.5)
    # order of candidates does not matter
    assert request_metrics([0.0] * 4, [0, 0, 0, 1]) == m


def test_hr_at_10_with_ties_across_the_cutoff():
    scores = [1.0] * 20
    labels = [1] + [0] * 19
    assert request_metrics(scores, labels)["hr@10"] == pytest.approx(10 / 20)


def test_several_positives():
    m = request_metrics([4.0, 3.0, 2.0, 1.0], [1, 0, 1, 0])
    idcg = 1 + 1 / math.log2(3)
    assert m["ndcg@10"] == pytest.approx((1 + 1 / math.log2(4)) / idcg)
    assert m["mrr"] == 1.0 and m["auc"] == pytest.approx(0.75)


def test_errors():
    with pytest.raises(ValueError, match="without a positive"):
        request_metrics([1.0, 2.0], [0, 0])
    with pytest.raises(ValueError, match="scores for"):
        request_metrics([1.0], [1, 0])


def test_popularity_baseline_on_same_requests(tiny_data):
    reqs = tiny_data.test
    pop = evaluate(popularity_scores(tiny_data, reqs), reqs)
    rand = evaluate([np.zeros(len(r.candidates)) for r in reqs], reqs)
    assert pop["users"] == len(reqs)
    assert rand["auc"] == pytest.approx(0.5)
    assert pop["auc"] > 0.6  # synthetic items have a real popularity signal
