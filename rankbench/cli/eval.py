"""`rankbench eval`: NDCG@10, HR@10, MRR, AUC of the fine-tuned teacher and of popularity."""
from __future__ import annotations

import argparse
import json

from rankbench.cli.args import (add_data_arguments, add_teacher_arguments, data_config_from_args,
                                teacher_config_from_args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    add_teacher_arguments(parser)
    parser.add_argument("--model", default=None, help="evaluate this ranker folder instead of the teacher")
    parser.add_argument("--users", type=int, default=None, help="test requests to score (default: all)")
    parser.add_argument("--split", choices=["test", "valid"], default="test")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def main(args) -> int:
    from rankbench.models.baselines import popularity_scores
    from rankbench.models.metrics import METRICS, evaluate
    from rankbench.models.data import load_data
    from rankbench.models.ranker import BertRanker
    from rankbench.models.teacher import get_teacher

    data_config = data_config_from_args(args)
    data = load_data(data_config)
    requests = getattr(data, args.split)[:args.users]
    if args.users is not None and args.users < 1:
        raise ValueError("--users must be >= 1")
    if args.model:
        ranker = BertRanker.load(args.model)
    else:
        ranker, _folder, _report = get_teacher(teacher_config_from_args(args), data_config, data)
    result = {"ranker": evaluate(ranker.score(requests, progress=True), requests),
              "popularity": evaluate(popularity_scores(data, requests), requests), "users": len(requests)}
    for part in ("ranker", "popularity"):
        result[part].pop("users")
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'':<12}" + "".join(f"{m:>10}" for m in METRICS) + f"   ({len(requests)} users)")
        for part in ("ranker", "popularity"):
            print(f"{part:<12}" + "".join(f"{result[part][m]:>10.4f}" for m in METRICS))
    return 0
