"""Export an "hf" ranker folder to an fp32 (or fp16 / bf16) ONNX file with dynamic batch and sequence axes.

    from rankbench.models.onnx_export import export_onnx, cached_onnx
    path = export_onnx("runs/x/teacher", "runs/x/teacher/onnx/model.onnx")   # exports (or reuses)
    path = cached_onnx("runs/x/teacher")            # the same, at the default place next to the model

The loaded torch module is exported (torch.onnx.export, TorchScript path: onnxscript is not installed
here), so whatever `models.ranker.load_model` builds -- pruned heads, per-layer FFN widths,
adapters -- is what the graph contains. Inputs: input_ids / attention_mask / token_type_ids (int64,
[batch, sequence]); output: logits [batch, 1], float32 whatever `dtype` the weights and products have
(`dtype="fp16"`: the model as torch runs it in half precision, every tensor fp16 inside).

The export is cached: a sidecar `<out>.source.json` records a fingerprint of the source folder's
config and weights, and a later call with the same fingerprint returns the file as it is. Files are
written to a temporary name and renamed, so an interrupted export never looks finished.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

from rankbench.common.digest import Hasher
from rankbench.common.files import atomic_path, atomic_write_json

ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_OUTPUT = "logits"
OPSET = 17
DEFAULT_SUBDIR = "onnx"
# Files whose content defines the exported graph (tokenizer files do not change it).
_SOURCE_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")


def source_fingerprint(folder: str | Path, dtype: str = "fp32") -> str:
    folder = Path(folder)
    hasher = Hasher().update(f"opset={OPSET}")
    if dtype != "fp32":  # fp32 exports keep the fingerprint they always had
        hasher.update(f"dtype={dtype}")
    for name in _SOURCE_FILES:
        if (folder / name).is_file():
            hasher.update(name).update_file(folder / name)
    return hasher.hexdigest()


def default_onnx_path(folder: str | Path) -> Path:
    return Path(folder) / DEFAULT_SUBDIR / "model.onnx"


def _sidecar(out_path: Path) -> Path:
    return out_path.with_name(out_path.name + ".source.json")


def is_current(folder: str | Path, out_path: str | Path, dtype: str = "fp32") -> bool:
    out_path = Path(out_path)
    side = _sidecar(out_path)
    if not (out_path.is_file() and side.is_file()):
        return False
    try:
        return json.loads(side.read_text()).get("fingerprint") == source_fingerprint(folder, dtype)
    except (OSError, json.JSONDecodeError):
        return False


def export_onnx(folder: str | Path, out_path: str | Path, force: bool = False, dtype: str = "fp32") -> Path:
    """Export the ranker in `folder` to `out_path` (dynamic axes; weights and products in `dtype`:
    fp32, fp16 or bf16; logits always float32); reuse a current export."""
    import torch

    from rankbench.models.ranker import load_model

    folder, out_path = Path(folder), Path(out_path)
    types = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    if dtype not in types:
        raise ValueError(f"dtype {dtype!r}: expected one of {', '.join(types)}")
    if not force and is_current(folder, out_path, dtype):
        return out_path
    model = load_model(folder).eval().to(types[dtype])
    # The eager attention path traces into plain ops every ONNX consumer (ORT, TensorRT) supports.
    if hasattr(model.config, "_attn_implementation"):
        try:
            model.config._attn_implementation = "eager"
        except Exception:  # noqa: BLE001 - older/newer transformers may refuse; sdpa exports too
            pass

    class _Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            logits = self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).logits
            return logits if logits.dtype == torch.float32 else logits.float()  # fp32 out, whatever inside

    seq = 16
    example = (torch.ones(2, seq, dtype=torch.long), torch.ones(2, seq, dtype=torch.long),
               torch.zeros(2, seq, dtype=torch.long))
    axes = {name: {0: "batch", 1: "sequence"} for name in ONNX_INPUTS}
    axes[ONNX_OUTPUT] = {0: "batch"}
    # The tracer warns that transformers' mask constants are frozen: they are, by design, for
    # every shape (dynamic axes cover batch and sequence); the warning is noise for a user.
    with atomic_path(out_path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(_Logits(model), example, str(tmp), input_names=list(ONNX_INPUTS),
                          output_names=[ONNX_OUTPUT], dynamic_axes=axes, opset_version=OPSET,
                          do_constant_folding=True, dynamo=False)
    atomic_write_json(_sidecar(out_path), {"fingerprint": source_fingerprint(folder, dtype), "source": str(folder),
                                           "opset": OPSET, "dtype": dtype})
    return out_path


def cached_onnx(folder: str | Path) -> Path:
    """The ONNX export of `folder` at its default place (`<folder>/onnx/model.onnx`)."""
    return export_onnx(folder, default_onnx_path(folder))
