"""The `rankbench` command: one argparse tree, one module per command (rankbench/cli/<command>.py).

Each command module defines `add_arguments(parser)` and `main(args) -> int` (the exit code), and
imports heavy libraries (torch, onnxruntime) inside `main` only, so `rankbench --help` is fast.
Adding a command = one module + one line in COMMANDS.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from rankbench.common.typed import ConfigError

# command -> one-line help; the module is rankbench.cli.<command>
COMMANDS = {
    "data": "describe a dataset (users, items, requests)",
    "train": "fine-tune the teacher ranker (cached)",
    "eval": "ranking accuracy of the teacher beside popularity and collaborative filtering, with 95% intervals",
    "compress": "build one compressed variant from a recipe",
    "bench": "measure artifacts on backends and scenarios -> results.json",
    "report": "results.json -> report.html + summary.md",
    "select": "choose the variant to deploy under constraints -> decision.json",
    "compare": "CI gate: compare two results files, exit 1 on a regression",
    "run": "run a whole experiment file end to end",
    "serve": "serve an artifact (or a decision's choice) over HTTP",
    "load": "load-test a running service with MLPerf LoadGen",
}


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(prog="rankbench", description="Compress a BERT ranker, measure every "
                                     "variant on every backend, report and decide.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"rankbench.cli.{name}")
        modules[name] = module
        # argparse %-formats help strings (not descriptions): "95%" must reach it as "95%%".
        module.add_arguments(sub.add_parser(name, help=help_text.replace("%", "%%"), description=help_text))
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].main(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted: finished work is kept; run the same command again to continue",
              file=sys.stderr)
        return 130
    except (ValueError, ConfigError, FileNotFoundError, RuntimeError) as err:
        # Expected user errors (bad input, missing files, unavailable data) get one clear line.
        print(f"rankbench {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
