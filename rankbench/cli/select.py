"""`rankbench select RESULTS.json --p99-ms 50 --min-retention 0.99` -> decision.json.

Constraints come from the run (results.run.constraints, set by the experiment file); flags override
them. Cells measured on several machines (a cluster run) get one decision per machine,
decision-<machine>.json each; `--machine NAME` decides for that machine only. Exit 0 with a
choice (for at least one machine), 3 when no cell is feasible (the closest misses are printed).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from rankbench.cli.args import add_constraint_arguments, constraints_from_args
from rankbench.reports.machines import describe, machine_names, only_machine, write_machine_decisions
from rankbench.reports.select import select, write_decision

EXIT_NOTHING_FEASIBLE = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="a results.json written by `rankbench bench` or `rankbench run`")
    parser.add_argument("--out", help="folder for decision.json (default: the results file's folder)")
    parser.add_argument("--machine", metavar="NAME",
                        help="decide for the cells of this machine only (default: one decision per machine)")
    add_constraint_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from rankbench.bench.results import read_results

    results = read_results(args.results)
    out = args.out or Path(args.results).parent
    names = machine_names(results)
    if args.machine or len(names) > 1:
        chosen = [args.machine] if args.machine else names
        decisions = {name: select(only_machine(results, name), constraints_from_args(results, args))
                     for name in chosen}
        paths = write_machine_decisions(decisions, out, str(args.results))
        codes = []
        for (name, decision), path in zip(decisions.items(), paths):
            print(f"== machine {describe(results, name)}")
            codes.append(_report(decision, path))
        return 0 if 0 in codes else EXIT_NOTHING_FEASIBLE
    decision = select(results, constraints_from_args(results, args))
    return _report(decision, write_decision(decision, out, str(args.results)))


def _report(decision, path) -> int:
    """Print a decision; its exit code."""
    print(f"constraints: {decision.constraints.describe()}")
    if decision.choice is None:
        print("nothing feasible. Closest misses:")
        for miss in decision.closest_misses:
            print(f"  {miss.cell_id}: {miss.detail}")
        if not decision.closest_misses:
            reasons = sorted({r.reason for r in decision.rejected})
            print(f"  none comes close: every cell was rejected for {', '.join(reasons) or 'lack of cells'}")
        print(f"wrote {path}")
        return EXIT_NOTHING_FEASIBLE
    print(f"choice: {decision.why}")
    holds = decision.claims.get("retention_holds")
    if holds is not None:
        interval = decision.claims.get("retention_ci") or [float("nan")] * 2
        print(f"retention at 95% confidence: [{interval[0]:.3f}, {interval[1]:.3f}] -> the retention claim "
              f"{'holds' if holds else 'is NOT proven'} (>= {decision.constraints.min_retention:g})")
    print("Pareto set: " + ", ".join(c.cell_id for c in decision.pareto))
    print(f"wrote {path}")
    return 0
