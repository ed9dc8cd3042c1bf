"""`rankbench data info`: what a dataset holds. Also the data options shared by other commands."""
from __future__ import annotations

import argparse
import json

from rankbench.cli.args import add_data_arguments, data_config_from_args
from rankbench.models.data import load_data


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
