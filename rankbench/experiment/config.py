"""The experiment file (TOML): typed, validated up front, every error naming the file and the key.

    [run]          name, out_dir, eval_users, parity_requests, latency_requests, seed, threads,
                   confirm_samples; executor, address, store, accelerator_type, max_retries (where
                   the work runs: this process, or a Ray cluster)
    [data]         any rankbench.models.data.DataConfig field
    [teacher]      base, max_length, dropout; [teacher.train] any rankbench.models.train.TrainConfig field
    [[variants]]   name = "...", steps = [{method = "distill", layers = 3}, ...]  (compression methods)
    [[backends]]   name = "torch", plus backend options (precision, threads, ...) and, for a cluster,
                   a placement: node_label = {...}, accelerator_type = "A100" (rankbench.bench.placement)
    [[scenarios]]  name = "single-stream", plus scenario parameters
    [timing]       any rankbench.bench.timing.TimingConfig field (samples, durations, warm-up)
    [constraints]  rankbench.reports.select.Constraints: p99_ms (the one SLA: selection and the server
                   scenario), min_retention, max_bytes, objective, scenario, backend

Nothing runs until the whole file has been checked: an unknown key, a value of the wrong type (a
boolean where a number is expected), a bad value, an unknown compression method or backend is
reported with the file and the key.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from rankbench.common.typed import ConfigError, from_dict


class ExperimentError(ValueError):
    pass


SECTIONS = ("run", "data", "teacher", "variants", "backends", "scenarios", "timing", "constraints")


@dataclass(frozen=True)
class RunSection:
    name: str = "experiment"
    out_dir: str = "runs/experiment"
    eval_users: int = 300  # test requests scored per variant for accuracy
    parity_requests: int = 8  # requests compared against torch fp32 per cell
    latency_requests: int = 50  # distinct real requests the latency scenarios cycle through
    seed: int = 0
    threads: int | None = None  # CPU threads for every backend and the tokenizer (default: the cores)
    # The chosen cell and the runner-up are measured again with this many samples (662: a p99 that
    # holds at 99% confidence, the MLPerf rule); 0 skips the confirmation.
    confirm_samples: int = 662
    executor: str = "local"  # local: this process | ray: a Ray cluster (pip install -e '.[ray]')
    address: str | None = None  # ray: the cluster ("auto", "ray://head:10001"); None: $RAY_ADDRESS, else a Ray here
    store: str | None = None  # artifacts, scores and cells: a folder every node sees, or an fsspec URL (default out_dir)
    accelerator_type: str | None = None  # ray: the GPU model cells that need a GPU ask for, e.g. "A100"
    max_retries: int = 1  # ray: how often a unit is run again after its worker or node died

    def __post_init__(self):
        from rankbench.bench.executors import executor_names

        if self.executor not in executor_names():
            raise ValueError(f"executor {self.executor!r}: expected one of {', '.join(executor_names())}")
        if self.executor == "local":
            given = [key for key in ("address", "accelerator_type") if getattr(self, key) is not None]
            if given:
                raise ValueError(f"{given[0]} is for the ray executor (executor = \"ray\")")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        for key in ("eval_users", "parity_requests", "latency_requests"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        if self.confirm_samples < 0:
            raise ValueError(f"confirm_samples must be >= 0 (0: no confirmation), got {self.confirm_samples}")


@dataclass(frozen=True)
class Experiment:
    source: str
    run: RunSection
    data: object  # rankbench.models.data.DataConfig
    teacher: object  # rankbench.models.teacher.TeacherConfig
    variants: dict[str, list] = field(default_factory=dict)  # name -> list of compress step configs
    backends: list[dict] = field(default_factory=list)
    scenarios: list[dict] = field(default_factory=list)
    timing: object = None  # rankbench.bench.timing.TimingConfig
    constraints: object = None  # rankbench.reports.select.Constraints
    raw: dict = field(default_factory=dict)


def build(cls, raw, where: str):
    """`cls` from a TOML table, every problem reported as an ExperimentError naming `where`."""
    try:
        return from_dict(cls, raw, where)
    except ConfigError as err:
        raise ExperimentError(str(err)) from None


def _named_list(raw, where: str, known, kind: str) -> list[dict]:
    if not isinstance(raw, list):
        raise ExperimentError(f"{where}: expected an array of tables ([[{where.split(': ')[-1]}]])")
    out = []
    for k, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ExperimentError(f"{where}[{k}]: needs a name")
        if known is not None and item["name"] not in known:
            raise ExperimentError(f"{where}[{k}]: unknown {kind} {item['name']!r} (known: {', '.join(sorted(known))})")
        out.append(dict(item))
    return out


def _check_options(items: list[dict], where: str, check, variants: dict) -> list[dict]:
    """Validate each entry's options; an optional `variants` list limits the entry to those variants."""
    for k, item in enumerate(items):
        label = f"{where}[{k}] ({item['name']})"
        only = item.get("variants")
        if only is not None:
            unknown = [v for v in only if v != "teacher" and v not in variants] if isinstance(only, list) else only
            if unknown or not only:
                raise ExperimentError(f"{label}: variants must list defined variants (or \"teacher\"); "
                                      f"unknown: {unknown}")
        try:
            check(item["name"], {key: v for key, v in item.items() if key not in ("name", "variants")})
        except (TypeError, ValueError) as err:
            raise ExperimentError(f"{label}: {err}") from None
    return items


def _backend_check(name: str, options: dict) -> None:
    """Backend options, and the placement keys beside them (where a cluster runs the backend)."""
    from rankbench.bench.backends import BackendOptions
    from rankbench.bench.placement import pop_placement

    options = dict(options)
    pop_placement(options)
    BackendOptions.from_dict(options, "options")


def _scenario_check(name: str, params: dict) -> None:
    from rankbench.bench.scenario_params import resolve_params

    if "sla_p99_ms" in params:
        raise ValueError("the server SLA is [constraints] p99_ms (one SLA per run); remove sla_p99_ms here")
    resolve_params(name, params)


def _read_toml(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"no experiment file at {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ExperimentError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except tomllib.TOMLDecodeError as err:
        raise ExperimentError(f"{path}: not valid TOML: {err}") from None
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ExperimentError(f"{path}: unknown section {unknown[0]!r} (known: {', '.join(SECTIONS)})")
    return raw


def load_experiment(path: str | Path, backends=None, scenarios=None) -> Experiment:
    """Parse and check an experiment file. `backends`/`scenarios`: the known names (None: unchecked)."""
    from rankbench.bench.timing import TimingConfig
    from rankbench.models.data import DataConfig
    from rankbench.models.teacher import TeacherConfig
    from rankbench.reports.constraints import Constraints

    path = Path(path)
    raw = _read_toml(path)
    variants = _variants(raw.get("variants", []), f"{path}: variants")
    backend_tables = _named_list(raw.get("backends", [{"name": "torch"}]), f"{path}: backends", backends, "backend")
    scenario_tables = _named_list(raw.get("scenarios", [{"name": "single-stream"}]), f"{path}: scenarios",
                                  scenarios, "scenario")
    return Experiment(
        source=str(path),
        run=build(RunSection, raw.get("run", {}), f"{path}: run"),
        data=build(DataConfig, raw.get("data", {}), f"{path}: data"),
        teacher=build(TeacherConfig, raw.get("teacher", {}), f"{path}: teacher"),
        variants=variants,
        backends=_check_options(backend_tables, f"{path}: backends", _backend_check, variants),
        scenarios=_check_options(scenario_tables, f"{path}: scenarios", _scenario_check, variants),
        timing=build(TimingConfig, raw.get("timing", {}), f"{path}: timing"),
        constraints=build(Constraints, raw.get("constraints", {}), f"{path}: constraints"),
        raw=raw,
    )


def _variants(items, where: str) -> dict[str, list]:
    if not isinstance(items, list):
        raise ExperimentError(f"{where}: expected an array of tables ([[variants]])")
    variants = {}
    for k, item in enumerate(items):
        if not isinstance(item, dict) or set(item) - {"name", "steps"} or not isinstance(item.get("name"), str):
            raise ExperimentError(f"{where}[{k}]: a variant is {{name = ..., steps = [...]}}")
        if item["name"] in variants or item["name"] == "teacher":
            raise ExperimentError(f"{where}[{k}]: duplicate or reserved variant name {item['name']!r}")
        variants[item["name"]] = _steps(item.get("steps", []), f"{where}[{k}] ({item['name']})")
    return variants


def _steps(steps, where: str) -> list:
    """Compression steps as validated configs (the registry checks method, fields and types)."""
    from rankbench.compress.registry import config_from_dict

    if not isinstance(steps, list) or not steps:
        raise ExperimentError(f"{where}: steps must be a non-empty array of tables")
    out = []
    for k, step in enumerate(steps):
        try:
            out.append(config_from_dict(step))
        except (TypeError, ValueError, KeyError) as err:
            raise ExperimentError(f"{where}.steps[{k}]: {err}") from None
    return out
