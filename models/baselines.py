"""Baselines every ranker is compared with, scored on exactly the same requests.

    scores = popularity_scores(data, requests)       # one float array per request
    metrics = evaluate(scores, requests)             # rankbench.models.metrics
"""
from __future__ import annotations

import numpy as np

from rankbench.models.requests import RankingData, Request


def popularity_scores(data: RankingData, requests: list[Request]) -> list[np.ndarray]:
    """The popularity baseline: an item's interaction count in the training split."""
    return [np.array([data.item_counts.get(c.id, 0) for c in r.candidates], dtype=np.float64)
            for r in requests]
