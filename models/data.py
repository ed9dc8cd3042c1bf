"""Datasets as ranking requests, with the standard leave-one-out protocol.

    from rankbench.models.data import DataConfig, load_data
    data = load_data(DataConfig())            # MovieLens-100K, fetched and cached on first use
    data = load_data(DataConfig(dataset="my_requests.jsonl"))

Leave-one-out: per user, by timestamp, the last interaction is the test positive and the one before
it the validation positive; each is ranked among `n_candidates - 1` items the user never rated,
sampled with a fixed seed. Training requests come from earlier interactions only, so nothing the
model sees (item popularity included) leaks from the validation or test items.
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from rankbench.models import jsonl_data, movielens
from rankbench.models.requests import Candidate, RankingData, Request

BUILTIN_DATASETS = ("movielens-100k", "synthetic")


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "movielens-100k"  # a built-in name, a .jsonl file, or a folder of train/valid/test.jsonl
    data_dir: str | None = None  # a folder already holding ml-100k.inter/.item/.user
    history_len: int = 3  # items in the user context, newest first (short inputs: fast on CPU)
    demographics: bool = False  # add age / gender / occupation to the user context
    popularity_buckets: int = 10  # verbalize a training-split popularity decile into item text (0: off)
    n_candidates: int = 100  # per evaluation request: 1 positive + (n - 1) sampled negatives
    negatives_per_positive: int = 3  # training requests: sampled negatives per positive
    train_per_user: int = 10  # training requests per user, from the most recent training items
    seed: int = 0
    synthetic_users: int = 200  # sizes for dataset="synthetic"
    synthetic_items: int = 300

    def __post_init__(self):
        if self.dataset not in BUILTIN_DATASETS and not self.dataset.endswith(".jsonl") \
                and not Path(self.dataset).is_dir():
            raise ValueError(f"dataset {self.dataset!r}: expected one of {BUILTIN_DATASETS}, "
                             "a .jsonl file, or a folder with train/valid/test.jsonl")
        for name in ("history_len", "negatives_per_positive", "train_per_user"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.popularity_buckets < 0:
            raise ValueError(f"popularity_buckets must be >= 0, got {self.popularity_buckets}")
        if self.n_candidates < 2:
            raise ValueError(f"n_candidates must be >= 2, got {self.n_candidates}")

    def to_dict(self) -> dict:
        return asdict(self)


def load_data(config: DataConfig = DataConfig()) -> RankingData:
    if config.dataset == "movielens-100k":
        tables = movielens.read_tables(movielens.ensure_files(config.data_dir))
        return leave_one_out("movielens-100k", tables.interactions, tables.item_text,
                             tables.user_text, config)
    if config.dataset == "synthetic":
        from rankbench.models.synthetic import synthetic_tables

        inter, items, users = synthetic_tables(config.synthetic_users, config.synthetic_items, config.seed)
        return leave_one_out("synthetic", inter, items, users, config)
    return jsonl_data.load(config.dataset, seed=config.seed)


def _natural(key: str):
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def popularity_words(counts: Counter, items: list[str], buckets: int) -> dict[str, str]:
    """Map each item to "popularity b/B" by its quantile of training-split interaction counts.

    Items with equal counts share a bucket, so the text carries no more than the counts do.
    """
    ranked = sorted(items, key=lambda i: counts.get(i, 0))
    first_rank: dict[int, int] = {}
    for k, item in enumerate(ranked):
        first_rank.setdefault(counts.get(item, 0), k)
    return {item: f"popularity {1 + first_rank[counts.get(item, 0)] * buckets // len(ranked)}/{buckets}"
            for item in ranked}


def leave_one_out(name: str, interactions: list[tuple[str, str, float]], item_text: dict[str, str],
                  user_text: dict[str, str], config: DataConfig) -> RankingData:
    history: dict[str, list[str]] = defaultdict(list)
    # Stable sort: interactions with equal timestamps keep their file order (RecBole's convention;
    # breaking ties by item id instead moves high-id, rarely rated items into the test set).
    for user, item, ts in sorted(interactions, key=lambda r: (_natural(r[0]), r[2])):
        history[user].append(item)
    users = [u for u in sorted(history, key=_natural) if len(history[u]) >= 3]
    all_items = sorted(item_text, key=_natural)
    train_counts = Counter(i for u in users for i in history[u][:-2])
    words = popularity_words(train_counts, all_items, config.popularity_buckets) \
        if config.popularity_buckets else {}

    def candidate_text(item: str) -> str:
        text = item_text[item]
        return f"{text} | {words[item]}" if words else text

    def context(user: str, before: list[str]) -> str:
        recent = [item_text[i].split(" | ")[0] for i in reversed(before[-config.history_len:])]
        parts = [f"user: {user_text[user]}"] if config.demographics and user in user_text else []
        parts.append("watched: " + ("; ".join(recent) if recent else "nothing yet"))
        return ". ".join(parts)

    def request(rid: str, user: str, before: list[str], positive: str, negatives: list[str],
                rng: random.Random) -> Request:
        cands = [Candidate(positive, candidate_text(positive), 1)]
        cands += [Candidate(i, candidate_text(i), 0) for i in negatives]
        rng.shuffle(cands)  # the positive's slot carries no signal; metrics break ties fairly anyway
        return Request(rid, context(user, before), tuple(cands))

    train, valid, test = [], [], []
    n_neg = config.n_candidates - 1
    for user in users:
        items = history[user]
        rng = random.Random(f"{config.seed}:{user}")  # per-user stream: adding users changes nothing else
        rated = set(items)
        unrated = [i for i in all_items if i not in rated]
        if len(unrated) < n_neg:
            continue
        test.append(request(f"{user}:test", user, items[:-1], items[-1], rng.sample(unrated, n_neg), rng))
        valid.append(request(f"{user}:valid", user, items[:-2], items[-2], rng.sample(unrated, n_neg), rng))
        first = max(1, len(items) - 2 - config.train_per_user)
        for t in range(first, len(items) - 2):
            negs = rng.sample(unrated, config.negatives_per_positive)
            train.append(request(f"{user}:train:{t}", user, items[:t], items[t], negs, rng))
    info = {"users": len(history), "items": len(item_text), "interactions": len(interactions)}
    return RankingData(name, train, valid, test, {i: train_counts.get(i, 0) for i in all_items}, info)
