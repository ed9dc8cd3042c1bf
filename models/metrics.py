"""Ranking accuracy over requests: NDCG@10, HR@10, MRR and AUC, with ties handled fairly.

A positive tied with negatives is not ranked first by luck of order: each metric is its expected
value when ties are broken uniformly at random (the positive's position is uniform over its tie
block). With several positives in a request, NDCG is DCG/IDCG, HR@10 is the share of positives in
the top 10 and MRR uses the best-placed positive. AUC counts a tied (positive, negative) pair as 1/2.

    metrics = evaluate(scores_per_request, requests)        # {"ndcg@10": ..., "hr@10": ..., ...}
"""
from __future__ import annotations

import numpy as np

from rankbench.models.requests import Request

K = 10
METRICS = ("ndcg@10", "hr@10", "mrr", "auc")


def _positions(scores: np.ndarray, index: int) -> np.ndarray:
    """All 1-based positions the candidate at `index` can take under random tie-breaking."""
    ahead = int(np.sum(scores > scores[index]))
    tied = int(np.sum(scores == scores[index]))  # includes the candidate itself
    return np.arange(ahead + 1, ahead + tied + 1)


def request_metrics(scores, labels) -> dict[str, float]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.shape != labels.shape:
        raise ValueError(f"{len(scores)} scores for {len(labels)} candidates")
    positives = np.flatnonzero(labels == 1)
    if len(positives) == 0:
        raise ValueError("a request without a positive cannot be scored")
    positions = [_positions(scores, i) for i in positives]
    dcg = sum(np.mean(np.where(p <= K, 1.0 / np.log2(p + 1), 0.0)) for p in positions)
    idcg = sum(1.0 / np.log2(r + 2) for r in range(min(K, len(positives))))
    hr = float(np.mean([np.mean(p <= K) for p in positions]))
    best = min(positions, key=lambda p: p[0])
    mrr = float(np.mean(1.0 / best))
    pos_scores = scores[positives]
    neg_scores = scores[labels == 0]
    if len(neg_scores):
        diff = pos_scores[:, None] - neg_scores[None, :]
        auc = float(np.mean((diff > 0) + 0.5 * (diff == 0)))
    else:
        auc = 1.0
    return {"ndcg@10": float(dcg / idcg), "hr@10": hr, "mrr": mrr, "auc": auc}


def evaluate(scores: list, requests: list[Request]) -> dict[str, float]:
    """Mean of each metric over requests; `users` counts the requests scored."""
    if len(scores) != len(requests):
        raise ValueError(f"{len(scores)} score arrays for {len(requests)} requests")
    if not requests:
        raise ValueError("no requests to evaluate")
    per = [request_metrics(s, r.labels) for s, r in zip(scores, requests)]
    out = {m: float(np.mean([p[m] for p in per])) for m in METRICS}
    out["users"] = len(requests)
    return out


def retention(metric: float, reference: float) -> float | None:
    return metric / reference if reference else None
