"""Artifact: a model variant as real files on disk, plus metadata about how it was made.

A folder holds the model files and `artifact.json`:
    {"name": ..., "format": "hf" | "onnx" | ..., "meta": {params, nonzero_params, bytes_on_disk,
     flops_per_pair, recipe, parent_hash, build_seconds, notes, ...}}

`format` says which files are there and so which backends can run it:
- "hf": a rankbench ranker folder (`BertRanker.load` works): torch, onnxruntime (exported), xla, tensorrt.
- other formats (an ONNX INT8 file, a torch-quantized module, a PEFT model) are registered by the
  compression methods that make them, with a loader for the torch backend where one exists.
`meta["backends"]` lists the backends that can run the artifact ("torch", "onnxruntime", "xla",
"tensorrt"). Every folder holds the tokenizer files and ranker.json, whatever its format.

    art = Artifact.from_ranker(ranker, "runs/x/teacher", name="teacher")
    art = Artifact.load("runs/x/teacher"); ranker = art.torch_ranker()
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ARTIFACT_FILE = "artifact.json"

# format -> loader(folder) returning a BertRanker whose .model runs in PyTorch. Formats without a
# torch loader (e.g. a pure ONNX file) are simply absent: the torch backend reports them unsupported.
TORCH_LOADERS: dict[str, Callable] = {}


def register_torch_loader(fmt: str):
    def wrap(fn):
        TORCH_LOADERS[fmt] = fn
        return fn
    return wrap


@register_torch_loader("hf")
def _load_hf(folder: Path):
    from models.ranker import BertRanker

    return BertRanker.load(folder)


# Backends that can run an "hf" folder (exported to ONNX / loaded into JAX where needed).
HF_BACKENDS = ("torch", "onnxruntime", "xla", "tensorrt")


def _import_method_modules() -> None:
    import importlib

    for module in ("compress.prune", "compress.quantize", "compress.distill", "compress.peft"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def content_hash(folder: Path) -> str:
    """Digest of the weight files (names and bytes): the identity of a root artifact."""
    digest = hashlib.sha256()
    exts = (".safetensors", ".bin", ".onnx", ".pt")
    # Top-level files only: derived files in sub-folders (e.g. a cached onnx/ export) do not count.
    for p in sorted(Path(folder).glob("*")):
        if p.is_file() and p.suffix in exts:
            digest.update(p.relative_to(folder).as_posix().encode())
            with open(p, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()[:16]


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and p.name != ARTIFACT_FILE)


def weight_bytes(folder: Path) -> int:
    """Bytes of the model weights only (tokenizer and config files excluded)."""
    exts = (".safetensors", ".bin", ".onnx", ".pt", ".data", ".npz")
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and p.suffix in exts)


@dataclass
class Artifact:
    path: Path
    name: str
    format: str = "hf"
    meta: dict = field(default_factory=dict)

    @property
    def hash(self) -> str:
        """Identity of what the artifact is: its recipe and its parent (not where it lies)."""
        # A root artifact (no parent) is identified by its weights' digest, so two different teachers
        # never share cached children; `build_key` covers what else shaped a step (seed, data).
        blob = json.dumps({"format": self.format, "recipe": self.meta.get("recipe", []),
                           "parent": self.meta.get("parent_hash"), "content": self.meta.get("content_hash"),
                           "key": self.meta.get("build_key")}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def save(self) -> "Artifact":
        self.meta.setdefault("bytes_on_disk", weight_bytes(self.path))
        tmp = self.path / (ARTIFACT_FILE + ".tmp")
        tmp.write_text(json.dumps({"name": self.name, "format": self.format, "hash": self.hash,
                                   "meta": self.meta}, indent=1))
        os.replace(tmp, self.path / ARTIFACT_FILE)  # artifact.json appears only when complete
        return self

    @classmethod
    def load(cls, path: str | Path) -> "Artifact":
        path = Path(path)
        if not (path / ARTIFACT_FILE).is_file():
            if (path / "config.json").is_file():  # a plain ranker or HF folder: treat as "hf"
                return cls(path, path.name, "hf", {"recipe": [], "content_hash": content_hash(path)})
            raise FileNotFoundError(f"{path} holds no {ARTIFACT_FILE} and no model")
        raw = json.loads((path / ARTIFACT_FILE).read_text())
        return cls(path, raw["name"], raw["format"], raw.get("meta", {}))

    @classmethod
    def from_ranker(cls, ranker, path: str | Path, name: str, **meta) -> "Artifact":
        path = Path(path)
        ranker.save(path)
        params = sum(p.numel() for p in ranker.model.parameters())
        nonzero = int(sum((p != 0).sum() for p in ranker.model.parameters()))
        from models.flops import REFERENCE_TOKENS, flops_per_pair

        meta = {"params": params, "nonzero_params": nonzero, "recipe": [],
                "flops_per_pair": flops_per_pair(ranker.model, REFERENCE_TOKENS),
                "flops_tokens": REFERENCE_TOKENS, "backends": list(HF_BACKENDS),
                "content_hash": content_hash(path), **meta}
        return cls(path, name, "hf", meta).save()

    def torch_ranker(self):
        if self.format not in TORCH_LOADERS:
            _import_method_modules()  # formats made by compression methods register on import
        if self.format not in TORCH_LOADERS:
            raise ValueError(f"artifact format {self.format!r} has no PyTorch loader")
        return TORCH_LOADERS[self.format](self.path)
