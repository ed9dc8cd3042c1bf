"""OpenVINO models on the CPU: read an IR with errors that name the file, convert an ONNX export to
an IR cached next to it, make the inputs dynamic, compile with explicit hints, read back what the
compiled model really uses, and score requests.

    from rankbench.models.openvino_model import cached_ir, compile_cpu, compiled_settings, read_ir
    xml, reused = cached_ir(onnx_path)          # <onnx folder>/openvino/model.xml (+ .bin), kept while
                                                #   the ONNX file and the OpenVINO version are unchanged
    model = dynamic_inputs(read_ir(xml))        # inputs [-1, -1]: any batch, any length, one compile
    compiled = compile_cpu(model, precision="f32", hint="latency", threads=2)
    compiled_settings(compiled)                 # {"inference_precision": "f32", "threads": 2, ...}

Precision is always set, never left to OpenVINO: on CPUs with AVX512_BF16 or AMX its default
INFERENCE_PRECISION_HINT is bf16, so a model compiled "as it is" silently runs in bf16.
The openvino package is imported inside the functions (rankbench runs without it), after
`decline_telemetry_without_consent`: import this module before openvino or nncf.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from functools import lru_cache
from pathlib import Path

import numpy as np

from rankbench.common.digest import Hasher
from rankbench.common.files import replace_dir, temporary_name

IR_XML = "model.xml"
IR_SUBDIR = "openvino"  # the cached IR of an ONNX export: <onnx folder>/openvino/
SOURCE_FILE = "source.json"
PRECISION_HINTS = {"fp32": "f32", "bf16": "bf16"}  # rankbench precision -> INFERENCE_PRECISION_HINT
PERFORMANCE_HINTS = {"latency": "LATENCY", "throughput": "THROUGHPUT"}


def decline_telemetry_without_consent() -> None:
    """Send no usage data unless the user said yes.

    `import openvino` and nncf.quantize send usage events to Google Analytics (from a forked
    process) whenever the user has not answered OpenVINO's telemetry question: as libraries they count
    a missing answer as consent. rankbench counts it as a no, in this process only, and keeps an
    explicit answer (OpenVINO's `opt_in_out --opt_in` / `--opt_out`) as it is.
    """
    try:
        from openvino_telemetry.utils import opt_in_checker
    except ImportError:
        return  # no telemetry package, nothing to send
    checker = opt_in_checker.OptInChecker
    if getattr(checker.check, "declines_without_consent", False):
        return
    original = checker.check

    def check(self, enable_opt_in_dialog, disable_in_ci=False):
        result = original(self, enable_opt_in_dialog, disable_in_ci)
        no_answer = result == opt_in_checker.ConsentCheckResult.NO_FILE
        return opt_in_checker.ConsentCheckResult.DECLINED if no_answer else result

    check.declines_without_consent = True
    checker.check = check


decline_telemetry_without_consent()  # before anything here imports openvino


class OpenVinoModelError(ValueError):
    """A model file OpenVINO cannot read: the message names the file and says why."""


@lru_cache(maxsize=1)
def core():
    import openvino as ov

    return ov.Core()


def cpu_capabilities() -> list[str]:
    """OpenVINO's OPTIMIZATION_CAPABILITIES of the CPU, e.g. ['BF16', 'FP32', 'INT8', ...]."""
    return [str(c) for c in core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")]


def _reason(err: Exception) -> str:
    """The informative line of an OpenVINO exception (they start with 'Exception from <file>:<line>')."""
    lines = [line.strip() for line in str(err).splitlines()
             if line.strip() and not line.startswith(("Exception from", "Check '"))]
    return (lines[-1] if lines else str(err).strip())[:300]


def check_ir_files(xml: str | Path) -> Path:
    """Fail early, naming the file, when an IR is missing, not XML, or lacks its weights file."""
    xml = Path(xml)
    if not xml.is_file():
        raise OpenVinoModelError(f"{xml}: no OpenVINO IR there (model.xml is missing)")
    if not xml.with_suffix(".bin").is_file():
        raise OpenVinoModelError(f"{xml}: its weights file {xml.with_suffix('.bin').name} is missing")
    try:
        root = ElementTree.parse(xml).getroot()
    except ElementTree.ParseError as err:
        raise OpenVinoModelError(f"{xml} is not a readable OpenVINO IR: not well-formed XML ({err})") from None
    if root.tag != "net":
        raise OpenVinoModelError(f"{xml} is not a readable OpenVINO IR: its root element is <{root.tag}>, not <net>")
    return xml


def read_ir(xml: str | Path):
    """An OpenVINO IR (model.xml + model.bin) as an ov.Model; a damaged one raises OpenVinoModelError."""
    xml = check_ir_files(xml)
    try:
        return core().read_model(str(xml), str(xml.with_suffix(".bin")))
    except RuntimeError as err:
        raise OpenVinoModelError(f"{xml} is not a readable OpenVINO IR: {_reason(err)}") from None


def read_onnx(path: str | Path):
    """An ONNX file as an ov.Model (OpenVINO's ONNX front end); unreadable -> OpenVinoModelError."""
    path = Path(path)
    if not path.is_file():
        raise OpenVinoModelError(f"{path}: no ONNX file there")
    try:
        return core().read_model(str(path))
    except RuntimeError as err:
        raise OpenVinoModelError(f"OpenVINO cannot read {path}: {_reason(err)}") from None


def dynamic_inputs(model):
    """Reshape every [batch, sequence] input to [-1, -1], so any batch runs without a new compile."""
    import openvino as ov

    model.reshape({inp.get_any_name(): ov.PartialShape([-1, -1]) for inp in model.inputs})
    return model


def save_ir(model, folder: str | Path, compress_to_fp16: bool = False) -> Path:
    """Write model.xml + model.bin into `folder`. OpenVINO's save_model stores float constants in
    fp16 by default; an fp32 model is kept exact unless asked (`compress_to_fp16`)."""
    import openvino as ov

    xml = Path(folder) / IR_XML
    xml.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(xml), compress_to_fp16=compress_to_fp16)
    return xml


def ir_bytes(xml: str | Path) -> int:
    xml = Path(xml)
    return xml.stat().st_size + xml.with_suffix(".bin").stat().st_size


def _fingerprint(onnx_path: Path) -> str:
    import openvino as ov

    return Hasher().update(f"openvino={ov.__version__}").update_file(onnx_path).hexdigest()


def cached_ir(onnx_path: str | Path) -> tuple[Path, bool]:
    """(model.xml of the IR converted from `onnx_path`, whether an earlier conversion was reused).
    The IR lies in <onnx folder>/openvino/ with source.json naming the ONNX file's digest and the
    OpenVINO version; it appears whole (built aside, then renamed) or not at all."""
    onnx_path = Path(onnx_path)
    folder = onnx_path.parent / IR_SUBDIR
    fingerprint = _fingerprint(onnx_path)
    try:
        if json.loads((folder / SOURCE_FILE).read_text()).get("fingerprint") == fingerprint:
            check_ir_files(folder / IR_XML)
            return folder / IR_XML, True
    except (OSError, json.JSONDecodeError, OpenVinoModelError):
        pass  # absent, stale or damaged: convert again
    staging = temporary_name(folder)
    try:
        save_ir(dynamic_inputs(read_onnx(onnx_path)), staging)
        (staging / SOURCE_FILE).write_text(json.dumps({"fingerprint": fingerprint, "onnx": str(onnx_path)}))
        replace_dir(staging, folder)
    finally:
        if staging.exists():
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
    return folder / IR_XML, False


def compile_cpu(model, precision: str = "f32", hint: str = "latency", threads: int | None = None):
    """Compile for the CPU with the inference precision, performance hint and thread count all set."""
    import openvino as ov

    props = ov.properties
    config = {props.hint.inference_precision: {"f32": ov.Type.f32, "bf16": ov.Type.bf16}[precision],
              props.hint.performance_mode: getattr(props.hint.PerformanceMode, PERFORMANCE_HINTS[hint])}
    if threads:
        config[props.inference_num_threads] = int(threads)
    return core().compile_model(model, "CPU", config)


def compiled_settings(compiled) -> dict:
    """What the compiled model really uses, read back from it (not what was asked)."""
    def read(name):
        try:
            return compiled.get_property(name)
        except RuntimeError:
            return None

    precision = read("INFERENCE_PRECISION_HINT")
    hint = read("PERFORMANCE_HINT")
    return {"inference_precision": precision.get_type_name() if precision is not None else None,
            "performance_hint": str(getattr(hint, "name", hint)) if hint is not None else None,
            "threads": int(read("INFERENCE_NUM_THREADS") or 0),
            "streams": int(read("NUM_STREAMS") or 1),
            "optimal_infer_requests": int(read("OPTIMAL_NUMBER_OF_INFER_REQUESTS") or 1)}


def op_counts(model) -> dict[str, int]:
    counts: dict[str, int] = {}
    for op in model.get_ops():
        counts[op.get_type_name()] = counts.get(op.get_type_name(), 0) + 1
    return counts


def score_requests(compiled, encoder, requests) -> list[np.ndarray]:
    """Scores per request through a compiled model, one request (all its candidates) per batch."""
    request = compiled.create_infer_request()
    names = [inp.get_any_name() for inp in compiled.inputs]
    out = []
    for req in requests:
        batch = encoder.encode(req.pairs())
        request.infer({name: batch[name] for name in names})
        out.append(request.get_output_tensor(0).data.reshape(-1).astype(np.float32, copy=True))
    return out
