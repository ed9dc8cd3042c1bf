"""The Ray executor on a local Ray (ray.init(num_cpus=2), one fake GPU, the timing slot): a tiny
experiment gives the same cells and fields as the local executor and a second run redoes nothing;
GPU work waits for a free GPU and is unavailable, with the reason, where no node has what it needs;
a dead worker is an outcome, and a retried unit counts once. Ray is shut down after the module."""
from __future__ import annotations

import os
import shutil
import sys
import threading

import pytest

from rankbench.bench.backends import BackendOptions
from rankbench.bench.executors.base import Needs, Work
from rankbench.bench.executors.resources import MACHINE_LABEL, TIMING_SLOT
from rankbench.bench.placement import Placement
from rankbench.bench.results import read_results
from rankbench.cli import main
from rankbench.common.store import Store
from tests.rankbench.test_bad_input import EXPERIMENT

ray = pytest.importorskip("ray")
from rankbench.bench.executors.ray_executor import RayExecutor  # noqa: E402 - needs ray

# Workers cannot import this test module: its functions travel by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

CUDA = BackendOptions(device="cuda")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One local Ray for the module; its workers mirror URL stores apart from the driver."""
    workers = tmp_path_factory.mktemp("worker-mirror")
    ray.init(num_cpus=2, num_gpus=1, resources={TIMING_SLOT: 1}, labels={MACHINE_LABEL: "test-node"},
             include_dashboard=False, object_store_memory=200 * 2**20, log_to_driver=False,
             runtime_env={"env_vars": {"RANKBENCH_STORE_CACHE": str(workers)}})
    try:
        yield workers
    finally:
        ray.shutdown()


def _assigned():
    import ray as ray_in_worker

    return ray_in_worker.get_runtime_context().get_assigned_resources()


def test_gpu_work_waits_for_a_free_gpu(cluster, tmp_path):
    @ray.remote(num_gpus=1)
    class Holder:
        def ping(self):
            return 1

    holder = Holder.remote()
    ray.get(holder.ping.remote())  # the node's only GPU is taken
    executor, outcomes = RayExecutor(Store(str(tmp_path))), []
    work = Work("gpu", _assigned, (), Needs("torch", CUDA, timed=True))
    waiting = threading.Thread(target=lambda: outcomes.extend(executor.map([work])))
    waiting.start()
    waiting.join(timeout=4)
    assert waiting.is_alive() and not outcomes  # it waits: a node has a GPU, busy for now
    ray.kill(holder)
    waiting.join(timeout=120)
    assert outcomes[0].ok and outcomes[0].value["GPU"] == 1 and outcomes[0].value[TIMING_SLOT] == 1
    assert not executor.started  # it joined the Ray the test started and leaves it running


def test_work_no_node_can_run_is_unavailable_with_the_reason(cluster, tmp_path):
    executor = RayExecutor(Store(str(tmp_path)), accelerator_type="H100")
    works = [Work("tpu", _assigned, (), Needs("xla", BackendOptions(device="tpu"), timed=True)),
             Work("h100", _assigned, (), Needs("torch", CUDA)),
             Work("label", _assigned, (), Needs("torch", BackendOptions(), Placement((("rankbench/machine", "a100"),)))),
             Work("cpu", _assigned, (), Needs(threads=1))]
    outcomes = {o.key: o for o in executor.map(works)}
    assert outcomes["tpu"].unavailable and "TPU 1" in outcomes["tpu"].error
    assert outcomes["h100"].unavailable and "accelerator_type:H100" in outcomes["h100"].error
    assert outcomes["label"].unavailable and "label rankbench/machine=a100" in outcomes["label"].error
    assert outcomes["cpu"].ok and outcomes["cpu"].value[TIMING_SLOT] == pytest.approx(0.001)


def test_a_dead_worker_is_an_outcome_and_a_retry_counts_once(cluster, tmp_path):
    def die():
        os._exit(1)

    def flaky(marker):
        if not os.path.exists(marker):  # the first attempt dies, as on a node that goes away
            open(marker, "w").close()
            os._exit(1)
        return [1.0, 2.0, 3.0]

    outcomes = {o.key: o for o in RayExecutor(Store(str(tmp_path)), max_retries=0).map(
        [Work("dies", die), Work("fine", lambda: 7)])}
    assert not outcomes["dies"].ok and outcomes["dies"].error.startswith("WorkerCrashedError")
    assert outcomes["fine"].value == 7  # the others go on
    (retried,) = RayExecutor(Store(str(tmp_path)), max_retries=1).map([Work("flaky", flaky, (str(tmp_path / "m"),))])
    assert retried.value == [1.0, 2.0, 3.0]


def _experiment(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT)
    return str(path)


def _files(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_ray_gives_the_local_cells_and_a_second_run_redoes_nothing(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("RANKBENCH_STORE_CACHE", str(tmp_path / "driver-mirror"))
    exp, store = _experiment(tmp_path), tmp_path / "store"
    assert main(["run", exp, "--out", str(tmp_path / "local")]) == 0
    ray_run = ["run", exp, "--out", str(tmp_path / "ray"), "--executor", "ray", "--store", f"file://{store}"]
    assert main(ray_run) == 0
    local, remote = read_results(tmp_path / "local" / "results.json"), read_results(tmp_path / "ray" / "results.json")
    assert [c["id"] for c in remote["cells"]] == [c["id"] for c in local["cells"]]
    for a, b in zip(local["cells"], remote["cells"]):
        assert (sorted(a), a["status"]) == (sorted(b), b["status"])
        assert sorted(a["accuracy"] or {}) == sorted(b["accuracy"] or {})
    assert sorted(remote) == sorted(local) and sorted(remote["artifacts"]) == sorted(local["artifacts"])
    cell = remote["cells"][0]
    assert cell["machine"]["name"] == "test-node" and cell["threads"] == 1
    assert cell["executor"]["name"] == "ray" and cell["executor"]["resources"][TIMING_SLOT] == 1.0
    assert local["cells"][0]["executor"] == {"name": "local"}
    assert {p.parent.name for p in store.glob("*/*")} >= {"artifacts", "imported", "accuracy", "cells", "parity"}

    stored = _files(store)
    built = {p: p.stat().st_mtime_ns for p in cluster.rglob("artifact.json")}  # in the workers' mirror
    assert built
    shutil.rmtree(tmp_path / "driver-mirror")  # the driver keeps nothing of its own: the store has it all
    assert main(ray_run) == 0
    assert _files(store) == stored  # nothing scored, measured or copied up again
    assert {p: p.stat().st_mtime_ns for p in cluster.rglob("artifact.json")} == built  # nor built
