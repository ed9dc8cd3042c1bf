"""`rankbench train`: fine-tune the teacher (cached by a hash of base, data and hyper-parameters)."""
from __future__ import annotations

import argparse
import json

from rankbench.cli.args import (add_data_arguments, add_teacher_arguments, data_config_from_args,
                                teacher_config_from_args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    add_teacher_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the training report as JSON")


def main(args) -> int:
    from rankbench.models.teacher import get_teacher

    _ranker, folder, report = get_teacher(teacher_config_from_args(args), data_config_from_args(args))
    if args.json:
        print(json.dumps({"path": str(folder), **{k: v for k, v in report.items() if k != "loss_curve"}}))
    else:
        print(f"teacher: {folder}")
        print(f"trained {report['steps']} steps in {report['seconds']:.0f} s, final loss {report['final_loss']:.4f}")
    return 0
