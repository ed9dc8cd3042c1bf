"""ONNX Runtime INT8: dynamic (activations ranged per batch at run time) and static (calibrated on
real training requests, QDQ format).

    {"method": "quantize-ort-dynamic", "per_channel": true}
    {"method": "quantize-ort-static", "calibration_requests": 32, "per_channel": true}

Format written: "onnx": model.onnx (inputs input_ids / attention_mask / token_type_ids int64, output
logits [B, 1]) plus the tokenizer files. ORT quantizes the plain fp32 export (models.onnx_export):
quantizing an already fused graph fails in shape inference, and ORT fuses the quantized graph itself
at session time. Weights are int8 and activations uint8 (U8S8), the pair ORT's x86 INT8 kernels run
natively; per-channel weight scales by default (why: results/defaults.md, "ORT INT8").
"""
from __future__ import annotations

import json
import logging
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rankbench.compress.api import Built, copy_tokenizer, hf_ranker, probe_requests
from rankbench.compress.config import MethodConfig, check_choice, check_positive
from rankbench.compress.registry import register_method
from rankbench.compress.training import sample_requests


@dataclass(frozen=True, kw_only=True)
class OrtDynamicConfig(MethodConfig):
    per_channel: bool = True  # one scale per output channel of each weight matrix
    reduce_range: bool = False  # 7-bit weights (ORT's advice for CPUs without VNNI)
    produces = "onnx"


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


# --- ONNX Runtime -----------------------------------------------------------------------------
def _export_fp32(parent, scratch: Path) -> Path:
    from rankbench.models.onnx_export import export_onnx

    return export_onnx(parent.path, scratch / "fp32.onnx")


def onnx_scores(folder: Path, requests, threads: int = 1) -> list[np.ndarray]:
    """Scores of an "onnx" artifact through onnxruntime (for checks and quick evaluations)."""
    import onnxruntime as ort
    import torch
    from transformers import AutoTokenizer

    from rankbench.models.ranker import RANKER_FILE, BertRanker

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
    return {"bytes_on_disk": (out / "model.onnx").stat().st_size,
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


def _ort_dynamic(parent, config, ctx, out):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ranker = hf_ranker(parent)
    scratch = out / ".scratch"
    fp32 = _export_fp32(parent, scratch)
    # Dynamic quantization always uses uint8 activations; weights int8 (U8S8).
    with _quiet_ort_advice():
        quantize_dynamic(fp32, out / "model.onnx", weight_type=QuantType.QInt8, per_channel=config.per_channel,
                         reduce_range=config.reduce_range)
    shutil.rmtree(scratch)
    return Built("onnx", _onnx_meta(parent, out, ranker, probe_requests(ctx, 4), [
        "dynamic INT8 (U8S8, MatMul weights); activations scaled per batch at run time"]))


def _static_nodes(path: Path, config: OrtStaticConfig) -> list[str] | None:
    """The MatMul/Gemm nodes to quantize statically (None: all of them).

    A static range is fixed at calibration, so inputs with outliers lose most of their resolution:
    the FFN down-projections (whose post-GELU inputs have the outliers) stay in fp32 by default, and
    so do the pooler and classifier (once per pair, no speed to win). The measurements behind this
    choice: results/defaults.md, "ORT static INT8".
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


register_method("quantize-ort-dynamic", OrtDynamicConfig, _ort_dynamic)
register_method("quantize-ort-static", OrtStaticConfig, _ort_static)
