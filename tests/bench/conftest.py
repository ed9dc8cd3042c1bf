"""Shared fixtures for the harness tests: a tiny random ranker saved as an artifact, and a few
hand-made requests (no dataset download). The classifier is scaled up so scores spread out within
a request: parity's rank statistics then test something."""
from __future__ import annotations

import random

import pytest
import torch

from rankbench.models.requests import Candidate, RankingData, Request

WORDS = ("drama comedy thriller space western noir musical romance heist robot pirate ghost "
         "detective summer winter city river island war peace love").split()


def make_requests(n_requests: int = 6, n_candidates: int = 12, seed: int = 0) -> list[Request]:
    rng = random.Random(seed)
    out = []
    for r in range(n_requests):
        context = "watched: " + "; ".join(" ".join(rng.sample(WORDS, 3)) for _ in range(rng.randint(1, 4)))
        cands = tuple(Candidate(f"i{r}-{c}", " ".join(rng.sample(WORDS, rng.randint(1, 6))) + " | popular",
                                int(c == 0)) for c in range(n_candidates))
        out.append(Request(f"u{r}:test", context, cands))
    return out


def make_data(n_requests: int = 6, n_candidates: int = 12) -> RankingData:
    test = make_requests(n_requests, n_candidates)
    counts = {c.id: i % 7 for r in test for i, c in enumerate(r.candidates)}
    return RankingData("handmade", [], [], test, counts)


def spread_head(model) -> None:
    with torch.no_grad():
        model.classifier.weight.mul_(100.0)


@pytest.fixture(scope="session")
def requests_():
    return make_requests()


@pytest.fixture(scope="session")
def data():
    return make_data()
