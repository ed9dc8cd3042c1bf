"""No TensorRT API that TensorRT 11 removed, anywhere: a check of the source (ast), and proof that the
check fails when one of those names comes back (the snippets below are the code this project had)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# TensorRT 10.x -> 11.x Python migration guide, "Removed Python APIs and Replacements".
REMOVED_FLAGS = {"FP16", "BF16", "INT8", "FP8", "INT4", "FP4", "OBEY_PRECISION_CONSTRAINTS",
                 "PREFER_PRECISION_CONSTRAINTS", "DIRECT_IO"}  # members of trt.BuilderFlag
REMOVED_NAMES = {"int8_calibrator", "set_calibration_profile", "get_calibration_profile",
                 "set_quantization_flag", "get_quantization_flag", "clear_quantization_flag",
                 "quantization_flags", "QuantizationFlag", "IInt8Calibrator", "IInt8EntropyCalibrator",
                 "IInt8EntropyCalibrator2", "IInt8MinMaxCalibrator", "IInt8LegacyCalibrator",
                 "CalibrationAlgoType", "platform_has_fast_fp16", "platform_has_fast_int8",
                 "device_memory_size"}


def _is_builder_flag(node) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "BuilderFlag") or \
        (isinstance(node, ast.Name) and node.id == "BuilderFlag")


def removed_api_uses(source: str) -> list[str]:
    """Lines that use an API TensorRT 11 removed: a removed BuilderFlag member, a removed method,
    property or class, the name of one in a string (as getattr(trt.BuilderFlag, name) takes it), or a
    BuilderFlag member looked up by a name that cannot be checked."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute) and (node.attr in REMOVED_NAMES or
                                                (node.attr in REMOVED_FLAGS and _is_builder_flag(node.value))):
            found.append(f"{line}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in REMOVED_NAMES:
            found.append(f"{line}: {node.id}")
        elif isinstance(node, ast.ImportFrom):
            found += [f"{line}: import {a.name}" for a in node.names if a.name in REMOVED_NAMES]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                node.value in REMOVED_FLAGS | REMOVED_NAMES:
            found.append(f"{line}: {node.value!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr") \
                and node.args and _is_builder_flag(node.args[0]) and not isinstance(node.args[1], ast.Constant):
            found.append(f"{line}: {node.func.id}(BuilderFlag, <name not checkable>)")
    return found


def tensorrt_sources() -> list[Path]:
    """Every source file that talks to TensorRT (names it), scripts included."""
    folders = ("bench", "compress", "models", "reports", "rankbench", "scripts")
    files = [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]
    return [p for p in files if "tensorrt" in p.read_text().lower()]


def test_no_source_uses_an_api_tensorrt_11_removed():
    sources = tensorrt_sources()
    names = {p.name for p in sources}
    assert {"tensorrt_backend.py", "tensorrt_build.py", "tensorrt_onnx.py"} <= names
    uses = {str(p.relative_to(ROOT)): removed_api_uses(p.read_text()) for p in sources}
    assert not {k: v for k, v in uses.items() if v}, uses


@pytest.mark.parametrize("snippet", [
    "config.set_flag(trt.BuilderFlag.FP16)",
    "config.set_flag(BuilderFlag.INT8)",
    "for flag in flags:\n    config.set_flag(getattr(trt.BuilderFlag, flag))",
    "def builder_flags(p):\n    return {'fp16': ['FP16'], 'int8': ['INT8', 'FP16']}[p]",
    "config.int8_calibrator = make_calibrator()",
    "config.set_calibration_profile(profiles[0])",
    "class Calibrator(trt.IInt8EntropyCalibrator2):\n    pass",
    "from tensorrt import IInt8MinMaxCalibrator",
    "if builder.platform_has_fast_fp16:\n    pass",
])
def test_the_check_finds_a_removed_api(snippet):
    assert removed_api_uses(snippet), snippet


def test_the_check_lets_the_kept_api_through():
    clean = ("flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)\n"
             "config.clear_flag(trt.BuilderFlag.TF32)\nconfig.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1)\n"
             "precision = 'int8'\nkind = onnx.TensorProto.INT8\n")
    assert removed_api_uses(clean) == []
