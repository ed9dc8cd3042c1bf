"""The experiment file (TOML): typed, validated up front, every error naming the file and the key.

    [run]          name, out_dir, eval_users, parity_requests
    [data]         any models.data.DataConfig field
    [teacher]      base, max_length; [teacher.train] any models.train.TrainConfig field
    [[variants]]   name = "...", steps = [{method = "distill", layers = 3}, ...]  (compress methods)
    [[backends]]   name = "torch", plus backend options (precision, threads, ...)
    [[scenarios]]  name = "single-stream", plus scenario parameters
    [timing]       any bench.timing.TimingConfig field (samples, durations, warm-up)
    [constraints]  bench.select.Constraints: p99_ms, min_retention, max_bytes, objective, scenario, backend

Nothing runs until the whole file has been checked: an unknown key, a bad value, an unknown
compression method or backend is reported with the file and the key.
"""
from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


class ExperimentError(ValueError):
    pass


@dataclass(frozen=True)
class RunSection:
    name: str = "experiment"
    out_dir: str = "runs/experiment"
    eval_users: int = 300  # test requests scored per variant for accuracy
    parity_requests: int = 8  # requests compared against torch fp32 per cell
    latency_requests: int = 50  # distinct real requests the latency scenarios cycle through
    seed: int = 0

    def __post_init__(self):
        if min(self.eval_users, self.parity_requests, self.latency_requests) < 1:
            raise ValueError("eval_users, parity_requests and latency_requests must be >= 1")


@dataclass(frozen=True)
class Experiment:
    source: str
    run: RunSection
    data: object  # models.data.DataConfig
    teacher: object  # models.teacher.TeacherConfig
    variants: dict[str, list] = field(default_factory=dict)  # name -> list of compress step configs
    backends: list[dict] = field(default_factory=list)
    scenarios: list[dict] = field(default_factory=list)
    timing: object = None  # bench.timing.TimingConfig
    constraints: object = None  # bench.select.Constraints
    raw: dict = field(default_factory=dict)


def build(cls, raw: dict, where: str):
    """cls(**raw), with unknown keys and bad values reported as `where.key: reason`."""
    if not isinstance(raw, dict):
        raise ExperimentError(f"{where}: expected a table, got {type(raw).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ExperimentError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(names))})")
    try:
        return cls(**raw)
    except (TypeError, ValueError) as err:
        raise ExperimentError(f"{where}: {err}") from err


def _named_list(raw, where: str, known, kind: str) -> list[dict]:
    if not isinstance(raw, list):
        raise ExperimentError(f"{where}: expected an array of tables ([[{where.split(':')[-1]}]])")
    out = []
    for k, item in enumerate(raw):
        if not isinstance(item, dict) or "name" not in item:
            raise ExperimentError(f"{where}[{k}]: needs a name")
        if known is not None and item["name"] not in known:
            raise ExperimentError(f"{where}[{k}]: unknown {kind} {item['name']!r} (known: {', '.join(sorted(known))})")
        out.append(dict(item))
    return out


def _check_options(items: list[dict], where: str, check, variants: dict) -> list[dict]:
    """Validate each entry's options; an optional `variants` list limits the entry to those variants."""
    for k, item in enumerate(items):
        only = item.get("variants")
        if only is not None:
            unknown = [v for v in only if v != "teacher" and v not in variants] if isinstance(only, list) else only
            if unknown or not only:
                raise ExperimentError(f"{where}[{k}] ({item['name']}): variants must list defined variants "
                                      f"(or \"teacher\"); unknown: {unknown}")
        try:
            check(item["name"], {key: v for key, v in item.items() if key not in ("name", "variants")})
        except (TypeError, ValueError) as err:
            raise ExperimentError(f"{where}[{k}] ({item['name']}): {err}") from err
    return items


def load_experiment(path: str | Path, backends=None, scenarios=None) -> Experiment:
    """Parse and check an experiment file. `backends`/`scenarios`: the known names (None: unchecked)."""
    from bench.backends.base import BackendOptions
    from bench.scenarios import resolve_params
    from bench.select import Constraints
    from bench.timing import TimingConfig
    from models.data import DataConfig
    from models.teacher import TeacherConfig
    from models.train import TrainConfig

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no experiment file at {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ExperimentError(f"{path}: not valid TOML: {err}") from err
    top = {"run", "data", "teacher", "variants", "backends", "scenarios", "timing", "constraints"}
    unknown = sorted(set(raw) - top)
    if unknown:
        raise ExperimentError(f"{path}: unknown section {unknown[0]!r} (known: {', '.join(sorted(top))})")
    teacher_raw = dict(raw.get("teacher", {}))
    train = build(TrainConfig, teacher_raw.pop("train", {}), f"{path}: teacher.train")
    teacher = build(TeacherConfig, {**teacher_raw, "train": train}, f"{path}: teacher")
    variants = {}
    for k, item in enumerate(raw.get("variants", [])):
        where = f"{path}: variants[{k}]"
        if not isinstance(item, dict) or set(item) - {"name", "steps"} or "name" not in item:
            raise ExperimentError(f"{where}: a variant is {{name = ..., steps = [...]}}")
        if item["name"] in variants or item["name"] == "teacher":
            raise ExperimentError(f"{where}: duplicate or reserved variant name {item['name']!r}")
        variants[item["name"]] = _steps(item.get("steps", []), where)
    return Experiment(
        source=str(path),
        run=build(RunSection, raw.get("run", {}), f"{path}: run"),
        data=build(DataConfig, raw.get("data", {}), f"{path}: data"),
        teacher=teacher,
        variants=variants,
        backends=_check_options(
            _named_list(raw.get("backends", [{"name": "torch"}]), f"{path}: backends", backends, "backend"),
            f"{path}: backends", lambda _name, opts: BackendOptions.from_dict(opts), variants),
        scenarios=_check_options(
            _named_list(raw.get("scenarios", [{"name": "single-stream"}]), f"{path}: scenarios", scenarios,
                        "scenario"),
            f"{path}: scenarios", resolve_params, variants),
        timing=build(TimingConfig, raw.get("timing", {}), f"{path}: timing"),
        constraints=build(Constraints, raw.get("constraints", {}), f"{path}: constraints"),
        raw=raw,
    )


def _steps(steps, where: str) -> list:
    """Compression steps as validated configs (compress.api's registry checks method and fields)."""
    from compress.api import config_from_dict

    if not isinstance(steps, list) or not steps:
        raise ExperimentError(f"{where}: steps must be a non-empty array of tables")
    out = []
    for k, step in enumerate(steps):
        try:
            out.append(config_from_dict(dict(step)))
        except (TypeError, ValueError, KeyError) as err:
            raise ExperimentError(f"{where}.steps[{k}]: {err}") from err
    return out
