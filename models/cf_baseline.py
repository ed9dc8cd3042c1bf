"""The collaborative-filtering baseline: matrix factorization from `implicit`, on the training split.

    scores, notes = cf_scores(data, requests)             # CFConfig(): BPR, seeded, one thread
    metrics = evaluate(scores, requests)

The model is fit on the training split's (user, item) interactions (RankingData.train_interactions:
for MovieLens every interaction but each user's last two, the same split popularity counts) as a
binary user x item matrix, and scores a request's candidates by the dot product of the user's and
the items' factors (BPR's item bias included). A candidate never seen in training scores below every
seen one (ties among them are broken fairly by the metrics); a user never seen in training gets the
popularity baseline's scores for that request, and `notes` counts both.

One thread and a fixed `random_state`: BPR's parallel SGD is lock-free (Hogwild), so more threads
would make the factors, and the baseline's numbers, differ from run to run.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rankbench.models.requests import RankingData, Request

MODELS = ("bpr", "als")


class CFUnavailable(ValueError):
    """The data has no training interactions with users to learn from."""


@dataclass(frozen=True)
class CFConfig:
    model: str = "als"  # "als" (weighted least squares) or "bpr" (pairwise ranking loss)
    factors: int = 32
    iterations: int = 15
    learning_rate: float = 0.01  # bpr only
    regularization: float = 0.1
    alpha: float = 1.0  # als only: confidence of an observed interaction
    seed: int = 0

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"cf model must be one of {MODELS}, got {self.model!r}")
        for name in ("factors", "iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"cf {name} must be an integer >= 1, got {value!r}")

    @property
    def name(self) -> str:
        return f"cf-{self.model}"


@dataclass
class CFModel:
    users: dict[str, int]
    items: dict[str, int]
    user_factors: np.ndarray
    item_factors: np.ndarray

    def user_scores(self, user: str, item_ids: list[str]) -> np.ndarray:
        """Scores of `item_ids` for a known user; unseen items below the lowest seen one."""
        known = np.array([i in self.items for i in item_ids])
        out = np.zeros(len(item_ids), np.float64)
        if known.any():
            rows = self.item_factors[[self.items[i] for i, k in zip(item_ids, known) if k]]
            out[known] = rows.astype(np.float64) @ self.user_factors[self.users[user]].astype(np.float64)
        if not known.all():
            out[~known] = (out[known].min() - 1.0) if known.any() else 0.0
        return out


def interaction_matrix(interactions: dict[str, list[str]]):
    """(user index, item index, binary CSR users x items) of the training interactions."""
    from scipy.sparse import csr_matrix

    interactions = {u: seq for u, seq in interactions.items() if seq}  # no row for a user with nothing
    users = {u: k for k, u in enumerate(sorted(interactions))}
    items = {i: k for k, i in enumerate(sorted({i for seq in interactions.values() for i in seq}))}
    rows = [users[u] for u, seq in interactions.items() for i in dict.fromkeys(seq)]
    cols = [items[i] for seq in interactions.values() for i in dict.fromkeys(seq)]
    matrix = csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(users), len(items)))
    return users, items, matrix


def _estimator(config: CFConfig):
    if config.model == "bpr":
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(factors=config.factors, learning_rate=config.learning_rate,
                                           regularization=config.regularization, iterations=config.iterations,
                                           num_threads=1, random_state=config.seed)
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares(factors=config.factors, regularization=config.regularization,
                                   alpha=config.alpha, iterations=config.iterations, num_threads=1,
                                   random_state=config.seed)


def fit_cf(interactions: dict[str, list[str]], config: CFConfig = CFConfig()) -> CFModel:
    import implicit.cpu.als  # noqa: F401 - loaded before the limit below, so that it covers their BLAS
    import implicit.cpu.bpr  # noqa: F401
    from threadpoolctl import threadpool_limits

    if not any(interactions.values()):
        raise CFUnavailable("no training interactions to fit the collaborative-filtering baseline on")
    users, items, matrix = interaction_matrix(interactions)
    with threadpool_limits(1, "blas"):  # implicit's advice for its CPU models; also keeps runs alike
        estimator = _estimator(config)  # (ALS checks the BLAS threads when it is made)
        estimator.fit(matrix, show_progress=False)
    return CFModel(users, items, np.asarray(estimator.user_factors), np.asarray(estimator.item_factors))


def cf_scores(data: RankingData, requests: list[Request],
              config: CFConfig = CFConfig()) -> tuple[list[np.ndarray], dict]:
    """One score array per request, and notes: the config, and how many requests fell back."""
    model = fit_cf(data.train_interactions, config)
    scores, cold, unseen, total = [], 0, 0, 0
    for request in requests:
        ids = [c.id for c in request.candidates]
        user = data.request_users.get(request.id)
        if user in model.users:
            scores.append(model.user_scores(user, ids))
        else:
            cold += 1
            scores.append(np.array([data.item_counts.get(i, 0) for i in ids], np.float64))
        unseen += sum(i not in model.items for i in ids)
        total += len(ids)
    notes = {"config": asdict(config), "train_users": len(model.users), "train_items": len(model.items),
             "cold_requests": cold, "unseen_candidate_share": round(unseen / max(1, total), 4)}
    if cold:
        notes["fallback"] = f"{cold} of {len(requests)} requests are for users without training " \
                            "interactions: scored by popularity"
    return scores, notes
