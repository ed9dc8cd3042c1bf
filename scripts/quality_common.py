"""What scripts/teacher_ablation.py and scripts/peft_sweep.py share: config lists, cached
evaluations, paired intervals and the Markdown table with how it was made.

Every evaluation is kept as <out>/evals/<key>.json (per-request metrics), so a sweep killed halfway
and started again scores only what it lacks; trained models are cached by rankbench itself.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
import tomllib
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import source_tree  # noqa: E402

source_tree.use()


def read_configs(path: str | Path, allowed: set[str]) -> list[dict]:
    """[[configs]] tables of a TOML file: each needs a unique `name`; other keys from `allowed`."""
    raw = tomllib.loads(Path(path).read_text())
    configs = raw.get("configs")
    if not isinstance(configs, list) or not configs:
        raise SystemExit(f"{path}: expected [[configs]] tables")
    names = set()
    for k, config in enumerate(configs):
        unknown = set(config) - allowed - {"name", "note"}
        if "name" not in config or unknown:
            raise SystemExit(f"{path}: configs[{k}] needs a name; unknown keys {sorted(unknown)}")
        if config["name"] in names:
            raise SystemExit(f"{path}: configs[{k}]: the name {config['name']!r} is used twice")
        names.add(config["name"])
    return configs


def pick(configs: list[dict], only: str | None) -> list[dict]:
    if not only:
        return configs
    wanted = [name.strip() for name in only.split(",")]
    missing = [name for name in wanted if name not in {c["name"] for c in configs}]
    if missing:
        raise SystemExit(f"--only: no config named {', '.join(missing)}")
    return [c for c in configs if c["name"] in wanted]


def cached_eval(out: Path, key: str, requests: list, score) -> dict:
    """metric -> per-request values of `score()` (a function returning one array per request),
    kept under <out>/evals/<key>.json with the request ids they belong to."""
    from rankbench.common.digest import digest
    from rankbench.common.files import atomic_write_json
    from rankbench.compress.training import requests_digest
    from rankbench.models.metrics import per_request

    path = out / "evals" / f"{digest([key, requests_digest(requests)])}.json"
    if path.is_file():
        return json.loads(path.read_text())["per_request"]
    per = {m: [float(v) for v in values] for m, values in per_request(score(), requests).items()}
    atomic_write_json(path, {"key": key, "requests": [r.id for r in requests], "per_request": per})
    return per


def in_fresh_process(target, *args) -> None:
    """Run `target(*args)` (a module-level function) in a new Python process and wait for it. The
    scripts train each model this way so that the peak memory its training reports starts from a
    clean process: in one process a training reuses memory the allocator kept from an earlier one
    (or from scoring), and its resident-set growth reads low (an adapter trained after LoRA: 0 MiB)."""
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(target=target, args=args)
    process.start()
    process.join()
    if process.exitcode:
        raise SystemExit(f"{target.__name__} failed in its own process (exit status {process.exitcode})")


def interval(values, paired_with=None, ratio: bool = False) -> tuple[float, list[float]]:
    """(mean, 95% interval), or against `paired_with` on the same requests: the paired difference,
    or with `ratio` the paired ratio of means (bench.stats)."""
    from rankbench.bench.stats import mean_ci, paired_diff_ci, paired_ratio_ci

    if paired_with is None:
        return sum(values) / len(values), mean_ci(values)
    return (paired_ratio_ci if ratio else paired_diff_ci)(values, paired_with)


def fmt(value, ci=None, digits: int = 3) -> str:
    if value is None:
        return "-"
    text = f"{value:.{digits}f}"
    return f"{text} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else text


def mib(value) -> str:
    return "-" if value is None else f"{value / 2**20:.0f}"


def provenance(started: float) -> str:
    """The command, the date and the machine, with its load, for the line above a table."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    command = " ".join(["python", *[Path(a).as_posix() for a in sys.argv[:1]], *sys.argv[1:]])
    return (f"`{command}`, {datetime.now(timezone.utc).strftime('%Y-%m-%d')}, {os.cpu_count()} cores "
            f"({platform.processor() or platform.machine()}), load average {load:.1f} (1 min) at the end, "
            f"{time.perf_counter() - started:.0f} s in all")


def markdown(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def write_table(out: Path, name: str, text: str, rows: list[dict]) -> None:
    from rankbench.common.files import atomic_write_json, atomic_write_text

    atomic_write_text(out / f"{name}.md", text + "\n")
    atomic_write_json(out / f"{name}.json", rows)
    print(text)


def run_main(main) -> int:
    """Run a script's main; a config error is one line on stderr and exit status 2, not a traceback."""
    try:
        return main()
    except ValueError as err:  # ConfigError and the configs' own checks
        print(f"error: {err}", file=sys.stderr)
        return 2
