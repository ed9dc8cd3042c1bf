"""`rankbench select RESULTS.json --p99-ms 50 --min-retention 0.99` -> decision.json.

Constraints come from the run (results.run.constraints, set by the experiment file); flags override
them. Exit 0 with a choice, 3 when no cell is feasible (the closest misses are printed).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bench.select import OBJECTIVES, SCENARIOS, Constraints, Decision, select

EXIT_NOTHING_FEASIBLE = 3


def add_constraint_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by `select` and `report`; unset flags leave the run's constraints in force."""
    group = parser.add_argument_group("constraints (override results.run.constraints)")
    group.add_argument("--p99-ms", type=float, help="SLA: highest acceptable p99 latency in ms")
    group.add_argument("--min-retention", type=float,
                       help="lowest acceptable NDCG@10 / teacher's NDCG@10 (default 0.99)")
    group.add_argument("--max-bytes", type=int, help="largest acceptable model size on disk, in bytes")
    group.add_argument("--objective", choices=OBJECTIVES, help="how to pick among the Pareto set (default throughput)")
    group.add_argument("--scenario", choices=SCENARIOS, help="whose latency counts (default single-stream)")
    group.add_argument("--backend", help="consider only this backend")


def constraints_from_args(results: dict, args: argparse.Namespace) -> Constraints:
    return Constraints.for_run(results, p99_ms=args.p99_ms, min_retention=args.min_retention,
                               max_bytes=args.max_bytes, objective=args.objective, scenario=args.scenario,
                               backend=args.backend)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="a results.json written by `rankbench bench` or `rankbench run`")
    parser.add_argument("--out", help="folder for decision.json (default: the results file's folder)")
    add_constraint_arguments(parser)


def write_decision(decision: Decision, out_dir: str | Path, source: str | None = None) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "decision.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"results": source, **decision.to_dict()}, indent=1))
    os.replace(tmp, path)
    return path


def main(args: argparse.Namespace) -> int:
    from bench.results import read_results

    results = read_results(args.results)
    decision = select(results, constraints_from_args(results, args))
    path = write_decision(decision, args.out or Path(args.results).parent, str(args.results))
    print(f"constraints: {decision.constraints.describe()}")
    if decision.choice is None:
        print("nothing feasible. Closest misses:")
        for miss in decision.closest_misses:
            print(f"  {miss.variant} on {miss.backend} ({miss.scenario}): {miss.detail}")
        if not decision.closest_misses:
            reasons = sorted({r.reason for r in decision.rejected})
            print(f"  none comes close: every cell was rejected for {', '.join(reasons) or 'lack of cells'}")
        print(f"wrote {path}")
        return EXIT_NOTHING_FEASIBLE
    print(f"choice: {decision.why}")
    print("Pareto set: " + ", ".join(f"{c.variant}/{c.backend}" for c in decision.pareto))
    print(f"wrote {path}")
    return 0
