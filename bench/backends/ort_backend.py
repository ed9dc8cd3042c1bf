"""`onnxruntime`: ONNX Runtime with the CPU execution provider, or the CUDA / TensorRT providers
where onnxruntime-gpu is installed (option provider=cuda|tensorrt).

Runs "onnx" artifacts (their model.onnx, e.g. an INT8 file) and "hf" folders, exported once to fp32
ONNX by models.onnx_export (cached next to the model). Thread settings are recorded in `info`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rankbench.bench.backends.base import Backend, Session, default_threads, register_backend
from rankbench.bench.backends.options import BackendOptions

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
             "tensorrt": "TensorrtExecutionProvider"}


def onnx_file(artifact) -> Path:
    """The ONNX file an artifact runs as: its own for "onnx", a cached export for "hf"."""
    folder = Path(artifact.path)
    if artifact.format != "onnx" and (folder / "config.json").is_file():
        from rankbench.models.onnx_export import cached_onnx  # "hf" and formats that keep the fp32 hf files

        return cached_onnx(folder)
    path = folder / (artifact.meta or {}).get("onnx_file", "model.onnx")
    if not path.is_file():
        raise FileNotFoundError(f"artifact {artifact.name!r} has no ONNX file at {path}")
    return path


def _provider(options: BackendOptions) -> str:
    if options.provider:
        return options.provider
    return "cuda" if options.device.startswith("cuda") or options.device == "gpu" else "cpu"


@register_backend("onnxruntime")
class OrtBackend(Backend):
    formats = ("hf", "onnx")
    reference_rank = 1

    def available(self) -> tuple[bool, str]:
        try:
            import onnxruntime  # noqa: F401
        except ImportError as err:
            return False, f"onnxruntime is not installed ({err})"
        return True, ""

    def supports(self, artifact, options: BackendOptions) -> tuple[bool, str]:
        ok, why = self.format_check(artifact)
        if not ok:
            return ok, why
        if options.precision != "fp32":
            return False, (f"onnxruntime runs the graph as it is; {options.precision} comes from a "
                           "quantized/converted ONNX artifact, not an option")
        if options.compile or options.cuda_graphs or options.fixed_shapes:
            return False, "compile / cuda_graphs / fixed_shapes are torch options"
        if options.performance_hint is not None:
            return False, "option performance_hint is for openvino"
        if options.device == "tpu":
            return False, "onnxruntime has no TPU provider here"
        import onnxruntime as ort

        wanted = PROVIDERS[_provider(options)]
        if wanted not in ort.get_available_providers():
            return False, (f"{wanted} is not in this onnxruntime build ({', '.join(ort.get_available_providers())});"
                           " install onnxruntime-gpu for cuda/tensorrt")
        return True, ""

    def precision(self, artifact, options: BackendOptions) -> str:
        # The graph fixes it: an fp16 or Q/DQ INT8 ONNX artifact records its precision when built.
        return str((artifact.meta or {}).get("precision") or options.precision)

    def prepare(self, artifact, options: BackendOptions) -> Session:
        return OrtSession(onnx_file(artifact), options)


class OrtSession(Session):
    def __init__(self, path: Path, options: BackendOptions):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        threads = options.threads or default_threads()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.log_severity_level = 3
        provider = PROVIDERS[_provider(options)]
        providers = [provider] if provider == "CPUExecutionProvider" else [provider, "CPUExecutionProvider"]
        if provider != "CPUExecutionProvider" and options.device.startswith("cuda:"):
            providers[0] = (provider, {"device_id": int(options.device[5:])})
        self.session = ort.InferenceSession(str(path), sess_options=so, providers=providers)
        self.inputs = [i.name for i in self.session.get_inputs()]
        used = self.session.get_providers()
        self.device = "cpu" if used[0] == "CPUExecutionProvider" else f"cuda ({used[0]})"
        self.info = {"providers": used, "threads": threads,
                     "inter_op_threads": 1, "onnx_file": str(path), "onnxruntime": ort.__version__}

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: batch[name] for name in self.inputs}
        return self.session.run(None, feed)[0].reshape(-1).astype(np.float32, copy=False)

    def close(self) -> None:
        self.session = None
