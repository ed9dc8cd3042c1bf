"""Building TensorRT engines, for TensorRT 10.x and 11.x alike: what tensorrt_backend.py runs.

    profiles = profile_shapes(batch_buckets, seq_buckets, max_length)
    key = engine_cache_key(onnx_digest, profiles, "fp16", trt.__version__, gpu_name)
    build_engine(trt, logger, "model.fp16.onnx", engine_path, profiles, tf32=False)

Networks are strongly typed: every tensor computes in the type the ONNX file gives it, so FP16 comes
from an FP16 graph and INT8 from Q/DQ nodes (compress/onnx_types.py, compress/methods/tensorrt_onnx.py).
TensorRT 11 removed the weak-typing API (BuilderFlag.FP16 / BF16 / INT8 / FP8, int8_calibrator,
set_calibration_profile and the calibrator classes); nothing here uses it, and
tests/bench/test_tensorrt_api.py fails if it comes back. On 10.x the STRONGLY_TYPED creation flag asks
for the same behaviour; 11.x has no other. The one precision flag left is TF32, which TensorRT turns
on by default: it is cleared for fp32 (true fp32) and kept only for the "tf32" precision.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

WORKSPACE_BYTES = 4 << 30
# TensorRT shapes are dynamic within a profile: a few length bands suffice (each profile adds build time).
DEFAULT_SEQ_BANDS = (32, 64, 128, 256, 512)
DEFAULT_BATCH_MAX = (1, 64, 512)
SUPPORTED_MAJOR = (10, 11)  # the tested range; pyproject's tensorrt extra pins the same


def version_problem(version: str) -> str | None:
    """Why this TensorRT version is not used (None: it is in the supported range)."""
    try:
        major = int(str(version).split(".")[0])
    except ValueError:
        return f"TensorRT version {version!r} is not understood"
    if major not in SUPPORTED_MAJOR:
        return (f"TensorRT {version} is outside the range this backend is written for "
                f"({', '.join(f'{m}.x' for m in SUPPORTED_MAJOR)}): pip install 'tensorrt>=10,<12'")
    return None


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
    raise ValueError(f"no TensorRT optimization profile covers a {rows}x{seq} batch "
                     f"(at most {profiles[-1]['max'][0]} rows: split bigger batches with run_in_chunks)")


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def engine_cache_key(model_digest: str, profiles: list[dict], precision: str, trt_version: str,
                     device_name: str) -> str:
    """Same graph bytes + shapes + precision + TensorRT + GPU -> same engine; anything else -> a new one."""
    blob = json.dumps({"model": model_digest, "profiles": profiles, "precision": precision,
                       "tensorrt": trt_version, "device": device_name, "workspace": WORKSPACE_BYTES,
                       "typing": "strong"}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def network_flags(trt) -> int:
    """Creation flags of a strongly typed network: STRONGLY_TYPED where the enum has it (10.x), none
    on 11.x (strong typing is always on; EXPLICIT_BATCH has been implicit since 10.0)."""
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    return 0 if flag is None else 1 << int(flag)


def build_engine(trt, logger, onnx_path, engine_path, profiles: list[dict], tf32: bool = False) -> Path:
    """Parse `onnx_path` into a strongly typed network with `profiles` and write the serialized
    engine to `engine_path` (whole or not at all)."""
    builder = trt.Builder(logger)
    network = builder.create_network(network_flags(trt))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if tf32:
        config.set_flag(trt.BuilderFlag.TF32)
    else:  # on by default in TensorRT: an fp32 engine computes fp32 products only without it
        config.clear_flag(trt.BuilderFlag.TF32)
    input_names = [network.get_input(i).name for i in range(network.num_inputs)]
    for prof in profiles:
        profile = builder.create_optimization_profile()
        for name in input_names:
            profile.set_shape(name, prof["min"], prof["opt"], prof["max"])
        config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError("TensorRT failed to build the engine (see its log above)")
    engine_path = Path(engine_path)
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = engine_path.with_name(engine_path.name + f".{os.getpid()}.tmp")
    tmp.write_bytes(bytes(serialized))
    os.replace(tmp, engine_path)
    return engine_path
