"""The one registry of compression methods: one `register_method` call per method.

    register_method("prune-heads", PruneHeadsConfig, prune_heads_handler)
    register_method("quantize-torch-dynamic", TorchDynamicConfig, torch_dynamic, loader=load_torch_int8)

A method is a frozen config dataclass (compress.config.MethodConfig) and a handler
`handler(parent, config, ctx, out_folder) -> Built` that writes the model files; `loader`, for a
method whose artifact format is new, reads that format back as a PyTorch ranker (the torch backend
runs every format that has one). Method modules live in compress/methods/ and are found there by
`load_methods()`: adding a method = one file there + a row in the shared test table (a test fails
for a registered method without one).
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rankbench.common.registry import Registry
from rankbench.common.typed import ConfigError, from_dict


@dataclass(frozen=True)
class Method:
    name: str
    config: type  # a MethodConfig subclass
    handler: Callable  # (parent Artifact, config, CompressContext, out folder) -> Built


def load_methods() -> None:
    """Import every module of compress/methods: each registers its methods on import."""
    package = importlib.import_module("rankbench.compress.methods")
    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        importlib.import_module(f"{package.__name__}.{module.name}")


METHODS = Registry("compression method", load=load_methods)
# Artifact format -> loader(folder) returning a BertRanker; formats made by methods register with them.
LOADERS = Registry("PyTorch loader of the artifact format", load=load_methods)


def register_method(name: str, config: type, handler: Callable, loader: Callable | None = None) -> Method:
    existing = METHODS.find(name)
    if existing is not None and existing.config is config:
        return existing  # the same method again (its module was imported twice)
    config.method = name
    METHODS.add(name, Method(name, config, handler))
    if loader is not None:
        LOADERS.add(config.produces, loader)
    return METHODS.get(name)


def _load_hf(folder: Path):
    from rankbench.models.ranker import BertRanker

    return BertRanker.load(folder)


LOADERS.add("hf", _load_hf)


def method_names() -> list[str]:
    return sorted(METHODS.names())


def get_method(name: str) -> Method:
    return METHODS.get(name)


def torch_loader(fmt: str) -> Callable | None:
    """The loader of an artifact format as a PyTorch ranker, or None when the format has none."""
    return LOADERS.find(fmt)


def config_from_dict(raw, where: str = ""):
    """{"method": name, **fields} -> the method's config; unknown methods, unknown fields and values
    of the wrong type are errors that name the method and the field."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'step'}: expected a table like {{method = \"prune-heads\", ...}}, "
                          f"got {raw!r}")
    raw = dict(raw)
    name = raw.pop("method", None)
    if not isinstance(name, str):
        raise ConfigError(f"{where or 'step'}: needs a method name (method = \"...\"), got {name!r}")
    method = get_method(name)
    return from_dict(method.config, raw, where=f"{where}: {name}" if where else name)
