"""Executors without Ray: what each backend asks a cluster for, which nodes can give it, placements
in ids and keys, and the runner's handling of units that end without a result."""
from __future__ import annotations

import shutil

import pytest

from rankbench.bench import scenarios as scenarios_module
from rankbench.bench.backends import BackendOptions
from rankbench.bench.cells import backend_specs, define_cells, scenario_specs
from rankbench.bench.executors.base import Needs, Outcome, Work
from rankbench.bench.executors.local import LocalExecutor
from rankbench.bench.executors.resources import TIMING_SLOT, feasible, resources_for, task_options
from rankbench.bench.executors.units import measure_unit
from rankbench.bench.placement import Placement
from rankbench.bench.runner import run_benchmark
from rankbench.bench.timing import TimingConfig
from rankbench.common.store import Store

FAST = TimingConfig(min_samples=2, min_seconds=0, warmup_min=1, warmup_max=2)


@pytest.mark.parametrize("backend, options, expected", [
    ("torch", {}, {"CPU": 1}),
    ("torch", {"device": "cuda"}, {"CPU": 1, "GPU": 1}),
    ("torch", {"device": "cuda:1", "threads": 2}, {"CPU": 2, "GPU": 1}),
    ("tensorrt", {"precision": "int8"}, {"CPU": 1, "GPU": 1}),
    ("onnxruntime", {"threads": 4}, {"CPU": 4}),
    ("onnxruntime", {"provider": "cuda"}, {"CPU": 1, "GPU": 1}),
    ("xla", {"device": "tpu"}, {"CPU": 1, "TPU": 1}),
    ("xla", {"device": "gpu"}, {"CPU": 1, "GPU": 1}),
    ("xla", {"device": "cpu"}, {"CPU": 1}),
])
def test_resources_follow_the_backend_and_its_options(backend, options, expected):
    opts = BackendOptions.from_dict(options)
    assert resources_for(backend, opts, opts.threads) == expected


def test_task_options_timing_slot_accelerator_and_labels():
    cuda = BackendOptions(device="cuda")
    timed = task_options(Needs("torch", cuda, timed=True), accelerator_type="A100", max_retries=0)
    assert timed == {"num_cpus": 1, "num_gpus": 1, "resources": {TIMING_SLOT: 1.0}, "max_retries": 0,
                     "accelerator_type": "A100"}
    untimed = task_options(Needs(threads=2), accelerator_type="A100")  # a build: no GPU, no GPU model
    assert untimed["resources"] == {TIMING_SLOT: 0.001} and "accelerator_type" not in untimed
    assert untimed["num_cpus"] == 2 and untimed["num_gpus"] == 0
    placed = task_options(Needs("xla", BackendOptions(device="tpu"),
                                Placement((("rankbench/machine", "tpu-host"),)), timed=True))
    assert placed["resources"] == {TIMING_SLOT: 1.0, "TPU": 1}
    assert placed["label_selector"] == {"rankbench/machine": "tpu-host"}
    own = task_options(Needs("torch", cuda, Placement(accelerator_type="H100")), accelerator_type="A100")
    assert own["accelerator_type"] == "H100"  # the backend's own placement wins over the run's default


NODES = [{"Alive": True, "NodeManagerHostname": "cpu1", "Labels": {"rankbench/machine": "cpu-node"},
          "Resources": {"CPU": 16.0, TIMING_SLOT: 1.0}},
         {"Alive": True, "NodeManagerHostname": "gpu1", "Labels": {"rankbench/machine": "a100"},
          "Resources": {"CPU": 8.0, "GPU": 1.0, "accelerator_type:A100": 1.0, TIMING_SLOT: 1.0}},
         {"Alive": False, "NodeManagerHostname": "tpu1", "Labels": {},
          "Resources": {"CPU": 8.0, "TPU": 4.0, TIMING_SLOT: 1.0}}]


def test_feasible_only_where_some_live_node_fits():
    gpu = task_options(Needs("torch", BackendOptions(device="cuda"), timed=True))
    assert feasible(gpu, NODES) == (True, "")
    assert feasible(task_options(Needs("torch", BackendOptions(device="cuda")), accelerator_type="A100"), NODES)[0]
    ok, why = feasible(task_options(Needs("torch", BackendOptions(device="cuda")), accelerator_type="H100"), NODES)
    assert not ok and "accelerator_type:H100" in why
    ok, why = feasible(task_options(Needs("xla", BackendOptions(device="tpu"))), NODES)
    assert not ok and "TPU 1" in why and "tpu1" not in why  # the TPU host is dead
    assert not feasible(task_options(Needs(threads=32)), NODES)[0]
    for selector, expected in (("cpu-node", True), ("!cpu-node", True), ("in(h100,a100)", True),
                               ("!in(cpu-node,a100)", False), ("tpu-host", False)):
        options = task_options(Needs("torch", BackendOptions(), Placement((("rankbench/machine", selector),))))
        assert feasible(options, NODES)[0] is expected, selector
    no_slot = [{**n, "Resources": {"CPU": 16.0}} for n in NODES]
    assert not feasible(task_options(Needs()), no_slot)[0]


def test_placement_is_in_the_id_and_the_key(tiny_artifact):
    specs = backend_specs([{"name": "torch"}, {"name": "torch", "node_label": {"rankbench/machine": "a100"}},
                           {"name": "torch", "accelerator_type": "A100", "node_label": {"pool": "gpu"}}])
    cells = define_cells({"tiny": tiny_artifact}, specs, scenario_specs(["single-stream"]), {})
    assert [c["id"] for c in cells] == ["tiny/torch/single-stream", "tiny/torch@a100/single-stream",
                                        "tiny/torch@gpu+A100/single-stream"]
    assert len({c["key"] for c in cells}) == 3
    plain = define_cells({"tiny": tiny_artifact}, specs[:1], scenario_specs(["single-stream"]), {})
    assert plain[0]["key"] == cells[0]["key"]  # no placement: the key is as it was before placements
    with pytest.raises(ValueError, match="node_label: expected a table"):
        backend_specs([{"name": "torch", "node_label": "a100"}])


def test_the_local_executor_turns_exceptions_into_outcomes():
    def broken():
        raise OSError("disk full")

    outcomes = list(LocalExecutor(Store("unused")).map([Work("a", broken), Work("b", lambda: 42)]))
    assert outcomes[0].error.startswith("OSError: disk full") and "Traceback" in outcomes[0].detail
    assert outcomes[1] == Outcome("b", 42)


class _DeadGroup(LocalExecutor):
    """A node that dies while measuring onnxruntime's group, and no node for tensorrt's."""

    def map(self, works):
        for work in works:
            if work.fn is measure_unit and work.needs.backend == "onnxruntime":
                yield Outcome(work.key, error="NodeDiedError: the node running this task died")
            elif work.fn is measure_unit and work.needs.backend == "tensorrt":
                yield Outcome(work.key, error="no node of the Ray cluster offers GPU 1", unavailable=True)
            else:
                yield from super().map([work])


def test_a_dead_group_fails_with_its_reason_and_the_run_goes_on(tiny_artifact, data, tmp_path):
    results = run_benchmark({"tiny": tiny_artifact}, tmp_path, ["torch:threads=1", "onnxruntime:threads=1", "tensorrt"],
                            ["single-stream"], data=data, users=2, timing=FAST, latency_requests=2,
                            parity_requests=2, progress=False, executor=_DeadGroup(Store(str(tmp_path))))
    by_backend = {c["backend"]: c for c in results["cells"]}
    assert by_backend["onnxruntime"]["status"] == "failed" and "NodeDiedError" in by_backend["onnxruntime"]["reason"]
    assert by_backend["tensorrt"]["status"] == "unavailable" and "GPU 1" in by_backend["tensorrt"]["reason"]
    torch_cell = by_backend["torch"]
    assert torch_cell["status"] == "ok" and torch_cell["threads"] == 1
    assert torch_cell["executor"] == {"name": "local"} and torch_cell["machine"]["cores"] >= 1
    assert torch_cell["samples_ms"] and torch_cell["accuracy"] is not None


def test_a_url_store_lets_another_driver_resume(tiny_artifact, data, tmp_path, monkeypatch):
    """Cells, scores and parity files go up to the store; a driver with an empty mirror reuses them."""
    monkeypatch.setenv("RANKBENCH_STORE_CACHE", str(tmp_path / "mirror"))
    store = Store(f"file://{tmp_path / 'store'}")

    def run():
        return run_benchmark({"tiny": tiny_artifact}, tmp_path / "out", ["torch:threads=1"], ["single-stream"],
                             data=data, users=2, timing=FAST, latency_requests=2, parity_requests=2,
                             progress=False, executor=LocalExecutor(store))

    first = run()
    assert sorted(p.parent.name for p in (tmp_path / "store").rglob("*.json*")) == ["accuracy", "cells", "parity"]
    shutil.rmtree(tmp_path / "mirror")
    calls = []
    for name, (defaults, _) in scenarios_module.SCENARIOS.items():
        monkeypatch.setitem(scenarios_module.SCENARIOS, name, (defaults, lambda *a, **k: calls.append(1)))
    second = run()
    assert calls == [] and second["cells"][0]["samples_ms"] == first["cells"][0]["samples_ms"]


def test_without_ray_the_local_executor_runs_and_ray_says_what_is_missing(tiny_artifact, data, tmp_path,
                                                                           monkeypatch):
    import sys

    from rankbench.bench.executors import make_executor

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed: import ray fails
    results = run_benchmark({"tiny": tiny_artifact}, tmp_path, ["torch:threads=1"], ["single-stream"], data=data,
                            users=2, timing=FAST, latency_requests=2, parity_requests=2, progress=False,
                            executor=make_executor("local", Store(str(tmp_path))))
    assert results["cells"][0]["status"] == "ok"
    with pytest.raises(RuntimeError, match=r"the ray executor needs Ray: pip install -e '\.\[ray\]'"):
        make_executor("ray", Store(str(tmp_path)))
