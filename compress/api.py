"""The compression API: one config dataclass + one registered handler per method, one `compress` call.

    from compress.api import CompressContext, compress, config_from_dict
    ctx = CompressContext(out_dir=Path("runs/x/variants"), data=data, teacher=teacher)
    student = compress(teacher, config_from_dict({"method": "distill", "layers": 3}), ctx)

A method is a frozen dataclass (validated in `__post_init__`, so a bad value fails before any work)
registered under the name experiment files use (`@register_method("prune-heads")`), plus a handler
registered for that type (`@register_handler(PruneHeadsConfig)`, as torchao's `quantize_(model,
Config)`). A handler writes model files into a fresh folder and returns the format and method
metadata; `compress` does the rest in one place: cache lookup, timing, common metadata (params,
FLOPs, recipe, parent hash) and the atomic rename that makes the folder appear only when complete.

Metadata of every artifact: params, nonzero_params, bytes_on_disk (weights only), flops_per_pair
(at flops_tokens tokens), backends (which can run it), recipe (step dicts from the teacher on),
parent_hash, build_key, build_seconds, recipe_seconds (the whole chain), seed, notes. Trained
methods add train_seconds, trainable_params, train_steps; formats with a torch loader add
reload_max_abs_diff (model as built vs as reloaded); ONNX ones add parity_* against the fp32 parent.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, ClassVar

from compress.artifact import ARTIFACT_FILE, HF_BACKENDS, Artifact

METHODS: dict[str, type] = {}  # method name (as in TOML) -> config class
HANDLERS: dict[type, Callable] = {}  # config class -> handler(parent, config, ctx, out) -> Built
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
                   "ranker.json")


def register_method(name: str):
    def wrap(cls):
        cls.method = name
        METHODS[name] = cls
        return cls
    return wrap


def register_handler(config_cls: type):
    def wrap(fn):
        HANDLERS[config_cls] = fn
        return fn
    return wrap


# --- validation helpers (clear messages that name the method and the field) ----------------------
def check_ratio(method: str, name: str, value: float, allow_zero: bool = False) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not (isinstance(value, (int, float)) and low_ok and value < 1):
        bound = "[0, 1)" if allow_zero else "(0, 1)"
        raise ValueError(f"{method}: {name} must be in {bound}, got {value!r}")


def check_choice(method: str, name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{method}: {name} must be one of {list(choices)}, got {value!r}")


def check_positive(method: str, name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{method}: {name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class Shape:
    """What validation knows about an artifact before it exists: its format and layer count."""

    format: str
    layers: int | None
    root: bool  # no step applied yet (PEFT starts from the pre-trained base, so it must come first)


@dataclass(frozen=True, kw_only=True)
class MethodConfig:
    method: ClassVar[str] = ""
    accepts: ClassVar[tuple[str, ...]] = ("hf",)  # parent formats this method can take
    produces: ClassVar[str] = "hf"
    needs: ClassVar[tuple[str, ...]] = ()  # context parts it uses: "data", "base"

    def to_dict(self) -> dict:
        return {"method": self.method, **asdict(self)}

    def plan(self, parent: Shape) -> Shape:
        """The shape this step produces from `parent`; raises if it cannot follow it."""
        if parent.format not in self.accepts:
            raise ValueError(f"step {self.method!r} cannot follow a {parent.format!r} artifact "
                             f"(it takes {list(self.accepts)})")
        return Shape(self.produces, parent.layers, False)


@dataclass(frozen=True, kw_only=True)
class TrainFields(MethodConfig):
    """A method that trains: the knobs of models.train.TrainConfig it exposes."""

    epochs: int = 1
    max_steps: int | None = None
    lr: float = 5e-5
    batch_requests: int = 8
    max_train_requests: int | None = None

    def check_training(self) -> None:
        check_positive(self.method, "epochs", self.epochs)
        check_positive(self.method, "lr", self.lr)
        check_positive(self.method, "batch_requests", self.batch_requests)
        check_positive(self.method, "max_steps", self.max_steps, allow_none=True)
        check_positive(self.method, "max_train_requests", self.max_train_requests, allow_none=True)

    def train_config(self, losses: dict, seed: int):
        from models.train import TrainConfig

        return TrainConfig(epochs=self.epochs, max_steps=self.max_steps, lr=self.lr,
                           batch_requests=self.batch_requests, losses=dict(losses), seed=seed,
                           max_train_requests=self.max_train_requests)


def config_from_dict(raw: dict) -> MethodConfig:
    """{"method": name, **fields} -> config; unknown methods or fields are clear errors."""
    raw = dict(raw)
    name = raw.pop("method", None)
    if name not in METHODS:
        _import_methods()
    if name not in METHODS:
        raise ValueError(f"unknown compression method {name!r}; known: {', '.join(sorted(METHODS))}")
    cls = METHODS[name]
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{name}: unknown field(s) {unknown}; fields: {sorted(known)}")
    # TOML and JSON give lists; configs are frozen (hashable), so lists become tuples.
    raw = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    try:
        return cls(**raw)
    except TypeError as err:
        raise ValueError(f"{name}: {err}") from None


def _import_methods() -> None:
    from compress.artifact import _import_method_modules

    _import_method_modules()


@dataclass
class CompressContext:
    out_dir: Path
    data: object | None = None  # models.requests.RankingData: calibration, importance, training
    teacher: Artifact | None = None  # the fine-tuned teacher (recovery and distillation reference)
    base: str | None = None  # the pre-trained base for PEFT; else taken from the teacher's metadata
    seed: int = 0
    progress: bool = False
    cache_dir: Path | None = None  # teacher scores; default out_dir/cache

    def __post_init__(self):
        self.out_dir = Path(self.out_dir)
        self.cache_dir = Path(self.cache_dir) if self.cache_dir else self.out_dir / "cache"

    def data_fingerprint(self) -> str:
        from compress.training import requests_digest

        if self.data is None:
            return "none"
        digest = hashlib.sha256(self.data.name.encode())
        for split in (self.data.train, self.data.valid, self.data.test):
            digest.update(str(len(split)).encode())
            digest.update(requests_digest(split).encode())
        return digest.hexdigest()[:16]

    def base_model(self) -> str:
        """The pre-trained model PEFT starts from: ctx.base, else what the teacher was trained from."""
        if self.base:
            return self.base
        if self.teacher is not None:
            if self.teacher.meta.get("base"):
                return self.teacher.meta["base"]
            report = self.teacher.path / "train_report.json"
            if report.is_file() and json.loads(report.read_text()).get("base"):
                return json.loads(report.read_text())["base"]
        raise ValueError("PEFT starts from the pre-trained base model: set CompressContext.base "
                         "(a preset name or folder) or give a teacher whose metadata names its base")

    def require(self, config: MethodConfig) -> None:
        if "data" in config.needs and self.data is None:
            raise ValueError(f"{config.method}: needs ranking data (calibration / training requests)")
        if "base" in config.needs:
            self.base_model()


@dataclass
class Built:
    """What a handler returns: the format it wrote and its method-specific metadata."""

    format: str
    meta: dict = field(default_factory=dict)
    ranker: object | None = None  # the model as built, in memory: compress checks the reload against it


def shape_of(artifact: Artifact) -> Shape:
    layers = None
    config = artifact.path / "config.json"
    if config.is_file():
        layers = json.loads(config.read_text()).get("num_hidden_layers")
    return Shape(artifact.format, layers, not artifact.meta.get("recipe"))


def build_key(parent: Artifact, config: MethodConfig, ctx: CompressContext) -> str:
    parts = {"parent": parent.hash, "step": config.to_dict(), "seed": ctx.seed}
    if "data" in config.needs:
        parts["data"] = ctx.data_fingerprint()
    if "base" in config.needs:
        parts["base"] = ctx.base_model()
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def artifact_dir(parent: Artifact, config: MethodConfig, ctx: CompressContext) -> Path:
    return ctx.out_dir / f"{config.method}-{build_key(parent, config, ctx)}"


def compress(parent: Artifact, config: MethodConfig | dict, ctx: CompressContext) -> Artifact:
    """Apply one method to `parent`; the result lands in ctx.out_dir (reused when already built)."""
    if isinstance(config, dict):
        config = config_from_dict(config)
    config.plan(shape_of(parent))
    ctx.require(config)
    final = artifact_dir(parent, config, ctx)
    if (final / ARTIFACT_FILE).is_file():
        return Artifact.load(final)  # built before: same parent, same step, same data and seed
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    start = time.perf_counter()
    try:
        built = HANDLERS[type(config)](parent, config, ctx, tmp)
        copy_tokenizer(parent.path, tmp)
        if built.ranker is not None:
            built.meta["reload_max_abs_diff"] = reload_check(built, tmp, ctx)
        inherited = {k: parent.meta[k] for k in ("params", "nonzero_params", "flops_per_pair",
                                                  "flops_tokens", "base") if k in parent.meta}
        # Notes of earlier compression steps still hold (e.g. "deprecated API"); a root's are its own.
        notes = list(parent.meta.get("notes", [])) if parent.meta.get("recipe") else []
        notes += list(built.meta.pop("notes", []))
        seconds = round(time.perf_counter() - start, 3)
        meta = {**inherited, "backends": list(HF_BACKENDS), **built.meta, "notes": notes,
                "method": config.method, "recipe": list(parent.meta.get("recipe", [])) + [config.to_dict()],
                "parent_hash": parent.hash, "build_key": final.name.rsplit("-", 1)[1],
                "build_seconds": seconds, "seed": ctx.seed,
                "recipe_seconds": round(parent.meta.get("recipe_seconds", 0.0) + seconds, 3)}
        Artifact(tmp, f"{parent.name}+{config.method}", built.format, meta).save()
        if final.exists() and not (final / ARTIFACT_FILE).is_file():
            shutil.rmtree(final)  # a stale, incomplete folder from an interrupted build
        try:
            os.replace(tmp, final)
        except OSError:
            if not (final / ARTIFACT_FILE).is_file():
                raise  # otherwise another process finished the same build first: use theirs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Artifact.load(final)


def probe_requests(ctx: CompressContext, count: int = 2) -> list:
    """A few real requests (validation split) for quick checks; a made-up one without data."""
    if ctx.data is not None and ctx.data.valid:
        return ctx.data.valid[:count]
    from models.requests import Candidate, Request

    return [Request("probe", "watched: Star River (1977)",
                    (Candidate("1", "Night City (1995) | Drama"), Candidate("2", "Blue Road (1960) | Comedy")))]


def reload_check(built: Built, folder: Path, ctx: CompressContext) -> float:
    """Largest score difference between the model as built and as reloaded from `folder`."""
    import numpy as np

    from compress.artifact import TORCH_LOADERS

    requests = probe_requests(ctx)
    before = np.concatenate(built.ranker.score(requests))
    after = np.concatenate(TORCH_LOADERS[built.format](folder).score(requests))
    return float(np.abs(before.astype(np.float64) - after).max())


def copy_tokenizer(src: Path, dst: Path) -> None:
    """Every artifact carries the tokenizer and ranker.json, whatever its format."""
    for name in TOKENIZER_FILES:
        if (src / name).is_file() and not (dst / name).exists():
            shutil.copy2(src / name, dst / name)


# --- helpers shared by handlers -----------------------------------------------------------------
def model_meta(model) -> dict:
    from models.flops import REFERENCE_TOKENS, flops_per_pair

    return {"params": int(sum(p.numel() for p in model.parameters())),
            "nonzero_params": int(sum(int((p != 0).sum()) for p in model.parameters())),
            "flops_per_pair": flops_per_pair(model, REFERENCE_TOKENS), "flops_tokens": REFERENCE_TOKENS}


def hf_ranker(artifact: Artifact):
    if artifact.format != "hf":
        raise ValueError(f"{artifact.path}: expected an 'hf' artifact, got {artifact.format!r}")
    return artifact.torch_ranker()


def save_hf(ranker, out: Path, **meta) -> Built:
    ranker.save(out)
    return Built("hf", {**model_meta(ranker.model), "backends": list(HF_BACKENDS), **meta}, ranker)
