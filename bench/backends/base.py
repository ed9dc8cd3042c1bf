"""The backend protocol and the one registry of backends.

    from rankbench.bench.backends import get_backend, BackendOptions
    backend = get_backend("onnxruntime")
    ok, why = backend.available()                 # can it run on this machine at all?
    ok, why = backend.supports(artifact, options)  # can it run this artifact with these options?
    session = backend.prepare(artifact, options)
    scores = session.run(encoder.encode(pairs))    # float32 [batch]
    session.synchronize(); session.close()
    scores = run_in_chunks(session, batch)         # any number of rows: split at session.max_batch_rows
    warm_shapes(session, [(800, 64)])              # compile / capture every padded shape before timing

A backend owns its device: its session says how to wait for it (`synchronize`), so timing code
never asks which backend it is timing. Heavy imports (onnxruntime, jax, tensorrt) happen inside a
backend's methods only. Adding a backend = one file `<name>_backend.py` in this folder with a
`@register_backend("name")` class: the registry finds every such module by itself.
"""
from __future__ import annotations

import importlib
import os
import pkgutil

import numpy as np

from rankbench.bench.backends.options import BackendOptions
from rankbench.common.registry import Registry


def default_threads() -> int:
    """CPU threads a session uses when its options give none: the run's setting (RANKBENCH_THREADS,
    set by the runner), else the cores. Every backend and the tokenizer use the same number."""
    return int(os.environ.get("RANKBENCH_THREADS") or os.cpu_count() or 1)


class BackendUnavailable(RuntimeError):
    """A backend cannot run here (missing package, no device): the message says why."""


class Session:
    """One prepared model on one device. Subclasses set `device` and implement `run`."""

    device: str = "cpu"
    info: dict = {}  # what the session actually used: threads, provider, compiled shapes ...
    # The most rows one `run` takes (a TensorRT profile's maximum, the largest padded shape of a
    # fixed-shape program); None: any. Callers split bigger batches with `run_in_chunks`.
    max_batch_rows: int | None = None
    # True where each new padded shape is compiled or captured on first use (XLA, CUDA graphs):
    # callers run `warm_shapes` before timing, so nothing compiles inside a timed sample.
    fixed_shapes: bool = False

    def padded_shape(self, rows: int, seq: int) -> tuple[int, int]:
        """The shape a [rows, seq] batch actually runs as (fixed-shape sessions pad to buckets)."""
        return rows, seq

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def synchronize(self) -> None:
        """Wait until the device has finished all work submitted so far (no-op on synchronous APIs)."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Backend:
    name: str = ""
    formats: tuple[str, ...] = ("hf",)  # artifact formats it runs (see runs_format)
    # Set on backends that can serve as the parity reference (fp32 on the CPU): the lowest rank
    # among those that run an artifact computes its reference scores.
    reference_rank: int | None = None

    def available(self) -> tuple[bool, str]:
        return True, ""

    def runs_format(self, fmt: str) -> bool:
        return fmt in self.formats

    def supports(self, artifact, options: BackendOptions) -> tuple[bool, str]:
        return self.format_check(artifact)

    def format_check(self, artifact) -> tuple[bool, str]:
        if self.runs_format(artifact.format):
            return True, ""
        return False, f"{self.name} does not run {artifact.format!r} artifacts"

    def prepare(self, artifact, options: BackendOptions) -> Session:
        raise NotImplementedError

    def precision(self, artifact, options: BackendOptions) -> str:
        """The numeric precision the session really computes in (parity thresholds follow it)."""
        return options.precision


# --- registry ------------------------------------------------------------------------------------
def load_backends() -> None:
    """Import every `*_backend` module of this package: each registers itself on import."""
    package = importlib.import_module("rankbench.bench.backends")
    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module.name.endswith("_backend"):
            importlib.import_module(f"{package.__name__}.{module.name}")


BACKENDS = Registry("backend", load=load_backends)


def register_backend(name: str):
    def wrap(cls):
        cls.name = name
        return BACKENDS.add(name, cls)
    return wrap


def backend_names() -> list[str]:
    return BACKENDS.names()


def reference_backends() -> list[str]:
    """Backends that can compute reference scores, best first."""
    ranked = [(cls.reference_rank, name) for name, cls in BACKENDS.items() if cls.reference_rank is not None]
    return [name for _, name in sorted(ranked)]


def get_backend(name: str) -> Backend:
    return BACKENDS.get(name)()


def pad_batch(batch: dict[str, np.ndarray], rows: int, length: int) -> dict[str, np.ndarray]:
    """Pad a tokenized batch to [rows, length] with masked-out positions (fixed-shape programs).
    Padded positions carry attention_mask 0, so real rows score exactly as unpadded ones."""
    size, seq = batch["input_ids"].shape
    if (size, seq) == (rows, length):
        return batch
    if seq > length or size > rows:
        raise ValueError(f"batch {size}x{seq} does not fit the bucket {rows}x{length}")
    out = {}
    for key, value in batch.items():
        padded = np.zeros((rows, length), dtype=value.dtype)
        padded[:size, :seq] = value
        out[key] = padded
    return out


def chunk_rows(session, rows: int) -> list[int]:
    """Row counts of the chunks a batch of `rows` rows is run in (any object with `run` will do)."""
    limit = getattr(session, "max_batch_rows", None)
    if not limit or rows <= limit:
        return [rows]
    return [min(limit, rows - start) for start in range(0, rows, limit)]


def run_in_chunks(session, batch: dict[str, np.ndarray]) -> np.ndarray:
    """`session.run` on a batch of any size: split into chunks of at most `max_batch_rows` rows
    (a merged server batch of 800 rows on a backend whose largest shape is 512), scores joined."""
    rows = batch["input_ids"].shape[0]
    sizes = chunk_rows(session, rows)
    if len(sizes) == 1:
        return session.run(batch)
    parts, start = [], 0
    for size in sizes:
        parts.append(np.asarray(session.run({k: v[start:start + size] for k, v in batch.items()})).reshape(-1))
        start += size
    return np.concatenate(parts)


def warm_shapes(session, shapes) -> list[tuple[int, int]]:
    """Run one placeholder batch per distinct padded shape that batches of the given (rows, seq)
    shapes run as, chunks included, so a fixed-shape session compiles or captures them all before
    anything is timed. A no-op (returns []) for sessions with dynamic shapes."""
    if not getattr(session, "fixed_shapes", False):
        return []
    done: list[tuple[int, int]] = []
    for rows, seq in shapes:
        for size in chunk_rows(session, rows):
            shape = tuple(session.padded_shape(size, seq))
            if shape in done:
                continue
            ids = np.zeros(shape, np.int64)
            session.run({"input_ids": ids, "attention_mask": np.ones(shape, np.int64), "token_type_ids": ids})
            done.append(shape)
    session.synchronize()
    return done
