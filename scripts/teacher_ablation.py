"""The teacher ablation: train each teacher config on the training split, score it on validation
users (never test), and print a Markdown table with intervals, beside popularity and CF.

    .venv/bin/python scripts/teacher_ablation.py --users 300 --out runs/teacher-ablation
    .venv/bin/python scripts/teacher_ablation.py --configs my_list.toml --only base,history-6

The default list (DEFAULTS) adds one input at a time to the original teacher (3 titles, 64 tokens, 300
steps), so each row's "vs base" interval (paired over the same users) shows what the inputs so far
bought. On a 2-core CPU a 64-token teacher trains in about 5 minutes and 300 users of 100
candidates take a few more to score; the 96-token ones cost about 1.5 times that, the 600-step one
twice the training: about an hour in all. Longer inputs also make every later stage of `make run`
(distillation, accuracy scoring, latency cells) slower in proportion: weigh that before choosing.

Resumable: teachers are cached by rankbench (models.teacher, the same cache `make run` uses, so the
chosen config's teacher is not trained again there) and evaluations under <out>/evals.
`--configs FILE.toml` replaces the list: [[configs]] tables with name, note, and optional tables
data (DataConfig fields), teacher (TeacherConfig fields but train) and train (TrainConfig fields).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality_common as common  # noqa: E402

_RICH = {"history_len": 6, "history_ratings": True}
DEFAULTS = [
    {"name": "base", "note": "the original teacher: 3 titles, 64 tokens, 300 steps",
     "data": {}, "teacher": {"max_length": 64}, "train": {"max_steps": 300, "lr": 1e-4}},
    {"name": "history-6+ratings", "note": "6 titles with the user's ratings, 96 tokens",
     "data": _RICH, "teacher": {"max_length": 96}, "train": {"max_steps": 300, "lr": 1e-4}},
    {"name": "+genres+demographics", "note": "and each title's genres, the user's age/gender/occupation",
     "data": {**_RICH, "item_details": True, "demographics": True}, "teacher": {"max_length": 96},
     "train": {"max_steps": 300, "lr": 1e-4}},
    {"name": "+hard-negatives", "note": "and half the training negatives from popular unrated items",
     "data": {**_RICH, "item_details": True, "demographics": True, "hard_negatives": 0.5},
     "teacher": {"max_length": 96}, "train": {"max_steps": 300, "lr": 1e-4}},
    # Longer inputs cost every later stage of `make run`: the same inputs within the original 64 tokens.
    {"name": "genres+demographics@64",
     "note": "3 titles with their genres, the user's age/gender/occupation, 64 tokens",
     "data": {"item_details": True, "demographics": True}, "teacher": {"max_length": 64},
     "train": {"max_steps": 300, "lr": 1e-4}},
    {"name": "+600-steps@64", "note": "and twice the steps",
     "data": {"item_details": True, "demographics": True}, "teacher": {"max_length": 64},
     "train": {"max_steps": 600, "lr": 1e-4}},
]


def configs_of(config: dict, where: str):
    from rankbench.common.typed import from_dict
    from rankbench.models.data import DataConfig
    from rankbench.models.teacher import TeacherConfig

    data = from_dict(DataConfig, config.get("data", {}), f"{where}.data")
    # Without a train table the teacher trains as TeacherConfig's default does (as in an experiment file).
    train = {"train": config["train"]} if "train" in config else {}
    teacher = from_dict(TeacherConfig, {**config.get("teacher", {}), **train}, f"{where}.teacher")
    return data, teacher


def train_teacher(data_config, teacher_config) -> None:
    """Train and cache one teacher (in a fresh process, so its peak memory is its own:
    common.in_fresh_process); run_config then loads it from the cache."""
    from rankbench.models.data import load_data
    from rankbench.models.teacher import get_teacher

    get_teacher(teacher_config, data_config, load_data(data_config))


def run_config(config: dict, users: int, split: str, out: Path) -> tuple[dict, object]:
    """Train (or load) one teacher and score it: (a row with its per-request metrics, the data)."""
    from rankbench.models.data import load_data
    from rankbench.models.teacher import get_teacher, teacher_key

    data_config, teacher_config = configs_of(config, f"config {config['name']}")
    common.in_fresh_process(train_teacher, data_config, teacher_config)
    data = load_data(data_config)
    requests = getattr(data, split)[:users]
    ranker, _folder, report = get_teacher(teacher_config, data_config, data)
    per = common.cached_eval(out, f"teacher-{teacher_key(teacher_config, data_config)}-{split}", requests,
                             lambda: ranker.score(requests, progress=True))
    trainable = sum(p.numel() for p in ranker.model.parameters() if p.requires_grad)
    teacher = asdict(teacher_config)  # every field, so a row always says which teacher trained
    train = teacher.pop("train")
    return {"name": config["name"], "note": config.get("note", ""), "steps": report["steps"],
            "train_seconds": report["seconds"], "peak_rss_delta_bytes": report.get("peak_rss_delta_bytes"),
            "trainable_params": trainable, "requests": [r.id for r in requests], "per_request": per,
            "data": data_config.to_dict(), "teacher": teacher, "train": train}, data


def baseline_rows(data, users: int, split: str) -> list[dict]:
    from rankbench.models.baselines import baseline_scores
    from rankbench.models.metrics import per_request

    requests = getattr(data, split)[:users]
    return [{"name": name, "note": "training split only", "requests": [r.id for r in requests],
             "per_request": {m: v.tolist() for m, v in per_request(scores, requests).items()}}
            for name, (scores, _notes) in baseline_scores(data, requests).items()]


def table(rows: list[dict]) -> tuple[str, list[list[str]]]:
    base = rows[0]["per_request"]["ndcg@10"]
    headers = ["config", "what it adds", "steps", "train s", "peak RSS added, MiB", "NDCG@10 [95% CI]",
               "HR@10 [95% CI]", f"Δ NDCG@10 vs {rows[0]['name']} [95% CI]"]
    lines = []
    for k, row in enumerate(rows):
        ndcg, hr = row["per_request"]["ndcg@10"], row["per_request"]["hr@10"]
        diff = common.interval(ndcg, base) if k else (None, None)
        lines.append([row["name"], row["note"], str(row.get("steps", "-")),
                      f"{row['train_seconds']:.0f}" if "train_seconds" in row else "-",
                      common.mib(row.get("peak_rss_delta_bytes")), common.fmt(*common.interval(ndcg)),
                      common.fmt(*common.interval(hr)), common.fmt(*diff)])
    return headers, lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", help="a TOML file of [[configs]] (default: the list in this script)")
    parser.add_argument("--only", help="comma-separated config names to run")
    parser.add_argument("--users", type=int, default=300, help="validation users to score")
    parser.add_argument("--split", choices=["valid", "test"], default="valid",
                        help="valid to choose settings; test only to report the chosen one")
    parser.add_argument("--out", default="runs/teacher-ablation")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    allowed = {"data", "teacher", "train"}
    configs = common.pick(common.read_configs(args.configs, allowed) if args.configs else DEFAULTS, args.only)
    for config in configs:  # every config is checked before anything trains
        configs_of(config, f"config {config['name']}")
    out = Path(args.out)
    rows, first_data = [], None
    for config in configs:
        row, data = run_config(config, args.users, args.split, out)
        rows.append(row)
        first_data = first_data or data  # the baselines are scored on the first config's requests
        del data
    rows += baseline_rows(first_data, args.users, args.split)
    for row in rows:
        if row["requests"] != rows[0]["requests"]:
            raise SystemExit(f"{row['name']}: scored other requests than {rows[0]['name']}: not comparable")
    headers, lines = table(rows)
    text = (f"Teacher ablation on {len(rows[0]['requests'])} {args.split} users (95% bootstrap intervals over "
            f"users; Δ paired on the same users). {common.provenance(started)}\n\n" + common.markdown(headers, lines))
    common.write_table(out, "teacher_ablation", text, rows)
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
