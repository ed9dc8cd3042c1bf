"""rankbench.reports.compare, the CI gate: every figure of every cell is judged, cells keep their
identity, a real slow-down fails and noise does not, and no hole lets a broken run pass."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from rankbench.reports.compare import compare
from rankbench.reports.gate import Thresholds, judge_latency
from results_factory import draw, sample_results, subset

SLOW_CELL = "distill-l3/torch/single-stream"
H200 = Path(__file__).resolve().parents[2] / "results" / "reference" / "2026-11-28-NVIDIA_H200" / "results.json"


@pytest.fixture(scope="module")
def base():
    return sample_results(seed=1)


def regressions(base, new, **thresholds):
    return [(r.key, r.what) for r in compare(base, new, Thresholds(**thresholds)).regressions]


def test_a_real_30_percent_slowdown_is_flagged(base):
    new = sample_results(seed=2, slowdown={SLOW_CELL: 1.3})
    result = compare(base, new)
    assert {(r.key, r.what) for r in result.regressions} == {(SLOW_CELL, "p99 ms"), (SLOW_CELL, "p50 ms")}
    assert all("CI [" in r.detail for r in result.regressions) and "REGRESSION" in result.markdown()


def test_two_runs_of_the_same_cells_are_not_flagged(base):
    result = compare(base, sample_results(seed=2))  # an independent draw of the same cells: only noise
    assert result.regressions == [] and "no regression" in result.markdown()
    judged = result.judged_cells()
    assert len(judged) == sum(1 for c in base["cells"] if c["status"] == "ok")  # every ok cell judged


@pytest.mark.parametrize("seed", range(5))
def test_noise_alone_never_fails_a_single_cell(seed):
    rng = np.random.default_rng(100 + seed)
    row = judge_latency("cell", "p99 ms", draw(rng, 20.0, 700), draw(rng, 20.0, 700), 99, 0.10, Thresholds())
    assert not row.regression, row


def test_a_small_slowdown_within_the_threshold_is_not_a_regression():
    rng = np.random.default_rng(7)
    row = judge_latency("cell", "p99 ms", draw(rng, 20.0, 2000), draw(rng, 21.0, 2000), 99, 0.10, Thresholds())
    assert not row.regression


def test_accuracy_drop_beyond_threshold_is_a_regression_paired_per_request(base):
    new = copy.deepcopy(base)
    for cell in new["cells"]:
        acc = cell.get("accuracy")
        if acc and cell["id"] == "int8-dynamic/onnxruntime/single-stream":
            acc["per_request"]["ndcg@10"] = [v - 0.01 for v in acc["per_request"]["ndcg@10"]]
        elif acc and cell["id"] == SLOW_CELL:
            acc["per_request"]["ndcg@10"] = [v - 0.002 for v in acc["per_request"]["ndcg@10"]]  # within 0.005
    assert regressions(base, new) == [("int8-dynamic/onnxruntime/single-stream", "ndcg@10")]


def test_holes_are_regressions(base):
    cases = {
        "a missing cell": lambda run: run["cells"].remove(next(c for c in run["cells"] if c["id"] == SLOW_CELL)),
        "ok -> unavailable": lambda run: _cell(run, SLOW_CELL).update(status="unavailable", reason="no GPU"),
        "accuracy became null": lambda run: _cell(run, SLOW_CELL).update(accuracy=None),
        "3 samples left": lambda run: _cell(run, SLOW_CELL).update(samples_ms=[30.0, 31.0, 29.0]),
        "a NaN sample": lambda run: _cell(run, SLOW_CELL)["samples_ms"].__setitem__(0, float("nan")),
    }
    for name, change in cases.items():
        new = copy.deepcopy(base)
        change(new)
        found = regressions(base, new, min_samples=10)
        assert found and all(key.startswith(SLOW_CELL) for key, _ in found), (name, found)
    empty = dict(copy.deepcopy(base), cells=[])
    assert ("(run)", "cells") in regressions(base, empty)
    new = copy.deepcopy(base)
    new["cells"].remove(_cell(new, SLOW_CELL))
    assert regressions(base, new, allow_missing=True) == []


def test_the_best_batch_flipping_is_not_a_regression(base):
    new = sample_results(seed=2)
    for cell in new["cells"]:
        if cell["scenario"] == "offline":  # the "best" batch changes, every batch size is the same
            cell["samples_ms"] = cell["points"][0]["samples_ms"]
            cell["stats"] = cell["points"][0]["stats"]
    assert regressions(base, new) == []


def test_a_server_that_sustains_less_load_is_a_regression(base):
    new = copy.deepcopy(base)
    server = next(c for c in new["cells"] if c["scenario"] == "server")
    server["max_rate_under_sla_rps"] *= 0.7
    assert regressions(base, new) == [(server["id"], "max rate rps")]


def test_a_simulated_server_cell_is_judged_by_its_rate_not_its_simulated_latencies(base):
    old, new = copy.deepcopy(base), copy.deepcopy(base)
    for run in (old, new):
        for cell in run["cells"]:
            if cell["scenario"] == "server":
                cell["scenario"] = "server-sim"
    sim = next(c for c in new["cells"] if c["scenario"] == "server-sim")
    before = next(c for c in old["cells"] if c["id"] == sim["id"])
    before["samples_ms"], sim["samples_ms"] = [100.0] * 50, [300.0] * 50  # simulated: not judged as latencies
    assert regressions(old, new) == []
    sim["max_rate_under_sla_rps"] *= 0.7
    assert regressions(old, new) == [(sim["id"], "max rate rps")]


def test_cells_differing_only_in_options_keep_their_identity(base):
    run = subset(base, {"teacher"})
    fp16 = copy.deepcopy(_cell(run, "teacher/torch/single-stream"))
    fp16.update(id="teacher/torch:fp16/single-stream", backend_options={"precision": "fp16"},
                samples_ms=[x / 3 for x in fp16["samples_ms"]])
    run["cells"].append(fp16)
    result = compare(run, copy.deepcopy(run))
    assert {"teacher/torch/single-stream", "teacher/torch:fp16/single-stream"} <= result.judged_cells()


def _cell(run, cell_id):
    return next(c for c in run["cells"] if c["id"] == cell_id)


def test_committed_h200_results_against_themselves_judge_every_ok_cell(tmp_path):
    from rankbench.bench.results import read_results
    from rankbench.cli import main

    results = read_results(H200)  # a v1 file, read through the upgrade
    ok = {c["id"] for c in results["cells"] if c["status"] == "ok"}
    result = compare(results, copy.deepcopy(results))
    assert len(ok) == 10 and result.judged_cells() == ok and result.regressions == []
    assert main(["compare", str(H200), str(H200)]) == 0
    fewer = json.loads(H200.read_text())
    fewer["cells"] = [c for c in fewer["cells"] if c["id"] != sorted(ok)[0]]
    path = tmp_path / "fewer.json"
    path.write_text(json.dumps(fewer))
    assert main(["compare", str(H200), str(path)]) == 1


def test_cli_exit_codes_and_machine_check(tmp_path, base, capsys):
    from rankbench.cli import main

    base_path, same_path, slow_path, other_path = (tmp_path / f"{n}.json" for n in ("base", "same", "slow", "other"))
    few = {"teacher", "distill-l3"}
    base_path.write_text(json.dumps(subset(base, few)))
    same_path.write_text(json.dumps(subset(sample_results(seed=2), few)))
    slow_path.write_text(json.dumps(subset(sample_results(seed=2, slowdown={SLOW_CELL: 1.3}), few)))
    assert main(["compare", str(base_path), str(same_path)]) == 0
    assert main(["compare", str(base_path), str(slow_path)]) == 1
    out = capsys.readouterr().out
    assert "| cell | what | base | new | change | verdict |" in out and SLOW_CELL in out
    other = subset(sample_results(seed=2), few)
    other["environment"] = dict(other["environment"], isa=["avx2", "avx512f", "avx512_vnni"])  # same name, other ISA
    other_path.write_text(json.dumps(other))
    assert main(["compare", str(base_path), str(other_path)]) == 2
    err = capsys.readouterr().err
    assert "refusing to compare" in err and "isa differs" in err and "--force" in err
    assert main(["compare", str(base_path), str(other_path), "--force"]) == 0
    assert "different machines" in capsys.readouterr().out
