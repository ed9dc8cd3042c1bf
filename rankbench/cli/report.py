"""`rankbench report RESULTS.json --out DIR` -> DIR/report.html (self-contained) + DIR/summary.md.

The verdict uses the same selection as `rankbench select`: the run's constraints, overridden by flags.
A results file that does not match the schema stops with a clear error and writes nothing.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from rankbench.cli.args import add_constraint_arguments, constraints_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="a results.json written by `rankbench bench` or `rankbench run`")
    parser.add_argument("--out", help="output folder (default: the results file's folder)")
    add_constraint_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from rankbench.bench.results import read_results
    from rankbench.reports.render import write_report

    results = read_results(args.results)
    paths = write_report(results, args.out or Path(args.results).parent, constraints_from_args(results, args),
                         source=str(args.results))
    for path in paths:
        print(f"wrote {path}")
    return 0
