"""Measure the cells of one (variant, backend, options) group: one session, one parity check, then
each scenario; every cell is yielded as soon as it is finished (the caller writes it at once).

    for cell in measure_group(artifact, group_cells, requests, timing, references, status, cache_dir):
        write(cell)

A backend that is unavailable, a session that fails to prepare, a parity failure (-> "invalid", with
its figures) or an exception while measuring is recorded with its reason; nothing here raises.
"""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from rankbench.bench.backends import get_backend
from rankbench.bench.cells import base_cell
from rankbench.bench.parity import check_parity, failure_reason, reference_scores
from rankbench.bench.scenarios import ScenarioContext, run_scenario
from rankbench.bench.timing import TimingConfig
from rankbench.common.digest import digest
from rankbench.common.files import atomic_write_json, read_json_or_none
from rankbench.models.encoder import PairEncoder


def error_text(err: BaseException) -> str:
    """One line: the exception and where it was raised."""
    last = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
    where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return f"{type(err).__name__}: {str(err)[:400]}{where}"


@dataclass
class GroupInputs:
    """What every group of a run shares."""

    latency_requests: list
    parity_requests: list
    timing: TimingConfig
    parity_cache: Path  # reference scores of each artifact, kept across runs
    references: dict  # variant name -> (reference scores, what computed them), filled as needed


def measure_group(artifact, vname: str, defs: list[dict], inputs: GroupInputs, status):
    """Yield every cell of `defs` (all of one variant, backend and options), finished."""
    start = time.perf_counter()
    bname, options = defs[0]["backend"], defs[0]["options"]
    backend = get_backend(bname)

    def all_cells(state: str, reason: str, **extra):
        seconds = round(time.perf_counter() - start, 3)
        return [{**base_cell(d), "status": state, "reason": reason, "seconds": seconds, **extra} for d in defs]

    ok, why = backend.available()
    ok, why = backend.supports(artifact, options) if ok else (ok, why)
    if not ok:
        yield from all_cells("unavailable", why)
        return
    status.note(f"{vname}/{bname}: preparing")
    try:
        encoder = PairEncoder.from_folder(artifact.path)
        if vname not in inputs.references:
            inputs.references[vname] = cached_reference(artifact, encoder, inputs.parity_requests,
                                                        inputs.parity_cache)
        session = backend.prepare(artifact, options)
    except Exception as err:  # noqa: BLE001 - recorded with its reason; the run goes on
        yield from all_cells("failed", f"prepare: {error_text(err)}")
        return
    try:
        yield from _checked_cells(session, encoder, artifact, vname, defs, inputs, status, all_cells)
    finally:
        session.close()


def _checked_cells(session, encoder, artifact, vname, defs, inputs: GroupInputs, status, all_cells):
    backend, options = get_backend(defs[0]["backend"]), defs[0]["options"]
    status.note(f"{vname}/{backend.name}: parity")
    try:
        ref, ref_name = inputs.references[vname]
        parity = check_parity(session, encoder, inputs.parity_requests, ref,
                              backend.precision(artifact, options), ref_name)
    except Exception as err:  # noqa: BLE001
        yield from all_cells("failed", f"parity check: {error_text(err)}", device=session.device)
        return
    common = {"device": session.device, "parity": parity, "backend_info": jsonable(session.info)}
    if not parity["passed"]:
        yield from all_cells("invalid", failure_reason(parity), **common)
        return
    for d in defs:
        cell_start = time.perf_counter()
        cell = {**base_cell(d), **common}
        status.note(d["id"])
        try:
            ctx = ScenarioContext(session, encoder, inputs.latency_requests, inputs.timing, progress=status.note)
            cell.update(run_scenario(d["scenario"], ctx, d["params"]))
            cell["backend_info"] = jsonable(session.info)
        except Exception as err:  # noqa: BLE001 - e.g. out of memory at batch 512
            cell.update(status="failed", reason=error_text(err))
        cell["seconds"] = round(time.perf_counter() - cell_start, 3)
        yield cell


def reference_name(artifact, requests) -> str:
    """The file name of an artifact's parity reference scores on `requests` (in the parity cache)."""
    return f"{artifact.name}-{artifact.hash}-{digest([r.id for r in requests])}.json"


def cached_reference(artifact, encoder, requests, cache_dir: Path):
    """The parity reference scores of an artifact, kept on disk: a rerun does not recompute them."""
    import numpy as np

    path = cache_dir / reference_name(artifact, requests)
    cached = read_json_or_none(path)
    if cached:
        return [np.asarray(s, dtype=np.float64) for s in cached["scores"]], cached["reference"]
    scores, name = reference_scores(artifact, encoder, requests)
    atomic_write_json(path, {"reference": name, "scores": [np.asarray(s).tolist() for s in scores]})
    return scores, name


def jsonable(obj):
    return json.loads(json.dumps(obj, default=str))
