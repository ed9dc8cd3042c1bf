"""compress.onnx_types: the precision an ONNX file computes in, the Q/DQ check TensorRT needs
(symmetric INT8 only), and the FP16 graph (ModelOpt AutoCast where installed, else the torch export)."""
from __future__ import annotations

import sys
import types

import onnx
import pytest

from rankbench.compress.api import compress
from rankbench.compress.onnx_types import graph_precision, half_onnx, qdq_problems
from rankbench.models.onnx_export import cached_onnx


def test_precision_of_fp32_and_fp16_graphs(teacher, tmp_path):
    fp32 = cached_onnx(teacher.path)
    assert graph_precision(fp32) == "fp32" and qdq_problems(fp32) == []
    assert half_onnx(teacher.path, tmp_path / "half.onnx", "fp16", converter="torch") == "torch-export"
    assert graph_precision(tmp_path / "half.onnx") == "fp16"
    with pytest.raises(ValueError, match="dtype 'int8'"):
        half_onnx(teacher.path, tmp_path / "x.onnx", "int8")


def test_asymmetric_and_integer_op_graphs_are_named_as_tensorrt_would_refuse_them(teacher, ctx):
    static = compress(teacher, {"method": "quantize-ort-static", "calibration_requests": 4}, ctx)
    problems = qdq_problems(static.path / "model.onnx")
    assert graph_precision(static.path / "model.onnx") == "int8"
    assert problems and any("UINT8, not INT8" in p for p in problems)  # ORT's U8S8 activations
    dynamic = compress(teacher, {"method": "quantize-ort-dynamic"}, ctx)
    assert graph_precision(dynamic.path / "model.onnx") == "int8"
    assert "integer operator format" in qdq_problems(dynamic.path / "model.onnx")[0]


def test_half_onnx_calls_modelopt_autocast_where_installed(teacher, tmp_path, monkeypatch):
    calls = []

    def convert_to_mixed_precision(**kwargs):
        calls.append(kwargs)
        return onnx.load(kwargs["onnx_path"])  # the fake converts nothing; what is checked is the call

    autocast = types.ModuleType("modelopt.onnx.autocast")
    autocast.convert_to_mixed_precision = convert_to_mixed_precision
    package = types.ModuleType("modelopt.onnx")
    package.autocast = autocast
    for name, module in (("modelopt", types.ModuleType("modelopt")), ("modelopt.onnx", package),
                         ("modelopt.onnx.autocast", autocast)):
        monkeypatch.setitem(sys.modules, name, module)
    out = tmp_path / "auto.onnx"
    assert half_onnx(teacher.path, out, "bf16") == "modelopt-autocast"
    assert calls == [{"onnx_path": str(cached_onnx(teacher.path)), "low_precision_type": "bf16",
                      "keep_io_types": True}]
    assert onnx.load(str(out)).graph.output[0].name == "logits"
    # converter="torch" never asks ModelOpt; an ONNX file without the model folder needs it
    assert half_onnx(teacher.path, tmp_path / "t.onnx", "fp16", converter="torch") == "torch-export"
    assert len(calls) == 1
    for name in ("modelopt", "modelopt.onnx", "modelopt.onnx.autocast"):
        monkeypatch.setitem(sys.modules, name, None)  # not installed: importing it fails
    with pytest.raises(ValueError, match="ModelOpt AutoCast only"):
        half_onnx(cached_onnx(teacher.path), tmp_path / "f.onnx")
    with pytest.raises(ImportError, match="nvidia-modelopt"):
        half_onnx(teacher.path, tmp_path / "m.onnx", converter="modelopt")
