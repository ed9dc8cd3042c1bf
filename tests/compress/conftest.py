"""Shared fixtures for the compression tests: the tiny random ranker, tiny synthetic data, a context.

Everything is session-scoped and small (2 layers, hidden 32, ~30 users) so the whole folder runs in
well under two minutes on a 2-core machine.
"""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def data(tiny_data):
    return tiny_data


@pytest.fixture(scope="session")
def teacher(tmp_path_factory, data):
    """The tiny random ranker, briefly trained so its scores are not all alike, as an artifact."""
    from compress.artifact import Artifact
    from models.presets import load_ranker
    from models.train import TrainConfig, train

    ranker = load_ranker("tiny-random", seed=0, max_length=48)
    train(ranker, data.train, TrainConfig(max_steps=5, lr=1e-3), progress=False)
    return Artifact.from_ranker(ranker, tmp_path_factory.mktemp("teacher"), name="teacher", base="tiny-random")


@pytest.fixture(scope="session")
def requests(data):
    return data.test[:6]


@pytest.fixture
def ctx(tmp_path, data, teacher):
    from compress.api import CompressContext

    return CompressContext(out_dir=tmp_path / "variants", data=data, teacher=teacher, seed=0)


@pytest.fixture(scope="session")
def teacher_scores(teacher, requests):
    return np.concatenate(teacher.torch_ranker().score(requests))
