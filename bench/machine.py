"""Where a number was measured: the machine (CPU model and the ISA features that decide INT8 and
bf16 speed, cores, GPU), the library versions and the project code that produce the numbers.

    env = environment()                    # results.json "environment"
    ok, why = same_machine(env_a, env_b)   # may latencies of two runs be compared?
    key = measurement_identity()           # part of every cell's cache key

Two hosts here both report "AMD EPYC, 2 cores"; one had AVX2 only and one AVX-512 with VNNI and
BF16, and ran ONNX Runtime twice as fast: the ISA features and the exact model tell them apart.
"""
from __future__ import annotations

import os
import platform
import socket
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from rankbench.common.digest import source_digest

# Libraries whose version changes a measured number (recorded, and part of every cell's key).
LIBRARIES = ("torch", "transformers", "tokenizers", "onnxruntime", "onnxruntime-gpu", "onnx", "optimum",
             "optimum-onnx", "peft", "jax", "jaxlib", "tensorrt", "openvino", "nncf", "numpy", "torchao")
# CPU flags that decide which kernels run (x86 names as in /proc/cpuinfo).
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16",
             "amx_tile", "amx_bf16", "amx_int8")
# Project code whose change can change a measured number: the harness, the models (tokenization,
# export) and compression. The reports and the command line cannot.
_MEASURING_PACKAGES = ("models", "compress", "bench")


@lru_cache(maxsize=1)
def cpu_identity() -> dict:
    """Model name, family/model/stepping and the ISA features of the first CPU."""
    fields: dict = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key in ("model name", "cpu family", "model", "stepping", "flags") and key not in fields:
                fields[key] = value
            if not line.strip() and fields:
                break  # the first processor is enough
    except OSError:
        pass
    flags = set(fields.get("flags", "").split())
    return {"cpu": fields.get("model name") or platform.processor() or platform.machine(),
            "cpu_id": "/".join(fields.get(k, "?") for k in ("cpu family", "model", "stepping")),
            "isa": [flag for flag in ISA_FLAGS if flag in flags]}


def _gpu() -> tuple[str | None, str | None]:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            name, driver = out.stdout.strip().splitlines()[0].split(", ")
            return name, driver
    except (OSError, subprocess.TimeoutExpired, ValueError):
        pass
    return None, None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def library_versions() -> dict:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of the project's measuring code (models/, compress/, bench/): a change there makes
    earlier cells stale, whatever the version number says."""
    root = Path(__file__).resolve().parents[1]
    return source_digest(*(root / package for package in _MEASURING_PACKAGES))


def environment() -> dict:
    gpu, driver = _gpu()
    try:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        memory_gb = None
    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ}
    return {**cpu_identity(), "cores": os.cpu_count() or 1, "memory_gb": memory_gb, "gpu": gpu,
            "gpu_driver": driver, "python": platform.python_version(), "platform": platform.platform(),
            "hostname": socket.gethostname(), "libraries": library_versions(), "threads": threads,
            "git_commit": _git_commit(), "code_digest": code_digest()}


MACHINE_KEYS = ("cpu", "cpu_id", "isa", "cores", "gpu")


def machine_identity(env: dict) -> dict:
    return {key: env.get(key) for key in MACHINE_KEYS}


def measurement_identity(env: dict) -> dict:
    """What, besides the cell itself, shapes its numbers: the machine, the libraries, the code."""
    return {"machine": machine_identity(env), "libraries": env.get("libraries"),
            "code": env.get("code_digest")}


def same_machine(a: dict, b: dict) -> tuple[bool, str]:
    """Whether two environments are comparable for latency; the reason when not. A key missing on
    both sides (older results) does not count as a difference."""
    for key in MACHINE_KEYS:
        if a.get(key) != b.get(key):
            return False, f"{key} differs: {a.get(key)!r} vs {b.get(key)!r}"
    return True, ""
