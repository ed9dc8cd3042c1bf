"""`rankbench serve` for real: concurrent answers equal the in-process scores, every bad request gets
its 4xx and the service keeps serving, `rankbench load` drives it with LoadGen, SIGINT stops it.
All traffic goes to 127.0.0.1; every loop is bounded."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from rankbench.cli import main


def _in_process_scores(artifact, request) -> np.ndarray:
    from rankbench.bench.backends import BackendOptions, get_backend
    from rankbench.models.encoder import PairEncoder

    encoder = PairEncoder.from_folder(artifact.path)
    with get_backend("torch").prepare(artifact, BackendOptions(threads=1)) as session:
        return np.asarray(session.run(encoder.encode(request.pairs())), dtype=np.float64)


def _body(request, by_id: bool = False) -> dict:
    cands = [c.id if by_id else {"id": c.id, "text": c.text} for c in request.candidates]
    return {"context": request.context, "candidates": cands}


def test_concurrent_answers_equal_the_in_process_scores(served, service_files):
    artifact, _, requests = service_files
    bodies = [_body(r, by_id=k % 2 == 1) for k, r in enumerate(requests)] * 2  # texts and catalog ids
    with ThreadPoolExecutor(8) as pool, httpx.Client(timeout=60) as client:
        answers = list(pool.map(lambda b: client.post(f"{served.url}/rank", json=b), bodies))
    assert [a.status_code for a in answers] == [200] * len(bodies)
    for k, answer in enumerate(answers):
        request = requests[k % len(requests)]
        got = answer.json()
        expected = _in_process_scores(artifact, request)
        np.testing.assert_allclose(got["scores"], expected, rtol=1e-4, atol=1e-4)
        assert got["order"] == [request.candidates[j].id for j in np.argsort(-np.asarray(got["scores"]), kind="stable")]
    assert max(a.json()["batch_requests"] for a in answers) >= 1
    health = httpx.get(f"{served.url}/health", timeout=10).json()
    assert health["catalog_items"] == sum(len(r.candidates) for r in requests) and health["catalog_path"]


BAD = [
    ("malformed JSON", b'{"context": "x", "candidates": [', 400, "malformed JSON"),
    ("not an object", b'[1, 2]', 422, "JSON object"),
    ("missing candidates", b'{"context": "x"}', 422, "candidates is missing"),
    ("empty candidates", b'{"context": "x", "candidates": []}', 422, "empty"),
    ("context a number", b'{"context": 5, "candidates": ["a"]}', 422, "context must be a string"),
    ("candidates a string", b'{"context": "x", "candidates": "i0-1"}', 422, "must be a list"),
    ("text a number", b'{"context": "x", "candidates": [{"id": "a", "text": 7}]}', 422, "text must be a string"),
    ("unknown catalog id", b'{"context": "x", "candidates": ["no-such-item"]}', 422, "not in the catalog"),
    ("duplicate id", b'{"context": "x", "candidates": [{"id": "a", "text": "t"}, {"id": "a", "text": "u"}]}',
     422, "more than once"),
    ("10 000 candidates", json.dumps({"context": "x", "candidates": [{"id": str(i), "text": "t"}
                                                                     for i in range(10_000)]}).encode(), 413, "at most"),
    ("huge text", json.dumps({"context": "x", "candidates": [{"id": "a", "text": "word " * 20_000}]}).encode(),
     413, "characters"),
    ("huge body", b'{"context": "' + b"x" * (5 * 2**20) + b'", "candidates": ["a"]}', 413, "bytes"),
]


@pytest.mark.parametrize("name,body,status,message", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_get_a_4xx_and_the_service_keeps_serving(served, service_files, name, body, status, message):
    _, _, requests = service_files
    with httpx.Client(timeout=60) as client:
        answer = client.post(f"{served.url}/rank", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == status, answer.text
        assert message in answer.json()["error"]
        good = client.post(f"{served.url}/rank", json=_body(requests[0]))
        assert good.status_code == 200 and len(good.json()["order"]) == len(requests[0].candidates)
    metrics = httpx.get(f"{served.url}/metrics", timeout=10).text
    assert f'rankbench_requests_total{{code="{status}"}}' in metrics


def test_rankbench_load_drives_the_service_with_loadgen(served, service_files, tmp_path, capsys):
    from rankbench.bench.results import read_results, write_results
    from rankbench.reports.plots import p99_vs_load
    from tests.reports.results_factory import sample_results

    _, catalog, requests = service_files
    write_results(tmp_path / "results.json", sample_results())
    code = main(["load", served.url, "--dataset", str(catalog), "--requests", "4", "--candidates", "12",
                 "--by-id", "--p99-ms", "5000", "--rates", "4", "--seconds", "1.5", "--out", str(tmp_path),
                 "--attach", str(tmp_path / "results.json")])
    assert code == 0, capsys.readouterr().err
    out = json.loads((tmp_path / "load.json").read_text())
    point = out["points"][0]
    summary = point["loadgen"]["summary"]  # LoadGen's own mlperf_log_summary.txt, parsed
    assert summary["Scenario"] == "Server" and summary["Result is"] == point["loadgen"]["validity"]
    assert summary["target_qps"] == 4 and summary["Completed samples per second"] > 0
    assert point["statuses"] == {"200": len(point["samples_ms"])} and point["passed"]
    assert out["max_rate_under_sla_rps"] == 4 and out["health"]["backend"] == "torch"
    metrics = httpx.get(f"{served.url}/metrics", timeout=10).text
    assert "rankbench_batch_requests_count" in metrics and "rankbench_model_seconds_sum" in metrics
    attached = read_results(tmp_path / "results.json")["served"][0]  # schema-valid, beside the in-process cells
    assert attached["backend"] == "torch" and attached["points"][0]["rate_rps"] == 4
    assert "served over HTTP" in p99_vs_load(read_results(tmp_path / "results.json"), 5000.0)


def test_sigint_stops_the_service_cleanly(served):
    assert served.stop() == 0
    assert "stopped" in "".join(served.output)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{served.url}/health", timeout=5)
