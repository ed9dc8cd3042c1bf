"""`rankbench compare BASE.json NEW.json`: the CI gate (rankbench.reports.compare). Prints a Markdown
table; exit 1 on a regression."""
from __future__ import annotations

import argparse
import sys

from rankbench.reports.compare import Thresholds, comparable, compare

EXIT_REGRESSION = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", help="results.json of the reference run (e.g. the main branch)")
    parser.add_argument("new", help="results.json of the run under test")
    parser.add_argument("--max-p99-regression", type=float, default=0.10,
                        help="relative p99 slow-down tolerated (default 0.10 = 10%%)")
    parser.add_argument("--max-accuracy-drop", type=float, default=0.005,
                        help="absolute drop of NDCG@10 / HR@10 / MRR / AUC tolerated (default 0.005)")
    parser.add_argument("--all", action="store_true", help="list unchanged rows too")
    parser.add_argument("--force", action="store_true", help="compare even if the runs come from different machines")


def main(args: argparse.Namespace) -> int:
    from rankbench.bench.results import read_results

    base, new = read_results(args.base), read_results(args.new)
    same, why = comparable(base, new)
    if not same and not args.force:
        raise ValueError(f"refusing to compare latency across machines ({why}); rerun both on one machine "
                         "or pass --force")
    thresholds = Thresholds(args.max_p99_regression, args.max_accuracy_drop)
    result = compare(base, new, thresholds)
    if not same:
        result.warnings.append(f"different machines ({why}): compared because of --force")
    print(result.markdown(only_changes=not args.all))
    if result.regressions:
        print(f"\n{len(result.regressions)} regression(s)", file=sys.stderr)
        return EXIT_REGRESSION
    return 0
