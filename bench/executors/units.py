"""The units of work of a run, as every executor runs them: build a variant, score requests (an
artifact's reference scores, or a cell's own session's), measure a group of cells, confirm a cell.

Each is a plain function of picklable arguments that returns its result whole, so the local
executor calls it in this process and the Ray executor in a worker anywhere in the cluster. Files
go through the store (rankbench.common.store): a unit fetches the artifact and the score or parity
files it reads and copies up what it wrote, so a build is done once for every machine and a score
file continues where any worker left it. Artifacts arrive "portable" (their path relative to the
store; an absolute path is used where it lies).

Every cell a unit measures records where: `machine` (its name, host and identity: CPU model, ISA,
cores, GPU), `threads` (the CPU threads its session was given) and `executor` (which one, and on
Ray the node and the resources the work held).
"""
from __future__ import annotations

import dataclasses
import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from rankbench.bench.machine import environment, machine_identity
from rankbench.common.store import Store
from rankbench.compress.artifact import ARTIFACT_FILE, Artifact

MACHINE_ENV = "RANKBENCH_MACHINE"  # names this machine in the results (else the node label or the host)
_WORKER = {"executor": {"name": "local"}, "machine": None}


@contextmanager
def running_as(executor: dict, machine: str | None = None):
    """What a remote executor tells the unit about where it runs (the local one needs nothing)."""
    before = dict(_WORKER)
    _WORKER.update(executor=executor, machine=machine)
    try:
        yield
    finally:
        _WORKER.update(before)


@lru_cache(maxsize=1)
def _environment() -> dict:
    return environment()


def machine_record() -> dict:
    env = _environment()
    name = _WORKER["machine"] or os.environ.get(MACHINE_ENV) or env.get("hostname")
    node = _WORKER["executor"].get("node_id")
    return {"name": name, "hostname": env.get("hostname"), "node_id": node, **machine_identity(env)}


def open_artifact(store: Store, artifact: Artifact) -> Artifact:
    """A portable artifact as files on this machine (fetched from the store when missing)."""
    if not Path(artifact.path).is_absolute():
        store.pull_dir(artifact.path, ARTIFACT_FILE)
    return Artifact(store.local(artifact.path), artifact.name, artifact.format, artifact.meta)


def _portable(store: Store, artifact: Artifact) -> Artifact:
    return Artifact(Path(store.relative(artifact.path)), artifact.name, artifact.format, artifact.meta)


def build_unit(store: Store, teacher: Artifact, steps: list, data, seed: int, base: str | None,
               progress: bool = False) -> Artifact:
    """One variant: every step from the teacher, each reused from the store when built before."""
    from rankbench.compress.api import CompressContext, artifact_dir, compress
    from rankbench.compress.recipe import validate_recipe

    teacher = open_artifact(store, teacher)
    ctx = CompressContext(out_dir=store.local("artifacts"), data=data, teacher=teacher, base=base, seed=seed,
                          progress=progress)
    parent = teacher
    for config in validate_recipe(teacher, steps, ctx):
        rel = store.relative(artifact_dir(parent, config, ctx))
        store.pull_dir(rel, ARTIFACT_FILE)
        parent = compress(parent, config, ctx)  # reused when the folder is complete
        store.push_dir(rel, ARTIFACT_FILE)
    return _portable(store, parent)


def reference_unit(store: Store, artifact: Artifact, requests: list, label: str, log=None) -> dict:
    """{"scores", "scorer"}: the artifact's reference scores (fp32 on a CPU), kept in the store."""
    from rankbench.bench.scores import reference_score_name, reference_scores_of

    artifact = open_artifact(store, artifact)
    with store.synced(f"accuracy/{reference_score_name(artifact)}"):  # what was scored is kept, even on failure
        scores, scorer = reference_scores_of(artifact, requests, store.local("accuracy"), log, label)
    return {"scores": scores, "scorer": scorer}


def own_scores_unit(store: Store, cell: dict, artifact: Artifact, requests: list, log=None) -> list:
    """A cell's scores through its own backend and options, kept in the store."""
    from rankbench.bench.accuracy import own_score_name, own_scores

    artifact = open_artifact(store, artifact)
    with store.synced(f"accuracy/{own_score_name(cell, artifact)}"):
        return own_scores(cell, artifact, requests, store.local("accuracy"), log)


class _Quiet:
    def note(self, _text):
        pass


def measure_unit(store: Store, artifact: Artifact, vname: str, defs: list[dict], inputs,
                 status=None, on_cell=None) -> list[dict]:
    """Every cell of one (variant, backend, options) group, measured on one session, returned whole
    (`on_cell`, in-process only, gets each one as soon as it is finished)."""
    from rankbench.bench.backends.base import default_threads
    from rankbench.bench.measure import measure_group, reference_name

    artifact = open_artifact(store, artifact)
    inputs = dataclasses.replace(inputs, parity_cache=store.local("parity"), references={})
    where = {"machine": machine_record(), "threads": defs[0]["options"].threads or default_threads(),
             "executor": dict(_WORKER["executor"])}
    cells = []
    with store.synced(f"parity/{reference_name(artifact, inputs.parity_requests)}"):
        for cell in measure_group(artifact, vname, defs, inputs, status or _Quiet()):
            cells.append({**cell, **where})
            if on_cell:
                on_cell(cells[-1])
    return cells


def confirm_unit(store: Store, role: str, cell: dict, artifact: Artifact, requests: list, samples: int,
                 sla_p99_ms: float | None, log=None) -> dict:
    """The cell measured again with `samples` samples (rankbench.bench.confirm), cached in the store."""
    from rankbench.bench.confirm import confirm_cells

    artifact = open_artifact(store, artifact)
    with store.synced(f"cells/{cell['key']}.confirm.json"):
        (entry,) = confirm_cells([(role, cell)], {cell["variant"]: artifact}, requests, store.local("cells"),
                                 sla_p99_ms=sla_p99_ms, samples=samples, log=log)
    return entry
