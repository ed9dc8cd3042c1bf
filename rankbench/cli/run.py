"""`rankbench run EXPERIMENT.toml`: the whole flow, resumable at every stage (rankbench.experiment).

    rankbench run experiments/quick.toml
    rankbench run experiments/cluster.toml --executor ray --address auto --store s3://bucket/runs/x
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", help="an experiment file, e.g. experiments/default.toml")
    parser.add_argument("--out", help="output folder (default: the file's run.out_dir)")
    parser.add_argument("--retry-failed", action="store_true", help="measure failed cells again")
    parser.add_argument("--eval-users", type=int, metavar="N",
                        help="score N test users for accuracy instead of the file's run.eval_users (variants "
                             "and cells already measured are reused; only the missing users are scored)")
    parser.add_argument("--executor", choices=("local", "ray"), default=None,
                        help="where builds, scoring and cells run: this process (local) or a Ray cluster (ray; "
                             "pip install -e '.[ray]'); default: the file's run.executor, else local")
    parser.add_argument("--address", default=None,
                        help="ray: the cluster to join (auto, ray://HEAD:10001); default: $RAY_ADDRESS, else a "
                             "Ray started on this machine")
    parser.add_argument("--store", default=None, metavar="FOLDER|URL",
                        help="where artifacts, score files and cells live: a folder every node sees or an fsspec "
                             "URL such as s3://bucket/prefix (default: the file's run.store, else the output folder)")
    parser.add_argument("--check", action="store_true",
                        help="only validate the experiment file and every recipe against the teacher's shape "
                             "(builds nothing)")


def main(args) -> int:
    from rankbench.experiment.run import check_experiment, run_experiment

    overrides = {"executor": args.executor, "address": args.address, "store": args.store}
    if args.check:
        exp = check_experiment(args.experiment, args.eval_users, **overrides)
        print(f"{args.experiment}: ok ({len(exp.variants)} variants, {len(exp.backends)} backends, "
              f"{len(exp.scenarios)} scenarios)")
        return 0
    _results, code = run_experiment(args.experiment, args.out, args.retry_failed, args.eval_users, **overrides)
    return code
