"""`rankbench eval`: the fine-tuned teacher (or --model) beside the baselines, on the same requests.

    rankbench eval --users 943               # every test user
    rankbench eval --split valid --users 300 # for choosing settings (never the test split)
    rankbench eval --experiment experiments/default.toml --users 943   # make run's data and teacher

Each row has NDCG@10, HR@10, MRR and AUC with 95% bootstrap intervals over users, and its NDCG@10
retention against the teacher on the same users with a paired interval (bench.accuracy, as the
run's results.json). Baselines: popularity and collaborative filtering (models.cf_baseline), both
trained on the training split only.
"""
from __future__ import annotations

import argparse
import json

from rankbench.cli.args import (TRAIN_OPTIONS, add_data_arguments, add_teacher_arguments,
                                data_config_from_args, teacher_config_from_args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    add_teacher_arguments(parser)
    parser.add_argument("--experiment", default=None,
                        help="take the data and the teacher from this experiment file ([data], [teacher])")
    parser.add_argument("--model", default=None, help="evaluate this ranker folder instead of the teacher")
    parser.add_argument("--users", type=int, default=None, help="requests (users) to score (default: all)")
    parser.add_argument("--split", choices=["test", "valid"], default="test")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def accuracy_rows(name: str, scores: list, data, requests: list) -> dict[str, dict]:
    """name -> accuracy of the ranker's `scores` and of every baseline, paired with the ranker's.
    Per-request values are left out (they are for comparing runs, not for reading)."""
    from rankbench.bench.accuracy import summarize_accuracy
    from rankbench.bench.runner import baselines_accuracy

    rows = {name: summarize_accuracy(scores, requests, None, None)}
    rows.update(baselines_accuracy(data, requests, scores))
    for row in rows.values():
        row.pop("per_request", None)
    return rows


def format_rows(rows: dict[str, dict], users: int, split: str, reference: str) -> str:
    from rankbench.models.metrics import METRICS

    lines = [f"{'':<12}" + "".join(f"{m:>24}" for m in METRICS) + f"{'retention':>24}"]
    for name, row in rows.items():
        cells = [f"{row[m]:.4f} [{row['ci'][m][0]:.3f}, {row['ci'][m][1]:.3f}]" for m in METRICS]
        ret, ret_ci = row.get("retention"), row.get("retention_ci")
        cells.append(f"{ret:.3f} [{ret_ci[0]:.3f}, {ret_ci[1]:.3f}]" if ret is not None and ret_ci else "-")
        lines.append(f"{name:<12}" + "".join(f"{c:>24}" for c in cells))
        fallback = (row.get("notes") or {}).get("fallback")
        if fallback:
            lines.append(f"{'':<12}note: {fallback}")
    lines.append(f"{users} {split} users; 95% bootstrap intervals over users; retention: NDCG@10 / the "
                 f"{reference}'s on the same users (paired interval)")
    return "\n".join(lines)


def configs_from_args(args):
    """(data config, teacher config): from --experiment, or from the data and teacher options."""
    from rankbench.models.data import DataConfig

    if not args.experiment:
        return data_config_from_args(args), teacher_config_from_args(args)
    from rankbench.experiment.config import load_experiment

    teacher_flags = ["preset", "max_length", "dropout", "loss", "train_seed", *TRAIN_OPTIONS]
    if data_config_from_args(args) != DataConfig() or any(getattr(args, k) is not None for k in teacher_flags):
        raise ValueError("--experiment sets the data and the teacher: leave out the data and teacher options")
    exp = load_experiment(args.experiment)
    return exp.data, exp.teacher


def main(args) -> int:
    from rankbench.models.data import load_data
    from rankbench.models.ranker import BertRanker
    from rankbench.models.teacher import get_teacher

    if args.users is not None and args.users < 1:
        raise ValueError("--users must be >= 1")
    data_config, teacher_config = configs_from_args(args)
    data = load_data(data_config)
    requests = getattr(data, args.split)[:args.users]
    if not requests:
        raise ValueError(f"the data has no {args.split} requests")
    if args.model:
        ranker, name = BertRanker.load(args.model), "model"
    else:
        ranker, _folder, _report = get_teacher(teacher_config, data_config, data)
        name = "teacher"
    rows = accuracy_rows(name, ranker.score(requests, progress=True), data, requests)
    if args.json:
        print(json.dumps({"users": len(requests), "split": args.split, "reference": name, **rows}))
    else:
        print(format_rows(rows, len(requests), args.split, name))
    return 0
