"""A seeded synthetic interaction log with MovieLens' structure, at any size.

Users prefer a few genres; items have genres and a Zipf-like popularity, so a ranker can learn
something and popularity is a real baseline. The log goes through the same leave-one-out builder
as MovieLens (`load_data(DataConfig(dataset="synthetic", synthetic_users=..., synthetic_items=...))`).
"""
from __future__ import annotations

import numpy as np

GENRES = ("Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
          "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western")
WORDS = ("Night", "River", "Star", "Last", "Secret", "City", "Dream", "Fire", "Road", "King", "Blue",
         "Winter", "Lost", "Iron", "Silent", "Golden", "Shadow", "Heart", "Storm", "Garden")


def synthetic_tables(n_users: int, n_items: int, seed: int = 0, per_user: tuple[int, int] = (20, 60)):
    """(interactions [(user, item, timestamp)], item_text {item: text}, user_text {user: text})."""
    if n_users < 1 or n_items < 110:
        raise ValueError("synthetic data needs >= 1 user and >= 110 items (99 negatives per request)")
    rng = np.random.default_rng(seed)
    item_genres = [rng.choice(len(GENRES), size=rng.integers(1, 4), replace=False) for _ in range(n_items)]
    item_text = {}
    for i, genres in enumerate(item_genres):
        title = " ".join(rng.choice(WORDS, size=rng.integers(1, 4)))
        year = int(rng.integers(1950, 2000))
        item_text[str(i + 1)] = f"{title} ({year}) | {', '.join(GENRES[g] for g in sorted(genres))}"
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    popularity = popularity[rng.permutation(n_items)]
    interactions, user_text = [], {}
    for u in range(n_users):
        liked = rng.choice(len(GENRES), size=3, replace=False)
        match = np.array([len(set(g) & set(liked)) for g in item_genres], dtype=np.float64)
        weights = popularity * (1.0 + 4.0 * match)
        weights /= weights.sum()
        count = min(int(rng.integers(*per_user)), n_items - 100)
        items = rng.choice(n_items, size=count, replace=False, p=weights)
        start = int(rng.integers(8.7e8, 8.9e8))
        for k, item in enumerate(items):
            interactions.append((str(u + 1), str(item + 1), float(start + 60 * k)))
        user_text[str(u + 1)] = f"likes {', '.join(GENRES[g] for g in liked)}"
    return interactions, item_text, user_text
