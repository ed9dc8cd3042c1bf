"""The PEFT sweep: LoRA, prefix tuning and bottleneck adapters under several settings, scored on
validation users (never test) beside the full fine-tune (the experiment's teacher), with trainable
parameters, training time and peak memory.

    .venv/bin/python scripts/peft_sweep.py --experiment experiments/default.toml --users 300 \\
        --out runs/peft-sweep
    .venv/bin/python scripts/peft_sweep.py --configs my_list.toml --only lora-all,adapter-64

The data and the teacher come from the experiment file ([data], [teacher], [run] seed), so the
teacher is the one `make run` trains (cached: trained once). Each config is one compression step
(compress/methods/peft.py; `start = "teacher"` trains on top of the fine-tuned teacher, a
domain-adapted start). A config without max_steps trains as many steps as the teacher did (the
issue's "same step budget"). On a 2-core CPU each config trains in about as long as the teacher
(about 10 minutes for 600 steps at 64 tokens) and 300 users take 4 more to score.

Resumable: built steps are cached under <out>/variants by their build key, evaluations under
<out>/evals. `--configs FILE.toml` replaces the list: [[configs]] tables with name, note and
step (an inline table, as a [[variants]] step). Peak memory: the resident set size the training
added (sampled; models.memory says why not tracemalloc or ru_maxrss), each training in a fresh
process so that one does not reuse memory an earlier one left (common.in_fresh_process).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality_common as common  # noqa: E402

_ALL = ["query", "key", "value", "dense"]
_SAVED = {"modules_to_save": ["LayerNorm", "pooler"]}  # trained in full beside the method's weights
_NORMS = {"bias": "all", **_SAVED}  # and every bias
DEFAULTS = [
    {"name": "lora-qv", "note": "r 8 on query/value (the old make-run variant's settings)",
     "step": {"method": "lora", "r": 8, "alpha": 16, "target_modules": ["query", "value"], "lr": 5e-4}},
    {"name": "lora-all", "note": "r 16 on every linear layer, lr 1e-3",
     "step": {"method": "lora", "r": 16, "alpha": 32, "target_modules": _ALL, "lr": 1e-3}},
    {"name": "lora-all-3e-3", "note": "r 16 on every linear layer, lr 3e-3",
     "step": {"method": "lora", "r": 16, "alpha": 32, "target_modules": _ALL, "lr": 3e-3}},
    {"name": "lora-all-norms", "note": "lora-all, and every bias, layer norm and the pooler train too",
     "step": {"method": "lora", "r": 16, "alpha": 32, "target_modules": _ALL, "lr": 1e-3, **_NORMS}},
    {"name": "adapter-64", "note": "bottleneck 64, lr 1e-3",
     "step": {"method": "adapter", "size": 64, "lr": 1e-3}},
    {"name": "adapter-64-norms", "note": "adapter-64, and every bias, layer norm and the pooler train too",
     "step": {"method": "adapter", "size": 64, "lr": 1e-3, **_NORMS}},
    {"name": "adapter-64-norms-2e-3", "note": "adapter-64-norms at lr 2e-3",
     "step": {"method": "adapter", "size": 64, "lr": 2e-3, **_NORMS}},
    {"name": "prefix-16", "note": "16 virtual tokens through an MLP (prefix_projection), lr 5e-3",
     "step": {"method": "prefix", "num_virtual_tokens": 16, "prefix_projection": True, "lr": 5e-3}},
    {"name": "prefix-16-1e-2", "note": "16 virtual tokens, no MLP, lr 1e-2",
     "step": {"method": "prefix", "num_virtual_tokens": 16, "lr": 1e-2}},
    {"name": "prefix-16-norms", "note": "16 virtual tokens, no MLP, the layer norms and the pooler train too, lr 3e-3",
     "step": {"method": "prefix", "num_virtual_tokens": 16, "lr": 3e-3, **_SAVED}},
    {"name": "prefix-16-all-norms", "note": "prefix-16-norms, and every bias trains too",
     "step": {"method": "prefix", "num_virtual_tokens": 16, "lr": 3e-3, **_NORMS}},
    {"name": "lora-all-on-teacher", "note": "lora-all on top of the fine-tuned teacher, lr 5e-4",
     "step": {"method": "lora", "r": 16, "alpha": 32, "target_modules": _ALL, "lr": 5e-4, "start": "teacher"}},
    {"name": "adapter-64-on-teacher", "note": "adapter-64 on top of the fine-tuned teacher, lr 5e-4",
     "step": {"method": "adapter", "size": 64, "lr": 5e-4, "start": "teacher"}},
]


def setup(experiment: str, out: Path):
    """(data, the teacher as an artifact, its training report, a compression context)."""
    from rankbench.compress.api import CompressContext
    from rankbench.experiment.config import load_experiment
    from rankbench.experiment.run import teacher_artifact
    from rankbench.models.data import load_data
    from rankbench.models.teacher import get_teacher

    exp = load_experiment(experiment)
    data = load_data(exp.data)
    ranker, folder, report = get_teacher(exp.teacher, exp.data, data)
    teacher = teacher_artifact(ranker, folder, report, exp.teacher.base)
    ctx = CompressContext(out_dir=out / "variants", data=data, teacher=teacher, base=exp.teacher.base,
                          seed=exp.run.seed, progress=True, cache_dir=out / "cache")
    return data, teacher, report, ctx


def build(experiment: str, out: str, step: dict | None) -> None:
    """Train and cache the teacher, and `step` if given (each in a fresh process: see
    common.in_fresh_process); the sweep then loads them from the caches."""
    from rankbench.compress.api import compress

    _data, teacher, _report, ctx = setup(experiment, Path(out))
    if step is not None:
        compress(teacher, step, ctx)


def teacher_row(teacher, report: dict, requests: list, out: Path, split: str) -> dict:
    per = common.cached_eval(out, f"teacher-{teacher.hash}-{split}", requests,
                             lambda: teacher.torch_ranker().score(requests, progress=True))
    return {"name": "full fine-tune", "note": "the experiment's teacher", "method": "full", "start": "base",
            "trainable_params": teacher.meta.get("trainable_params"), "train_steps": report.get("steps"),
            "train_seconds": report.get("seconds"), "peak_rss_delta_bytes": report.get("peak_rss_delta_bytes"),
            "per_request": per, "requests": [r.id for r in requests]}


def peft_row(config: dict, teacher, ctx, requests: list, out: Path, split: str, experiment: str) -> dict:
    from rankbench.compress.api import compress

    common.in_fresh_process(build, experiment, str(out), dict(config["step"]))
    artifact = compress(teacher, dict(config["step"]), ctx)  # from the cache the child filled
    per = common.cached_eval(out, f"peft-{artifact.hash}-{split}", requests,
                             lambda: artifact.torch_ranker().score(requests, progress=True))
    meta = artifact.meta
    return {"name": config["name"], "note": config.get("note", ""), "method": config["step"]["method"],
            "start": config["step"].get("start", "base"), "step": config["step"],
            "trainable_params": meta.get("trainable_params"), "train_steps": meta.get("train_steps"),
            "train_seconds": meta.get("train_seconds"), "peak_rss_delta_bytes": meta.get("train_peak_rss_delta_bytes"),
            "params": meta.get("params"), "path": str(artifact.path), "per_request": per,
            "requests": [r.id for r in requests]}


def table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    full = rows[0]["per_request"]["ndcg@10"]
    headers = ["method", "settings", "start", "trainable params", "steps", "train s", "peak RSS added, MiB",
               "NDCG@10 [95% CI]", "retention vs full fine-tune [95% CI]"]
    lines = []
    for k, row in enumerate(rows):
        ndcg = row["per_request"]["ndcg@10"]
        retention = common.interval(ndcg, full, ratio=True) if k else (None, None)
        lines.append([row["name"], row["note"], row["start"], f"{row['trainable_params']:,}"
                      if row.get("trainable_params") is not None else "-", str(row.get("train_steps") or "-"),
                      f"{row['train_seconds']:.0f}" if row.get("train_seconds") is not None else "-",
                      common.mib(row.get("peak_rss_delta_bytes")), common.fmt(*common.interval(ndcg)),
                      common.fmt(*retention)])
    return headers, lines


def main(argv=None) -> int:
    from rankbench.compress.registry import config_from_dict

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", default="experiments/default.toml", help="data and teacher from here")
    parser.add_argument("--configs", help="a TOML file of [[configs]] (default: the list in this script)")
    parser.add_argument("--only", help="comma-separated config names to run")
    parser.add_argument("--users", type=int, default=300, help="validation users to score")
    parser.add_argument("--split", choices=["valid", "test"], default="valid",
                        help="valid to choose settings; test only to report the chosen ones")
    parser.add_argument("--out", default="runs/peft-sweep")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    configs = common.pick(common.read_configs(args.configs, {"step"}) if args.configs else DEFAULTS, args.only)
    for config in configs:  # every step is checked before anything trains
        step = config_from_dict(dict(config["step"]), f"config {config['name']}")
        if step.method not in ("lora", "prefix", "adapter"):
            raise SystemExit(f"config {config['name']}: {step.method!r} is not a PEFT method")
    out = Path(args.out)
    common.in_fresh_process(build, args.experiment, str(out), None)
    data, teacher, report, ctx = setup(args.experiment, out)
    requests = getattr(data, args.split)[:args.users]
    rows = [teacher_row(teacher, report, requests, out, args.split)]
    # The teacher's step budget unless a config sets its own.
    configs = [{**c, "step": {"max_steps": report["steps"], **c["step"]}} for c in configs]
    rows += [peft_row(config, teacher, ctx, requests, out, args.split, args.experiment) for config in configs]
    headers, lines = table(rows)
    text = (f"PEFT on {len(requests)} {args.split} users (95% bootstrap intervals over users; retention paired "
            f"with the full fine-tune on the same users). {common.provenance(started)}\n\n"
            + common.markdown(headers, lines))
    common.write_table(out, "peft_sweep", text, rows)
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
