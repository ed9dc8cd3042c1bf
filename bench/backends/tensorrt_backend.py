"""`tensorrt`: the native TensorRT Python API on an NVIDIA GPU.

The artifact's ONNX file (an "hf" folder is exported first; an "onnx" artifact is used as it is) is
parsed with trt.OnnxParser into an engine with optimization profiles over batch size and sequence
length (`profile_shapes`), FP16 / INT8 builder flags from the precision option, and an engine cache
on disk keyed by the model's hash, the shapes, the flags, the TensorRT version and the GPU
(`engine_cache_key`). Buffers are torch CUDA tensors; execution is `execute_async_v3` on torch's
current stream, and `synchronize` waits for that stream.

INT8 on an fp32 graph calibrates with an entropy calibrator on real tokenized batches: those of a
"tensorrt-int8" artifact (compress/methods/tensorrt_int8.py: fp32 files + calibration/*.npz + tensorrt.json, which
also fixes the precision to int8), or given as `prepare(artifact, options, calibration_batches=...)`.
An ONNX file that already holds Q/DQ nodes needs no calibration.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from rankbench.bench.backends.base import Backend, Session, register_backend
from rankbench.bench.backends.options import BackendOptions

WORKSPACE_BYTES = 4 << 30
# TensorRT shapes are dynamic within a profile: a few length bands suffice (each profile adds build time).
DEFAULT_SEQ_BANDS = (32, 64, 128, 256, 512)
DEFAULT_BATCH_MAX = (1, 64, 512)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# compress/methods/tensorrt_int8.py's format: the fp32 "hf" files + calibration/*.npz batches + tensorrt.json.
INT8_FORMAT = "tensorrt-int8"


def int8_recipe(artifact) -> tuple[list[dict], Path | None]:
    """(calibration batches, calibration cache path) of a "tensorrt-int8" artifact."""
    folder = Path(artifact.path)
    spec = json.loads((folder / "tensorrt.json").read_text())
    calib_dir = folder / spec.get("calibration_dir", "calibration")
    batches = []
    for path in sorted(calib_dir.glob("*.npz")):
        with np.load(path) as data:
            batches.append({k: data[k] for k in data.files})
    cache = spec.get("calibration_cache")
    return batches, (folder / cache if cache else None)


def profile_shapes(batch_buckets, seq_buckets, max_length: int) -> list[dict]:
    """One optimization profile per sequence-length band: lengths (previous bucket, bucket], batch
    1..max batch, optimum at the largest batch bucket <= 64 (a typical ranking request) and the
    band's top length. Few profiles keep the build short; each covers every batch size."""
    batches = tuple(batch_buckets or DEFAULT_BATCH_MAX)
    seqs = [s for s in (seq_buckets or DEFAULT_SEQ_BANDS) if s < max_length] + [max_length]
    opt_batch = max([b for b in batches if b <= 64] or [batches[0]])
    profiles, low = [], 1
    for seq in seqs:
        profiles.append({"min": (1, low), "opt": (opt_batch, seq), "max": (batches[-1], seq)})
        low = seq + 1
    return profiles


def profile_for(profiles: list[dict], rows: int, seq: int) -> int:
    for index, prof in enumerate(profiles):
        if prof["min"][0] <= rows <= prof["max"][0] and prof["min"][1] <= seq <= prof["max"][1]:
            return index
    raise ValueError(f"no TensorRT optimization profile covers a {rows}x{seq} batch")


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def engine_cache_key(model_digest: str, profiles: list[dict], precision: str, trt_version: str,
                     device_name: str) -> str:
    """Same model bytes + shapes + flags + TensorRT + GPU -> same engine; anything else -> a new one."""
    blob = json.dumps({"model": model_digest, "profiles": profiles, "precision": precision,
                       "tensorrt": trt_version, "device": device_name, "workspace": WORKSPACE_BYTES},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def builder_flags(precision: str) -> list[str]:
    """Names of trt.BuilderFlag members to set for a precision (fp32 sets none)."""
    return {"fp32": [], "fp16": ["FP16"], "bf16": ["BF16"], "int8": ["INT8", "FP16"]}[precision]


def cache_dir(artifact) -> Path:
    root = os.environ.get("RANKBENCH_TRT_CACHE")
    return Path(root) if root else Path(artifact.path) / "tensorrt"


def _unavailable_reason() -> str | None:
    try:
        import tensorrt  # noqa: F401
    except ImportError as err:
        return f"the tensorrt Python package is not installed ({err}); pip install tensorrt on an NVIDIA GPU machine"
    try:
        import torch
    except ImportError:
        return "the tensorrt backend uses torch CUDA tensors for its buffers; torch is missing"
    if not torch.cuda.is_available():
        return "TensorRT needs an NVIDIA GPU and torch.cuda.is_available() is False"
    return None


@register_backend("tensorrt")
class TensorrtBackend(Backend):
    formats = ("hf", "onnx", INT8_FORMAT)

    def available(self) -> tuple[bool, str]:
        why = _unavailable_reason()
        return (why is None), (why or "")

    def supports(self, artifact, options: BackendOptions) -> tuple[bool, str]:
        if not self.runs_format(artifact.format):
            return False, (f"tensorrt builds from 'hf' (exported), 'onnx' or '{INT8_FORMAT}' artifacts, "
                           f"not {artifact.format!r}")
        if options.compile or options.cuda_graphs or options.provider or options.performance_hint:
            return False, "compile / cuda_graphs / provider / performance_hint are options of other backends"
        if options.device in ("cpu", "tpu"):
            return False, f"tensorrt runs on CUDA devices, not {options.device}"
        return True, ""

    def precision(self, artifact, options: BackendOptions) -> str:
        return "int8" if artifact.format == INT8_FORMAT else options.precision

    def prepare(self, artifact, options: BackendOptions, calibration_batches=None) -> Session:
        why = _unavailable_reason()
        if why:
            from rankbench.bench.backends.base import BackendUnavailable

            raise BackendUnavailable(why)
        return TensorrtSession(artifact, options, calibration_batches)


class TensorrtSession(Session):
    def __init__(self, artifact, options: BackendOptions, calibration_batches=None):
        import tensorrt as trt
        import torch

        from rankbench.models.encoder import PairEncoder
        from rankbench.bench.backends.ort_backend import onnx_file

        self.trt, self.torch = trt, torch
        index = int(options.device[5:]) if options.device.startswith("cuda:") else 0
        self.dev = torch.device("cuda", index)
        name = torch.cuda.get_device_name(index)
        self.device = f"cuda:{index} ({name})"
        max_length = PairEncoder.from_folder(artifact.path).max_length
        precision, calib_table = options.precision, None
        if artifact.format == INT8_FORMAT:  # the artifact is the INT8 recipe: precision and data come with it
            precision = "int8"
            calibration_batches, calib_table = int8_recipe(artifact)
        self.profiles = profile_shapes(options.batch_buckets, options.seq_buckets, max_length)
        onnx_path = onnx_file(artifact)
        digest = file_digest(onnx_path)
        if calibration_batches:  # different calibration data -> a different INT8 engine
            digest += _batches_digest(calibration_batches)
        key = engine_cache_key(digest, self.profiles, precision, trt.__version__, name)
        engine_path = cache_dir(artifact) / f"{key}.engine"
        self.logger = trt.Logger(trt.Logger.WARNING)
        cached = engine_path.is_file()
        if not cached:
            self._build(onnx_path, engine_path, precision, calibration_batches, calib_table)
        runtime = trt.Runtime(self.logger)
        self.engine = runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self.engine is None:
            raise RuntimeError(f"TensorRT could not deserialize {engine_path}")
        self.context = self.engine.create_execution_context()
        self.inputs = [n for n in INPUTS if self._is_input(n)]
        self.output = next(self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)
                           if not self._is_input(self.engine.get_tensor_name(i)))
        self._profile = None
        self.info = {"tensorrt": trt.__version__, "engine": str(engine_path), "engine_cached": cached,
                     "profiles": self.profiles, "flags": builder_flags(precision), "precision": precision}

    def _is_input(self, name: str) -> bool:
        try:
            return self.engine.get_tensor_mode(name) == self.trt.TensorIOMode.INPUT
        except Exception:  # noqa: BLE001 - a name the engine does not have
            return False

    def _build(self, onnx_path: Path, engine_path: Path, precision: str, calibration_batches,
               calib_table: Path | None = None) -> None:
        trt = self.trt
        builder = trt.Builder(self.logger)
        flags = 0
        if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # implicit in TensorRT >= 10
            flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(Path(onnx_path).read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
        for flag in builder_flags(precision):
            config.set_flag(getattr(trt.BuilderFlag, flag))
        input_names = [network.get_input(i).name for i in range(network.num_inputs)]
        built = []
        for prof in self.profiles:
            profile = builder.create_optimization_profile()
            for name in input_names:
                profile.set_shape(name, prof["min"], prof["opt"], prof["max"])
            config.add_optimization_profile(profile)
            built.append(profile)
        if precision == "int8" and calibration_batches:
            rows, seq = calibration_batches[0]["input_ids"].shape
            # Calibration runs at one profile: the one covering the calibration batches' shape.
            config.set_calibration_profile(built[profile_for(self.profiles, rows, seq)])
            config.int8_calibrator = _calibrator(trt, self.torch, calibration_batches,
                                                 calib_table or engine_path.with_suffix(".calib"))
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise RuntimeError("TensorRT failed to build the engine (see its log above)")
        engine_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = engine_path.with_name(engine_path.name + f".{os.getpid()}.tmp")
        tmp.write_bytes(bytes(serialized))
        os.replace(tmp, engine_path)

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
        out_shape = tuple(self.context.get_tensor_shape(self.output))
        out = torch.empty(out_shape, dtype=torch.float32, device=self.dev)
        self.context.set_tensor_address(self.output, out.data_ptr())
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execution failed")
        return out.reshape(-1).cpu().numpy()

    def synchronize(self) -> None:
        self.torch.cuda.current_stream(self.dev).synchronize()

    def close(self) -> None:
        self.context = None
        self.engine = None


def _batches_digest(batches) -> str:
    digest = hashlib.sha256()
    for batch in batches:
        for key in sorted(batch):
            digest.update(key.encode())
            digest.update(np.ascontiguousarray(batch[key]).tobytes())
    return digest.hexdigest()[:16]


def _calibrator(trt, torch, batches, table: Path):
    """An entropy calibrator over real tokenized batches, its table cached on disk."""
    class Calibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            super().__init__()
            self.batches = list(batches)
            self.index = 0
            self.keep = []
            self.table = table

        def get_batch_size(self):
            return self.batches[0]["input_ids"].shape[0] if self.batches else 1

        def get_batch(self, names):
            if self.index >= len(self.batches):
                return None
            batch = self.batches[self.index]
            self.index += 1
            self.keep = [torch.from_numpy(batch[n]).cuda() for n in names]
            return [t.data_ptr() for t in self.keep]

        def read_calibration_cache(self):
            return self.table.read_bytes() if self.table.is_file() else None

        def write_calibration_cache(self, cache):
            self.table.parent.mkdir(parents=True, exist_ok=True)
            self.table.write_bytes(bytes(cache))

    return Calibrator()
