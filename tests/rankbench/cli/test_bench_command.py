"""`rankbench bench` end to end on the tiny model."""
from __future__ import annotations

from rankbench.cli import main as rankbench
from rankbench.bench.results import read_results


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
