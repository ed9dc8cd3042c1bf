"""rankbench.reports.select: feasibility, every rejection reason, the Pareto set with ties, objectives, the CLI."""
from __future__ import annotations

import json

import pytest

from rankbench.reports.constraints import Constraints
from rankbench.reports.select import dominates, select
from results_factory import artifact, cell, hand_results

MB = 1_000_000


def ids(candidates):
    return sorted(c.cell_id for c in candidates)


def pareto_case():
    artifacts = {"teacher": artifact("teacher", 0.40, bytes_on_disk=10 * MB),
                 "better": artifact("better", 0.41, bytes_on_disk=10 * MB),
                 "small": artifact("small", 0.39, bytes_on_disk=2 * MB)}
    cells = [cell("teacher", "torch", p99=10.0),          # on the front
             cell("teacher", "ort", p99=10.0),            # exact tie with the one above: both stay
             cell("better", "torch", p99=20.0),           # slower but more accurate: on the front
             cell("teacher", "xla", p99=20.0),            # dominated by teacher/torch (and better/torch)
             cell("small", "torch", p99=5.0),             # fastest, least accurate, smallest: on the front
             cell("better", "xla", p99=1.0, status="invalid",  # would dominate everything, but failed parity
                  parity={"passed": False, "max_abs_diff": 0.3, "spearman": 0.6, "top10_overlap": 0.5},
                  reason="parity failed")]
    return hand_results(artifacts, cells)


def test_pareto_set_keeps_ties_and_drops_dominated_and_invalid_cells():
    decision = select(pareto_case(), Constraints(min_retention=None, objective="p99"))
    assert ids(decision.pareto) == ["better/torch/single-stream", "small/torch/single-stream",
                                    "teacher/ort/single-stream", "teacher/torch/single-stream"]
    dominated = decision.rejection("teacher/xla/single-stream")
    assert dominated.reason == "dominated" and dominated.by in {"teacher/torch/single-stream",
                                                                  "teacher/ort/single-stream",
                                                                  "better/torch/single-stream"}
    invalid = decision.rejection("better/xla/single-stream")
    assert invalid.reason == "status" and "parity" in invalid.detail and "top-10 overlap 0.5" in invalid.detail
    assert decision.choice.cell_id == "small/torch/single-stream"


def test_dominance_needs_strictly_better_somewhere():
    decision = select(pareto_case(), Constraints(min_retention=None))
    torch, ort = (next(c for c in decision.pareto if c.cell_id == f"teacher/{b}/single-stream") for b in ("torch", "ort"))
    assert not dominates(torch, ort) and not dominates(ort, torch)


def test_unknown_size_counts_as_worst_in_the_pareto_set():
    artifacts = {"teacher": artifact("teacher", 0.40, bytes_on_disk=None), "twin": artifact("twin", 0.40)}
    results = hand_results(artifacts, [cell("teacher", "torch", p99=10.0), cell("twin", "torch", p99=10.0)])
    decision = select(results, Constraints(min_retention=None))
    assert ids(decision.pareto) == ["twin/torch/single-stream"]


@pytest.mark.parametrize("objective, expected", [
    ("p99", "small/torch/single-stream"), ("ndcg", "better/torch/single-stream"),
    ("bytes", "small/torch/single-stream"), ("throughput", "small/torch/single-stream")])
def test_objective_picks_from_the_pareto_set(objective, expected):
    decision = select(pareto_case(), Constraints(min_retention=None, objective=objective))
    assert decision.choice.cell_id == expected
    others = [r for r in decision.rejected if r.reason == "objective"]
    assert {r.by for r in others} == {expected} and len(others) == len(decision.pareto) - 1


def test_tie_on_objective_breaks_by_id_deterministically():
    results = pareto_case()
    results["cells"] = [c for c in results["cells"] if c["variant"] == "teacher" and c["backend"] != "xla"]
    first = select(results, Constraints(min_retention=None, objective="p99")).choice.cell_id
    results["cells"].reverse()
    assert select(results, Constraints(min_retention=None, objective="p99")).choice.cell_id == first == \
        "teacher/ort/single-stream"


def every_reason_case():
    artifacts = {"teacher": artifact("teacher", 0.40, bytes_on_disk=10 * MB),
                 "lossy": artifact("lossy", 0.38, bytes_on_disk=5 * MB),
                 "big": artifact("big", 0.40, bytes_on_disk=50 * MB),
                 "nosize": artifact("nosize", 0.40, bytes_on_disk=None),
                 "noacc": artifact("noacc", None),
                 "fast": artifact("fast", 0.40, bytes_on_disk=4 * MB),
                 "sharp": artifact("sharp", 0.401, bytes_on_disk=8 * MB)}
    cells = [cell("teacher", "torch", p99=10.0),                                           # dominated by fast
             cell("fast", "torch", p99=5.0),                                               # chosen
             cell("sharp", "ort", p99=6.0, p50=3.0, pairs_per_s=10.0),                     # Pareto, lower objective
             cell("teacher", "torch", p99=10.0, scenario="offline"),                      # scenario
             cell("teacher", "tpu", p99=1.0, status="unavailable", stats=None, parity=None,
                  reason="backend unavailable: no TPU"),                                  # status unavailable
             cell("teacher", "trt", status="failed", reason="CUDA out of memory"),        # status failed
             cell("teacher", "xla", p99=1.0, status="invalid", reason="parity failed",
                  parity={"passed": False, "max_abs_diff": 0.2, "spearman": 0.5}),         # status invalid
             cell("teacher", "jax"),                                                       # no latency
             cell("noacc", "torch", p99=3.0),                                             # no accuracy
             cell("teacher", "slowbox", p99=80.0),                                        # p99
             cell("lossy", "torch", p99=3.0),                                             # retention
             cell("big", "torch", p99=3.0),                                               # bytes
             cell("nosize", "torch", p99=3.0)]                                            # bytes unknown
    return hand_results(artifacts, cells)


def test_every_rejection_reason_is_recorded():
    results = every_reason_case()
    decision = select(results, Constraints(p99_ms=50, min_retention=0.99, max_bytes=20 * MB))
    reasons = {r.cell_id: r.reason for r in decision.rejected}
    assert decision.choice.cell_id == "fast/torch/single-stream"
    assert reasons == {
        "teacher/torch/single-stream": "dominated", "sharp/ort/single-stream": "objective",
        "teacher/torch/offline": "scenario", "teacher/tpu/single-stream": "status",
        "teacher/trt/single-stream": "status", "teacher/xla/single-stream": "status",
        "teacher/jax/single-stream": "no-latency", "noacc/torch/single-stream": "no-accuracy",
        "teacher/slowbox/single-stream": "p99", "lossy/torch/single-stream": "retention",
        "big/torch/single-stream": "bytes", "nosize/torch/single-stream": "bytes"}
    details = {r.cell_id: r.detail for r in decision.rejected}
    assert "no TPU" in details["teacher/tpu/single-stream"]
    assert "CUDA out of memory" in details["teacher/trt/single-stream"]
    assert "Spearman 0.5" in details["teacher/xla/single-stream"]
    assert "80 ms > 50 ms" in details["teacher/slowbox/single-stream"]
    assert "retention 0.9500 < 0.99" in details["lossy/torch/single-stream"]
    assert "unknown" in details["nosize/torch/single-stream"]
    assert decision.rejection("teacher/torch/single-stream").by == "fast/torch/single-stream"
    # every cell but the choice is accounted for exactly once
    assert len(decision.rejected) == len(results["cells"]) - 1


def test_backend_filter_and_missing_teacher():
    results = every_reason_case()
    decision = select(results, Constraints(min_retention=None, backend="ort"))
    assert decision.choice.cell_id == "sharp/ort/single-stream"
    assert decision.rejection("fast/torch/single-stream").reason == "backend"
    results["run"]["teacher"] = None  # a run without a teacher has no retention anywhere
    for c in results["cells"]:
        if c.get("accuracy"):
            c["accuracy"].update(retention=None, retention_ci=None)
    decision = select(results, Constraints(min_retention=0.99, backend="ort"))
    assert decision.choice is None and decision.rejection("sharp/ort/single-stream").reason == "no-accuracy"


def test_nothing_feasible_lists_closest_misses_nearest_first():
    decision = select(every_reason_case(), Constraints(p99_ms=2.0, min_retention=0.99))
    assert decision.choice is None
    misses = decision.closest_misses
    assert [m.cell_id for m in misses[:2]] == ["big/torch/single-stream", "nosize/torch/single-stream"]
    assert all(m.miss is not None for m in misses) and misses == sorted(misses, key=lambda m: m.miss)
    assert "no cell meets" in decision.why and "closest" in decision.why


def test_constraints_come_from_the_run_and_flags_override():
    results = every_reason_case()
    results["run"]["constraints"] = {"p99_ms": 7.0, "min_retention": 0.99, "objective": "ndcg"}
    constraints = Constraints.for_run(results)
    assert (constraints.p99_ms, constraints.objective) == (7.0, "ndcg")
    assert select(results).choice.cell_id == "sharp/ort/single-stream"
    assert select(results, Constraints.for_run(results, p99_ms=5.5, max_bytes=20 * MB)).choice.cell_id == \
        "fast/torch/single-stream"
    assert Constraints.for_run(results, p99_ms=100.0).p99_ms == 100.0
    with pytest.raises(ValueError, match="constraints: unknown key 'p99'"):
        Constraints.from_dict({"p99": 3})
    with pytest.raises(ValueError, match="objective"):
        Constraints(objective="cheapest")


def test_select_cli_writes_decision_and_exit_codes(tmp_path, capsys):
    from rankbench.cli import main

    path = tmp_path / "results.json"
    path.write_text(json.dumps(every_reason_case()))
    assert main(["select", str(path), "--p99-ms", "50", "--min-retention", "0.99", "--max-bytes", str(20 * MB)]) == 0
    decision = json.loads((tmp_path / "decision.json").read_text())
    assert decision["choice"]["cell_id"] == "fast/torch/single-stream"
    assert {c["cell_id"] for c in decision["pareto"]} == {"fast/torch/single-stream", "sharp/ort/single-stream"}
    assert len(decision["rejected"]) == len(every_reason_case()["cells"]) - 1
    assert all(r["reason"] and r["detail"] for r in decision["rejected"])
    capsys.readouterr()
    out_dir = tmp_path / "strict"
    assert main(["select", str(path), "--p99-ms", "2", "--out", str(out_dir)]) == 3
    printed = capsys.readouterr().out
    assert "nothing feasible" in printed and "big/torch/single-stream" in printed and "p99 3 ms > 2 ms" in printed
    assert json.loads((out_dir / "decision.json").read_text())["choice"] is None


def test_select_on_the_sample_run(sample):
    decision = select(sample)  # constraints from run.constraints
    assert decision.choice is not None and decision.choice.p99_ms <= 50 and decision.choice.retention >= 0.99
    assert decision.choice.backend != "tensorrt"
    assert decision.rejection("int8-dynamic/xla/single-stream").reason == "status"


def test_confidence_judges_the_lower_end_of_the_interval():
    """A retention of 0.995 whose interval reaches below 0.99 passes on the point estimate and fails
    at 95% confidence; the decision says whether the chosen cell's claim holds."""
    artifacts = {"teacher": artifact("teacher", 0.40), "close": artifact("close", 0.398)}
    results = hand_results(artifacts, [cell("teacher", "torch", p99=10.0), cell("close", "torch", p99=5.0)])
    close = next(c for c in results["cells"] if c["variant"] == "close")
    close["accuracy"].update(retention=0.995, retention_ci=[0.97, 1.02])
    point = select(results, Constraints(min_retention=0.99, objective="p99"))
    assert point.choice.cell_id == "close/torch/single-stream"
    assert point.claims["retention_holds"] is False  # chosen, but the claim is not proven at 95%
    strict = select(results, Constraints(min_retention=0.99, objective="p99", confidence=0.95))
    assert strict.choice.cell_id == "teacher/torch/single-stream"
    assert "interval reaches 0.9700 < 0.99" in strict.rejection("close/torch/single-stream").detail
    # Another level is recomputed from the per-request values (paired with the teacher's, whose
    # differences here are constant, so the interval is tight), not read from the stored 95% one.
    at_80 = select(results, Constraints(min_retention=0.99, objective="p99", confidence=0.8))
    assert at_80.choice.cell_id == "close/torch/single-stream"
    with pytest.raises(ValueError, match="confidence"):
        Constraints(confidence=1.5)


def test_cells_of_one_backend_with_other_options_keep_their_identity():
    artifacts = {"teacher": artifact("teacher", 0.40)}
    fp32 = cell("teacher", "torch", p99=10.0, pairs_per_s=1000.0)
    fp16 = cell("teacher", "torch", p99=4.0, pairs_per_s=9000.0, backend_options={"precision": "fp16"})
    fp16["id"] = "teacher/torch:fp16/single-stream"
    decision = select(hand_results(artifacts, [fp32, fp16]), Constraints(min_retention=None, objective="p99"))
    by_id = {c.cell_id: c for c in decision.feasible}
    assert by_id["teacher/torch/single-stream"].pairs_per_s == 1000.0  # not credited with fp16's figure
    assert by_id["teacher/torch:fp16/single-stream"].serving == "torch:fp16"
    assert decision.choice.cell_id == "teacher/torch:fp16/single-stream"
