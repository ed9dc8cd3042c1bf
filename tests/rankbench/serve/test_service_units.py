"""The service in-process (ASGI, no network): overload answers 503 at once and a stuck model 503
after the timeout, never a hang; the decision names what to serve; request checks and limits."""
from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest

from rankbench.serve.requests import Limits, RequestError, parse_rank_request
from rankbench.serve.service import BatchSettings, RankService, ServeTarget


class _Slow:
    device = "cpu"

    def __init__(self, seconds: float):
        self.seconds = seconds

    def run(self, batch):
        time.sleep(self.seconds)
        return np.zeros(batch["input_ids"].shape[0], dtype=np.float32)

    def synchronize(self):
        pass

    def close(self):
        pass


def _service(seconds: float, limits: Limits) -> RankService:
    from transformers import AutoTokenizer

    from rankbench.models.encoder import PairEncoder
    from rankbench.models.presets import minilm_path

    encoder = PairEncoder(AutoTokenizer.from_pretrained(minilm_path()), 32)
    return RankService(_Slow(seconds), encoder, ServeTarget("none"), BatchSettings(max_batch=1), limits)


async def _post_many(app, n: int) -> list[tuple[int, dict]]:
    import httpx

    body = {"context": "watched: heat", "candidates": [{"id": "a", "text": "ronin"}, {"id": "b", "text": "babe"}]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=30) as c:
        answers = await asyncio.gather(*(c.post("/rank", json=body) for _ in range(n)))
    return [(a.status_code, a.json()) for a in answers]


def test_a_full_queue_is_answered_503_at_once():
    from rankbench.serve.app import create_app

    service = _service(0.3, Limits(max_queue=1, timeout_s=20))
    try:
        answers = asyncio.run(asyncio.wait_for(_post_many(create_app(service), 6), timeout=20))
    finally:
        service.close()
    codes = sorted(code for code, _ in answers)
    assert codes.count(200) >= 1 and codes.count(503) >= 3, codes  # one served, one queued, the rest refused
    assert all("overloaded" in body["error"] for code, body in answers if code == 503)


def test_a_request_not_served_in_time_gets_503_not_a_hang():
    from rankbench.serve.app import create_app

    service = _service(1.0, Limits(max_queue=8, timeout_s=0.2))
    try:
        answers = asyncio.run(asyncio.wait_for(_post_many(create_app(service), 2), timeout=20))
    finally:
        service.close()
    assert [code for code, _ in answers] == [503, 503]
    assert all("not answered within" in body["error"] or "shed" in body["error"] for _, body in answers)


def test_the_decision_names_artifact_backend_and_options(tmp_path):
    results = {"run": {"experiment": {"data": {"dataset": "synthetic", "history_len": 2}}},
               "artifacts": {"v1": {"name": "v1", "format": "onnx", "path": str(tmp_path / "art")}},
               "cells": [{"id": "v1/onnxruntime:threads=2/single-stream", "backend_options": {"threads": 2}}]}
    (tmp_path / "results.json").write_text(json.dumps(results))
    decision = {"results": "elsewhere/results.json",  # as written by a run in another folder: found beside
                "choice": {"cell_id": "v1/onnxruntime:threads=2/single-stream", "variant": "v1",
                           "backend": "onnxruntime"}}
    (tmp_path / "decision.json").write_text(json.dumps(decision))
    target = ServeTarget.from_decision(tmp_path / "decision.json")
    assert target == ServeTarget(str(tmp_path / "art"), "onnxruntime", {"threads": 2}, "v1",
                                 {"dataset": "synthetic", "history_len": 2})  # its items: the catalog
    (tmp_path / "decision.json").write_text(json.dumps({**decision, "choice": None}))
    with pytest.raises(ValueError, match="no choice to serve"):
        ServeTarget.from_decision(tmp_path / "decision.json")


def test_serve_refuses_a_missing_decision_before_loading_anything(tmp_path, capsys):
    from rankbench.cli import main

    assert main(["serve", "--decision", str(tmp_path / "none.json"), "--port", "0"]) == 2
    assert "no decision file" in capsys.readouterr().err


def test_requests_are_checked_field_by_field():
    limits = Limits(max_candidates=3, max_text_chars=10)
    catalog = {"i1": "Heat (1995)"}.get
    query = parse_rank_request(b'{"context": "c", "candidates": ["i1", {"id": "x", "text": "t"}]}', catalog, limits)
    assert query.ids == ("i1", "x") and query.texts == ("Heat (1995)", "t")
    cases = [(b'{"context": "c", "candidates": ["a", "b", "c", "d"]}', 413),
             (b'{"context": "c", "candidates": [{"id": "x", "text": "0123456789ab"}]}', 413),
             (b'{"context": "c", "candidates": [{"id": "", "text": "t"}]}', 422),
             (b'{"context": "c", "candidates": [{"id": "x", "text": "t", "label": 1}]}', 422),
             (b'{"context": "c", "candidates": [3]}', 422), (b'{"candidates": ["i1"]}', 422),
             (b'{"context": "c", "candidates": ["i1"], "extra": 1}', 422), (b'\xff\xfe', 400)]
    for body, status in cases:
        with pytest.raises(RequestError) as err:
            parse_rank_request(body, catalog, limits)
        assert err.value.status == status, body
    with pytest.raises(ValueError, match="max_queue"):
        Limits(max_queue=0)
