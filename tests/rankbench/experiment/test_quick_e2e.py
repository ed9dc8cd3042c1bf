"""experiments/quick.toml end to end on the real model and data (slow; CI runs it)."""
import json
from pathlib import Path

import pytest

from rankbench.cli import main
from rankbench.bench.results import read_results

ROOT = Path(__file__).parents[3]


@pytest.mark.slow
def test_quick_experiment_end_to_end(tmp_path, monkeypatch):
    out = tmp_path / "quick"
    assert main(["run", str(ROOT / "experiments" / "quick.toml"), "--out", str(out)]) == 0
    for name in ("results.json", "report.html", "summary.md", "decision.json"):
        assert (out / name).is_file(), name
    results = read_results(out / "results.json")
    assert set(results["artifacts"]) == {"teacher", "distill-l2", "ort-int8-dynamic", "prune-heads-50+int8"}
    assert results["artifacts"]["teacher"]["accuracy"]["users"] == 40
    # Cell ids are canonical: the scenario's non-default parameters are part of them.
    by_status = {c["id"].split("[")[0]: c["status"] for c in results["cells"]}
    assert by_status["teacher/torch/single-stream"] == "ok"
    assert by_status["teacher/openvino/single-stream"] == "ok"  # f32 OpenVINO agrees with torch fp32
    assert "distill-l2/openvino/single-stream" not in by_status  # quick.toml limits openvino to the teacher
    # An ONNX INT8 file cannot run in PyTorch: recorded with its reason, never silently dropped.
    assert by_status["ort-int8-dynamic/torch/single-stream"] == "unavailable"
    assert by_status["ort-int8-dynamic/onnxruntime/single-stream"] in ("ok", "invalid")
    # quick.toml limits the offline scenario to two variants
    assert {c.split("/")[0] for c in by_status if c.endswith("/offline")} == {"teacher", "distill-l2"}
    # Every ok cell carries its own accuracy with intervals (reused from its reference run or its own).
    for cell in results["cells"]:
        if cell["status"] == "ok":
            assert cell["accuracy"]["users"] == 40 and cell["accuracy"]["retention_ci"], cell["id"]
    decision = json.loads((out / "decision.json").read_text())
    assert "choice" in decision and "claims" in decision
    # Where the run's time went, stage by stage, in the order they ran.
    assert list(results["run"]["stage_seconds"]) == [
        "data and teacher", "builds", "reference scores", "cells", "cell accuracy", "baselines",
        "confirmation", "reports"]
    assert results["run"]["stage_seconds"]["data and teacher"] > 0
    assert "<dt>Run time</dt><dd>data and teacher " in (out / "report.html").read_text()

    # A second run measures nothing again: every measured cell comes from its cache file
    # ("unavailable" cells are re-checked, which costs nothing and notices a newly installed backend).
    cells = [p for p in sorted((out / "cells").glob("*.json"))
             if json.loads(p.read_text())["status"] != "unavailable"]
    assert len(cells) >= 6
    stamps = {p: p.stat().st_mtime_ns for p in cells}
    assert main(["run", str(ROOT / "experiments" / "quick.toml"), "--out", str(out)]) == 0
    assert {p: p.stat().st_mtime_ns for p in cells} == stamps
