"""Score files keep scores per request: a run on more users scores only the new ones, and a score
file cut off by a kill loses only the line being written."""
from __future__ import annotations

import numpy as np

import rankbench.bench.parity as parity
from rankbench.bench.scores import ScoreFile, reference_scores_of, request_key
from rankbench.models.metrics import evaluate
from tests.bench.conftest import make_requests


def evaluate_accuracy(artifact, requests, cache):
    scores, scorer = reference_scores_of(artifact, requests, cache)
    return {**evaluate(scores, requests), "backend": scorer}


def read_scores(path):
    return ScoreFile(path).rows


def _count_scored(monkeypatch) -> list:
    scored = []
    real = parity.score_requests

    def counting(run, encoder, requests, **kw):
        scored.extend(r.id for r in requests)
        return real(run, encoder, requests, **kw)

    monkeypatch.setattr(parity, "score_requests", counting)
    return scored


def test_more_users_scores_only_the_new_requests(tiny_artifact, tmp_path, monkeypatch):
    requests = make_requests(n_requests=5, n_candidates=8)
    scored = _count_scored(monkeypatch)
    first = evaluate_accuracy(tiny_artifact, requests[:2], tmp_path)
    assert scored == [r.id for r in requests[:2]]
    full = evaluate_accuracy(tiny_artifact, requests, tmp_path)
    assert scored == [r.id for r in requests]  # the first two were not scored again
    assert first["users"] == 2 and full["users"] == 5 and full["backend"] == "torch fp32 cpu"

    # the metrics are those of the stored scores, which are the session's scores
    stored = read_scores(tmp_path / f"{tiny_artifact.name}-{tiny_artifact.hash}.scores.jsonl")
    expected = evaluate([np.asarray(stored[request_key(r)]["scores"]) for r in requests], requests)
    assert full["ndcg@10"] == expected["ndcg@10"] and full["auc"] == expected["auc"]
    assert len({tuple(row["scores"]) for row in stored.values()}) == 5  # real, distinct scores


def test_cut_off_line_is_scored_again(tiny_artifact, tmp_path, monkeypatch):
    requests = make_requests(n_requests=3, n_candidates=8)
    before = evaluate_accuracy(tiny_artifact, requests, tmp_path)
    path = tmp_path / f"{tiny_artifact.name}-{tiny_artifact.hash}.scores.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])  # a kill mid-write

    scored = _count_scored(monkeypatch)
    after = evaluate_accuracy(tiny_artifact, requests, tmp_path)
    assert scored == [requests[2].id]
    assert after["ndcg@10"] == before["ndcg@10"]
    assert set(read_scores(path)) == {request_key(r) for r in requests}


def test_same_id_with_other_candidates_is_scored_again(tiny_artifact, tmp_path, monkeypatch):
    import dataclasses

    requests = make_requests(n_requests=2, n_candidates=8)
    evaluate_accuracy(tiny_artifact, requests, tmp_path)
    changed = [requests[0], dataclasses.replace(requests[1], candidates=requests[1].candidates[::-1])]
    scored = _count_scored(monkeypatch)
    evaluate_accuracy(tiny_artifact, changed, tmp_path)
    assert scored == [requests[1].id]  # same id, other candidate order: its old scores do not apply
