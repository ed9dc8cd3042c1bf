"""TensorRT INT8 calibration data: real requests, tokenized, for the tensorrt backend to build an
INT8 engine from.

    {"method": "quantize-tensorrt-int8", "calibration_requests": 64}

Format written: "tensorrt-int8": the fp32 "hf" files plus calibration/*.npz batches of real training
requests and tensorrt.json; the harness' tensorrt backend builds the INT8 engine where TensorRT and a
GPU exist.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from rankbench.compress.api import Built, hf_ranker
from rankbench.compress.config import MethodConfig, check_positive
from rankbench.compress.registry import register_method
from rankbench.compress.training import sample_requests


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
    return Built("tensorrt-int8", {"calibration_batches": batches,
                                   "bytes_on_disk": (out / "model.safetensors").stat().st_size,
                                   "notes": ["the INT8 engine is built by the tensorrt backend (NVIDIA GPU)"]})


register_method("quantize-tensorrt-int8", TensorRTInt8Config, _tensorrt_int8)
