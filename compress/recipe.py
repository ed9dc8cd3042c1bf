"""Recipes: ordered chains of compression steps, validated up front, every intermediate cached.

    steps = [{"method": "distill", "layers": 3}, {"method": "prune-heads", "ratio": 0.25},
             {"method": "quantize-ort-static"}]
    final = build_recipe(teacher_artifact, steps, ctx)      # or build_recipe(..., return_all=True)

Every step is checked before any work: its config (unknown method or field, bad value), whether it
can follow the step before (e.g. nothing but an ONNX-accepting step after an ONNX artifact; PEFT only
first), whether the context has what it needs (data, the pre-trained base), and shape rules such as
"a student must not have more layers than its teacher". Then each step runs through
`rankbench.compress.api.compress`, which names the folder by a hash of (parent hash, step config,
seed, data) and reuses it when complete: rebuilding a recipe, or a recipe sharing a prefix with another
(distill -> prune 25% vs distill -> prune 50%), costs nothing for the shared part.
"""
from __future__ import annotations

import logging

from rankbench.compress.api import CompressContext, artifact_dir, compress, shape_of
from rankbench.compress.config import MethodConfig, Shape
from rankbench.compress.registry import config_from_dict
from rankbench.compress.artifact import ARTIFACT_FILE, Artifact

log = logging.getLogger(__name__)


def parse_steps(steps: list) -> list[MethodConfig]:
    """Dicts (as in TOML / JSON) or configs -> configs; errors name the step's position."""
    configs = []
    for index, step in enumerate(steps, 1):
        if isinstance(step, MethodConfig):
            configs.append(step)
            continue
        if not isinstance(step, dict):
            raise ValueError(f"step {index}: expected a table like {{method = \"prune-heads\", ...}}, got {step!r}")
        try:
            configs.append(config_from_dict(step))
        except ValueError as err:
            raise ValueError(f"step {index}: {err}") from None
    return configs


def validate_recipe(parent: Artifact, steps: list, ctx: CompressContext) -> list[MethodConfig]:
    """Parse and check a whole recipe without building anything; returns the step configs."""
    return validate_steps(shape_of(parent), steps, ctx)


def validate_steps(shape: Shape, steps: list, ctx: CompressContext | None = None) -> list[MethodConfig]:
    """Check every step against the shape before it (format, layers, PEFT first) and, with a
    context, against what it needs (data, the pre-trained base)."""
    configs = parse_steps(steps)
    if not configs:
        raise ValueError("a recipe needs at least one step")
    for index, config in enumerate(configs, 1):
        try:
            shape = config.plan(shape)
            if ctx is not None:
                ctx.require(config)
        except ValueError as err:
            raise ValueError(f"step {index} ({config.method}): {err}") from None
    return configs


def build_recipe(parent: Artifact, steps: list, ctx: CompressContext,
                 return_all: bool = False) -> Artifact | list[Artifact]:
    """Build every step in order from `parent` (usually the teacher); the last artifact, or all."""
    configs = validate_recipe(parent, steps, ctx)
    built = []
    for index, config in enumerate(configs, 1):
        cached = (artifact_dir(parent, config, ctx) / ARTIFACT_FILE).is_file()
        log.info("step %d/%d %s: %s", index, len(configs), config.method, "cached" if cached else "building")
        parent = compress(parent, config, ctx)
        built.append(parent)
    return built if return_all else parent


def recipe_name(steps: list) -> str:
    """A readable name for a recipe: 'distill-l3+prune-heads-0.25+quantize-ort-static'."""
    parts = []
    for config in parse_steps(steps):
        detail = getattr(config, "layers", None) if config.method == "distill" else \
            getattr(config, "ratio", getattr(config, "sparsity", None))
        parts.append(config.method + (f"-{'l' if config.method == 'distill' else ''}{detail}" if detail is not None else ""))
    return "+".join(parts)
