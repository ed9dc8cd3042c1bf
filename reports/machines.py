"""Cells by the machine that measured them, and one decision per target machine.

    machine_names(results)                    # ["cpu-node", "a100"], in order of first appearance
    only_machine(results, "a100")             # the results with that machine's cells only
    decide_per_machine(results, constraints)  # {name: Decision}

A cell records its machine (`cell.machine.name`: the node's `rankbench/machine` label on a Ray
cluster, else $RANKBENCH_MACHINE, else the host name). A cell that never ran anywhere (no node could
take it) counts for the machine its placement names, else the run's own; results written before
cells recorded machines are all the run's machine. Latency only compares within one machine, so
each machine gets its own decision, its own speed-up baseline and Pareto set.
"""
from __future__ import annotations

import re
from pathlib import Path

from rankbench.reports.constraints import Constraints
from rankbench.reports.select import Decision, select, write_decision


def machine_of(results: dict, cell: dict) -> str:
    machine = cell.get("machine") or {}
    if machine.get("name"):
        return machine["name"]
    placement = cell.get("placement") or {}
    labels = list((placement.get("node_label") or {}).values())
    if labels or placement.get("accelerator_type"):
        return "+".join(labels + ([placement["accelerator_type"]] if placement.get("accelerator_type") else []))
    return (results.get("environment") or {}).get("hostname") or "this machine"


def machine_names(results: dict) -> list[str]:
    return list(dict.fromkeys(machine_of(results, c) for c in results.get("cells", [])))


def only_machine(results: dict, name: str) -> dict:
    """The results restricted to one machine's cells (a ValueError names the known machines)."""
    names = machine_names(results)
    if name not in names:
        raise ValueError(f"no cells measured on machine {name!r}; machines in these results: {', '.join(names)}")
    return {**results, "cells": [c for c in results.get("cells", []) if machine_of(results, c) == name]}


def describe(results: dict, name: str) -> str:
    """'a100: AMD EPYC 7763, 64 cores, NVIDIA A100-SXM4-80GB' from the first cell that ran there."""
    for cell in results.get("cells", []):
        machine = cell.get("machine") or {}
        if machine.get("cpu") and machine_of(results, cell) == name:
            gpu = f", {machine['gpu']}" if machine.get("gpu") else ""
            return f"{name}: {machine['cpu']}, {machine.get('cores')} cores{gpu}"
    return name


def decide_per_machine(results: dict, constraints: Constraints | None = None) -> dict[str, Decision]:
    constraints = constraints or Constraints.for_run(results)
    return {name: select(only_machine(results, name), constraints) for name in machine_names(results)}


def decision_file(name: str) -> str:
    return f"decision-{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.json"


def write_machine_decisions(decisions: dict[str, Decision], out_dir: str | Path, source: str | None) -> list[Path]:
    """decision-<machine>.json for each machine, beside decision.json."""
    return [write_decision(decision, out_dir, source, name=decision_file(machine), machine=machine)
            for machine, decision in decisions.items()]
