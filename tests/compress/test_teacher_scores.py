"""The teacher's scores that distillation trains on: computed once per teacher and data, and an
interrupted pass resumes from its finished chunks."""
from __future__ import annotations

import numpy as np
import pytest

from rankbench.compress.api import compress

TRAIN = {"max_steps": 2}


def test_teacher_scores_are_computed_once(teacher, ctx):
    compress(teacher, {"method": "distill", "layers": 1, **TRAIN}, ctx)
    (cached,) = (ctx.cache_dir / "teacher-scores").glob("*.npz")
    stamp = cached.stat().st_mtime_ns
    compress(teacher, {"method": "distill", "layers": 2, "loss": "distill-mse", **TRAIN}, ctx)
    assert list((ctx.cache_dir / "teacher-scores").glob("*.npz")) == [cached]
    assert cached.stat().st_mtime_ns == stamp


def test_an_interrupted_teacher_pass_resumes_from_its_chunks(teacher, ctx, monkeypatch):
    from rankbench.compress.training import teacher_scores
    from rankbench.models.ranker import BertRanker

    requests = ctx.data.train[:10]
    expected = teacher.torch_ranker().score(requests)
    calls = []
    real = BertRanker.score_pairs

    def dies_at_the_seventh(self, pairs, *args, **kwargs):
        calls.append(pairs)
        if len(calls) == 7:
            raise KeyboardInterrupt  # a kill in the third chunk (requests 6-8)
        return real(self, pairs, *args, **kwargs)

    monkeypatch.setattr(BertRanker, "score_pairs", dies_at_the_seventh)
    with pytest.raises(KeyboardInterrupt):
        teacher_scores(teacher, requests, ctx, chunk=3)
    assert not list((ctx.cache_dir / "teacher-scores").glob("*.npz"))  # no finished-looking file
    calls.clear()
    got = teacher_scores(teacher, requests, ctx, chunk=3)
    assert len(calls) == 4  # the two kept chunks (6 requests) are not scored again
    assert all(np.allclose(g, e, atol=1e-6) for g, e in zip(got, expected, strict=True))
    assert len(list((ctx.cache_dir / "teacher-scores").glob("*.npz"))) == 1
    assert not list((ctx.cache_dir / "teacher-scores").glob("*.parts"))
