"""OpenVINO INT8 with NNCF: post-training quantization calibrated on real training requests, or
INT8 weight compression (no calibration).

    {"method": "quantize-openvino-int8"}                                   # 128 requests, preset mixed
    {"method": "quantize-openvino-int8", "calibration_requests": 300, "subset_size": 300,
     "preset": "performance", "fast_bias_correction": false}
    {"method": "quantize-openvino-int8", "weights_only": true}             # nncf.compress_weights

Format written: "openvino": model.xml + model.bin (an OpenVINO IR with inputs input_ids /
attention_mask / token_type_ids, int64 [-1, -1], output logits [-1, 1]) plus the tokenizer files and
ranker.json. Only the openvino backend runs it. It takes an "hf" parent (after distillation or
pruning like the ORT INT8 methods): the fp32 ONNX export (models.onnx_export) is read by OpenVINO and
quantized by nncf.quantize with model_type TRANSFORMER (SmoothQuant, attention kept as NNCF places
it for transformers) and target device CPU; each calibration sample is one real request (all its
candidates) tokenized as the ranker does. `compress_to_fp16` stores what stays float (embeddings,
LayerNorm) in fp16, OpenVINO's default when saving: it halves those bytes, and the CPU computes in
f32 / bf16 anyway.

Metadata: bytes_on_disk (xml + bin), precision "int8", agreement with the fp32 parent on a few probe
requests (parity_*), reload_max_abs_diff (the IR as built vs as read back from disk), FakeQuantize
count, calibration figures, openvino and nncf versions.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rankbench.compress.api import Built, copy_tokenizer, hf_ranker, probe_requests
from rankbench.compress.config import MethodConfig, check_choice, check_positive
from rankbench.compress.registry import register_method
from rankbench.compress.training import sample_requests

PRESETS = ("mixed", "performance")  # mixed: asymmetric activations (GELU outputs), performance: symmetric


@dataclass(frozen=True, kw_only=True)
class OpenVinoInt8Config(MethodConfig):
    calibration_requests: int = 128  # real training requests sampled for calibration
    subset_size: int | None = None  # of those, how many NNCF collects statistics on (None: all)
    preset: str = "mixed"  # NNCF's default for transformers
    fast_bias_correction: bool = True
    weights_only: bool = False  # NNCF INT8 weight compression instead: activations stay float, no data
    compress_to_fp16: bool = True  # store the constants that stay float in fp16
    produces = "openvino"
    needs = ("data",)

    def __post_init__(self):
        check_positive(self.method, "calibration_requests", self.calibration_requests)
        check_positive(self.method, "subset_size", self.subset_size, allow_none=True)
        if self.subset_size is not None and self.subset_size > self.calibration_requests:
            raise ValueError(f"{self.method}: subset_size {self.subset_size} is more than calibration_requests "
                             f"{self.calibration_requests}")
        check_choice(self.method, "preset", self.preset, PRESETS)


def _quantize(model, ranker, config: OpenVinoInt8Config, requests: list):
    import nncf

    if config.weights_only:
        return nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    dataset = nncf.Dataset([ranker.encode(r.pairs()) for r in requests])
    preset = {"mixed": nncf.QuantizationPreset.MIXED, "performance": nncf.QuantizationPreset.PERFORMANCE}
    return nncf.quantize(model, dataset, model_type=nncf.ModelType.TRANSFORMER, preset=preset[config.preset],
                         target_device=nncf.TargetDevice.CPU, subset_size=config.subset_size or len(requests),
                         fast_bias_correction=config.fast_bias_correction)


def _scores(model, ranker, requests) -> np.ndarray:
    from rankbench.models.openvino_model import compile_cpu, score_requests

    return np.concatenate(score_requests(compile_cpu(model, "f32"), ranker, requests))


def _ir_meta(model, out: Path, parent, ranker, probe: list) -> dict:
    """Agreement with the fp32 parent, and the IR read back from disk against the one in memory."""
    import nncf
    import openvino as ov

    from rankbench.models.openvino_model import IR_XML, ir_bytes, op_counts, read_ir

    copy_tokenizer(parent.path, out)
    built = _scores(model, ranker, probe)
    reloaded = _scores(read_ir(out / IR_XML), ranker, probe)
    fp32 = np.concatenate(ranker.score(probe)).astype(np.float64)
    corr = np.corrcoef(built, fp32)[0, 1] if built.std() and fp32.std() else None
    return {"bytes_on_disk": ir_bytes(out / IR_XML), "ir_file": IR_XML, "precision": "int8",
            "parity_max_abs_diff": float(np.abs(built - fp32).max()),
            "parity_pearson": float(corr) if corr is not None else None,
            "reload_max_abs_diff": float(np.abs(built - reloaded).max()),
            "fake_quantize_ops": op_counts(model).get("FakeQuantize", 0),
            "openvino": ov.__version__, "nncf": nncf.__version__}


def _require_packages() -> None:
    import rankbench.models.openvino_model  # noqa: F401 - first: it declines telemetry without consent

    try:
        import nncf  # noqa: F401
        import openvino  # noqa: F401
    except ImportError as err:
        raise RuntimeError(f"quantize-openvino-int8 needs the openvino and nncf packages ({err}); "
                           "pip install openvino nncf") from None


def _openvino_int8(parent, config: OpenVinoInt8Config, ctx, out: Path) -> Built:
    from rankbench.models.onnx_export import cached_onnx
    from rankbench.models.openvino_model import dynamic_inputs, read_onnx, save_ir

    _require_packages()
    ranker = hf_ranker(parent)
    model = dynamic_inputs(read_onnx(cached_onnx(parent.path)))
    requests = [] if config.weights_only else sample_requests(ctx.data.train, config.calibration_requests, ctx.seed)
    quantized = _quantize(model, ranker, config, requests)
    save_ir(quantized, out, compress_to_fp16=config.compress_to_fp16)
    if config.weights_only:
        note = "NNCF INT8 weight compression (int8_asym, per channel); activations stay float"
    else:
        note = (f"NNCF post-training INT8 (transformer, preset {config.preset}, {len(requests)} calibration "
                f"requests, subset {config.subset_size or len(requests)}, "
                f"{'fast' if config.fast_bias_correction else 'full'} bias correction)")
    meta = _ir_meta(quantized, out, parent, ranker, probe_requests(ctx, 4))
    return Built("openvino", {**meta, "calibration_requests": len(requests),
                              "notes": [note + ("; float constants stored in fp16" if config.compress_to_fp16 else "")]})


register_method("quantize-openvino-int8", OpenVinoInt8Config, _openvino_int8)
