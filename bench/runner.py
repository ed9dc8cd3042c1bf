"""Run cells (variant x backend x scenario) with per-cell caching, and write results.json.

What `rankbench bench` and the experiment runner call:

    results = run_benchmark(
        variants,                 # dict[str, Artifact]: variant name -> artifact
        out_dir,                  # folder: cells/<key>.json, accuracy/, parity/ (reference scores), results.json
        backends=["torch", ("onnxruntime", {"threads": 2}), "xla:bf16", {"name": "torch", "precision": "fp16"}],
        scenarios=["single-stream", {"name": "offline", "batch_sizes": [1, 64]}],
        data=ranking_data,        # RankingData: test requests + item counts (popularity)
        users=100, teacher="teacher", constraints={"p99_ms": 50}, timing=TimingConfig(), ...)

The keyword settings are those of `RunSettings` (checked by type). Every finished cell is written at
once to cells/<key>.json (rankbench.bench.cells); a rerun skips cells whose file exists (status ok,
invalid, or failed unless `retry_failed`). Cells sharing (variant, backend, options, placement)
share one prepared session and one parity check (rankbench.bench.measure).

Scoring and measuring are units of work run by an executor (`executor=`, rankbench.bench.executors:
by default the local one, in this process); the cells, score and parity files live in its store
(by default `out_dir` itself), results.json in `out_dir`.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rankbench.bench.accuracy import CONFIDENCE, attach_cell_accuracy, reference_accuracy, summarize_accuracy
from rankbench.bench.backends import BackendOptions
from rankbench.bench.cells import backend_specs, base_cell, define_cells, read_cached, scenario_specs
from rankbench.bench.executors.base import Needs, Work
from rankbench.bench.executors.local import LocalExecutor
from rankbench.bench.executors.units import machine_record, measure_unit, own_scores_unit, reference_unit
from rankbench.bench.machine import environment
from rankbench.bench.measure import GroupInputs
from rankbench.bench.progress import CellProgress
from rankbench.bench.results import SCHEMA_VERSION, write_results
from rankbench.bench.scores import request_key
from rankbench.bench.timing import TimingConfig, harness_overhead_us
from rankbench.common.files import atomic_write_json
from rankbench.common.stages import StageClock
from rankbench.common.store import Store
from rankbench.common.typed import from_dict


@dataclass(frozen=True)
class RunSettings:
    users: int | None = None  # evaluation requests for accuracy: data.test[:users] (None: all)
    teacher: str | None = None  # the reference variant (accuracy retention)
    constraints: dict | None = None  # recorded for `rankbench select`; p99_ms is also the server SLA
    timing: TimingConfig = field(default_factory=TimingConfig)
    latency_requests: int = 50  # distinct real requests cycled by the scenarios
    parity_requests: int = 8  # real requests in the parity check
    run_name: str = "bench"
    experiment: dict | None = None
    notes: tuple[str, ...] = ()
    retry_failed: bool = False
    progress: bool = True
    only_cached: bool = False  # measure nothing: gather finished cells (the others -> "failed")
    threads: int | None = None  # CPU threads for every backend and the tokenizer (None: the cores)
    executor: object = None  # a rankbench.bench.executors executor (None: local, store = out_dir)
    clock: StageClock | None = None  # the run's clock, which the stages lap on (None: the runner's own)

    def __post_init__(self):
        for name in ("users", "latency_requests", "parity_requests", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        sla = (self.constraints or {}).get("p99_ms")
        if sla is not None and (isinstance(sla, bool) or not isinstance(sla, (int, float)) or not sla > 0):
            raise ValueError(f"constraints.p99_ms (the SLA) must be a number > 0, got {sla!r}")


def run_benchmark(variants: dict, out_dir, backends, scenarios, data=None, **settings) -> dict:
    run = from_dict(RunSettings, settings, "run_benchmark")
    out_dir = Path(out_dir)
    executor = run.executor or LocalExecutor(Store(str(out_dir)))
    test = _check_inputs(variants, data, run)
    sla = (run.constraints or {}).get("p99_ms")
    backend_list, scenario_list = backend_specs(backends), scenario_specs(scenarios, sla)
    eval_requests = test[:run.users] if run.users else test
    inputs = GroupInputs(test[:run.latency_requests], test[:run.parity_requests], run.timing,
                         executor.store.local("parity"), {})
    env = environment()
    threads = apply_threads(run.threads)
    context = {**executor.key_context(env, threads, run.threads), "timing": run.timing.to_dict(),
               "latency_requests": [r.id for r in inputs.latency_requests],
               "parity_requests": [r.id for r in inputs.parity_requests]}
    cells_def = define_cells(variants, backend_list, scenario_list, context, executor.where)  # id clashes fail here
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    log = print if run.progress else None
    portable = {name: executor.portable(artifact) for name, artifact in variants.items()}
    accuracy_dir = executor.store.local("accuracy")
    clock = run.clock or StageClock()
    refs = reference_accuracy(variants, eval_requests, accuracy_dir, run.teacher, log,
                              scored=score_references(executor, portable, eval_requests, run.threads, log))
    clock.lap("reference scores")
    finished = measure_cells(portable, cells_def, inputs, run, executor)
    clock.lap("cells")
    cells = [dict(finished[d["key"]]) for d in cells_def]
    placements = {d["key"]: d["placement"] for d in cells_def}
    attach_cell_accuracy(cells, variants, refs, eval_requests, run.teacher, accuracy_dir, log,
                         own=lambda needed: score_cells(executor, needed, placements, portable, eval_requests,
                                                        run.threads, log))
    clock.lap("cell accuracy")
    results = {"schema_version": SCHEMA_VERSION,
               "run": {"name": run.run_name, "created": created, "experiment": run.experiment,
                       "teacher": run.teacher, "constraints": run.constraints, "eval_users": len(eval_requests),
                       "eval_requests": [request_key(r) for r in eval_requests], "threads": threads,
                       "confidence": CONFIDENCE, "notes": run_notes(run, inputs),
                       "harness_overhead_us": round(harness_overhead_us(), 3)},
               "environment": env,
               "artifacts": {name: artifact_entry(name, artifact, refs[name]) for name, artifact in variants.items()},
               "cells": cells}
    if data is not None and getattr(data, "item_counts", None):
        teacher_scores = (refs.get(run.teacher) or {}).get("scores")
        results["baselines"] = baselines_accuracy(data, eval_requests, teacher_scores, log)
        clock.lap("baselines")
    results["run"]["stage_seconds"] = clock.seconds
    write_results(out_dir / "results.json", results)
    _print_failures(cells, run.progress)
    return results


def _check_inputs(variants: dict, data, run: RunSettings) -> list:
    if not variants:
        raise ValueError("no variants to measure")
    if run.teacher is not None and run.teacher not in variants:
        raise ValueError(f"teacher {run.teacher!r} is not one of the variants {sorted(variants)}")
    test = list(data.test) if data is not None else []
    if not test:
        raise ValueError("no test requests to measure with (data.test is empty)")
    return test


def apply_threads(threads: int | None) -> int:
    """One thread count for every library of the run (backends read it as their default; the
    tokenizer's thread pool reads RAYON_NUM_THREADS when it first starts)."""
    count = int(threads or os.cpu_count() or 1)
    os.environ["RANKBENCH_THREADS"] = str(count)
    os.environ.setdefault("RAYON_NUM_THREADS", str(count))
    return count


def artifact_entry(name: str, artifact, ref: dict) -> dict:
    meta = artifact.meta or {}
    entry = {"name": name, "format": artifact.format, "path": str(artifact.path), "hash": artifact.hash,
             "recipe": meta.get("recipe", []), "parent_hash": meta.get("parent_hash"),
             "accuracy": ref.get("accuracy")}
    if "error" in ref:
        entry["accuracy_error"] = ref["error"]
    for key in ("params", "nonzero_params", "trainable_params", "bytes_on_disk", "flops_per_pair",
                "build_seconds", "train_seconds", "train_peak_rss_delta_bytes", "notes"):
        if meta.get(key) is not None:
            entry[key] = meta[key]
    return entry


def baselines_accuracy(data, requests: list, teacher_scores: list | None, log=None) -> dict[str, dict]:
    """name -> accuracy (as a variant's: intervals, retention and fidelity against the teacher) of
    popularity and, where the data has training interactions, the collaborative-filtering baseline;
    its `notes` say how it was fit and which requests fell back to popularity. A baseline that fails
    is left out, with a message."""
    from rankbench.models.baselines import baseline_scores
    from rankbench.models.metrics import per_request

    teacher_ndcg = per_request(teacher_scores, requests)["ndcg@10"] if teacher_scores is not None else None
    try:
        scored = baseline_scores(data, requests)
    except Exception as err:  # noqa: BLE001 - the CF library failed: popularity still stands
        (log or print)(f"collaborative-filtering baseline unavailable: {type(err).__name__}: {err}")
        from rankbench.models.baselines import popularity_scores

        scored = {"popularity": (popularity_scores(data, requests), {})}
    out = {}
    for name, (scores, notes) in scored.items():
        out[name] = summarize_accuracy(scores, requests, teacher_scores, teacher_ndcg)
        if notes:
            out[name]["notes"] = notes
    return out


def score_references(executor, portable: dict, requests: list, threads: int | None, log=None) -> dict:
    """name -> {"scores", "scorer"} or {"error"}: every artifact's reference scores, one unit each."""
    shared = executor.share(requests)
    works = [Work(name, reference_unit, (executor.store, artifact, shared, name), Needs(threads=threads),
                  {"log": log}) for name, artifact in portable.items()]
    return {o.key: o.value if o.ok else {"error": o.error} for o in executor.map(works)}


def score_cells(executor, needed: dict, placements: dict, portable: dict, requests: list,
                threads: int | None, log=None) -> dict:
    """group key -> scores (or {"error"}) of cells scored by their own backend, one unit per group."""
    shared, works = executor.share(requests), []
    for key, cell in needed.items():
        options = BackendOptions.from_dict(cell.get("backend_options") or {})
        slim = {k: cell[k] for k in ("id", "variant", "backend", "backend_options")}
        needs = Needs(cell["backend"], options, placements.get(cell["key"]), threads=options.threads or threads)
        works.append(Work(key, own_scores_unit, (executor.store, slim, portable[cell["variant"]], shared), needs,
                          {"log": log}))
    return {o.key: o.value if o.ok else {"error": o.error} for o in executor.map(works)}


def measure_cells(portable: dict, cells_def: list[dict], inputs: GroupInputs, run: RunSettings,
                  executor) -> dict[str, dict]:
    """key -> finished cell: cached ones, then the rest measured group by group, one unit each."""
    status = CellProgress(len(cells_def), run.progress)
    store = executor.store
    finished = read_cached(store.pull_tree("cells"), cells_def, run.retry_failed, run.only_cached)
    for d in cells_def:
        if d["key"] in finished:
            status.done(finished[d["key"]], cached=True)
    pending = [d for d in cells_def if d["key"] not in finished]
    if run.only_cached:  # gather what is finished; what is not is reported, not measured
        for d in pending:
            finished[d["key"]] = {**base_cell(d), "status": "failed",
                                  "reason": "not measured: the run that owns this cell did not finish it"}
        pending = []
    groups: dict[str, list[dict]] = {}
    for d in pending:
        where = d["placement"].label() if d["placement"] else ""
        groups.setdefault(json.dumps([d["variant"], d["backend"], d["options"].to_dict(), where]), []).append(d)

    def keep(cell: dict) -> None:
        if cell["key"] not in finished:
            atomic_write_json(store.local("cells") / f"{cell['key']}.json", cell)  # a later crash keeps it
            store.push(f"cells/{cell['key']}.json")
            finished[cell["key"]] = cell
            status.done(cell)

    shared = executor.share(dataclasses.replace(inputs, references={}))
    works = [Work(gkey, measure_unit, (store, portable[defs[0]["variant"]], defs[0]["variant"], defs, shared),
                  Needs(defs[0]["backend"], defs[0]["options"], defs[0]["placement"], timed=True,
                        threads=defs[0]["options"].threads or run.threads),
                  {"status": status, "on_cell": keep}) for gkey, defs in groups.items()]
    for outcome in executor.map(works):
        for cell in outcome.value if outcome.ok else failed_group(groups[outcome.key], outcome, executor):
            keep(cell)
    status.close()
    return finished


def failed_group(defs: list[dict], outcome, executor) -> list[dict]:
    """The cells of a group whose unit ended without a result: unavailable (no machine can run it)
    or failed (an exception, a dead worker or node), with the reason. Where it ran is known only
    when it ran here."""
    state = "unavailable" if outcome.unavailable else "failed"
    where = {} if executor.distributed else {"machine": machine_record(), "executor": {"name": executor.name}}
    return [{**base_cell(d), "status": state, "reason": outcome.error, **where} for d in defs]


def run_notes(run: RunSettings, inputs: GroupInputs) -> list[str]:
    notes = list(run.notes)
    if hasattr(os, "getloadavg"):  # latency on a shared machine depends on what else runs there
        notes.append("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    notes.append(f"timing: {json.dumps(asdict(run.timing))}; latency requests: {len(inputs.latency_requests)}; "
                 f"parity requests: {len(inputs.parity_requests)}")
    return notes


def _print_failures(cells: list[dict], progress: bool) -> None:
    failed = [c for c in cells if c["status"] in ("failed", "invalid")]
    if failed and progress:
        print(f"{len(failed)} cell(s) failed or invalid:")
        for cell in failed:
            print(f"  {cell['status']:<8} {cell['id']}: {cell.get('reason')}")
