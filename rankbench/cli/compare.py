"""`rankbench compare BASE.json NEW.json`: the CI gate (rankbench.reports.compare). Prints a Markdown
table; exit 1 on a regression."""
from __future__ import annotations

import argparse
import sys

from rankbench.reports.compare import comparable, compare
from rankbench.reports.gate import Thresholds

EXIT_REGRESSION = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", help="results.json of the reference run (e.g. the main branch)")
    parser.add_argument("new", help="results.json of the run under test")
    d = Thresholds()
    parser.add_argument("--max-p99-regression", type=float, default=d.max_p99_regression,
                        help="relative p99 slow-down tolerated (default %(default)s = 10%%)")
    parser.add_argument("--max-p50-regression", type=float, default=d.max_p50_regression,
                        help="relative p50 slow-down tolerated (default %(default)s)")
    parser.add_argument("--max-throughput-drop", type=float, default=d.max_throughput_drop,
                        help="relative offline throughput drop tolerated, per batch size (default %(default)s)")
    parser.add_argument("--max-rate-drop", type=float, default=d.max_rate_drop,
                        help="relative drop of the server's maximum rate under the SLA (default %(default)s)")
    parser.add_argument("--max-accuracy-drop", type=float, default=d.max_accuracy_drop,
                        help="absolute drop of NDCG@10 / HR@10 / MRR / AUC tolerated (default %(default)s)")
    parser.add_argument("--min-samples", type=int, default=d.min_samples,
                        help="latency figures from fewer samples are regressions (default %(default)s)")
    parser.add_argument("--allow-missing", action="store_true", help="a cell missing from the new run is a note")
    parser.add_argument("--allow-status", action="store_true",
                        help="a cell that is no longer ok (unavailable, failed, invalid) is a note")
    parser.add_argument("--remeasure", action="store_true",
                        help="time the base and new artifacts again, alternately in this process, and judge "
                             "those samples (machine drift cancels); needs both runs' artifacts on disk")
    parser.add_argument("--cells", default=None, help="with --remeasure: only cells whose id contains this")
    parser.add_argument("--samples", type=int, default=40, help="with --remeasure: samples per side (default 40)")
    parser.add_argument("--all", action="store_true", help="list unchanged rows too")
    parser.add_argument("--force", action="store_true", help="compare even if the runs come from different machines")


def thresholds_from_args(args) -> Thresholds:
    return Thresholds(max_p99_regression=args.max_p99_regression, max_p50_regression=args.max_p50_regression,
                      max_throughput_drop=args.max_throughput_drop, max_rate_drop=args.max_rate_drop,
                      max_accuracy_drop=args.max_accuracy_drop, min_samples=args.min_samples,
                      allow_missing=args.allow_missing, allow_status=args.allow_status)


def main(args: argparse.Namespace) -> int:
    from rankbench.bench.results import read_results

    base, new = read_results(args.base), read_results(args.new)
    same, why = comparable(base, new)
    if not same and not args.force:
        raise ValueError(f"refusing to compare latency across machines ({why}); rerun both on one machine "
                         "or pass --force")
    thresholds = thresholds_from_args(args)
    if args.remeasure:
        from rankbench.reports.remeasure import compare_interleaved

        result = compare_interleaved(base, new, thresholds, only=args.cells, samples=args.samples)
    else:
        result = compare(base, new, thresholds)
    if not same:
        result.warnings.append(f"different machines ({why}): compared because of --force")
    print(result.markdown(only_changes=not args.all))
    if result.regressions:
        print(f"\n{len(result.regressions)} regression(s)", file=sys.stderr)
        return EXIT_REGRESSION
    return 0
