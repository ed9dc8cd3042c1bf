"""`rankbench data info`: what a dataset holds. Also the data options shared by other commands."""
from __future__ import annotations

import argparse
import json

from models.data import DataConfig, load_data


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    d = DataConfig()
    parser.add_argument("--dataset", default=d.dataset,
                        help="movielens-100k, synthetic, a requests .jsonl file, or a folder of train/valid/test.jsonl")
    parser.add_argument("--data-dir", default=None, help="a folder that already holds ml-100k.inter/.item/.user")
    parser.add_argument("--history-len", type=int, default=d.history_len, help="items in the user context")
    parser.add_argument("--demographics", action="store_true", help="add age/gender/occupation to the context")
    parser.add_argument("--seed", type=int, default=d.seed, help="seed for negative sampling")


def data_config_from_args(args) -> DataConfig:
    return DataConfig(dataset=args.dataset, data_dir=args.data_dir, history_len=args.history_len,
                      demographics=args.demographics, seed=args.seed)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["info"], help="info: counts of users, items, requests")
    parser.add_argument("file", nargs="?", help="a requests .jsonl file (same as --dataset FILE)")
    add_data_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def main(args) -> int:
    if args.file:
        args.dataset = args.file
    summary = load_data(data_config_from_args(args)).summary()
    if args.json:
        print(json.dumps(summary))
    else:
        width = max(len(k) for k in summary)
        for key, value in summary.items():
            print(f"{key.replace('_', ' '):<{width}}  {value}")
    return 0
