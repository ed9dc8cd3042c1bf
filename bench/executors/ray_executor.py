"""The Ray executor: every unit of work a Ray task, anywhere in a cluster that fits what it needs.

    executor = RayExecutor(Store("s3://bucket/x"), address="ray://head:10001", accelerator_type="A100")
    for outcome in executor.map(works): ...          # as tasks finish

Resources (rankbench.bench.executors.resources): a task asks for the CPUs of its threads and its
backend's accelerator (GPU, TPU), an accelerator type or node labels where the experiment places
the backend. A work no live node could ever run is reported `unavailable` with the reason at once,
instead of waiting forever; one that fits a busy node waits for it.

A node to itself while timed: each node offers one unit of the custom resource
"rankbench_timing_slot" (`ray start --resources='{"rankbench_timing_slot": 1}'`; a Ray started here
gets it). A timed task holds the whole unit, every other task of the run a thousandth, so a timed
cell never shares its node's CPU or GPU with a build, a scoring task or another timed cell. A
resource, rather than a lock actor per node, because Ray's scheduler then does the waiting: no
task blocks a worker while it waits, and a dead node frees its slot with it.

Threads: Ray sets OMP_NUM_THREADS to a task's CPU count (1 by default). A task sets it, MKL's and
RANKBENCH_THREADS (what backends use when their options name no count) explicitly: the backend's
or the run's thread count, else the node's cores for a timed cell (it has the node to itself) and
the CPUs it asked for otherwise. Cells record the count.

Cache keys: a cell's key covers what it asks for (resources, accelerator type, node labels) and the
driver's libraries and code, not the driver's machine, which measures nothing; label the nodes
(rankbench/machine) so that one placement means one kind of machine. The cell records the node
that measured it.

Failures: a task that raises, a worker that dies or a node that dies ends as an outcome with the
reason; the run goes on. Ray retries a task after a worker or node death `max_retries` times; a
retry reruns the whole unit and its result replaces nothing but is returned once, so samples are
never counted twice.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from rankbench.bench.executors.base import Executor, Outcome, Work
from rankbench.bench.executors.resources import (MACHINE_LABEL, TIMING_SLOT, feasible, task_options)
from rankbench.common.store import Store

_REMOTE = {}


def import_ray():
    try:
        import ray
    except ImportError as err:
        raise RuntimeError("the ray executor needs Ray: pip install -e '.[ray]' "
                           f"(or use --executor local) ({err})") from None
    return ray


def run_in_worker(fn, threads, timed, *args):
    """The body of every task: set the threads, tell the unit where it runs, call it."""
    import ray

    count = threads or (os.cpu_count() if timed else 1) or 1
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RANKBENCH_THREADS"):
        os.environ[var] = str(count)
    from rankbench.bench.executors.units import running_as

    ctx = ray.get_runtime_context()
    executor = {"name": "ray", "node_id": ctx.get_node_id(), "resources": ctx.get_assigned_resources()}
    with running_as(executor, (ctx.get_node_labels() or {}).get(MACHINE_LABEL)):
        return fn(*args)


def _remote():
    if "task" not in _REMOTE:
        ray = import_ray()
        _REMOTE["task"] = ray.remote(run_in_worker)
    return _REMOTE["task"]


class RayExecutor(Executor):
    name = "ray"
    distributed = True

    def __init__(self, store: Store, address: str | None = None, accelerator_type: str | None = None,
                 max_retries: int = 1, log=print):
        if not store.remote:  # every node must find the folder at the same path
            store = Store(str(Path(store.url).absolute()))
        super().__init__(store)
        self.ray = import_ray()
        self.accelerator_type, self.max_retries = accelerator_type, max_retries
        self.started = not self.ray.is_initialized()
        if self.started:
            local = address is None and not os.environ.get("RAY_ADDRESS")
            self.ray.init(address=address, include_dashboard=False, log_to_driver=True,
                          **({"resources": {TIMING_SLOT: 1}} if local else {}))
        self._check_cluster(log)

    def _nodes(self) -> list[dict]:
        return [n for n in self.ray.nodes() if n.get("Alive")]

    def _check_cluster(self, log) -> None:
        nodes = self._nodes()
        if not any((n.get("Resources") or {}).get(TIMING_SLOT) for n in nodes):
            self.close()
            raise RuntimeError(f"no node of the Ray cluster offers the {TIMING_SLOT} resource: start every "
                               f"node with ray start ... --resources='{{\"{TIMING_SLOT}\": 1}}' (see the README)")
        if log and len(nodes) > 1 and not self.store.remote:
            log(f"ray: {len(nodes)} nodes; the store {self.store.url} must be the same shared folder on each")

    def share(self, value):
        return self.ray.put(value)

    def key_context(self, env: dict, threads: int, run_threads: int | None) -> dict:
        # Where a cell runs is decided by what it asks for (where()), not by this driver's machine.
        return {"measured_by": {"executor": "ray", "libraries": env.get("libraries"), "code": env.get("code_digest")},
                "threads": run_threads}

    def where(self, spec) -> dict:
        from rankbench.bench.executors.base import Needs

        needs = Needs(spec.name, spec.options, spec.placement, timed=True, threads=spec.options.threads)
        options = task_options(needs, self.accelerator_type)
        return {key: options.get(key) for key in ("num_cpus", "num_gpus", "resources", "accelerator_type",
                                                  "label_selector")}

    def map(self, works: list[Work]) -> Iterator[Outcome]:
        pending, nodes = {}, self._nodes()
        try:
            for work in works:
                options = task_options(work.needs, self.accelerator_type, self.max_retries)
                ok, why = feasible(options, nodes)
                if not ok:
                    yield Outcome(work.key, error=why, unavailable=True)
                    continue
                ref = _remote().options(**options).remote(work.fn, work.needs.threads, work.needs.timed, *work.args)
                pending[ref] = work
            while pending:
                ready, _ = self.ray.wait(list(pending), num_returns=1)
                yield self._outcome(pending.pop(ready[0]), ready[0])
        finally:
            for ref in pending:  # the caller stopped early (an interrupt): nothing left running
                self.ray.cancel(ref)

    def _outcome(self, work: Work, ref) -> Outcome:
        exceptions = self.ray.exceptions
        try:
            return Outcome(work.key, self.ray.get(ref))
        except exceptions.RayTaskError as err:  # the unit raised: its own exception
            cause = err.cause if getattr(err, "cause", None) is not None else err
            return Outcome(work.key, error=f"{type(cause).__name__}: {str(cause).strip()[:400]}", detail=str(err))
        except exceptions.RayError as err:  # a dead worker or node, after the retries
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            return Outcome(work.key, error=f"{type(err).__name__}: {first[:300]}", detail=str(err))

    def close(self) -> None:
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()
        self.started = False
