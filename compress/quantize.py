"""INT8 and lower precision: ONNX Runtime dynamic / static INT8, PyTorch dynamic INT8, FP16 / BF16,
and TensorRT INT8 calibration data.

    {"method": "quantize-ort-dynamic", "per_channel": true}
    {"method": "quantize-ort-static", "calibration_requests": 32, "per_channel": true}
    {"method": "quantize-torch-dynamic"}
    {"method": "half", "dtype": "bfloat16"}
    {"method": "quantize-tensorrt-int8", "calibration_requests": 64}

Formats written (every folder also holds the tokenizer and ranker.json):
- "onnx": model.onnx (inputs input_ids / attention_mask / token_type_ids int64, output logits [B, 1]);
  onnxruntime only. ORT quantizes the plain fp32 export (models.onnx_export): quantizing an already
  fused graph fails in shape inference, and ORT fuses the quantized graph itself at session time.
- "torch-int8": config + quantized state dict; the loader below rebuilds the module. torch only.
- "half": safetensors in float16 / bfloat16; torch (GPU for float16; bfloat16 also runs on CPU).
- "tensorrt-int8": the fp32 "hf" files plus calibration batches of real requests; the harness'
  tensorrt backend builds the INT8 engine (and its calibration cache) where TensorRT and a GPU exist.
"""
from __future__ import annotations

import json
import logging
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from compress.api import (Built, MethodConfig, check_choice, check_positive, copy_tokenizer, hf_ranker,
                          probe_requests, register_handler, register_method)
from compress.training import sample_requests
from compress.artifact import register_torch_loader

# This CPU is AVX2 without VNNI. ORT's x86 INT8 kernels are U8S8 (uint8 activations, int8 weights):
# that pair is used throughout. Without VNNI, u8 x s8 products are summed in int16 and may saturate;
# ORT suggests 7-bit weights (reduce_range) there. Measured instead (MiniLM-L6, Pearson of INT8 vs
# fp32 scores, 600 ML-100K pairs): dynamic per-tensor 0.961 (0.924 with reduce_range), per-channel
# 0.985 with or without reduce_range. Per-channel scales are what matters; reduce_range stays a knob.


@register_method("quantize-ort-dynamic")
@dataclass(frozen=True, kw_only=True)
class OrtDynamicConfig(MethodConfig):
    per_channel: bool = True  # one scale per output channel of each weight matrix
    reduce_range: bool = False  # 7-bit weights (see the note above)
    produces = "onnx"


@register_method("quantize-ort-static")
@dataclass(frozen=True, kw_only=True)
class OrtStaticConfig(MethodConfig):
    calibration_requests: int = 32  # training requests whose activations set the ranges
    per_channel: bool = True
    reduce_range: bool = False
    calibration: str = "minmax"  # "minmax", "entropy" or "percentile"
    skip_ffn_output: bool = True  # keep each FFN's down-projection in fp32 (see _static_nodes)
    quantize_attention: bool = False  # also the activation x activation products Q K^T and P V
    produces = "onnx"
    needs = ("data",)

    def __post_init__(self):
        check_positive(self.method, "calibration_requests", self.calibration_requests)
        check_choice(self.method, "calibration", self.calibration, ("minmax", "entropy", "percentile"))


@register_method("quantize-torch-dynamic")
@dataclass(frozen=True, kw_only=True)
class TorchDynamicConfig(MethodConfig):
    # "torch.ao": quantize_dynamic (deprecated, but its fbgemm kernels are fast on AVX2). "torchao":
    # Int8DynamicActivationInt8WeightConfig. On this CPU (MiniLM-L6 shape, 100 pairs x 64 tokens,
    # 2 threads, busy machine): fp32 2.61 s, torch.ao 1.20 s, torchao 7.10 s -- so torch.ao it is.
    engine: str = "torch.ao"
    produces = "torch-int8"

    def __post_init__(self):
        check_choice(self.method, "engine", self.engine, ("torch.ao", "torchao"))


@register_method("half")
@dataclass(frozen=True, kw_only=True)
class HalfConfig(MethodConfig):
    dtype: str = "float16"  # "float16" (GPUs) or "bfloat16" (GPUs and CPUs with bf16 support)
    produces = "half"

    def __post_init__(self):
        check_choice(self.method, "dtype", self.dtype, ("float16", "bfloat16"))


@register_method("quantize-tensorrt-int8")
@dataclass(frozen=True, kw_only=True)
class TensorRTInt8Config(MethodConfig):
    calibration_requests: int = 64
    batch_size: int = 32  # pairs per calibration batch
    seq_len: int | None = None  # padded length of the batches; default the ranker's max_length
    produces = "tensorrt-int8"
    needs = ("data",)

    def __post_init__(self):
        for name in ("calibration_requests", "batch_size"):
            check_positive(self.method, name, getattr(self, name))
        check_positive(self.method, "seq_len", self.seq_len, allow_none=True)


# --- ONNX Runtime -----------------------------------------------------------------------------
def _export_fp32(parent, scratch: Path) -> Path:
    from models.onnx_export import export_onnx

    return export_onnx(parent.path, scratch / "fp32.onnx")


def onnx_scores(folder: Path, requests, threads: int = 1) -> list[np.ndarray]:
    """Scores of an "onnx" artifact through onnxruntime (for checks and quick evaluations)."""
    import onnxruntime as ort
    import torch
    from transformers import AutoTokenizer

    from models.ranker import RANKER_FILE, BertRanker

    folder = Path(folder)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
    max_length = json.loads((folder / RANKER_FILE).read_text())["max_length"]
    # Tokenize exactly as the torch ranker does; the placeholder module is never run.
    encoder = BertRanker(torch.nn.Identity(), AutoTokenizer.from_pretrained(folder), max_length)
    return [session.run(["logits"], encoder.encode(r.pairs()))[0].reshape(-1) for r in requests]


def _onnx_meta(parent, out: Path, ranker, requests, notes: list[str]) -> dict:
    """Agreement with the fp32 parent on a few requests, so a broken quantization shows at once."""
    copy_tokenizer(parent.path, out)
    ours = np.concatenate(onnx_scores(out, requests))
    theirs = np.concatenate(ranker.score(requests))
    return {"backends": ["onnxruntime"], "bytes_on_disk": (out / "model.onnx").stat().st_size,
            "parity_max_abs_diff": float(np.abs(ours - theirs).max()),
            "parity_pearson": float(np.corrcoef(ours, theirs)[0, 1]) if ours.std() and theirs.std() else None,
            "notes": notes}


@contextmanager
def _quiet_ort_advice():
    """ORT logs, on the root logger, advice to run its pre-processing script first. We quantize the
    plain exported graph on purpose (quantizing the optimized, fused graph fails shape inference)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


@register_handler(OrtDynamicConfig)
def _ort_dynamic(parent, config, ctx, out):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ranker = hf_ranker(parent)
    scratch = out / ".scratch"
    fp32 = _export_fp32(parent, scratch)
    # Dynamic quantization always uses uint8 activations; weights int8 (U8S8, see the note above).
    with _quiet_ort_advice():
        quantize_dynamic(fp32, out / "model.onnx", weight_type=QuantType.QInt8, per_channel=config.per_channel,
                         reduce_range=config.reduce_range)
    shutil.rmtree(scratch)
    return Built("onnx", _onnx_meta(parent, out, ranker, probe_requests(ctx, 4), [
        "dynamic INT8 (U8S8, MatMul weights); activations scaled per batch at run time"]))


def _static_nodes(path: Path, config: OrtStaticConfig) -> list[str] | None:
    """The MatMul/Gemm nodes to quantize statically (None: all of them).

    A static range is fixed at calibration, so inputs with outliers lose most of their resolution.
    Measured on MiniLM-L6 (Pearson of INT8 vs fp32 scores on 600 ML-100K pairs, min-max calibration on
    16 requests): every MatMul 0.84; linear layers only 0.85; without the FFN down-projections (whose
    post-GELU inputs have the outliers) 0.94; also without the pooler and classifier (once per pair,
    no speed to win) 0.97. Dynamic INT8, which ranges each batch at run time, reaches 0.985.
    """
    if config.quantize_attention and not config.skip_ffn_output:
        return None
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    constants = {init.name for init in graph.initializer}
    constants |= {out for node in graph.node if node.op_type == "Constant" for out in node.output}
    matmuls = [n.name for n in graph.node if n.op_type in ("MatMul", "Gemm")]
    linear = [n.name for n in graph.node if n.name in matmuls and any(i in constants for i in n.input[1:2])]
    # Node names follow the module path (".../encoder/layer.0/output/dense/MatMul"); an exporter that
    # names nodes otherwise gets every linear layer, which is still correct, only less accurate.
    encoder = [n for n in linear if "/encoder/" in n] or linear
    chosen = [n for n in encoder if not (config.skip_ffn_output and "/output/dense" in n and "/attention/" not in n)]
    if config.quantize_attention:
        chosen += [n for n in matmuls if n not in linear]
    return chosen


class _RequestReader:
    """Feeds ORT's calibrator one real request (all its candidates) per batch."""

    def __init__(self, ranker, requests, pad_to: int | None = None):
        self.batches = iter([ranker.encode(r.pairs(), pad_to=pad_to) for r in requests])

    def get_next(self):
        return next(self.batches, None)

    def rewind(self):  # the calibration API may ask; one pass is all we give
        pass


@register_handler(OrtStaticConfig)
def _ort_static(parent, config, ctx, out):
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    ranker = hf_ranker(parent)
    scratch = out / ".scratch"
    fp32 = _export_fp32(parent, scratch)
    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    requests = sample_requests(ctx.data.train, config.calibration_requests, ctx.seed)
    # Histogram calibrators (entropy, percentile) stack batches: they need one shape for all.
    reader = _RequestReader(ranker, requests, None if config.calibration == "minmax" else ranker.max_length)
    # QDQ keeps the graph readable and lets ORT pick its fused INT8 kernels per CPU at load time.
    # QUInt8 activations / QInt8 weights: the U8S8 pair that ORT's x86 kernels run natively.
    # Only MatMul/Gemm: they carry the FLOPs; quantizing Add/LayerNorm/Softmax costs accuracy for nothing.
    nodes = _static_nodes(fp32, config)
    with _quiet_ort_advice():
        quantize_static(fp32, out / "model.onnx", reader, quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=["MatMul", "Gemm"], per_channel=config.per_channel,
                        nodes_to_quantize=nodes, reduce_range=config.reduce_range,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=methods[config.calibration])
    shutil.rmtree(scratch)
    # Check on requests the calibration did not see.
    check = probe_requests(ctx, 4)
    return Built("onnx", {**_onnx_meta(parent, out, ranker, check, [
        f"static INT8 QDQ ({config.calibration}, {len(requests)} calibration requests, "
        f"{'all' if nodes is None else len(nodes)} MatMul/Gemm nodes quantized)"]),
        "calibration_requests": len(requests), "quantized_nodes": None if nodes is None else len(nodes)})


# --- PyTorch ----------------------------------------------------------------------------------
TORCH_INT8_FILE = "quantized_state.pt"


def _apply_torch_int8(model, engine: str):
    import torch

    if engine == "torchao":
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

        quantize_(model, Int8DynamicActivationInt8WeightConfig())
        return model
    return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


@register_handler(TorchDynamicConfig)
def _torch_dynamic(parent, config, ctx, out):
    import torch

    ranker = hf_ranker(parent)
    ranker.model.config.save_pretrained(out)
    ranker.model = _apply_torch_int8(ranker.model.eval(), config.engine)
    torch.save(ranker.model.state_dict(), out / TORCH_INT8_FILE)
    (out / "torch_int8.json").write_text(json.dumps({"engine": config.engine}))
    notes = ["torch.ao.quantization.quantize_dynamic is deprecated (torchao replaces it); kept because "
             "its fbgemm kernels beat torchao's int8 path on this AVX2 CPU"] if config.engine == "torch.ao" else []
    return Built("torch-int8", {"backends": ["torch"], "engine": config.engine, "notes": notes}, ranker)


@register_torch_loader("torch-int8")
def load_torch_int8(folder: Path):
    import torch
    from transformers import AutoTokenizer, BertConfig

    from models.ranker import DEFAULT_MAX_LENGTH, RANKER_FILE, BertRanker, build_model

    folder = Path(folder)
    engine = json.loads((folder / "torch_int8.json").read_text())["engine"]
    model = _apply_torch_int8(build_model(BertConfig.from_pretrained(folder)).eval(), engine)
    # Quantized modules keep packed weights that are not plain tensors: a full (trusted) unpickle.
    state = torch.load(folder / TORCH_INT8_FILE, weights_only=False)
    model.load_state_dict(state, assign=engine == "torchao")
    max_length = json.loads((folder / RANKER_FILE).read_text()).get("max_length", DEFAULT_MAX_LENGTH)
    return BertRanker(model.eval(), AutoTokenizer.from_pretrained(folder), max_length)


@register_handler(HalfConfig)
def _half(parent, config, ctx, out):
    import torch

    ranker = hf_ranker(parent)
    ranker.model = ranker.model.to(getattr(torch, config.dtype))
    ranker.save(out)
    (out / "half.json").write_text(json.dumps({"dtype": config.dtype}))
    notes = [f"{config.dtype} weights; float16 is for GPUs (CPU float16 matmuls are slow or absent)"]
    return Built("half", {"backends": ["torch"], "dtype": config.dtype, "notes": notes}, ranker)


@register_torch_loader("half")
def load_half(folder: Path):
    import torch

    from models.ranker import BertRanker

    ranker = BertRanker.load(folder)
    dtype = json.loads((Path(folder) / "half.json").read_text())["dtype"]
    ranker.model = ranker.model.to(getattr(torch, dtype)).eval()
    return ranker


# --- TensorRT ---------------------------------------------------------------------------------
@register_handler(TensorRTInt8Config)
def _tensorrt_int8(parent, config, ctx, out):
    ranker = hf_ranker(parent)
    ranker.save(out)  # the fp32 model: the backend exports it to ONNX and builds the INT8 engine
    seq_len = config.seq_len or ranker.max_length
    pairs = [p for r in sample_requests(ctx.data.train, config.calibration_requests, ctx.seed) for p in r.pairs()]
    calib = out / "calibration"
    calib.mkdir()
    batches = 0
    # Fixed [batch_size, seq_len] batches: TensorRT calibrates at one optimization-profile shape.
    for start in range(0, len(pairs) - config.batch_size + 1, config.batch_size):
        np.savez(calib / f"batch_{batches:04d}.npz", **ranker.encode(pairs[start:start + config.batch_size],
                                                                    pad_to=seq_len))
        batches += 1
    if batches == 0:
        raise ValueError(f"quantize-tensorrt-int8: {len(pairs)} calibration pairs is less than one batch "
                         f"of {config.batch_size}")
    (out / "tensorrt.json").write_text(json.dumps({
        "precision": "int8", "calibration_dir": "calibration", "batches": batches,
        "batch_size": config.batch_size, "seq_len": seq_len, "calibration_cache": "calibration.cache"}, indent=1))
    return Built("tensorrt-int8", {"backends": ["tensorrt"], "calibration_batches": batches,
                                   "bytes_on_disk": (out / "model.safetensors").stat().st_size,
                                   "notes": ["the INT8 engine is built by the tensorrt backend (NVIDIA GPU)"]})
