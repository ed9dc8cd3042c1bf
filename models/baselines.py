"""Baselines every ranker is compared with, scored on exactly the same requests.

    scores = popularity_scores(data, requests)       # one float array per request
    metrics = evaluate(scores, requests)             # rankbench.models.metrics
    for name, (scores, notes) in baseline_scores(data, requests).items(): ...

- popularity: an item's interaction count in the training split.
- cf-bpr (or cf-als): matrix factorization on the training split's interactions
  (rankbench.models.cf_baseline), where the data has them.
"""
from __future__ import annotations

import numpy as np

from rankbench.models.requests import RankingData, Request


def popularity_scores(data: RankingData, requests: list[Request]) -> list[np.ndarray]:
    """The popularity baseline: an item's interaction count in the training split."""
    return [np.array([data.item_counts.get(c.id, 0) for c in r.candidates], dtype=np.float64)
            for r in requests]


def baseline_scores(data: RankingData, requests: list[Request], cf=None) -> dict[str, tuple[list, dict]]:
    """name -> (scores per request, notes) of every baseline the data allows. `cf`: a
    cf_baseline.CFConfig (default: CFConfig()); the CF baseline needs training interactions."""
    from rankbench.models.cf_baseline import CFConfig, cf_scores

    out = {"popularity": (popularity_scores(data, requests), {})}
    if any(data.train_interactions.values()):
        cf = cf or CFConfig()
        out[cf.name] = cf_scores(data, requests, cf)
    return out
