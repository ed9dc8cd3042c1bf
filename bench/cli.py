"""The `rankbench` command: one sub-command per module, imported only when it runs.

Each command module defines `add_arguments(parser)` and `main(args) -> int` (the exit code).
Adding a command = one module + one line in COMMANDS.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help)
COMMANDS = {
    "data": ("models.cli_data", "describe a dataset (users, items, requests)"),
    "train": ("models.cli_train", "fine-tune the teacher ranker (cached)"),
    "eval": ("models.cli_eval", "ranking accuracy of the teacher and of popularity"),
    "compress": ("compress.cli", "build one compressed variant from a recipe"),
    "bench": ("bench.bench_cli", "measure artifacts on backends and scenarios -> results.json"),
    "report": ("reports.cli", "results.json -> report.html + summary.md"),
    "select": ("bench.select_cli", "choose the variant to deploy under constraints -> decision.json"),
    "compare": ("bench.compare", "CI gate: compare two results files, exit 1 on a regression"),
    "run": ("bench.experiment", "run a whole experiment file end to end"),
}


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(prog="rankbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue  # a command not built yet is simply not offered
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
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
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        # Expected user errors (bad input, missing files, unavailable data) get one clear line.
        print(f"rankbench {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
