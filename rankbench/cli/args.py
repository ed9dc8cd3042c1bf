"""Argument groups shared by several commands: the data, the teacher, the selection constraints."""
from __future__ import annotations

import argparse

from rankbench.bench.scenarios import scenario_names
from rankbench.models.data import DataConfig
from rankbench.reports.constraints import OBJECTIVES, Constraints


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    d = DataConfig()
    parser.add_argument("--dataset", default=d.dataset,
                        help="movielens-100k, synthetic, a requests .jsonl file, or a folder of train/valid/test.jsonl")
    parser.add_argument("--data-dir", default=None, help="a folder that already holds ml-100k.inter/.item/.user")
    parser.add_argument("--history-len", type=int, default=d.history_len, help="items in the user context")
    parser.add_argument("--demographics", action="store_true", help="add age/gender/occupation to the context")
    parser.add_argument("--history-ratings", action="store_true", help="show the user's rating of each watched title")
    parser.add_argument("--item-details", action="store_true", help="show each watched title's genres")
    parser.add_argument("--hard-negatives", type=float, default=d.hard_negatives,
                        help="share of training negatives drawn from popular items the user did not rate")
    parser.add_argument("--seed", type=int, default=d.seed, help="seed for negative sampling")


def data_config_from_args(args) -> DataConfig:
    return DataConfig(dataset=args.dataset, data_dir=args.data_dir, history_len=args.history_len,
                      demographics=args.demographics, history_ratings=args.history_ratings,
                      item_details=args.item_details, hard_negatives=args.hard_negatives, seed=args.seed)


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
    parser.add_argument("--preset", default=None, help="base model: a preset name, a model folder or a "
                                                       "Hugging Face hub id org/name (default minilm-l6)")
    parser.add_argument("--max-length", type=int, default=None, help="tokens per pair")
    parser.add_argument("--dropout", type=float, default=None,
                        help="dropout while fine-tuning (default: the base model's own)")
    for name, kind in TRAIN_OPTIONS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=None)
    parser.add_argument("--loss", default=None, help="loss names with weights, e.g. listwise=1,bce=0.5")
    parser.add_argument("--train-seed", type=int, default=None)


def teacher_config_from_args(args):
    from dataclasses import replace

    from rankbench.models.teacher import TeacherConfig

    base = TeacherConfig()
    train = {k: getattr(args, k) for k in TRAIN_OPTIONS if getattr(args, k) is not None}
    if args.loss:
        train["losses"] = parse_losses(args.loss)
    if args.train_seed is not None:
        train["seed"] = args.train_seed
    top = {"base": args.preset, "max_length": args.max_length, "dropout": args.dropout}
    return replace(base, train=replace(base.train, **train),
                   **{k: v for k, v in top.items() if v is not None})


def add_constraint_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by `select` and `report`; unset flags leave the run's constraints in force."""
    group = parser.add_argument_group("constraints (override results.run.constraints)")
    group.add_argument("--p99-ms", type=float, help="SLA: highest acceptable p99 latency in ms")
    group.add_argument("--min-retention", type=float,
                       help="lowest acceptable NDCG@10 / teacher's NDCG@10 (default 0.99)")
    group.add_argument("--min-fidelity", type=float,
                       help="lowest acceptable mean Spearman of the scores with the teacher's")
    group.add_argument("--confidence", type=float,
                       help="accuracy constraints must hold on the lower end of the interval at this level, "
                            "e.g. 0.95 (default: on the point estimates)")
    group.add_argument("--max-bytes", type=int, help="largest acceptable model size on disk, in bytes")
    group.add_argument("--objective", choices=OBJECTIVES, help="how to pick among the Pareto set (default throughput)")
    group.add_argument("--scenario", choices=scenario_names(), help="whose latency counts (default single-stream)")
    group.add_argument("--backend", help="consider only this backend")


def constraints_from_args(results: dict, args: argparse.Namespace) -> Constraints:
    return Constraints.for_run(results, p99_ms=args.p99_ms, min_retention=args.min_retention,
                               min_fidelity=args.min_fidelity, confidence=args.confidence,
                               max_bytes=args.max_bytes, objective=args.objective, scenario=args.scenario,
                               backend=args.backend)
