"""What an ONNX file computes in, and the reduced-precision graphs that strongly typed TensorRT builds
need (TensorRT 10 with the STRONGLY_TYPED flag, TensorRT 11 always): there the precision is in the
file, never in a builder flag.

    graph_precision("model.onnx")              # "int8" (Q/DQ nodes), "fp16" / "bf16" (weights), "fp32"
    qdq_problems("model.onnx")                 # [] when every Q/DQ node is symmetric INT8 (zero point 0)
    half_onnx(folder, "model.fp16.onnx")       # an "hf" folder's graph in fp16, float32 inputs / outputs

`half_onnx` uses NVIDIA ModelOpt's AutoCast where nvidia-modelopt is installed (the converter the
TensorRT 10 -> 11 migration guide names: it keeps nodes whose values exceed fp16's range in fp32), else
the model exported from PyTorch in half precision (what the torch fp16 cell computes). The converter
used is returned and recorded, since the two graphs differ.
"""
from __future__ import annotations

from pathlib import Path

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
# ONNX Runtime's own integer operator format (dynamic INT8, QOperator): INT8, but not Q/DQ.
INTEGER_OPS = ("DynamicQuantizeLinear", "MatMulInteger", "QLinearMatMul", "ConvInteger", "QLinearConv")
LOW_PRECISION = ("fp16", "bf16")


def _load(path):
    import onnx

    return onnx.load(str(path), load_external_data=False)


def graph_precision(path) -> str:
    """"int8" when the graph holds Q/DQ nodes or integer ops, else the float type of most weight elements."""
    import onnx

    graph = _load(path).graph
    if any(node.op_type in QDQ_OPS + INTEGER_OPS for node in graph.node):
        return "int8"
    names = {onnx.TensorProto.FLOAT: "fp32", onnx.TensorProto.FLOAT16: "fp16", onnx.TensorProto.BFLOAT16: "bf16"}
    elements = dict.fromkeys(names.values(), 0)
    for init in graph.initializer:
        if init.data_type in names:
            count = 1
            for dim in init.dims:
                count *= dim
            elements[names[init.data_type]] += count
    return max(elements, key=lambda k: (elements[k], k == "fp32"))


def qdq_problems(path) -> list[str]:
    """Why TensorRT would refuse the graph's Q/DQ nodes: it takes symmetric INT8 only, so every zero
    point must be a constant int8 zero ([] = none; a graph without Q/DQ nodes has none either)."""
    from onnx import TensorProto, numpy_helper

    graph = _load(path).graph
    constants = {init.name: init for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute:
            constants[node.output[0]] = node.attribute[0].t
    problems = [f"{node.name or node.op_type}: {node.op_type} is ONNX Runtime's integer operator format, not Q/DQ"
                for node in graph.node if node.op_type in INTEGER_OPS][:1]
    for node in graph.node:
        if node.op_type not in QDQ_OPS:
            continue
        if len(node.input) < 3 or not node.input[2]:
            problems.append(f"{node.name or node.op_type}: no zero point (ONNX then means uint8)")
            continue
        zero = constants.get(node.input[2])
        if zero is None:
            problems.append(f"{node.name or node.op_type}: zero point {node.input[2]!r} is not a constant")
        elif zero.data_type != TensorProto.INT8:
            problems.append(f"{node.name or node.op_type}: zero point of type "
                            f"{TensorProto.DataType.Name(zero.data_type)}, not INT8")
        elif numpy_helper.to_array(zero).any():
            problems.append(f"{node.name or node.op_type}: zero point not 0 (asymmetric)")
    return problems


def autocast_module():
    """ModelOpt's AutoCast module, or None where nvidia-modelopt[onnx] is not installed."""
    try:
        from modelopt.onnx import autocast
    except ImportError:
        return None
    return autocast


def half_onnx(source, out_path, dtype: str = "fp16", converter: str = "auto") -> str:
    """Write the `dtype` graph of `source` (an "hf" folder, or an fp32 .onnx file: AutoCast only) to
    `out_path`, inputs and outputs kept in their types; returns the converter used: "modelopt-autocast"
    or "torch-export". converter: "auto" (AutoCast where installed), "modelopt" or "torch"."""
    from rankbench.common.files import atomic_path
    from rankbench.models.onnx_export import cached_onnx, export_onnx

    if dtype not in LOW_PRECISION:
        raise ValueError(f"dtype {dtype!r}: expected one of {', '.join(LOW_PRECISION)}")
    if converter not in ("auto", "modelopt", "torch"):
        raise ValueError(f"converter {converter!r}: expected auto, modelopt or torch")
    source, out_path = Path(source), Path(out_path)
    autocast = autocast_module() if converter != "torch" else None
    if autocast is not None:
        import onnx

        fp32 = source if source.is_file() else cached_onnx(source)
        model = autocast.convert_to_mixed_precision(onnx_path=str(fp32), low_precision_type=dtype,
                                                    keep_io_types=True)
        with atomic_path(out_path) as tmp:
            onnx.save(model, str(tmp))
        return "modelopt-autocast"
    if converter == "modelopt":
        raise ImportError("converter 'modelopt' needs nvidia-modelopt[onnx] (modelopt.onnx.autocast)")
    if source.is_file():
        raise ValueError(f"{source}: an ONNX file is converted by ModelOpt AutoCast only "
                         "(pip install 'nvidia-modelopt[onnx]'); the torch export needs the model folder")
    export_onnx(source, out_path, dtype=dtype)
    return "torch-export"
