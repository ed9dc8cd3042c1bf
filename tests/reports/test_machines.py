"""Cells grouped by the machine that measured them: one decision per machine (select --machine or
every machine), the report's machine grouping; results without machines stay one machine."""
from __future__ import annotations

import json

import pytest

from rankbench.cli import main
from rankbench.reports.constraints import Constraints
from rankbench.reports.machines import decide_per_machine, machine_names, only_machine
from rankbench.reports.render import render
from results_factory import artifact, cell, hand_results

CPU = {"name": "cpu-node", "hostname": "c1", "node_id": "n1", "cpu": "Xeon (test)", "cpu_id": "6/1/1",
       "isa": ["avx2"], "cores": 16, "gpu": None}
GPU = {**CPU, "name": "a100", "hostname": "g1", "node_id": "n2", "gpu": "NVIDIA A100"}


def two_machines():
    artifacts = {"teacher": artifact("teacher", 0.40), "small": artifact("small", 0.399)}
    cells = [cell("teacher", "torch", p99=40.0, machine=CPU), cell("small", "torch", p99=20.0, machine=CPU),
             cell("teacher", "tensorrt", p99=4.0, machine=GPU), cell("small", "tensorrt", p99=3.0, machine=GPU),
             # ran nowhere (no node could take it): counts for the machine its placement names
             cell("small", "xla", status="unavailable", reason="no node of the Ray cluster offers TPU 1",
                  machine=None, placement={"node_label": {"rankbench/machine": "tpu-host"}})]
    return hand_results(artifacts, cells)


def test_each_machine_gets_its_own_decision():
    results = two_machines()
    assert machine_names(results) == ["cpu-node", "a100", "tpu-host"]
    decisions = decide_per_machine(results, Constraints(min_retention=0.9, objective="p99"))
    assert decisions["cpu-node"].choice.cell_id == "small/torch/single-stream"
    assert decisions["a100"].choice.cell_id == "small/tensorrt/single-stream"
    assert decisions["tpu-host"].choice is None
    # across machines the GPU cell would win everything; per machine the CPU node keeps its own choice
    assert {c["id"] for c in only_machine(results, "cpu-node")["cells"]} == {"teacher/torch/single-stream",
                                                                           "small/torch/single-stream"}
    with pytest.raises(ValueError, match="machines in these results: cpu-node, a100, tpu-host"):
        only_machine(results, "h100")


def test_results_without_machines_are_one_machine():
    results = hand_results({"teacher": artifact("teacher", 0.4)}, [cell("teacher", "torch", p99=5.0)])
    assert machine_names(results) == ["ci"]  # the run's own host
    html, markdown = render(results)
    assert "By machine" not in markdown and "By machine" not in html


def test_select_per_machine_and_for_one(tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(two_machines()))
    assert main(["select", str(path), "--min-retention", "0.9", "--objective", "p99"]) == 0
    written = sorted(p.name for p in tmp_path.glob("decision*.json"))
    assert written == ["decision-a100.json", "decision-cpu-node.json", "decision-tpu-host.json"]
    a100 = json.loads((tmp_path / "decision-a100.json").read_text())
    assert a100["machine"] == "a100" and a100["choice"]["cell_id"] == "small/tensorrt/single-stream"
    assert "== machine a100: Xeon (test), 16 cores, NVIDIA A100" in capsys.readouterr().out

    out = tmp_path / "one"
    assert main(["select", str(path), "--machine", "tpu-host", "--out", str(out)]) == 3  # nothing feasible there
    assert [p.name for p in out.glob("*.json")] == ["decision-tpu-host.json"]
    assert main(["select", str(path), "--machine", "h100"]) == 2
    assert "no cells measured on machine 'h100'" in capsys.readouterr().err


def test_report_groups_cells_by_machine():
    html, markdown = render(two_machines(), Constraints(min_retention=0.9, objective="p99"))
    assert "By machine" in markdown and "a100: Xeon (test), 16 cores, NVIDIA A100" in markdown
    assert "deploy `small` on `tensorrt`" in markdown and "tpu-host: 1 cells; nothing feasible" in markdown
    assert "<h2>By machine</h2>" in html
