"""Artifact: a model variant as real files on disk, plus metadata about how it was made.

A folder holds the model files and `artifact.json`:
    {"name": ..., "format": "hf" | "onnx" | ..., "meta": {params, nonzero_params, bytes_on_disk,
     flops_per_pair, recipe, parent_hash, build_seconds, notes, ...}}

`format` says which files are there; each backend declares the formats it runs:
- "hf": a rankbench ranker folder (`BertRanker.load` works).
- other formats (an ONNX INT8 file, a torch-quantized module, a PEFT model) are made by compression
  methods, which register a PyTorch loader for them where one exists (compress/registry.py).
Every folder holds the tokenizer files and ranker.json, whatever its format.

    art = Artifact.from_ranker(ranker, "runs/x/teacher", name="teacher")
    art = Artifact.load("runs/x/teacher"); ranker = art.torch_ranker()
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rankbench.common.digest import Hasher, digest
from rankbench.common.files import atomic_write_json

ARTIFACT_FILE = "artifact.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx", ".pt", ".data", ".npz")


def content_hash(folder: Path) -> str:
    """Digest of the weight files (names and bytes): the identity of a root artifact."""
    hasher = Hasher()
    # Top-level files only: derived files in sub-folders (e.g. a cached onnx/ export) do not count.
    for p in sorted(Path(folder).glob("*")):
        if p.is_file() and p.suffix in (".safetensors", ".bin", ".onnx", ".pt"):
            hasher.update(p.relative_to(folder).as_posix()).update_file(p)
    return hasher.hexdigest()


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and p.name != ARTIFACT_FILE)


def weight_bytes(folder: Path) -> int:
    """Bytes of the model weights only (tokenizer and config files excluded)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


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
        return digest({"format": self.format, "recipe": self.meta.get("recipe", []),
                       "parent": self.meta.get("parent_hash"), "content": self.meta.get("content_hash"),
                       "key": self.meta.get("build_key")})

    def save(self) -> "Artifact":
        self.meta.setdefault("bytes_on_disk", weight_bytes(self.path))
        # artifact.json appears only when complete: it marks a finished folder
        atomic_write_json(self.path / ARTIFACT_FILE, {"name": self.name, "format": self.format,
                                                      "hash": self.hash, "meta": self.meta})
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
        from rankbench.models.flops import REFERENCE_TOKENS, flops_per_pair

        meta = {"params": params, "nonzero_params": nonzero, "recipe": [],
                "flops_per_pair": flops_per_pair(ranker.model, REFERENCE_TOKENS),
                "flops_tokens": REFERENCE_TOKENS, "content_hash": content_hash(path), **meta}
        return cls(path, name, "hf", meta).save()

    def torch_ranker(self):
        from rankbench.compress.registry import torch_loader

        loader = torch_loader(self.format)
        if loader is None:
            raise ValueError(f"artifact format {self.format!r} has no PyTorch loader")
        return loader(self.path)
