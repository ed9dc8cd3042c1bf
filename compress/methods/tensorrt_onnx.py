"""ONNX graphs for TensorRT's strongly typed builds (TensorRT 10 with strong typing; 11 has nothing
else): the precision is in the file, not in a builder flag.

    {"method": "quantize-tensorrt-int8", "calibration_requests": 64}   # INT8: symmetric Q/DQ, calibrated
    {"method": "onnx-fp16"}                                            # FP16 weights and products

Format written: "onnx" (model.onnx + the tokenizer files), with meta "precision" ("int8" / "fp16"),
which the backends report: ONNX Runtime runs both files too (its CPU provider is their reference).

INT8 is explicit quantization: Q/DQ nodes on the inputs of the encoder's MatMuls, from ONNX Runtime's
static quantizer in QDQ format with symmetric int8 activations and weights (zero points 0: TensorRT
takes symmetric Q/DQ only), per-channel weight scales on the output axis, and activation ranges
calibrated on real training requests (entropy by default, the method of TensorRT's former entropy
calibrator). The file is checked before it is kept (compress.onnx_types.qdq_problems). Why ONNX
Runtime's quantizer and not ModelOpt's (modelopt.onnx.quantization.quantize): it is installed
wherever rankbench is (the CPU lock and the GPU machines), so the artifact is built and tested here;
nvidia-modelopt[onnx] pins onnx ~1.21 and onnxruntime-gpu ~1.24, which the lock cannot hold. What
ModelOpt would add: the non-quantized ops cast to fp16; here they stay fp32.
FFN down-projections stay in float by default (their post-GELU inputs carry the outliers: the
measurements are in results/defaults.md, "ORT static INT8").

FP16: compress.onnx_types.half_onnx (ModelOpt AutoCast where installed, else the PyTorch fp16 export).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass

from rankbench.compress.api import Built, hf_ranker, probe_requests
from rankbench.compress.config import MethodConfig, check_choice, check_positive
from rankbench.compress.methods.quantize_ort import (OrtStaticConfig, _export_fp32, _onnx_meta, _quiet_ort_advice,
                                                     _RequestReader, _static_nodes)
from rankbench.compress.onnx_types import graph_precision, half_onnx, qdq_problems
from rankbench.compress.registry import register_method
from rankbench.compress.training import sample_requests


@dataclass(frozen=True, kw_only=True)
class TensorRTInt8Config(MethodConfig):
    calibration_requests: int = 64  # real training requests (all their candidates) for the ranges
    calibration: str = "entropy"  # "entropy", "minmax" or "percentile"
    per_channel: bool = True  # one weight scale per output channel
    skip_ffn_output: bool = True  # keep each FFN's down-projection in float
    produces = "onnx"
    needs = ("data",)

    def __post_init__(self):
        check_positive(self.method, "calibration_requests", self.calibration_requests)
        check_choice(self.method, "calibration", self.calibration, ("entropy", "minmax", "percentile"))


@dataclass(frozen=True, kw_only=True)
class OnnxHalfConfig(MethodConfig):
    converter: str = "auto"  # "auto" (ModelOpt AutoCast where installed), "modelopt" or "torch"
    produces = "onnx"

    def __post_init__(self):
        check_choice(self.method, "converter", self.converter, ("auto", "modelopt", "torch"))


def _symmetric_int8(parent, config, ctx, out):
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    ranker = hf_ranker(parent)
    scratch = out / ".scratch"
    fp32 = _export_fp32(parent, scratch)
    requests = sample_requests(ctx.data.train, config.calibration_requests, ctx.seed)
    # Histogram calibrators stack batches, so every batch is padded to one length.
    reader = _RequestReader(ranker, requests, None if config.calibration == "minmax" else ranker.max_length)
    nodes = _static_nodes(fp32, OrtStaticConfig(skip_ffn_output=config.skip_ffn_output))
    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    extra = {"ActivationSymmetric": True, "WeightSymmetric": True,
             # Q/DQ on the MatMul inputs only (what TensorRT fuses into INT8 GEMMs), not on their outputs.
             "OpTypesToExcludeOutputQuantization": ["MatMul", "Gemm"]}
    with _quiet_ort_advice():
        quantize_static(fp32, out / "model.onnx", reader, quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=["MatMul", "Gemm"], per_channel=config.per_channel,
                        nodes_to_quantize=nodes, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        calibrate_method=methods[config.calibration], extra_options=extra)
    shutil.rmtree(scratch)
    problems = qdq_problems(out / "model.onnx")
    if problems or graph_precision(out / "model.onnx") != "int8":
        raise RuntimeError("quantize-tensorrt-int8: the quantized graph is not symmetric INT8 Q/DQ, which "
                           "TensorRT requires: " + "; ".join(problems[:5] or ["no Q/DQ nodes"]))
    notes = [f"INT8 Q/DQ, symmetric (zero points 0), {config.calibration} calibration on {len(requests)} "
             f"training requests, {len(nodes) if nodes is not None else 'all'} MatMul nodes; runs on TensorRT "
             "(strongly typed) and ONNX Runtime"]
    return Built("onnx", {**_onnx_meta(parent, out, ranker, probe_requests(ctx, 4), notes), "precision": "int8",
                          "qdq": "symmetric int8", "calibration_requests": len(requests),
                          "quantized_nodes": None if nodes is None else len(nodes)})


def _onnx_fp16(parent, config, ctx, out):
    ranker = hf_ranker(parent)
    converter = half_onnx(parent.path, out / "model.onnx", "fp16", config.converter)
    for stray in out.glob("model.onnx.source.json"):  # the export's cache sidecar: not part of the artifact
        stray.unlink()
    notes = [f"FP16 graph ({converter}), float32 inputs and outputs; for TensorRT (strongly typed) and "
             "ONNX Runtime"]
    return Built("onnx", {**_onnx_meta(parent, out, ranker, probe_requests(ctx, 4), notes), "precision": "fp16",
                          "converter": converter})


register_method("quantize-tensorrt-int8", TensorRTInt8Config, _symmetric_int8)
register_method("onnx-fp16", OnnxHalfConfig, _onnx_fp16)
