"""Shared fixtures for the compression tests: the tiny random ranker, tiny synthetic data, a context.

Everything is session-scoped and small (2 layers, hidden 32, ~30 users) so the whole folder runs in
well under two minutes on a 2-core machine.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

# The 2 cores are shared: with several threads a tiny forward spins for ~0.3 s instead of ~3 ms.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def data(tiny_data):
    return tiny_data


@pytest.fixture(scope="session")
def teacher(tmp_path_factory, data):
    """The tiny random ranker as an artifact, its matrices drawn wider (std 0.3 instead of 0.02) so
    that its scores spread out: with the default init every candidate scores the same to 1e-4, and
    "INT8 correlates with fp32" or "reloads with the same scores" would be checked on noise."""
    from rankbench.compress.artifact import Artifact
    from rankbench.models.presets import load_ranker

    ranker = load_ranker("tiny-random", seed=0, max_length=48)
    torch.manual_seed(0)
    with torch.no_grad():
        for param in ranker.model.parameters():
            if param.dim() >= 2:
                param.normal_(0.0, 0.3)
    return Artifact.from_ranker(ranker, tmp_path_factory.mktemp("teacher"), name="teacher", base="tiny-random")


@pytest.fixture(scope="session")
def requests(data):
    return data.test[:6]


@pytest.fixture
def ctx(tmp_path, data, teacher):
    from rankbench.compress.api import CompressContext

    return CompressContext(out_dir=tmp_path / "variants", data=data, teacher=teacher, seed=0)


@pytest.fixture(scope="session")
def teacher_scores(teacher, requests):
    return np.concatenate(teacher.torch_ranker().score(requests))
