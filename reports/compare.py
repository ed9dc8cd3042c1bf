"""CI gate: `rankbench compare BASE.json NEW.json` -> a Markdown table; exit 1 on a regression.

    report = compare(base, new, Thresholds(max_p99_regression=0.10))
    report.regressions, report.markdown()

Cells are matched by their canonical id (variant, backend with every option, scenario with its
parameters), and every figure of every cell is judged (rules in reports/gate.py):
- single-stream: p50 and p99 from the raw samples;
- offline: throughput and p99 at each batch size (matched by batch size, never the "best" batch,
  which may differ between two identical runs); sweeps: p99 at each value;
- server: the maximum rate under the SLA;
- accuracy: every ranking metric of the cell, paired per request when both runs scored the same
  requests.
A cell missing from the new run, a status that got worse (ok -> unavailable / failed / invalid), a
run without cells, accuracy that became null, too few samples or non-finite values are regressions
unless a flag allows them. Runs from different machines (model, ISA, cores, GPU) are refused unless
--force: a change of host is not a change of the code.
"""
from __future__ import annotations

from rankbench.models.metrics import METRICS
from rankbench.reports.figures import cell_accuracy
from rankbench.reports.gate import Comparison, Row, Thresholds, judge_accuracy, judge_latency, judge_rate

POINT_KEYS = (("batch_size", "batch "), ("value", "value "))


def _points(cell: dict) -> dict[str, dict]:
    out = {}
    for point in cell.get("points", []):
        for name, label in POINT_KEYS:
            if name in point and point.get("samples_ms"):
                out[f"{label}{point[name]:g}"] = point
    return out


def compare_latency(key: str, old: dict, cur: dict, t: Thresholds) -> list[Row]:
    # A server cell is judged by its rate under the SLA (server-sim's latencies are simulated).
    if {old["scenario"], cur["scenario"]} & {"server", "server-sim"}:
        return [judge_rate(key, old.get("max_rate_under_sla_rps"), cur.get("max_rate_under_sla_rps"), t)]
    old_points, cur_points = _points(old), _points(cur)
    if not old_points and old.get("samples_ms") is not None:  # single-stream: the request latencies
        return [judge_latency(key, "p50 ms", old["samples_ms"], cur.get("samples_ms") or [], 50,
                              t.max_p50_regression, t),
                judge_latency(key, "p99 ms", old["samples_ms"], cur.get("samples_ms") or [], 99,
                              t.max_p99_regression, t)]
    rows = []
    for label, point in old_points.items():
        other = cur_points.get(label)
        if other is None:
            rows.append(Row(f"{key} {label}", "point", "measured", "-", "", "REGRESSION",
                            "this point is missing from the new run"))
            continue
        if "batch_size" in point:  # a batch's throughput is its size over its latency: judge the median
            rows.append(judge_latency(f"{key} {label}", "p50 ms (throughput)", point["samples_ms"],
                                      other["samples_ms"], 50, t.max_throughput_drop, t))
        rows.append(judge_latency(f"{key} {label}", "p99 ms", point["samples_ms"], other["samples_ms"], 99,
                                  t.max_p99_regression, t))
    return rows


def compare_cell_accuracy(key: str, base: dict, new: dict, old: dict, cur: dict, t: Thresholds) -> list[Row]:
    before, after = cell_accuracy(base, old), cell_accuracy(new, cur)
    if before is None:
        return []
    if after is None:
        return [Row(key, "accuracy", f"{before.get('ndcg@10', float('nan')):.4f}", "none", "", "REGRESSION",
                    "the new run has no accuracy for this cell")]
    paired = (base["run"].get("eval_requests") and base["run"].get("eval_requests") == new["run"].get("eval_requests"))
    rows = []
    for metric in METRICS:
        if metric not in before:
            continue
        if metric not in after:
            rows.append(Row(key, metric, f"{before[metric]:.4f}", "none", "", "REGRESSION", "metric missing"))
            continue
        per_before = (before.get("per_request") or {}).get(metric)
        per_after = (after.get("per_request") or {}).get(metric)
        if paired and per_before and per_after:
            rows.append(judge_accuracy(key, metric, per_before, per_after, t))
        else:
            rows.append(judge_accuracy(key, metric, [before[metric]], [after[metric]], t))
    return rows


def _status_row(key: str, old: dict, cur: dict, t: Thresholds) -> Row | None:
    if old["status"] == cur["status"]:
        return None
    worse = old["status"] == "ok"
    verdict = "REGRESSION" if worse and not t.allow_status else "note"
    return Row(key, "status", old["status"], cur["status"], "", verdict, cur.get("reason") or "")


def compare(base: dict, new: dict, thresholds: Thresholds | None = None) -> Comparison:
    """Compare two validated results dicts. Does not check the machines: see `comparable`."""
    t = thresholds or Thresholds()
    result = Comparison()
    if not new.get("cells"):
        result.rows.append(Row("(run)", "cells", str(len(base.get("cells", []))), "0", "", "REGRESSION",
                               "the new run has no cells"))
    old_cells = {c["id"]: c for c in base.get("cells", [])}
    new_cells = {c["id"]: c for c in new.get("cells", [])}
    for key in sorted(old_cells.keys() | new_cells.keys()):
        old, cur = old_cells.get(key), new_cells.get(key)
        if cur is None:
            result.rows.append(Row(key, "cell", old["status"], "-", "", "note" if t.allow_missing else "REGRESSION",
                                   "missing from the new run"))
            continue
        if old is None:
            result.rows.append(Row(key, "cell", "-", cur["status"], "", "new"))
            continue
        status = _status_row(key, old, cur, t)
        if status:
            result.rows.append(status)
        if old["status"] == "ok" and cur["status"] == "ok":
            result.rows += compare_latency(key, old, cur, t)
            result.rows += compare_cell_accuracy(key, base, new, old, cur, t)
    return result


def comparable(base: dict, new: dict) -> tuple[bool, str]:
    from rankbench.bench.machine import same_machine

    return same_machine(base["environment"], new["environment"])
