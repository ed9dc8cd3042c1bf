"""Ranking accuracy over requests: NDCG@10, HR@10, MRR and AUC, with ties handled fairly.

A positive tied with negatives is not ranked first by luck of order: each metric is its expected
value when ties are broken uniformly at random (the positive's position is uniform over its tie
block). With several positives in a request, NDCG is DCG/IDCG, HR@10 is the share of positives in
the top 10 and MRR uses the best-placed positive. AUC counts a tied (positive, negative) pair as 1/2.

    metrics = evaluate(scores_per_request, requests)        # {"ndcg@10": ..., "hr@10": ..., ...}
    per = per_request(scores_per_request, requests)         # metric -> one value per request
    fidelity = agreement(scores_per_request, teacher_scores) # spearman / top10_overlap per request

Fidelity measures what compression changed over all candidates of a request, labels aside: the
Spearman correlation of a variant's scores with the teacher's, and the share of the teacher's top 10
that the variant also puts in its top 10.
"""
from __future__ import annotations

import numpy as np

from rankbench.models.requests import Request

K = 10
METRICS = ("ndcg@10", "hr@10", "mrr", "auc")
FIDELITY = ("spearman", "top10_overlap")


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


def per_request(scores: list, requests: list[Request]) -> dict[str, np.ndarray]:
    """metric -> its value on each request, in order."""
    if len(scores) != len(requests):
        raise ValueError(f"{len(scores)} score arrays for {len(requests)} requests")
    if not requests:
        raise ValueError("no requests to evaluate")
    per = [request_metrics(s, r.labels) for s, r in zip(scores, requests)]
    return {m: np.array([p[m] for p in per]) for m in METRICS}


def evaluate(scores: list, requests: list[Request]) -> dict[str, float]:
    """Mean of each metric over requests; `users` counts the requests scored."""
    out = {m: float(values.mean()) for m, values in per_request(scores, requests).items()}
    out["users"] = len(requests)
    return out


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (as scipy.stats.rankdata; numpy only, so GPU boxes need no scipy)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse.reshape(-1)]


def spearman(a, b) -> float:
    """Spearman correlation; nan when either side is constant."""
    ra, rb = _ranks(np.asarray(a, np.float64)), _ranks(np.asarray(b, np.float64))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / denom) if denom > 0 else float("nan")


def top_k_overlap(scores, reference, k: int = K) -> float:
    """Share of the reference's top k that `scores` also ranks in its top k (stable order on ties)."""
    scores, reference = np.asarray(scores, np.float64), np.asarray(reference, np.float64)
    k = min(k, scores.size)
    if k == 0:
        return 1.0
    ours = set(np.argsort(-scores, kind="stable")[:k])
    theirs = set(np.argsort(-reference, kind="stable")[:k])
    return len(ours & theirs) / k


def request_agreement(scores, reference) -> tuple[float, float]:
    """(Spearman, top-10 overlap) of one request's scores with the reference's. Constant scores on
    both sides agree perfectly; one constant side has Spearman 0."""
    scores, reference = np.asarray(scores, np.float64), np.asarray(reference, np.float64)
    if scores.shape != reference.shape:
        raise ValueError(f"scores of shape {scores.shape} for a reference of shape {reference.shape}")
    rho = spearman(scores, reference) if scores.size > 1 else 1.0
    if np.isnan(rho):
        rho = 1.0 if np.ptp(scores) == np.ptp(reference) == 0 else 0.0
    return rho, top_k_overlap(scores, reference)


def agreement(scores: list, reference: list) -> dict[str, np.ndarray]:
    """Fidelity per request: "spearman" and "top10_overlap" of each request's scores with the reference's."""
    if len(scores) != len(reference):
        raise ValueError(f"{len(scores)} score arrays for {len(reference)} reference arrays")
    pairs = [request_agreement(s, r) for s, r in zip(scores, reference)]
    return {"spearman": np.array([p[0] for p in pairs]), "top10_overlap": np.array([p[1] for p in pairs])}


def retention(metric: float, reference: float) -> float | None:
    return metric / reference if reference else None
