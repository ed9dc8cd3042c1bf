"""scripts/load_benchmark.py end to end on two tiny random rankers: every code path of the README's
serving benchmark (in-process LoadGen search, simulation, served over HTTP, catalog on/off, goals)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_load_benchmark_runs_every_stage(service_files, tmp_path, capsys):
    from rankbench.compress.artifact import Artifact
    from rankbench.models.presets import load_ranker

    artifact, catalog, _ = service_files
    other = Artifact.from_ranker(load_ranker("tiny-random", seed=1, max_length=32), tmp_path / "small", name="small")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import load_benchmark
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    out_file = tmp_path / "bench.json"
    assert load_benchmark.main(["--teacher", str(artifact.path), "--variant", str(other.path), "--backend",
                                "torch:threads=1", "--p99-ms", "3000", "--dataset", str(catalog), "--requests", "4",
                                "--candidates", "12", "--seconds-per-rate", "0.5", "--max-levels", "2",
                                "--samples", "3", "--pin", "--model-threads", "1", "--out", str(out_file)]) == 0
    import json
    import os

    out = json.loads(out_file.read_text())
    assert set(out["models"]) == {"teacher", "variant"} and out["sla_p99_ms"] == 3000
    for model in out["models"].values():
        assert model["server"]["points"] and all(p["loadgen"]["validity"] for p in model["server"]["points"])
        assert model["served"]["points"] and model["same_rate"]  # the same rates, in process and over HTTP
        for row in model["same_rate"]:
            assert 0 < row["ratio_ci"][0] <= row["ratio_ci"][1] and row["p50_ratio"] > 0 and row["samples"][0] > 0
        assert set(model["single_stream_catalog"]["parts_p50_ms"]) == {"context_tokenize", "assemble", "model", "sort"}
        assert set(model["single_stream_plain"]["parts_p50_ms"]) == {"tokenize", "model", "sort"}
        assert model["server_sim"]["points"]
    assert set(out["goals"]) >= {"rate_ratio_at_least_5", "teacher_served_p99_within_15pct",
                                 "variant_served_p99_within_15pct", "variant_served_p99_resolved_to_15pct",
                                 "prepare_under_1pct"}
    cpus = sorted(os.sched_getaffinity(0))  # --pin: the model on all CPUs but the last, the client on it
    assert out["cpus"] == ({"model": cpus[:-1], "client": cpus[-1:]} if len(cpus) > 1 else
                           {"model": None, "client": None})
    assert all(m["target"]["options"]["threads"] == 1 for m in out["models"].values())
    assert "| teacher (teacher, torch:fp32:threads=1)" in capsys.readouterr().out
