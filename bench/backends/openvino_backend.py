"""`openvino`: OpenVINO Runtime on the CPU.

Runs "openvino" artifacts (an IR, e.g. the INT8 one of compress/methods/quantize_openvino.py), "onnx"
artifacts that OpenVINO's ONNX front end reads (an ONNX Runtime INT8 file too; one it cannot read is
unavailable, with why), and "hf" folders: exported to ONNX (models.onnx_export), converted once to
an IR cached next to the export (models.openvino_model.cached_ir).

    rankbench bench --backends openvino,openvino:bf16,openvino:performance_hint=throughput ...

Precision is explicit: fp32 sets INFERENCE_PRECISION_HINT f32 (OpenVINO's own default is bf16 on
CPUs with AVX512_BF16 or AMX), bf16 is an option of its own where the CPU has it. INT8 comes from
the artifact, not an option. Inputs are reshaped to [-1, -1]: every batch and length runs on one
compiled model. `info` records what the compiled model really uses (read back from it): precision,
performance hint, threads (options.threads -> INFERENCE_NUM_THREADS; unset: OpenVINO's default, one
per core), streams. With the throughput hint, a batch is split across the streams' infer requests.

It can compute parity reference scores (reference_rank 2): for an "openvino" artifact, which torch
and ONNX Runtime cannot run, the reference is OpenVINO f32 on the CPU.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rankbench.bench.backends.base import Backend, Session, register_backend
from rankbench.bench.backends.options import BackendOptions

FORMAT = "openvino"  # the IR format (model.xml + model.bin + tokenizer files + ranker.json)
_ONNX_READABLE: dict[tuple, str] = {}  # (path, size, mtime) -> "" or why OpenVINO cannot read it


def stores_int8(artifact) -> bool:
    """Whether the artifact's own weights are INT8 (an OpenVINO INT8 IR, an ONNX Runtime INT8 file)."""
    meta = artifact.meta or {}
    if artifact.format == FORMAT:
        return meta.get("precision", "int8") == "int8"
    return artifact.format == "onnx" and any(str(step.get("method", "")).startswith("quantize-")
                                             for step in meta.get("recipe", []))


def _onnx_unreadable(path: Path) -> str:
    """Why OpenVINO cannot read an ONNX file ("" if it can); remembered per file version."""
    from rankbench.models.openvino_model import OpenVinoModelError, read_onnx

    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _ONNX_READABLE:
        try:
            read_onnx(path)
            _ONNX_READABLE[key] = ""
        except OpenVinoModelError as err:
            _ONNX_READABLE[key] = str(err)
    return _ONNX_READABLE[key]


@register_backend("openvino")
class OpenVinoBackend(Backend):
    formats = ("hf", "onnx", FORMAT)
    reference_rank = 2

    def available(self) -> tuple[bool, str]:
        from rankbench.models.openvino_model import core  # first: it declines telemetry without consent

        try:
            import openvino  # noqa: F401
        except ImportError as err:
            return False, f"openvino is not installed ({err}); pip install openvino"

        if "CPU" not in core().available_devices:
            return False, f"OpenVINO finds no CPU device (devices: {core().available_devices})"
        return True, ""

    def supports(self, artifact, options: BackendOptions) -> tuple[bool, str]:
        if not self.runs_format(artifact.format):
            return False, f"openvino runs 'hf', 'onnx' and '{FORMAT}' artifacts, not {artifact.format!r}"
        if options.compile or options.cuda_graphs or options.provider:
            return False, "compile / cuda_graphs / provider are options of other backends"
        if options.device not in ("auto", "cpu"):
            return False, f"the openvino backend runs on the CPU, not {options.device}"
        if options.precision not in ("fp32", "bf16"):
            return False, (f"openvino runs fp32 or bf16; {options.precision} comes from a quantized artifact "
                           "(quantize-openvino-int8), not an option")
        if options.precision == "bf16":
            from rankbench.models.openvino_model import cpu_capabilities

            if "BF16" not in cpu_capabilities():
                return False, ("bf16 needs a CPU with AVX512_BF16 or AMX; OpenVINO reports only "
                               f"{', '.join(cpu_capabilities())} here")
        if artifact.format == "onnx":
            from rankbench.bench.backends.ort_backend import onnx_file

            why = _onnx_unreadable(onnx_file(artifact))
            if why:
                return False, why
        return True, ""

    def precision(self, artifact, options: BackendOptions) -> str:
        # An INT8 artifact computes in INT8 whatever the option says (bf16 is then the rest's precision).
        return "int8" if stores_int8(artifact) else options.precision

    def prepare(self, artifact, options: BackendOptions) -> Session:
        return OpenVinoSession(artifact, options)


def load_model(artifact):
    """(ov.Model with dynamic inputs, where it came from) for an "openvino", "onnx" or "hf" artifact."""
    from rankbench.models.openvino_model import cached_ir, dynamic_inputs, read_ir, read_onnx

    folder = Path(artifact.path)
    if artifact.format == FORMAT:
        xml = folder / (artifact.meta or {}).get("ir_file", "model.xml")
        return dynamic_inputs(read_ir(xml)), {"model_file": str(xml)}
    from rankbench.bench.backends.ort_backend import onnx_file

    onnx = onnx_file(artifact)
    if artifact.format == "onnx":
        return dynamic_inputs(read_onnx(onnx)), {"model_file": str(onnx)}
    xml, reused = cached_ir(onnx)
    return dynamic_inputs(read_ir(xml)), {"model_file": str(xml), "onnx_file": str(onnx), "ir_reused": reused}


class OpenVinoSession(Session):
    def __init__(self, artifact, options: BackendOptions):
        from rankbench.models.openvino_model import (PRECISION_HINTS, compile_cpu, compiled_settings,
                                                     core, cpu_capabilities)

        import openvino as ov

        model, source = load_model(artifact)
        self.compiled = compile_cpu(model, PRECISION_HINTS[options.precision],
                                    options.performance_hint or "latency", options.threads)
        self.inputs = [inp.get_any_name() for inp in self.compiled.inputs]
        settings = compiled_settings(self.compiled)
        # One infer request per stream: the latency hint has one stream, throughput several.
        self.requests = [self.compiled.create_infer_request() for _ in range(max(1, settings["streams"]))]
        self.device = f"cpu ({core().get_property('CPU', 'FULL_DEVICE_NAME')})"
        self.info = {"openvino": ov.__version__, **settings, **source, "input_shapes": "[-1, -1] (dynamic)",
                     "int8_artifact": stores_int8(artifact), "cpu_capabilities": cpu_capabilities()}

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: batch[name] for name in self.inputs}
        rows = next(iter(feed.values())).shape[0]
        if len(self.requests) > 1 and rows > 1:
            return self._run_on_streams(feed, rows)
        request = self.requests[0]
        request.infer(feed)
        return request.get_output_tensor(0).data.reshape(-1).astype(np.float32, copy=True)

    def _run_on_streams(self, feed: dict[str, np.ndarray], rows: int) -> np.ndarray:
        """Split the rows over the streams' requests, run them at once, join the scores in order."""
        bounds = np.linspace(0, rows, min(len(self.requests), rows) + 1).astype(int)
        used = self.requests[:len(bounds) - 1]
        for request, lo, hi in zip(used, bounds[:-1], bounds[1:]):
            request.start_async({name: value[lo:hi] for name, value in feed.items()})
        parts = []
        for request in used:
            request.wait()
            parts.append(request.get_output_tensor(0).data.reshape(-1).astype(np.float32, copy=True))
        return np.concatenate(parts)

    def close(self) -> None:
        self.requests = []
        self.compiled = None
