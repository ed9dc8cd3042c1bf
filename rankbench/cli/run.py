"""`rankbench run EXPERIMENT.toml`: the whole flow, resumable at every stage (rankbench.experiment)."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", help="an experiment file, e.g. experiments/default.toml")
    parser.add_argument("--out", help="output folder (default: the file's run.out_dir)")
    parser.add_argument("--retry-failed", action="store_true", help="measure failed cells again")
    parser.add_argument("--eval-users", type=int, metavar="N",
                        help="score N test users for accuracy instead of the file's run.eval_users (variants "
                             "and cells already measured are reused; only the missing users are scored)")
    parser.add_argument("--check", action="store_true",
                        help="only validate the experiment file and every recipe against the teacher's shape "
                             "(builds nothing)")


def main(args) -> int:
    from rankbench.experiment.run import check_experiment, run_experiment

    if args.check:
        exp = check_experiment(args.experiment, args.eval_users)
        print(f"{args.experiment}: ok ({len(exp.variants)} variants, {len(exp.backends)} backends, "
              f"{len(exp.scenarios)} scenarios)")
        return 0
    _results, code = run_experiment(args.experiment, args.out, args.retry_failed, args.eval_users)
    return code
