"""The figures of a cell that selection, the report and the gate read from results.json.

    stats = cell_stats(cell)                       # latency statistics (from the raw samples)
    acc = accuracy_figures(results, cell, 0.95)    # NDCG@10, retention, fidelity with intervals
    speedup(results, cell)                         # the teacher's PyTorch fp32 p50 / the cell's p50

A cell's accuracy is its own (results v2); files upgraded from v1 only have one per artifact, which
is then used and flagged (`per_artifact`).
"""
from __future__ import annotations

from rankbench.bench.backends.options import BackendOptions

BASELINE_BACKEND = "torch"  # speed-ups are against the teacher on PyTorch fp32, default options


def cell_stats(cell: dict) -> dict | None:
    """The cell's latency statistics: as written from its raw samples, or summarized from them now."""
    if cell.get("stats"):
        return cell["stats"]
    if cell.get("samples_ms"):
        from rankbench.bench.stats import summarize

        return summarize(cell["samples_ms"])
    return None


def serving(cell: dict) -> str:
    """How the cell serves: backend and its non-default options, e.g. 'torch:fp16+cuda_graphs'."""
    try:
        label = BackendOptions.from_dict(cell.get("backend_options") or {}).label()
    except ValueError:
        label = ""
    return f"{cell['backend']}{':' + label if label else ''}"


def best_throughput(results: dict, cell: dict) -> float | None:
    """Highest pairs/s of the cell's variant served the same way: offline points first, else any
    ok cell of that variant, backend and options."""
    best = None
    for other in results.get("cells", []):
        if other["variant"] != cell["variant"] or serving(other) != serving(cell) or other["status"] != "ok":
            continue
        pool = [p.get("stats") for p in other.get("points", [])] if other["scenario"] == "offline" else []
        pool.append(other.get("stats"))
        for stats in pool:
            value = (stats or {}).get("pairs_per_s")
            if value is not None and (best is None or value > best):
                best = value
    return best


def baseline_cell(results: dict, scenario: str) -> dict | None:
    """The teacher on PyTorch fp32 with default options in `scenario`: what speed-ups divide."""
    teacher = results.get("run", {}).get("teacher")
    for cell in results.get("cells", []):
        if (cell["variant"] == teacher and cell["scenario"] == scenario and cell["status"] == "ok"
                and serving(cell) == BASELINE_BACKEND):
            return cell
    return None


def speedup(results: dict, cell: dict) -> float | None:
    base = baseline_cell(results, cell["scenario"])
    ours, theirs = (cell_stats(cell) or {}).get("p50_ms"), (cell_stats(base) or {}).get("p50_ms") if base else None
    return theirs / ours if ours and theirs else None


def cell_accuracy(results: dict, cell: dict) -> dict | None:
    """The cell's own accuracy; for files upgraded from v1, its artifact's (flagged per_artifact)."""
    if cell.get("accuracy"):
        return cell["accuracy"]
    if results.get("upgraded_from") == 1 and cell.get("status") == "ok":
        accuracy = (results.get("artifacts", {}).get(cell["variant"]) or {}).get("accuracy")
        return {**accuracy, "per_artifact": True} if accuracy else None
    return None


def teacher_accuracy(results: dict) -> dict | None:
    teacher = results.get("run", {}).get("teacher")
    return (results.get("artifacts", {}).get(teacher) or {}).get("accuracy")


def accuracy_figures(results: dict, cell: dict, confidence: float | None = None) -> dict:
    """NDCG@10, retention and fidelity of a cell with intervals at `confidence` (the run's when None or
    equal; recomputed from the per-request values otherwise)."""
    acc = cell_accuracy(results, cell) or {}
    out = {"ndcg": acc.get("ndcg@10"), "ndcg_ci": (acc.get("ci") or {}).get("ndcg@10"),
           "retention": acc.get("retention"), "retention_ci": acc.get("retention_ci"),
           "fidelity": (acc.get("fidelity") or {}).get("spearman"),
           "fidelity_ci": ((acc.get("fidelity") or {}).get("ci") or {}).get("spearman"),
           "scores_from": acc.get("scores_from"), "per_artifact": bool(acc.get("per_artifact"))}
    if out["retention"] is None and out["ndcg"] is not None:
        reference = (teacher_accuracy(results) or {}).get("ndcg@10")
        out["retention"] = out["ndcg"] / reference if reference else None
    run_confidence = results.get("run", {}).get("confidence")
    if confidence is not None and confidence != run_confidence and acc.get("per_request"):
        out.update(_intervals_at(results, acc, confidence))
    return out


def _intervals_at(results: dict, acc: dict, confidence: float) -> dict:
    from rankbench.bench.stats import mean_ci, paired_ratio_ci

    per = acc["per_request"]
    out = {"ndcg_ci": mean_ci(per["ndcg@10"], confidence)}
    teacher = ((teacher_accuracy(results) or {}).get("per_request") or {}).get("ndcg@10")
    if teacher and len(teacher) == len(per["ndcg@10"]):
        out["retention_ci"] = paired_ratio_ci(per["ndcg@10"], teacher, confidence)[1]
    if "spearman" in per:
        out["fidelity_ci"] = mean_ci(per["spearman"], confidence)
    return out
