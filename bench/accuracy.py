"""Ranking accuracy of every served cell, with 95% intervals, retention and fidelity to the teacher.

    refs = reference_accuracy(variants, requests, cache)        # each artifact, fp32 on the CPU
    attach_cell_accuracy(cells, variants, refs, requests, teacher="teacher", cache=cache)

Both score here, one artifact after the other, unless given the scores (`scored`) or a function
that scores what is needed (`own`): an executor (rankbench.bench.executors) spreads that work.

Each cell's accuracy comes from its own session (its backend, precision and options): a cell reuses
the scores of its artifact's reference run (fp32 on the CPU) only when its parity check shows the
same rankings within REUSE_TOLERANCE, and then says so (`scores_from`). Intervals are paired
bootstraps over requests (bench.stats): every NDCG@10 gets one; retention (the variant's NDCG@10 over
the teacher's on the same requests) and fidelity (per-request Spearman and top-10 overlap of the
variant's scores with the teacher's, over all candidates) get theirs. Per-request values are kept
(`per_request`, in the order of results.run.eval_requests) so that `compare` can pair two runs.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rankbench.bench.scores import ScoreFile, reference_scores_of, score_with_session
from rankbench.bench.stats import mean_ci, paired_ratio_ci
from rankbench.models.metrics import FIDELITY, METRICS, agreement, per_request

CONFIDENCE = 0.95
# A cell may reuse its artifact's reference scores only if its parity figures are at least this close:
# the same top 10 on every parity request and nearly the same order over all candidates.
REUSE_TOLERANCE = {"max_abs_diff": 1e-4, "spearman": 0.9999, "top10_overlap": 1.0}


def summarize_accuracy(scores: list, requests: list, teacher_scores: list | None,
                       teacher_ndcg: np.ndarray | None) -> dict:
    """Means, 95% intervals, retention and fidelity against the teacher, and per-request values."""
    per = per_request(scores, requests)
    out = {metric: float(values.mean()) for metric, values in per.items()}
    out["users"] = len(requests)
    out["ci"] = {metric: mean_ci(values, CONFIDENCE) for metric, values in per.items()}
    out["retention"], out["retention_ci"] = None, None
    out["fidelity"] = None
    if teacher_ndcg is not None:
        out["retention"], out["retention_ci"] = paired_ratio_ci(per["ndcg@10"], teacher_ndcg, CONFIDENCE)
    if teacher_scores is not None:
        fid = agreement(scores, teacher_scores)
        out["fidelity"] = {name: float(fid[name].mean()) for name in FIDELITY}
        out["fidelity"]["ci"] = {name: mean_ci(fid[name], CONFIDENCE) for name in FIDELITY}
        per.update(fid)
    out["per_request"] = {name: [round(float(v), 6) for v in values] for name, values in per.items()}
    return out


def reference_accuracy(variants: dict, requests: list, cache: Path, teacher: str | None,
                       log=None, scored: dict | None = None) -> dict[str, dict]:
    """name -> {"scores", "scorer", "accuracy"} (the artifact scored fp32 on the CPU), or {"error"}.
    `scored`: name -> {"scores", "scorer"} or {"error"}, computed elsewhere (else scored here)."""
    refs: dict[str, dict] = {}
    for name, artifact in variants.items():
        if scored is not None:
            refs[name] = dict(scored[name])
            continue
        try:
            scores, scorer = reference_scores_of(artifact, requests, cache, log, name)
            refs[name] = {"scores": scores, "scorer": scorer}
        except Exception as err:  # noqa: BLE001 - recorded, the run goes on
            refs[name] = {"error": f"{type(err).__name__}: {err}"}
    for name, ref in refs.items():
        if "error" in ref and log:
            log(f"accuracy of {name} unavailable: {ref['error']}")
    base = refs.get(teacher) or {}
    teacher_scores = base.get("scores")
    teacher_ndcg = per_request(teacher_scores, requests)["ndcg@10"] if teacher_scores is not None else None
    for ref in refs.values():
        if "scores" in ref:
            ref["accuracy"] = summarize_accuracy(ref["scores"], requests, teacher_scores, teacher_ndcg)
            ref["accuracy"]["scorer"] = ref["scorer"]
    return refs


def may_reuse(parity: dict | None) -> bool:
    """Whether a cell's parity shows the same rankings as its reference, within REUSE_TOLERANCE."""
    if not parity or not parity.get("passed") or parity.get("max_abs_diff") is None:
        return False
    return (parity["max_abs_diff"] <= REUSE_TOLERANCE["max_abs_diff"]
            and parity["spearman"] >= REUSE_TOLERANCE["spearman"]
            and parity["top10_overlap"] >= REUSE_TOLERANCE["top10_overlap"])


def _group_key(cell: dict) -> str:
    return f"{cell['variant']}/{cell['backend']}/{json.dumps(cell.get('backend_options'), sort_keys=True)}"


def needs_own_scores(cells: list[dict], refs: dict) -> dict[str, dict]:
    """group key -> the first ok cell of each (variant, backend, options) group whose accuracy must
    come from its own session (its parity does not allow reusing the reference scores)."""
    needed: dict[str, dict] = {}
    for cell in cells:
        ref = refs.get(cell["variant"]) or {}
        if cell["status"] == "ok" and not (may_reuse(cell.get("parity")) and "accuracy" in ref):
            needed.setdefault(_group_key(cell), cell)
    return needed


def attach_cell_accuracy(cells: list[dict], variants: dict, refs: dict, requests: list, teacher: str | None,
                         cache: Path, log=None, own=None) -> None:
    """Give every ok cell its own `accuracy` (scored by its session, or reused where parity allows).
    `own`: {group key: cell} -> {group key: scores, or {"error": ...}} (else scored here)."""
    base = refs.get(teacher) or {}
    teacher_scores = base.get("scores")
    teacher_ndcg = per_request(teacher_scores, requests)["ndcg@10"] if teacher_scores is not None else None
    needed = needs_own_scores(cells, refs)
    if own is not None:
        scored = own(needed)
    else:
        scored = {key: _own_or_error(cell, variants[cell["variant"]], requests, cache, log)
                  for key, cell in needed.items()}
    done: dict[str, dict | None] = {}
    for cell in cells:
        if cell["status"] != "ok":
            cell["accuracy"] = None
            continue
        key = _group_key(cell)
        if key not in done:
            done[key] = _group_accuracy(cell, refs.get(cell["variant"]) or {}, scored.get(key), requests,
                                        teacher_scores, teacher_ndcg, log)
        cell["accuracy"] = done[key]


def _own_or_error(cell, artifact, requests, cache, log):
    try:
        return own_scores(cell, artifact, requests, cache, log)
    except Exception as err:  # noqa: BLE001 - the cell keeps its latency; its accuracy is unknown
        return {"error": f"{type(err).__name__}: {err}"}


def _group_accuracy(cell, ref, scores, requests, teacher_scores, teacher_ndcg, log) -> dict | None:
    if may_reuse(cell.get("parity")) and "accuracy" in ref:
        return {**ref["accuracy"], "scores_from": f"{cell['variant']} ({ref['scorer']}, the reference run)",
                "reuse_tolerance": dict(REUSE_TOLERANCE)}
    if scores is None or isinstance(scores, dict):
        if log:
            log(f"accuracy of {cell['id']} unavailable: {(scores or {}).get('error', 'not scored')}")
        return None
    accuracy = summarize_accuracy(scores, requests, teacher_scores, teacher_ndcg)
    accuracy["scores_from"] = "this cell's own session"
    return accuracy


def own_scores(cell: dict, artifact, requests: list, cache: Path, log=None) -> list[np.ndarray]:
    """The cell's scores through its own backend, precision and options (a fresh session)."""
    from rankbench.bench.backends import BackendOptions, get_backend
    from rankbench.models.encoder import PairEncoder

    options = BackendOptions.from_dict(cell.get("backend_options") or {})
    store = ScoreFile(Path(cache) / own_score_name(cell, artifact))
    if not store.missing(requests):
        return store.scores(requests)
    label = cell["id"].rsplit("/", 1)[0]
    with get_backend(cell["backend"]).prepare(artifact, options) as session:
        return score_with_session(session, PairEncoder.from_folder(artifact.path), requests, store,
                                  label, log, label)


def own_score_name(cell: dict, artifact) -> str:
    """The file of a cell's own scores (its variant, backend and options), in the accuracy cache."""
    from rankbench.bench.backends import BackendOptions
    from rankbench.common.digest import digest

    options = BackendOptions.from_dict(cell.get("backend_options") or {})
    return f"{cell['variant']}-{artifact.hash}-{cell['backend']}-{digest(options.to_dict())}.scores.jsonl"
