"""rankbench.reports.compare: a real p99 slow-down fails, noise does not, accuracy and status regressions, machines."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from rankbench.reports.compare import Thresholds, compare, judge_latency
from results_factory import draw, sample_results, subset

SLOW_CELL = "distill-l3/torch/single-stream"


@pytest.fixture(scope="module")
def base():
    return sample_results(seed=1)


def test_a_real_30_percent_p99_slowdown_is_flagged(base):
    new = sample_results(seed=2, slowdown={SLOW_CELL: 1.3})
    result = compare(base, new, Thresholds(max_p99_regression=0.10))
    assert [r.key for r in result.regressions] == [SLOW_CELL]
    row = result.regressions[0]
    assert row.what == "p99 ms" and "CI [" in row.detail
    assert "REGRESSION" in result.markdown()


def test_two_runs_of_the_same_cells_are_not_flagged(base):
    # an independent seeded draw from the same distributions: every difference is noise
    result = compare(base, sample_results(seed=2))
    assert result.regressions == []
    assert "no regression" in result.markdown()


@pytest.mark.parametrize("seed", range(5))
def test_noise_alone_never_fails_a_single_cell(seed):
    rng = np.random.default_rng(100 + seed)
    row = judge_latency("cell", draw(rng, 20.0, 700), draw(rng, 20.0, 700), Thresholds())
    assert not row.regression, row


def test_a_small_slowdown_within_the_threshold_is_not_a_regression():
    rng = np.random.default_rng(7)
    row = judge_latency("cell", draw(rng, 20.0, 2000), draw(rng, 20.0 * 1.05, 2000), Thresholds(0.10))
    assert not row.regression


def test_accuracy_drop_beyond_threshold_is_a_regression(base):
    new = copy.deepcopy(base)
    new["artifacts"]["int8-dynamic"]["accuracy"]["ndcg@10"] -= 0.01
    new["artifacts"]["distill-l3"]["accuracy"]["ndcg@10"] -= 0.002  # within 0.005: fine
    result = compare(base, new, Thresholds(max_accuracy_drop=0.005))
    assert [(r.key, r.what) for r in result.regressions] == [("int8-dynamic", "ndcg@10")]


def test_a_cell_that_breaks_is_a_regression(base):
    new = copy.deepcopy(base)
    broken = next(c for c in new["cells"] if c["id"] == SLOW_CELL)
    broken.update(status="invalid", reason="parity failed", samples_ms=[], stats=None)
    result = compare(base, new)
    assert [(r.key, r.what, r.new) for r in result.regressions] == [(SLOW_CELL, "status", "invalid")]


def test_cli_exit_codes_and_machine_check(tmp_path, base, capsys):
    from rankbench.cli import main

    base_path, same_path, slow_path, other_path = (tmp_path / f"{n}.json" for n in ("base", "same", "slow", "other"))
    few = {"teacher", "distill-l3"}  # whole-file comparisons are covered above; keep this one quick
    base_path.write_text(json.dumps(subset(base, few)))
    same_path.write_text(json.dumps(subset(sample_results(seed=2), few)))
    slow_path.write_text(json.dumps(subset(sample_results(seed=2, slowdown={SLOW_CELL: 1.3}), few)))
    assert main(["compare", str(base_path), str(same_path)]) == 0
    assert main(["compare", str(base_path), str(slow_path)]) == 1
    out = capsys.readouterr().out
    assert "| cell | what | base | new | change | verdict |" in out and SLOW_CELL in out
    other = subset(sample_results(seed=2), few)
    other["environment"] = dict(other["environment"], cpu="Intel Xeon (other box)")
    other_path.write_text(json.dumps(other))
    assert main(["compare", str(base_path), str(other_path)]) == 2
    err = capsys.readouterr().err
    assert "refusing to compare" in err and "cpu differs" in err and "--force" in err
    assert main(["compare", str(base_path), str(other_path), "--force"]) == 0
    assert "different machines" in capsys.readouterr().out
