"""`rankbench train`: fine-tune the teacher (cached by a hash of base, data and hyper-parameters)."""
from __future__ import annotations

import argparse
import json

from models.cli_data import add_data_arguments, data_config_from_args


def parse_losses(text: str) -> dict[str, float]:
    """'listwise' or 'listwise=1,bce=0.5' -> {name: weight}."""
    out = {}
    for part in text.split(","):
        name, _, weight = part.strip().partition("=")
        out[name] = float(weight) if weight else 1.0
    return out


# Defaults live in TeacherConfig / TrainConfig (imported only when a command runs: torch is slow
# to import); an option left out keeps the config's default.
TRAIN_OPTIONS = {"epochs": int, "max_steps": int, "batch_requests": int, "lr": float,
                 "max_train_requests": int}


def add_teacher_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default=None, help="base model: a preset name or a model folder "
                                                       "(default minilm-l6)")
    parser.add_argument("--max-length", type=int, default=None, help="tokens per pair")
    for name, kind in TRAIN_OPTIONS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=None)
    parser.add_argument("--loss", default=None, help="loss names with weights, e.g. listwise=1,bce=0.5")
    parser.add_argument("--train-seed", type=int, default=None)


def teacher_config_from_args(args):
    from dataclasses import replace

    from models.teacher import TeacherConfig

    base = TeacherConfig()
    train = {k: getattr(args, k) for k in TRAIN_OPTIONS if getattr(args, k) is not None}
    if args.loss:
        train["losses"] = parse_losses(args.loss)
    if args.train_seed is not None:
        train["seed"] = args.train_seed
    top = {"base": args.preset, "max_length": args.max_length}
    return replace(base, train=replace(base.train, **train),
                   **{k: v for k, v in top.items() if v is not None})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    add_teacher_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the training report as JSON")


def main(args) -> int:
    from models.teacher import get_teacher

    _ranker, folder, report = get_teacher(teacher_config_from_args(args), data_config_from_args(args))
    if args.json:
        print(json.dumps({"path": str(folder), **{k: v for k, v in report.items() if k != "loss_curve"}}))
    else:
        print(f"teacher: {folder}")
        print(f"trained {report['steps']} steps in {report['seconds']:.0f} s, final loss {report['final_loss']:.4f}")
    return 0
