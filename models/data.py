"""Datasets as ranking requests, with the standard leave-one-out protocol.

    from rankbench.models.data import DataConfig, load_data
    data = load_data(DataConfig())            # MovieLens-100K, fetched and cached on first use
    data = load_data(DataConfig(dataset="my_requests.jsonl"))

Leave-one-out: per user, by timestamp, the last interaction is the test positive and the one before
it the validation positive; each is ranked among `n_candidates - 1` items the user never rated,
sampled with a fixed seed. Training requests come from earlier interactions only, so nothing the
model sees (item popularity included) leaks from the validation or test items.

The teacher's inputs (models.context): `history_len` items, with their ratings (`history_ratings`),
their genres (`item_details`) and the user's demographics (`demographics`). `hard_negatives` draws
that share of each training request's negatives from the most popular items the user did not rate
(training requests only: evaluation requests, and so every number, stay comparable). Every option
defaults to the original inputs, and `to_dict` leaves options at their defaults out, so a config
that does not use them keeps its identity (teacher cache keys, recorded experiments).
"""
from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rankbench.models import jsonl_data, movielens
from rankbench.models.context import ContextStyle, HistoryItem, render_context
from rankbench.models.requests import Candidate, RankingData, Request

BUILTIN_DATASETS = ("movielens-100k", "synthetic")
# Hard negatives come from this share of the items, the most interacted-with in the training split.
HARD_POOL_SHARE = 0.1


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "movielens-100k"  # a built-in name, a .jsonl file, or a folder of train/valid/test.jsonl
    data_dir: str | None = None  # a folder already holding ml-100k.inter/.item/.user
    history_len: int = 3  # items in the user context, newest first (short inputs: fast on CPU)
    demographics: bool = False  # add age / gender / occupation to the user context
    history_ratings: bool = False  # show the user's rating after each watched title ("Heat (1995) 5/5")
    item_details: bool = False  # show each watched title's genres ("Heat (1995) [Action, Crime]")
    hard_negatives: float = 0.0  # share of training negatives drawn from popular items the user did not rate
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
        if isinstance(self.hard_negatives, bool) or not 0 <= self.hard_negatives <= 1:
            raise ValueError(f"hard_negatives must be a share in [0, 1], got {self.hard_negatives}")

    def to_dict(self) -> dict:
        return asdict(self)

    def context_style(self) -> ContextStyle:
        return ContextStyle(self.history_len, self.history_ratings, self.item_details, self.demographics)


def load_data(config: DataConfig = DataConfig()) -> RankingData:
    if config.dataset == "movielens-100k":
        tables = movielens.read_tables(movielens.ensure_files(config.data_dir))
        return leave_one_out("movielens-100k", tables.interactions, tables.item_text,
                             tables.user_text, config, tables.ratings)
    if config.dataset == "synthetic":
        from rankbench.models.synthetic import synthetic_tables

        inter, items, users = synthetic_tables(config.synthetic_users, config.synthetic_items, config.seed)
        return leave_one_out("synthetic", inter, items, users, config)
    return jsonl_data.load(config.dataset, seed=config.seed, style=config.context_style())


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


def hard_negative_pool(counts: Counter, items: list[str]) -> list[str]:
    """The HARD_POOL_SHARE most interacted-with items of the training split (ties by item id)."""
    size = max(1, math.ceil(len(items) * HARD_POOL_SHARE))
    ranked = sorted((i for i in items if counts.get(i, 0) > 0), key=lambda i: (-counts[i], _natural(i)))
    return ranked[:size]


def train_negatives(rng: random.Random, unrated: list[str], hard: list[str], config: DataConfig) -> list[str]:
    """`negatives_per_positive` items the user never rated; a `hard_negatives` share of them from
    `hard` (popular items the user did not rate), as far as it reaches. Without hard negatives the
    draw is the original one (the same random calls), so existing data does not change."""
    n = config.negatives_per_positive
    k = min(round(config.hard_negatives * n), len(hard))
    if k == 0:
        return rng.sample(unrated, n)
    chosen = rng.sample(hard, k)
    taken = set(chosen)
    return chosen + [i for i in rng.sample(unrated, n) if i not in taken][:n - k]


@dataclass
class _Texts:
    """Candidate and context texts of one dataset under one config."""

    item_text: dict[str, str]
    user_text: dict[str, str]
    ratings: dict[tuple[str, str], float]
    words: dict[str, str]
    config: DataConfig
    owners: dict[str, str] = field(default_factory=dict)  # request id -> user id

    def candidate(self, item: str) -> str:
        text = self.item_text[item]
        return f"{text} | {self.words[item]}" if self.words else text

    def context(self, user: str, before: list[str]) -> str:
        recent = [HistoryItem(self.item_text[i], self.ratings.get((user, i)))
                  for i in before[-self.config.history_len:]]
        return render_context(recent, self.user_text.get(user), self.config.context_style())

    def request(self, rid: str, user: str, before: list[str], positive: str, negatives: list[str],
                rng: random.Random) -> Request:
        cands = [Candidate(positive, self.candidate(positive), 1)]
        cands += [Candidate(i, self.candidate(i), 0) for i in negatives]
        rng.shuffle(cands)  # the positive's slot carries no signal; metrics break ties fairly anyway
        self.owners[rid] = user
        return Request(rid, self.context(user, before), tuple(cands))


def _histories(interactions: list[tuple[str, str, float]]) -> dict[str, list[str]]:
    history: dict[str, list[str]] = defaultdict(list)
    # Stable sort: interactions with equal timestamps keep their file order (RecBole's convention;
    # breaking ties by item id instead moves high-id, rarely rated items into the test set).
    for user, item, _ts in sorted(interactions, key=lambda r: (_natural(r[0]), r[2])):
        history[user].append(item)
    return history


def leave_one_out(name: str, interactions: list[tuple[str, str, float]], item_text: dict[str, str],
                  user_text: dict[str, str], config: DataConfig,
                  ratings: dict[tuple[str, str], float] | None = None) -> RankingData:
    """`ratings`: (user, item) -> rating, shown in the context with `history_ratings`."""
    history = _histories(interactions)
    users = [u for u in sorted(history, key=_natural) if len(history[u]) >= 3]
    all_items = sorted(item_text, key=_natural)
    train_counts = Counter(i for u in users for i in history[u][:-2])
    words = popularity_words(train_counts, all_items, config.popularity_buckets) \
        if config.popularity_buckets else {}
    texts = _Texts(item_text, user_text, ratings or {}, words, config)
    pool = hard_negative_pool(train_counts, all_items) if config.hard_negatives else []
    train, valid, test = [], [], []
    n_neg = config.n_candidates - 1
    for user in users:
        items = history[user]
        rng = random.Random(f"{config.seed}:{user}")  # per-user stream: adding users changes nothing else
        rated = set(items)
        unrated = [i for i in all_items if i not in rated]
        if len(unrated) < n_neg:
            continue
        test.append(texts.request(f"{user}:test", user, items[:-1], items[-1], rng.sample(unrated, n_neg), rng))
        valid.append(texts.request(f"{user}:valid", user, items[:-2], items[-2], rng.sample(unrated, n_neg), rng))
        hard = [i for i in pool if i not in rated]
        first = max(1, len(items) - 2 - config.train_per_user)
        for t in range(first, len(items) - 2):
            negs = train_negatives(rng, unrated, hard, config)
            train.append(texts.request(f"{user}:train:{t}", user, items[:t], items[t], negs, rng))
    info = {"users": len(history), "items": len(item_text), "interactions": len(interactions)}
    return RankingData(name, train, valid, test, {i: train_counts.get(i, 0) for i in all_items}, info,
                       train_interactions={u: list(history[u][:-2]) for u in users},
                       request_users=texts.owners)
