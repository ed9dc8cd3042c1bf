"""scripts/gpu_check.sh --cpu with a bundle: the path a GPU machine runs, on the CPU with tiny settings
(a tiny random teacher, made-up MovieLens files), from the bundle to results.json and per-cell accuracy."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"


def test_without_a_bundle_it_says_how_to_make_one(tmp_path):
    out = subprocess.run(["bash", str(SCRIPT), "--cpu", "--bundle", str(tmp_path / "none"), str(tmp_path / "d")],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHON": sys.executable})
    assert out.returncode == 2 and "make_gpu_bundle.py" in out.stderr


@pytest.mark.slow
def test_gpu_check_cpu_path_with_a_bundle(tmp_path, fake_movielens):
    import torch

    from rankbench.bench.results import read_results
    from rankbench.compress.onnx_types import qdq_problems
    from rankbench.models.bundle import make_bundle
    from rankbench.models.presets import load_ranker

    ranker = load_ranker("tiny-random", seed=0, max_length=48)
    with torch.no_grad():
        ranker.model.classifier.weight.mul_(100.0)  # scores that spread, so parity means something
    make_bundle(ranker.save(tmp_path / "teacher"), fake_movielens, tmp_path / "bundle")
    env = {**os.environ, "PYTHON": sys.executable, "GPU_CHECK_WORK": str(tmp_path / "work")}
    out = subprocess.run(["bash", str(SCRIPT), "--cpu", "--bundle", str(tmp_path / "bundle"), str(tmp_path / "dest")],
                         capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    log = (tmp_path / "dest" / "gpu_check.log").read_text() if (tmp_path / "dest" / "gpu_check.log").is_file() else ""
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "stopped early" not in log, log[-3000:]
    results = read_results(tmp_path / "dest" / "results.json")  # schema-checked
    cells = {c["id"]: c for c in results["cells"]}
    ok = {i for i, c in cells.items() if c["status"] == "ok"}
    assert {"teacher/torch:device=cpu/single-stream", "teacher/torch:device=cpu+fixed_shapes/offline",
            "distilled/xla:device=cpu/offline", "teacher+int8-qdq/onnxruntime/single-stream"} <= ok
    assert cells["teacher/xla:device=cpu/offline"]["backend_info"]["matmul_precision"] == "highest"
    assert "TensorRT" in cells["teacher+int8-qdq/tensorrt:int8/offline"]["reason"] or \
        "tensorrt" in cells["teacher+int8-qdq/tensorrt:int8/offline"]["reason"]
    assert "CUDA" in cells["teacher/torch:fp16+device=cpu+cuda_graphs/offline"]["reason"]
    rows = {r["id"]: r for r in json.loads((tmp_path / "dest" / "accuracy_per_cell.json").read_text())}
    assert all(rows[i]["accuracy"] and rows[i]["accuracy"]["users"] == 4 for i in ok), rows
    assert "NDCG@10" in (tmp_path / "dest" / "summary.md").read_text()
    variants = json.loads((tmp_path / "work" / "variants.json").read_text())
    assert set(variants) == {"teacher", "distilled", "teacher+int8-qdq"}
    assert qdq_problems(Path(variants["teacher+int8-qdq"]) / "model.onnx") == []
    assert json.loads((Path(variants["distilled"]) / "config.json").read_text())["num_hidden_layers"] == 1
