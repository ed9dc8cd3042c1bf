"""`tensorrt`: the native TensorRT Python API (10.x or 11.x) on an NVIDIA GPU.

The artifact's ONNX graph is built into an engine by tensorrt_build.py: a strongly typed network,
optimization profiles over batch size and sequence length, an engine cache on disk keyed by the
graph's bytes, the shapes, the precision, the TensorRT version and the GPU. Buffers are torch CUDA
tensors; execution is `execute_async_v3` on torch's current stream, and `synchronize` waits for it.

With strong typing the precision is the graph's, so each cell's precision must be what its graph
computes (`precision_check`):
- fp32 / tf32: the fp32 graph ("hf" folders are exported first); TF32 products only with tf32.
- fp16 / bf16: an FP16 / BF16 graph: an "onnx" artifact built so (method onnx-fp16), or the fp32 graph
  converted when the session is prepared (compress.onnx_types.half_onnx: ModelOpt AutoCast where
  installed, else PyTorch's half-precision export), kept next to the engines.
- int8: only a graph whose Q/DQ nodes are symmetric INT8, calibrated on real requests (method
  quantize-tensorrt-int8). Any other int8 cell is refused with the reason, never run in FP16 or FP32
  under an int8 label; and a Q/DQ graph runs only as int8.
Batches above the profiles' maximum rows are split by the callers (`max_batch_rows`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from rankbench.bench.backends.base import Backend, BackendUnavailable, Session, register_backend
from rankbench.bench.backends.options import BackendOptions
from rankbench.bench.backends.tensorrt_build import (build_engine, engine_cache_key, file_digest, profile_for,
                                                     profile_shapes, version_problem)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
INT8_REFUSED = ("INT8 on TensorRT needs a graph with INT8 Q/DQ nodes calibrated on real requests "
                "(build the variant with {method = \"quantize-tensorrt-int8\"}); this one has none, and "
                "TensorRT would run it in FP16 or FP32 under an int8 label")


def cache_dir(artifact) -> Path:
    root = os.environ.get("RANKBENCH_TRT_CACHE")
    return Path(root) / f"{artifact.name}-{artifact.hash}" if root else Path(artifact.path) / "tensorrt"


def graph_precision_of(artifact) -> str:
    """What the artifact's graph computes in: "fp32" for an "hf" folder (exported as fp32), else the
    precision its build recorded, else what its ONNX file holds."""
    if artifact.format == "hf":
        return "fp32"
    recorded = (artifact.meta or {}).get("precision")
    if recorded:
        return str(recorded)
    from rankbench.bench.backends.ort_backend import onnx_file
    from rankbench.compress.onnx_types import graph_precision

    return graph_precision(onnx_file(artifact))


def precision_check(artifact, wanted: str) -> tuple[bool, str]:
    """(ok, why not): can a strongly typed engine of this artifact compute in `wanted`?"""
    graph = graph_precision_of(artifact)
    if graph == "int8":
        if wanted != "int8":
            return False, f"the graph is INT8 Q/DQ: TensorRT runs it as precision=int8 only, not {wanted}"
        from rankbench.bench.backends.ort_backend import onnx_file
        from rankbench.compress.onnx_types import qdq_problems

        problems = qdq_problems(onnx_file(artifact))
        if problems:
            return False, "TensorRT takes symmetric INT8 Q/DQ only: " + "; ".join(problems[:3])
        return True, ""
    if wanted == "int8":
        return False, INT8_REFUSED
    if graph != "fp32" and wanted != graph:
        return False, f"the graph is {graph}: TensorRT (strongly typed) runs it as precision={graph} only"
    if graph == "fp32" and wanted in ("fp16", "bf16") and not (Path(artifact.path) / "config.json").is_file():
        from rankbench.compress.onnx_types import autocast_module

        if autocast_module() is None:
            return False, (f"{wanted} from an fp32 ONNX file needs ModelOpt AutoCast "
                           "(pip install 'nvidia-modelopt[onnx]') or an {method = \"onnx-fp16\"} variant")
    return True, ""


def graph_file(artifact, precision: str, folder: Path) -> tuple[Path, str]:
    """(the ONNX file the engine is built from, how it was made)."""
    from rankbench.bench.backends.ort_backend import onnx_file

    if precision not in ("fp16", "bf16") or graph_precision_of(artifact) == precision:
        return onnx_file(artifact), "as built"
    from rankbench.compress.onnx_types import half_onnx

    out = folder / f"model.{precision}.onnx"
    note = out.with_name(out.name + ".json")
    if not (out.is_file() and note.is_file()):
        source = artifact.path if (Path(artifact.path) / "config.json").is_file() else onnx_file(artifact)
        folder.mkdir(parents=True, exist_ok=True)
        note.write_text(json.dumps({"converter": half_onnx(source, out, precision)}))
    return out, json.loads(note.read_text())["converter"]


def _unavailable_reason() -> str | None:
    try:
        import tensorrt
    except ImportError as err:
        return f"the tensorrt Python package is not installed ({err}); pip install tensorrt on an NVIDIA GPU machine"
    problem = version_problem(getattr(tensorrt, "__version__", "?"))
    if problem:
        return problem
    try:
        import torch
    except ImportError:
        return "the tensorrt backend uses torch CUDA tensors for its buffers; torch is missing"
    if not torch.cuda.is_available():
        return "TensorRT needs an NVIDIA GPU and torch.cuda.is_available() is False"
    return None


@register_backend("tensorrt")
class TensorrtBackend(Backend):
    formats = ("hf", "onnx")

    def available(self) -> tuple[bool, str]:
        why = _unavailable_reason()
        return (why is None), (why or "")

    def supports(self, artifact, options: BackendOptions) -> tuple[bool, str]:
        if not self.runs_format(artifact.format):
            return False, f"tensorrt builds from 'hf' (exported) or 'onnx' artifacts, not {artifact.format!r}"
        if options.compile or options.cuda_graphs or options.fixed_shapes or options.provider \
                or options.performance_hint:
            return False, ("compile / cuda_graphs / fixed_shapes / provider / performance_hint are options of "
                           "other backends")
        if options.device in ("cpu", "tpu"):
            return False, f"tensorrt runs on CUDA devices, not {options.device}"
        return precision_check(artifact, options.precision)

    def prepare(self, artifact, options: BackendOptions) -> Session:
        why = _unavailable_reason()
        if why:
            raise BackendUnavailable(why)
        ok, why = self.supports(artifact, options)
        if not ok:  # refused before any work: no engine is built for a cell it would mislabel
            raise ValueError(f"tensorrt: {why}")
        return TensorrtSession(artifact, options)


class TensorrtSession(Session):
    def __init__(self, artifact, options: BackendOptions):
        import tensorrt as trt
        import torch

        from rankbench.models.encoder import PairEncoder

        self.trt, self.torch = trt, torch
        index = int(options.device[5:]) if options.device.startswith("cuda:") else 0
        self.dev = torch.device("cuda", index)
        name = torch.cuda.get_device_name(index)
        self.device = f"cuda:{index} ({name})"
        self.profiles = profile_shapes(options.batch_buckets, options.seq_buckets,
                                       PairEncoder.from_folder(artifact.path).max_length)
        self.max_batch_rows = self.profiles[-1]["max"][0]
        folder = cache_dir(artifact)
        onnx_path, made = graph_file(artifact, options.precision, folder)
        key = engine_cache_key(file_digest(onnx_path), self.profiles, options.precision, trt.__version__, name)
        engine_path = folder / f"{key}.engine"
        self.logger = trt.Logger(trt.Logger.WARNING)
        cached = engine_path.is_file()
        if not cached:
            build_engine(trt, self.logger, onnx_path, engine_path, self.profiles, tf32=options.precision == "tf32")
        self.engine = trt.Runtime(self.logger).deserialize_cuda_engine(engine_path.read_bytes())
        if self.engine is None:
            raise RuntimeError(f"TensorRT could not deserialize {engine_path}")
        self.context = self.engine.create_execution_context()
        self.inputs = [n for n in INPUTS if self._is_input(n)]
        self.output = next(self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)
                           if not self._is_input(self.engine.get_tensor_name(i)))
        self._profile = None
        self.info = {"tensorrt": trt.__version__, "engine": str(engine_path), "engine_cached": cached,
                     "profiles": self.profiles, "precision": options.precision, "typing": "strong",
                     "tf32": options.precision == "tf32", "graph": str(onnx_path), "graph_made": made}

    def _is_input(self, name: str) -> bool:
        try:
            return self.engine.get_tensor_mode(name) == self.trt.TensorIOMode.INPUT
        except Exception:  # noqa: BLE001 - a name the engine does not have
            return False

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        torch, trt = self.torch, self.trt
        rows, seq = batch["input_ids"].shape
        profile = profile_for(self.profiles, rows, seq)
        stream = torch.cuda.current_stream(self.dev)
        if profile != self._profile:
            self.context.set_optimization_profile_async(profile, stream.cuda_stream)
            self._profile = profile
        keep = []
        for name in self.inputs:
            dtype = torch.int32 if self.engine.get_tensor_dtype(name) == trt.DataType.INT32 else torch.int64
            tensor = torch.from_numpy(batch[name]).to(self.dev, dtype=dtype, non_blocking=True)
            keep.append(tensor)
            self.context.set_input_shape(name, tuple(tensor.shape))
            self.context.set_tensor_address(name, tensor.data_ptr())
        out = torch.empty(tuple(self.context.get_tensor_shape(self.output)), dtype=torch.float32, device=self.dev)
        self.context.set_tensor_address(self.output, out.data_ptr())
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execution failed")
        return out.reshape(-1).cpu().numpy()

    def synchronize(self) -> None:
        self.torch.cuda.current_stream(self.dev).synchronize()

    def close(self) -> None:
        self.context = None
        self.engine = None
