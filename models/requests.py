"""Ranking requests: the one data structure every stage shares.

A request is one user's context text plus the candidates to rank for it. Training, evaluation,
parity checks and the latency scenarios all consume lists of `Request`.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    id: str
    text: str
    label: int = 0


@dataclass(frozen=True)
class Request:
    id: str
    context: str
    candidates: tuple[Candidate, ...]

    def pairs(self) -> list[tuple[str, str]]:
        return [(self.context, c.text) for c in self.candidates]

    @property
    def labels(self) -> list[int]:
        return [c.label for c in self.candidates]


@dataclass
class RankingData:
    """A dataset split into requests, plus what the popularity baseline needs."""

    name: str
    train: list[Request]
    valid: list[Request]
    test: list[Request]
    # Interactions per item in the training split only (never valid/test): the popularity baseline.
    item_counts: dict[str, int] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    # The training split as (user, item) interactions: user -> items, oldest first (the
    # collaborative-filtering baseline); empty when the data names no users.
    train_interactions: dict[str, list[str]] = field(default_factory=dict)
    request_users: dict[str, str] = field(default_factory=dict)  # request id -> user id, where known

    def summary(self) -> dict:
        cands = {len(r.candidates) for r in self.test}
        return {
            "dataset": self.name,
            **self.info,
            "train_requests": len(self.train),
            "valid_requests": len(self.valid),
            "test_requests": len(self.test),
            "candidates_per_request": (cands.pop() if len(cands) == 1 else sorted(cands)) if cands else 0,
        }
