"""PyTorch INT8 and half precision: dynamic INT8 of the linear layers, FP16 / BF16 weights.

    {"method": "quantize-torch-dynamic"}                 # engine "torch.ao" (default) or "torchao"
    {"method": "half", "dtype": "bfloat16"}

Formats written (with the tokenizer and ranker.json):
- "torch-int8": config + quantized state dict; `load_torch_int8` rebuilds the module. torch only.
- "half": safetensors in float16 / bfloat16; torch (GPU for float16; bfloat16 also runs on CPU).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rankbench.compress.api import Built, hf_ranker
from rankbench.compress.config import MethodConfig, check_choice
from rankbench.compress.registry import register_method


@dataclass(frozen=True, kw_only=True)
class TorchDynamicConfig(MethodConfig):
    # "torch.ao": quantize_dynamic (deprecated, but its fbgemm kernels are the faster CPU path;
    # results/defaults.md, "PyTorch INT8"). "torchao": Int8DynamicActivationInt8WeightConfig.
    engine: str = "torch.ao"
    produces = "torch-int8"

    def __post_init__(self):
        check_choice(self.method, "engine", self.engine, ("torch.ao", "torchao"))


@dataclass(frozen=True, kw_only=True)
class HalfConfig(MethodConfig):
    dtype: str = "float16"  # "float16" (GPUs) or "bfloat16" (GPUs and CPUs with bf16 support)
    produces = "half"

    def __post_init__(self):
        check_choice(self.method, "dtype", self.dtype, ("float16", "bfloat16"))


TORCH_INT8_FILE = "quantized_state.pt"


def _apply_torch_int8(model, engine: str):
    import torch

    if engine == "torchao":
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

        quantize_(model, Int8DynamicActivationInt8WeightConfig())
        return model
    return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _torch_dynamic(parent, config, ctx, out):
    import torch

    ranker = hf_ranker(parent)
    ranker.model.config.save_pretrained(out)
    ranker.model = _apply_torch_int8(ranker.model.eval(), config.engine)
    torch.save(ranker.model.state_dict(), out / TORCH_INT8_FILE)
    (out / "torch_int8.json").write_text(json.dumps({"engine": config.engine}))
    notes = ["torch.ao.quantization.quantize_dynamic is deprecated (torchao replaces it); kept because "
             "its fbgemm kernels beat torchao's int8 path on CPUs"] if config.engine == "torch.ao" else []
    return Built("torch-int8", {"engine": config.engine, "notes": notes}, ranker)


def load_torch_int8(folder: Path):
    import torch
    from transformers import AutoTokenizer, BertConfig

    from rankbench.models.ranker import DEFAULT_MAX_LENGTH, RANKER_FILE, BertRanker, build_model

    folder = Path(folder)
    engine = json.loads((folder / "torch_int8.json").read_text())["engine"]
    model = _apply_torch_int8(build_model(BertConfig.from_pretrained(folder)).eval(), engine)
    # Quantized modules keep packed weights that are not plain tensors: a full (trusted) unpickle.
    state = torch.load(folder / TORCH_INT8_FILE, weights_only=False)
    model.load_state_dict(state, assign=engine == "torchao")
    max_length = json.loads((folder / RANKER_FILE).read_text()).get("max_length", DEFAULT_MAX_LENGTH)
    return BertRanker(model.eval(), AutoTokenizer.from_pretrained(folder), max_length)


def _half(parent, config, ctx, out):
    import torch

    ranker = hf_ranker(parent)
    ranker.model = ranker.model.to(getattr(torch, config.dtype))
    ranker.save(out)
    (out / "half.json").write_text(json.dumps({"dtype": config.dtype}))
    notes = [f"{config.dtype} weights; float16 is for GPUs (CPU float16 matmuls are slow or absent)"]
    return Built("half", {"dtype": config.dtype, "notes": notes}, ranker)


def load_half(folder: Path):
    import torch

    from rankbench.models.ranker import BertRanker

    ranker = BertRanker.load(folder)
    dtype = json.loads((Path(folder) / "half.json").read_text())["dtype"]
    ranker.model = ranker.model.to(getattr(torch, dtype)).eval()
    return ranker


register_method("quantize-torch-dynamic", TorchDynamicConfig, _torch_dynamic, loader=load_torch_int8)
register_method("half", HalfConfig, _half, loader=load_half)
