"""results.json: one versioned schema (schema/results-v1.schema.json in this folder), checked on write and read.

    write_results(path, results)       # validates, then writes atomically (temp file + rename)
    results = read_results(path)       # raises ResultsError naming the problem; never half-read
    env = environment()                # CPU, cores, GPU, library versions, threads, git commit
"""
from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from rankbench.common.files import atomic_write_json

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).parent / "schema" / f"results-v{SCHEMA_VERSION}.schema.json"
LIBRARIES = ("torch", "transformers", "onnxruntime", "onnxruntime-gpu", "onnx", "optimum", "optimum-onnx",
             "peft", "jax", "jaxlib", "tensorrt", "numpy", "torchao")


class ResultsError(ValueError):
    pass


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator(schema)


def validate(results: dict, source: str = "results") -> None:
    errors = sorted(_validator().iter_errors(results), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ResultsError(f"{source} does not match results schema v{SCHEMA_VERSION} at {where}: "
                           f"{first.message[:300]}{more}")


def read_results(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results file at {path}")
    try:
        results = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ResultsError(f"{path} is not valid JSON (line {err.lineno}: {err.msg})") from err
    if not isinstance(results, dict):
        raise ResultsError(f"{path} is not a results object")
    version = results.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultsError(f"{path} has schema_version {version!r}; this rankbench reads {SCHEMA_VERSION}")
    validate(results, str(path))
    return results


def write_results(path: str | Path, results: dict) -> Path:
    results.setdefault("schema_version", SCHEMA_VERSION)
    validate(results)
    return atomic_write_json(path, results)  # a reader never sees a half-written file


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict:
    gpu, driver = _gpu()
    try:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        memory_gb = None
    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ}
    try:
        import torch

        threads["torch_intra_op"] = torch.get_num_threads()
    except ImportError:
        pass
    return {"cpu": _cpu_model(), "cores": os.cpu_count() or 1, "memory_gb": memory_gb, "gpu": gpu,
            "gpu_driver": driver, "python": platform.python_version(), "platform": platform.platform(),
            "hostname": socket.gethostname(), "libraries": {n: _version(n) for n in LIBRARIES},
            "threads": threads, "git_commit": _git_commit()}


def same_machine(a: dict, b: dict) -> tuple[bool, str]:
    """Whether two environments are comparable for latency; the reason when not."""
    for key in ("cpu", "cores", "gpu"):
        if a.get(key) != b.get(key):
            return False, f"{key} differs: {a.get(key)!r} vs {b.get(key)!r}"
    return True, ""
