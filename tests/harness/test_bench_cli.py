"""`rankbench bench` end to end on the tiny model; and (slow) the three CPU backends agree with
PyTorch fp32 on the real MiniLM-L6 within the fp32 thresholds."""
from __future__ import annotations

import pytest

from bench.cli import main as rankbench
from bench.results import read_results


def test_bench_command_on_a_preset(tmp_path, capsys):
    out = tmp_path / "run"
    code = rankbench(["bench", "--preset", "tiny-random", "--dataset", "synthetic", "--backends",
                      "torch:threads=1,tensorrt", "--scenarios", "single-stream", "--out", str(out),
                      "--users", "3", "--latency-requests", "2", "--parity-requests", "2",
                      "--min-samples", "2", "--min-seconds", "0", "--quiet"])
    assert code == 0
    results = read_results(out / "results.json")
    statuses = {c["backend"]: c["status"] for c in results["cells"]}
    assert statuses["torch"] == "ok" and statuses["tensorrt"] in ("unavailable", "ok")
    assert (out / "artifacts" / "tiny-random" / "artifact.json").is_file()
    assert results["run"]["harness_overhead_us"] < 20
    assert rankbench(["bench", "--preset", "tiny-random", "--backends", "tpu-magic", "--out", str(out)]) == 2
    assert "known backends" in capsys.readouterr().err


@pytest.mark.slow
def test_cpu_backends_match_torch_on_minilm(tmp_path):
    from bench.backends import BackendOptions, PairEncoder, get_backend
    from bench.parity import check_parity, reference_scores
    from compress.artifact import Artifact
    from models.data import DataConfig, load_data
    from models.presets import load_ranker

    artifact = Artifact.from_ranker(load_ranker("minilm-l6"), tmp_path / "minilm", name="minilm")
    requests = load_data(DataConfig()).test[:2]
    encoder = PairEncoder.from_folder(artifact.path)
    reference, name = reference_scores(artifact, encoder, requests)
    for backend in ("onnxruntime", "xla"):
        with get_backend(backend).prepare(artifact, BackendOptions()) as session:
            figures = check_parity(session, encoder, requests, reference, "fp32", name)
        assert figures["passed"], (backend, figures)
