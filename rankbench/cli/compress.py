"""`rankbench compress`: build one compressed variant from a parent artifact and a chain of steps.

    rankbench compress --parent ~/.cache/rankbench/teachers/<key>/model \
        --step '{"method": "distill", "layers": 3}' --step '{"method": "quantize-ort-dynamic"}' \
        --out runs/variants [--eval 300] [--json]
    rankbench compress --list          # method names and their fields (as in experiment files)

Steps are validated before any work; finished steps are reused from --out (cached by hash).
"""
from __future__ import annotations

import argparse
import json

from rankbench.cli.args import add_data_arguments, data_config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parent", help="the artifact (or ranker folder, e.g. the teacher) to compress")
    parser.add_argument("--step", action="append", default=[], metavar="JSON",
                        help='one step as JSON, e.g. \'{"method": "prune-heads", "ratio": 0.5}\'; repeat to chain')
    parser.add_argument("--out", default="runs/variants", help="folder for the artifacts (a cache)")
    parser.add_argument("--base", default=None, help="pre-trained base for PEFT steps (default: the teacher's)")
    parser.add_argument("--eval", type=int, default=None, metavar="USERS",
                        help="also print NDCG@10 of parent and result on this many test users (torch)")
    parser.add_argument("--list", action="store_true", help="list the methods and their fields")
    parser.add_argument("--progress", action="store_true", help="show progress bars")
    parser.add_argument("--json", action="store_true", help="print the artifact as one JSON object")
    add_data_arguments(parser)


def _list_methods() -> int:
    from dataclasses import MISSING, fields

    from rankbench.compress.registry import get_method, method_names

    for name in method_names():
        cls = get_method(name).config
        parts = [f.name if f.default is MISSING else f"{f.name}={f.default!r}" for f in fields(cls)]
        print(f"{name:<24} -> {cls.produces:<14} {', '.join(parts)}")
    return 0


def _scores(artifact, requests):
    if artifact.format == "onnx":
        from rankbench.compress.methods.quantize_ort import onnx_scores

        return onnx_scores(artifact.path, requests, threads=2)
    if artifact.format == "openvino":
        from rankbench.models.encoder import PairEncoder
        from rankbench.models.openvino_model import compile_cpu, read_ir, score_requests

        compiled = compile_cpu(read_ir(artifact.path / artifact.meta.get("ir_file", "model.xml")), "f32")
        return score_requests(compiled, PairEncoder.from_folder(artifact.path), requests)
    return artifact.torch_ranker().score(requests)


def main(args) -> int:
    if args.list:
        return _list_methods()
    if not args.parent or not args.step:
        raise ValueError("give --parent DIR and at least one --step JSON (or --list)")
    from pathlib import Path

    from rankbench.compress.api import CompressContext
    from rankbench.compress.artifact import Artifact
    from rankbench.compress.recipe import build_recipe, parse_steps, validate_recipe

    steps = []
    for text in args.step:
        try:
            steps.append(json.loads(text))
        except json.JSONDecodeError as err:
            raise ValueError(f"--step {text!r} is not JSON: {err}") from None
    configs = parse_steps(steps)
    parent = Artifact.load(args.parent)
    needs_data = args.eval or any("data" in c.needs for c in configs)
    data = None
    if needs_data:
        from rankbench.models.data import load_data

        data = load_data(data_config_from_args(args))
    ctx = CompressContext(out_dir=Path(args.out), data=data, teacher=parent, base=args.base, seed=args.seed,
                          progress=args.progress)
    validate_recipe(parent, configs, ctx)
    artifact = build_recipe(parent, configs, ctx)
    result = {"path": str(artifact.path), "format": artifact.format, "hash": artifact.hash,
              "meta": {k: v for k, v in artifact.meta.items() if k != "loss_curve"}}
    if args.eval:
        from rankbench.models.metrics import evaluate

        requests = data.test[:args.eval]
        for name, art in (("parent", parent), ("result", artifact)):
            result[f"{name}_ndcg@10"] = evaluate(_scores(art, requests), requests)["ndcg@10"]
    if args.json:
        print(json.dumps(result, default=str))
    else:
        meta = artifact.meta
        print(f"{artifact.format} artifact: {artifact.path}")
        for key in ("params", "nonzero_params", "bytes_on_disk", "flops_per_pair",
                    "build_seconds", "train_seconds", "trainable_params"):
            if key in meta:
                print(f"  {key:<16} {meta[key]}")
        for note in meta.get("notes", []):
            print(f"  note: {note}")
        for key in ("parent_ndcg@10", "result_ndcg@10"):
            if key in result:
                print(f"  {key:<16} {result[key]:.4f}")
    return 0
