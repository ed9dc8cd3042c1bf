"""Run cells (variant x backend x scenario) with per-cell caching, and write results.json.

Entry point (what `rankbench bench` and the experiment runner call):

    results = run_benchmark(
        variants,                 # dict[str, compress.artifact.Artifact]: variant name -> artifact
        out_dir,                  # folder: cells/<key>.json, accuracy/, parity/ (reference scores), results.json
        backends=["torch", ("onnxruntime", {"threads": 2}), "xla:bf16", {"name": "torch", "precision": "fp16"}],
                                  # specs "name[:opt...]", (name, options dict | BackendOptions), {"name":..., opts}
                                  # (a table may carry variants=[...]: the variants it applies to; same for scenarios)
        scenarios=["single-stream", ("server", {"sla_p99_ms": 200}), {"name": "offline", "batch_sizes": [1, 64]}],
        data=ranking_data,        # models.requests.RankingData: test requests + item counts (popularity)
        users=100,                # evaluation requests for accuracy: data.test[:users] (None: all)
        teacher="teacher",        # the reference variant's name (accuracy retention), or None
        constraints={"p99_ms": 50},  # recorded for `rankbench select`; p99_ms is also the server SLA
                                  #  of server scenarios that give none
        timing=TimingConfig(),    # sample counts / durations for every cell
        latency_requests=50,      # distinct real requests cycled by the scenarios
        parity_requests=8,        # real requests in the parity check
        run_name="bench", experiment=None, notes=[], retry_failed=False, progress=True,
        only_cached=False)        # True: measure nothing, gather finished cells (others -> "failed")

Every finished cell is written atomically (temporary file, then rename) to cells/<key>.json, the key
being a hash of the cell's definition (artifact hash, backend + options, scenario + params, timing,
requests, machine). A rerun skips cells whose file exists (status ok, invalid, or failed unless
`retry_failed`); "unavailable" cells are checked again, since it costs nothing. A backend that is
unavailable, a session that fails to prepare, a parity failure (-> "invalid", with its figures) or
an exception while measuring is recorded with its reason, and the run goes on.
Cells sharing (variant, backend, options) share one prepared session and one parity check.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench.accuracy_stage import evaluate_accuracy
from bench.backends.base import BackendOptions, PairEncoder, get_backend, parse_backend_spec
from bench.scenarios import SCENARIO_VERSIONS, ScenarioContext, resolve_params, run_scenario
from bench.timing import TimingConfig

HARNESS_VERSION = 1  # bump when a change makes old cell files incomparable


def _only(raw: dict):
    """A table's optional `variants = [...]`: the variants it applies to (None: all)."""
    only = raw.pop("variants", None)
    return set(only) if only is not None else None


def _backend_specs(backends) -> list[tuple[str, BackendOptions, set | None]]:
    specs = []
    for item in backends:
        only = None
        if isinstance(item, str):
            name, options = parse_backend_spec(item)
        elif isinstance(item, dict):  # a TOML table: {name = "torch", precision = "fp16"}
            raw = dict(item)
            only = _only(raw)
            name, options = raw.pop("name"), BackendOptions.from_dict(raw)
        else:
            name, options = item
            options = options if isinstance(options, BackendOptions) else BackendOptions.from_dict(options)
        get_backend(name)  # an unknown name fails here, before any work, with the known names
        specs.append((name, options, only))
    return specs


def _scenario_specs(scenarios) -> list[tuple[str, dict, set | None]]:
    out = []
    for item in scenarios:
        only = None
        if isinstance(item, dict):  # a TOML table: {name = "server", sla_p99_ms = 50}
            raw = dict(item)
            only = _only(raw)
            name, params = raw.pop("name"), raw
        else:
            name, params = (item, {}) if isinstance(item, str) else item
        out.append((name, resolve_params(name, params), only))
    return out


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _atomic_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # absent or damaged: not finished


def _error(err: BaseException) -> str:
    last = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
    where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return f"{type(err).__name__}: {str(err)[:400]}{where}"


def _artifact_entry(name: str, artifact, accuracy: dict | None) -> dict:
    meta = artifact.meta or {}
    entry = {"name": name, "format": artifact.format, "path": str(artifact.path), "hash": artifact.hash,
             "recipe": meta.get("recipe", []), "parent_hash": meta.get("parent_hash"), "accuracy": accuracy}
    for key in ("params", "nonzero_params", "trainable_params", "bytes_on_disk", "flops_per_pair",
                "build_seconds", "train_seconds", "notes"):
        if meta.get(key) is not None:
            entry[key] = meta[key]
    return entry


class _PlainBar:
    def __init__(self, **_kw):
        pass

    def update(self, _n):
        pass

    def set_postfix_str(self, _text):
        pass

    def write(self, text):
        print(text, flush=True)

    def close(self):
        pass


class _Status:
    def __init__(self, total: int, enabled: bool):
        try:
            from tqdm.auto import tqdm
        except ImportError:  # a bare machine (the GPU check): status lines without a bar
            tqdm = _PlainBar
        self.bar = tqdm(total=total, desc="cells", unit="cell", disable=not enabled)
        self.enabled = enabled

    def note(self, text: str) -> None:
        self.bar.set_postfix_str(text[:60])

    def done(self, cell: dict, cached: bool = False) -> None:
        self.bar.update(1)
        if not self.enabled:
            return
        stats = cell.get("stats") or {}
        figures = ""
        if cell["status"] == "ok" and stats:
            figures = f" p50 {stats['p50_ms']:.2f} ms  p99 {stats['p99_ms']:.2f} ms"
            if stats.get("pairs_per_s"):
                figures += f"  {stats['pairs_per_s']:.0f} pairs/s"
            if cell.get("max_rate_under_sla_rps") is not None or cell["scenario"] == "server":
                rate = cell.get("max_rate_under_sla_rps")
                figures += f"  max rate {'none' if rate is None else f'{rate:.3g}'} rps @ p99<={cell.get('sla_p99_ms'):g} ms"
        elif cell.get("reason"):
            figures = f"  {cell['reason'][:120]}"
        took = "  (cached)" if cached else f"  ({cell.get('seconds') or 0:.1f} s)"
        self.bar.write(f"{cell['status']:<11} {cell['id']}{figures}{took}")

    def close(self) -> None:
        self.bar.close()


def run_benchmark(variants: dict, out_dir, backends, scenarios, data=None, users: int | None = None,
                  teacher: str | None = None, constraints: dict | None = None,
                  timing: TimingConfig = TimingConfig(), latency_requests: int = 50, parity_requests: int = 8,
                  run_name: str = "bench", experiment: dict | None = None, notes: list[str] | None = None,
                  retry_failed: bool = False, progress: bool = True, only_cached: bool = False) -> dict:
    from bench.results import environment, write_results

    out_dir = Path(out_dir)
    backend_specs, scenario_specs = _backend_specs(backends), _scenario_specs(scenarios)
    sla = (constraints or {}).get("p99_ms")
    for name, params, _only_variants in scenario_specs:  # one SLA for every variant: the run's constraint, if any
        if name == "server" and params.get("sla_p99_ms") is None and sla is not None:
            params["sla_p99_ms"] = float(sla)
    if not variants:
        raise ValueError("no variants to measure")
    if teacher is not None and teacher not in variants:
        raise ValueError(f"teacher {teacher!r} is not one of the variants {sorted(variants)}")
    test = list(data.test) if data is not None else []
    if not test:
        raise ValueError("no test requests to measure with (data.test is empty)")
    eval_requests = test[:users] if users else test
    lat_requests = test[:latency_requests]
    par_requests = test[:parity_requests]
    env = environment()
    machine = {"cpu": env["cpu"], "cores": env["cores"], "gpu": env["gpu"]}
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")

    artifacts = {}
    for name, artifact in variants.items():
        try:
            accuracy = evaluate_accuracy(artifact, eval_requests, out_dir / "accuracy",
                                         log=print if progress else None, label=name)
        except Exception as err:  # noqa: BLE001 - recorded, the run goes on
            accuracy = None
            print(f"accuracy of {name} unavailable: {_error(err)}")
        artifacts[name] = _artifact_entry(name, artifact, accuracy)
    reference_ndcg = ((artifacts.get(teacher) or {}).get("accuracy") or {}).get("ndcg@10") if teacher else None
    for entry in artifacts.values():
        if entry["accuracy"] is not None and reference_ndcg:
            entry["accuracy"]["retention"] = entry["accuracy"]["ndcg@10"] / reference_ndcg

    # Cell definitions, in a stable order; ids unique within the run.
    cells_def, ids = [], set()
    for vname, artifact in variants.items():
        for bname, options, only_b in backend_specs:
            for sname, params, only_s in scenario_specs:
                if (only_b is not None and vname not in only_b) or (only_s is not None and vname not in only_s):
                    continue  # the experiment limits this backend or scenario to other variants
                label = options.label()
                cid = f"{vname}/{bname}{':' + label if label else ''}/{sname}"
                base, k = cid, 2
                while cid in ids:
                    cid, k = f"{base}#{k}", k + 1
                ids.add(cid)
                definition = {"v": HARNESS_VERSION, "variant": vname, "artifact": artifact.hash,
                              "backend": bname, "options": options.to_dict(), "scenario": sname,
                              "params": params, "timing": timing.to_dict(), "machine": machine,
                              "latency_requests": [r.id for r in lat_requests],
                              "parity_requests": [r.id for r in par_requests]}
                if SCENARIO_VERSIONS.get(sname, 1) > 1:
                    definition["scenario_version"] = SCENARIO_VERSIONS[sname]
                cells_def.append({"id": cid, "key": _digest(definition), "variant": vname, "backend": bname,
                                  "options": options, "scenario": sname, "params": params})

    cell_dir = out_dir / "cells"
    status = _Status(len(cells_def), progress)
    finished: dict[str, dict] = {}
    pending = []
    for d in cells_def:
        cached = _read_json(cell_dir / f"{d['key']}.json")
        done = ("ok", "invalid") + (() if retry_failed else ("failed",)) + (("unavailable",) if only_cached else ())
        if cached and cached.get("key") == d["key"] and cached.get("status") in done:
            finished[d["key"]] = cached
            status.done(cached, cached=True)
        else:
            pending.append(d)

    if only_cached:  # gather what is finished; what is not is reported, not measured
        for d in pending:
            finished[d["key"]] = {**_base_cell(d), "status": "failed",
                                  "reason": "not measured: the run that owns this cell did not finish it"}
        pending = []
    references: dict[str, tuple] = {}
    groups: dict[tuple, list[dict]] = {}
    for d in pending:
        groups.setdefault((d["variant"], d["backend"], json.dumps(d["options"].to_dict())), []).append(d)
    for (vname, bname, _), defs in groups.items():
        artifact, options = variants[vname], defs[0]["options"]
        for cell in _run_group(artifact, vname, bname, options, defs, lat_requests, par_requests, timing,
                               references, status, out_dir / "parity"):
            _atomic_json(cell_dir / f"{cell['key']}.json", cell)
            finished[cell["key"]] = cell
            status.done(cell)
    status.close()

    cells = [finished[d["key"]] for d in cells_def]
    failed = [c for c in cells if c["status"] in ("failed", "invalid")]
    run_notes = list(notes or [])
    if hasattr(os, "getloadavg"):  # latency on a shared machine depends on what else runs there
        run_notes.append("load average (1, 5, 15 min) at the end: " +
                         ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    run_notes.append(f"timing: {json.dumps(timing.to_dict())}; latency requests: {len(lat_requests)}; "
                     f"parity requests: {len(par_requests)}")
    from bench.timing import harness_overhead_us

    results = {"schema_version": 1,
               "run": {"name": run_name, "created": created, "experiment": experiment, "teacher": teacher,
                       "constraints": constraints, "eval_users": len(eval_requests), "notes": run_notes,
                       "harness_overhead_us": round(harness_overhead_us(), 3)},
               "environment": env, "artifacts": artifacts, "cells": cells}
    if data is not None and getattr(data, "item_counts", None):
        from bench.accuracy import evaluate, popularity_scores

        results["baselines"] = {"popularity": evaluate(popularity_scores(data, eval_requests), eval_requests)}
    write_results(out_dir / "results.json", results)
    if failed and progress:
        print(f"{len(failed)} cell(s) failed or invalid:")
        for cell in failed:
            print(f"  {cell['status']:<8} {cell['id']}: {cell.get('reason')}")
    return results


def _base_cell(d: dict) -> dict:
    return {"id": d["id"], "key": d["key"], "variant": d["variant"], "backend": d["backend"],
            "backend_options": d["options"].to_dict(), "device": None, "scenario": d["scenario"],
            "scenario_params": d["params"], "status": "ok", "reason": None, "parity": None,
            "samples_ms": [], "stats": None, "parts_ms": {}, "points": [], "max_rate_under_sla_rps": None,
            "sla_p99_ms": None, "seconds": None}


def _run_group(artifact, vname, bname, options, defs, lat_requests, par_requests, timing, references,
               status, cache_dir: Path):
    """Prepare one session for (variant, backend, options), check parity once, run its scenarios;
    yields each cell as soon as it is finished."""
    from bench.parity import check_parity, failure_reason, reference_scores

    start = time.perf_counter()
    backend = get_backend(bname)

    def all_cells(state: str, reason: str, **extra):
        cells = []
        for d in defs:
            cell = {**_base_cell(d), "status": state, "reason": reason, **extra}
            cell["seconds"] = round(time.perf_counter() - start, 3)
            cells.append(cell)
        return cells

    ok, why = backend.available()
    if ok:
        ok, why = backend.supports(artifact, options)
    if not ok:
        yield from all_cells("unavailable", why)
        return
    status.note(f"{vname}/{bname}: preparing")
    try:
        encoder = PairEncoder.from_folder(artifact.path)
        if vname not in references:
            references[vname] = _cached_reference(artifact, encoder, par_requests, reference_scores,
                                                  cache_dir)
        session = backend.prepare(artifact, options)
    except Exception as err:  # noqa: BLE001 - recorded with its reason; the run goes on
        yield from all_cells("failed", f"prepare: {_error(err)}")
        return
    try:
        status.note(f"{vname}/{bname}: parity")
        try:
            ref, ref_name = references[vname]
            parity = check_parity(session, encoder, par_requests, ref, backend.precision(artifact, options),
                                  ref_name)
        except Exception as err:  # noqa: BLE001
            yield from all_cells("failed", f"parity check: {_error(err)}", device=session.device)
            return
        common = {"device": session.device, "parity": parity, "backend_info": _jsonable(session.info)}
        if not parity["passed"]:
            yield from all_cells("invalid", failure_reason(parity), **common)
            return
        for d in defs:
            cell_start = time.perf_counter()
            cell = {**_base_cell(d), **common}
            status.note(f"{d['id']}")
            try:
                ctx = ScenarioContext(session, encoder, lat_requests, timing, progress=status.note)
                cell.update(run_scenario(d["scenario"], ctx, d["params"]))
                cell["backend_info"] = _jsonable(session.info)
            except Exception as err:  # noqa: BLE001 - e.g. out of memory at batch 512
                cell.update(status="failed", reason=_error(err))
            cell["seconds"] = round(time.perf_counter() - cell_start, 3)
            yield cell  # written by the caller at once: a later crash keeps it
    finally:
        session.close()


def _cached_reference(artifact, encoder, requests, compute, cache_dir: Path):
    """The parity reference scores of an artifact, kept on disk: a rerun does not recompute them."""
    import numpy as np

    path = cache_dir / f"{artifact.name}-{artifact.hash}-{_digest([r.id for r in requests])}.json"
    cached = _read_json(path)
    if cached:
        return [np.asarray(s, dtype=np.float64) for s in cached["scores"]], cached["reference"]
    scores, name = compute(artifact, encoder, requests)
    _atomic_json(path, {"reference": name, "scores": [np.asarray(s).tolist() for s in scores]})
    return scores, name


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))
