"""The compression API: one `compress` call applies one registered method to a parent artifact.

    from rankbench.compress.api import CompressContext, compress
    ctx = CompressContext(out_dir=Path("runs/x/variants"), data=data, teacher=teacher)
    student = compress(teacher, {"method": "distill", "layers": 3}, ctx)

A method (compress/registry.py) is a frozen config dataclass, validated before any work, and a
handler that writes model files into a fresh folder and returns the format and method metadata, as
torchao's `quantize_(model, Config)`. `compress` does the rest in one place: cache lookup, timing,
common metadata (params, FLOPs, recipe, parent hash) and the atomic rename that makes the folder
appear only when complete.

Metadata of every artifact: params, nonzero_params, bytes_on_disk (weights only), flops_per_pair
(at flops_tokens tokens), recipe (step dicts from the teacher on), parent_hash, build_key,
build_seconds, recipe_seconds (the whole chain), seed, notes. Trained methods add train_seconds,
train_peak_rss_bytes and train_peak_rss_delta_bytes (sampled RSS: models.memory),
trainable_params, train_steps; formats with a torch loader add reload_max_abs_diff (model as built
vs as reloaded); ONNX ones add parity_* against the fp32 parent.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rankbench.common.digest import Hasher, digest, source_digest
from rankbench.compress.artifact import ARTIFACT_FILE, Artifact
from rankbench.compress.config import MethodConfig, Shape
from rankbench.compress.registry import config_from_dict, get_method, torch_loader

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
                   "ranker.json")


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
        from rankbench.compress.training import requests_digest

        if self.data is None:
            return "none"
        hasher = Hasher().update(self.data.name)
        for split in (self.data.train, self.data.valid, self.data.test):
            hasher.update(str(len(split))).update(requests_digest(split))
        return hasher.hexdigest()

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


@lru_cache(maxsize=1)
def compression_code() -> str:
    """Digest of the code that builds artifacts (compress/ and models/): a changed method builds anew."""
    root = Path(__file__).resolve().parents[1]
    return source_digest(root / "compress", root / "models")


def build_key(parent: Artifact, config: MethodConfig, ctx: CompressContext) -> str:
    parts = {"parent": parent.hash, "step": config.to_dict(), "seed": ctx.seed, "code": compression_code()}
    if "data" in config.needs:
        parts["data"] = ctx.data_fingerprint()
    if "base" in config.needs:
        parts["base"] = ctx.base_model()
    return digest(parts)


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
    try:
        start = time.perf_counter()
        built = get_method(config.method).handler(parent, config, ctx, tmp)
        copy_tokenizer(parent.path, tmp)
        if built.ranker is not None:
            built.meta["reload_max_abs_diff"] = reload_check(built, tmp, ctx)
        meta = artifact_meta(parent, config, built, final, round(time.perf_counter() - start, 3), ctx)
        Artifact(tmp, f"{parent.name}+{config.method}", built.format, meta).save()
        _publish(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Artifact.load(final)


def artifact_meta(parent: Artifact, config: MethodConfig, built: "Built", final: Path, seconds: float,
                  ctx: CompressContext) -> dict:
    """The metadata every artifact carries: inherited figures, the method's own, and the recipe."""
    inherited = {k: parent.meta[k] for k in ("params", "nonzero_params", "flops_per_pair",
                                              "flops_tokens", "base") if k in parent.meta}
    # Notes of earlier compression steps still hold (e.g. "deprecated API"); a root's are its own.
    notes = list(parent.meta.get("notes", [])) if parent.meta.get("recipe") else []
    notes += list(built.meta.pop("notes", []))
    return {**inherited, **built.meta, "notes": notes, "method": config.method,
            "recipe": list(parent.meta.get("recipe", [])) + [config.to_dict()],
            "parent_hash": parent.hash, "build_key": final.name.rsplit("-", 1)[1],
            "build_seconds": seconds, "seed": ctx.seed,
            "recipe_seconds": round(parent.meta.get("recipe_seconds", 0.0) + seconds, 3)}


def _publish(tmp: Path, final: Path) -> None:
    """Rename the finished folder into place; a concurrent build of the same key may have won."""
    if final.exists() and not (final / ARTIFACT_FILE).is_file():
        shutil.rmtree(final)  # a stale, incomplete folder from an interrupted build
    try:
        os.replace(tmp, final)
    except OSError:
        if not (final / ARTIFACT_FILE).is_file():
            raise  # otherwise another process finished the same build first: use theirs


def probe_requests(ctx: CompressContext, count: int = 2) -> list:
    """A few real requests (validation split) for quick checks; a made-up one without data."""
    if ctx.data is not None and ctx.data.valid:
        return ctx.data.valid[:count]
    from rankbench.models.requests import Candidate, Request

    return [Request("probe", "watched: Star River (1977)",
                    (Candidate("1", "Night City (1995) | Drama"), Candidate("2", "Blue Road (1960) | Comedy")))]


def reload_check(built: Built, folder: Path, ctx: CompressContext) -> float:
    """Largest score difference between the model as built and as reloaded from `folder`."""
    import numpy as np

    requests = probe_requests(ctx)
    before = np.concatenate(built.ranker.score(requests))
    after = np.concatenate(torch_loader(built.format)(folder).score(requests))
    return float(np.abs(before.astype(np.float64) - after).max())


def copy_tokenizer(src: Path, dst: Path) -> None:
    """Every artifact carries the tokenizer and ranker.json, whatever its format."""
    for name in TOKENIZER_FILES:
        if (src / name).is_file() and not (dst / name).exists():
            shutil.copy2(src / name, dst / name)


# --- helpers shared by handlers -----------------------------------------------------------------
def model_meta(model) -> dict:
    from rankbench.models.flops import REFERENCE_TOKENS, flops_per_pair

    return {"params": int(sum(p.numel() for p in model.parameters())),
            "nonzero_params": int(sum(int((p != 0).sum()) for p in model.parameters())),
            "flops_per_pair": flops_per_pair(model, REFERENCE_TOKENS), "flops_tokens": REFERENCE_TOKENS}


def hf_ranker(artifact: Artifact):
    if artifact.format != "hf":
        raise ValueError(f"{artifact.path}: expected an 'hf' artifact, got {artifact.format!r}")
    return artifact.torch_ranker()


def save_hf(ranker, out: Path, **meta) -> Built:
    ranker.save(out)
    return Built("hf", {**model_meta(ranker.model), **meta}, ranker)
