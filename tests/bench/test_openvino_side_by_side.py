"""scripts/openvino_side_by_side.py on the tiny model: every code path the real run takes (building
the INT8 variant and the chain, interleaved timing, NDCG, ratios, the JSON it writes) in seconds."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import rankbench.models.openvino_model  # noqa: E402,F401 - before nncf: no telemetry without consent

pytest.importorskip("nncf", reason="the nncf package is not installed")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "openvino_side_by_side.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("openvino_side_by_side", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_side_by_side_script_runs_on_the_tiny_model(script, tiny_artifact, tiny_data, tmp_path, capsys):
    chain = [{"method": "distill", "layers": 1, "max_steps": 2}, {"method": "quantize-openvino-int8",
                                                                  "calibration_requests": 8}]
    result = script.side_by_side(tiny_artifact, tiny_data, tmp_path, rounds=3, users=2, latency_requests=2,
                                 threads=1, chain=chain, gap_s=0)
    assert json.loads((tmp_path / "side_by_side.json").read_text()) == json.loads(json.dumps(result))
    rows = {row["config"]: row for row in result["rows"]}
    expected = {"torch fp32", "onnxruntime fp32", "openvino f32", "openvino int8 (rest f32)",
                "distill-l3 + openvino int8 (rest f32)"}
    assert expected <= set(rows)
    assert all(len(row["samples_ms"]) == 3 and row["p50_ms"] > 0 for row in rows.values())
    assert rows["torch fp32"]["speedup"] == 1.0 and rows["torch fp32"]["retention"] == 1.0
    # fp32 runtimes rank exactly as torch does; the ratios are computed, not copied.
    assert rows["openvino f32"]["ndcg@10"] == rows["torch fp32"]["ndcg@10"]
    assert rows["openvino f32"]["speedup"] == pytest.approx(rows["torch fp32"]["p50_ms"] / rows["openvino f32"]["p50_ms"],
                                                            abs=0.011)  # from the unrounded p50s
    assert result["users"] == 2 and result["candidates_per_request"] == len(tiny_data.test[0].candidates)
    assert isinstance(result["environment"]["cpu"]["flags"], list) and result["environment"]["threads"] == 1
    assert set(result["goals_met_by"]) == {"openvino int8 of the teacher: >= 5x at retention >= 0.99",
                                           "distilled + openvino int8: >= 10x at retention >= 0.99"}
    script.print_table(result)
    assert "openvino int8 (rest f32)" in capsys.readouterr().out


def test_goals_count_only_configurations_that_meet_both_ratios(script):
    rows = [{"config": "openvino int8 (rest f32)", "speedup": 5.2, "retention": 0.995},
            {"config": "openvino int8 (rest bf16)", "speedup": 6.0, "retention": 0.98},
            {"config": "distill-l3 + openvino int8 (rest f32)", "speedup": 9.9, "retention": 1.0},
            {"config": "distill-l3 + openvino int8 (rest bf16)", "speedup": 10.1, "retention": 0.991}]
    met = script.goals(rows)
    assert met["openvino int8 of the teacher: >= 5x at retention >= 0.99"] == ["openvino int8 (rest f32)"]
    assert met["distilled + openvino int8: >= 10x at retention >= 0.99"] == ["distill-l3 + openvino int8 (rest bf16)"]
