"""The backend protocol, its options and the one registry of backends.

    from bench.backends import get_backend, BackendOptions
    backend = get_backend("onnxruntime")
    ok, why = backend.available()                 # can it run on this machine at all?
    ok, why = backend.supports(artifact, options)  # can it run this artifact with these options?
    session = backend.prepare(artifact, options)
    scores = session.run(encoder.encode(pairs))    # float32 [batch]
    session.synchronize(); session.close()

A backend owns its device: its session says how to wait for it (`synchronize`), so timing code
never asks which backend it is timing. Heavy imports (onnxruntime, jax, tensorrt) happen inside a
backend's methods only. Adding a backend = one file with a `@register_backend("name")` class, plus
its module name in `_BUILTIN_MODULES`.
"""
from __future__ import annotations

import importlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

PRECISIONS = ("fp32", "fp16", "bf16", "int8")
# Padded shapes for fixed-shape programs (XLA, CUDA graphs): a bounded set, not one per batch, yet
# fine enough that padding wastes little (100 candidates -> 104 rows; 52 tokens -> 56).
DEFAULT_SEQ_BUCKETS = tuple(range(8, 129, 8)) + (160, 192, 224, 256, 320, 384, 448, 512)
DEFAULT_BATCH_BUCKETS = (1, 2, 4) + tuple(range(8, 129, 8)) + (192, 256, 320, 384, 448, 512)


class BackendUnavailable(RuntimeError):
    """A backend cannot run here (missing package, no device): the message says why."""


@dataclass(frozen=True)
class BackendOptions:
    """How a backend runs an artifact. Options a backend does not use must stay at their defaults."""

    precision: str = "fp32"  # fp32 | fp16 | bf16 | int8 (fp16/bf16: torch on CUDA, xla; int8: tensorrt)
    device: str = "auto"  # auto | cpu | cuda | cuda:N | gpu | tpu (auto: the best device the backend has)
    threads: int | None = None  # intra-op CPU threads (None: the library's default)
    compile: bool = False  # torch: torch.compile the model
    cuda_graphs: bool = False  # torch on CUDA: replay captured graphs for fixed (bucketed) shapes
    provider: str | None = None  # onnxruntime: cpu | cuda | tensorrt (None: cpu)
    seq_buckets: tuple[int, ...] | None = None  # fixed-shape padding lengths (None: DEFAULT_SEQ_BUCKETS)
    batch_buckets: tuple[int, ...] | None = None  # fixed-shape batch sizes (None: DEFAULT_BATCH_BUCKETS)

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: expected one of {PRECISIONS}")
        dev = self.device
        if not (dev in ("auto", "cpu", "cuda", "gpu", "tpu") or (dev.startswith("cuda:") and dev[5:].isdigit())):
            raise ValueError(f"device {dev!r}: expected auto, cpu, cuda, cuda:N, gpu or tpu")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {self.threads!r}")
        if self.provider not in (None, "cpu", "cuda", "tensorrt"):
            raise ValueError(f"provider {self.provider!r}: expected cpu, cuda or tensorrt")
        for name in ("seq_buckets", "batch_buckets"):
            value = getattr(self, name)
            if value is not None:
                value = tuple(int(v) for v in value)
                if not value or any(v < 1 for v in value) or list(value) != sorted(set(value)):
                    raise ValueError(f"{name} must be increasing positive integers, got {value}")
                object.__setattr__(self, name, value)

    @classmethod
    def from_dict(cls, raw: dict | None) -> "BackendOptions":
        raw = dict(raw or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown backend option(s) {unknown}; known: {sorted(known)}")
        return cls(**raw)

    def to_dict(self, only_changed: bool = False) -> dict:
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}
        if only_changed:
            default = BackendOptions().to_dict()
            out = {k: v for k, v in out.items() if v != default[k]}
        return out

    def label(self) -> str:
        """A short tag of the non-default options for cell ids: 'fp16+cuda_graphs', 'provider=cuda'."""
        parts = []
        for key, value in self.to_dict(only_changed=True).items():
            if key == "precision":
                parts.append(value)
            elif value is True:
                parts.append(key)
            else:
                parts.append(f"{key}={','.join(map(str, value)) if isinstance(value, list) else value}")
        return "+".join(parts)

    def seq_bucket(self, length: int, max_length: int) -> int:
        return bucket(length, self.seq_buckets or DEFAULT_SEQ_BUCKETS, max_length)

    def batch_bucket(self, size: int) -> int:
        buckets = self.batch_buckets or DEFAULT_BATCH_BUCKETS
        return bucket(size, buckets, max(size, buckets[-1]))


def bucket(value: int, buckets, cap: int) -> int:
    """The smallest bucket >= value (at most `cap`); `cap` itself when none is big enough."""
    if value >= cap:
        return value
    for b in buckets:
        if b >= value:
            return min(b, cap)
    return cap


def parse_backend_spec(spec: str) -> tuple[str, BackendOptions]:
    """'torch', 'torch:fp16:cuda_graphs=true', 'onnxruntime:provider=cuda:threads=2' -> (name, options)."""
    name, *tokens = [t.strip() for t in spec.split(":")]
    raw: dict = {}
    for token in tokens:
        if token in PRECISIONS:
            raw["precision"] = token
        elif "=" in token:
            key, value = token.split("=", 1)
            raw[key] = _parse_value(key, value)
        elif token:
            raw[token] = True  # a bare flag: compile, cuda_graphs
    return name, BackendOptions.from_dict(raw)


def _parse_value(key: str, value: str):
    if key in ("seq_buckets", "batch_buckets"):
        return tuple(int(v) for v in value.replace("/", ",").split(",") if v)
    if value.lower() in ("true", "yes", "1") and key in ("compile", "cuda_graphs"):
        return True
    if value.lower() in ("false", "no", "0") and key in ("compile", "cuda_graphs"):
        return False
    if key == "threads":
        return int(value)
    return value


class Session:
    """One prepared model on one device. Subclasses set `device` and implement `run`."""

    device: str = "cpu"
    info: dict = {}  # what the session actually used: threads, provider, compiled shapes ...

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

    def available(self) -> tuple[bool, str]:
        return True, ""

    def supports(self, artifact, options: BackendOptions) -> tuple[bool, str]:
        return declared(self.name, artifact)

    def prepare(self, artifact, options: BackendOptions) -> Session:
        raise NotImplementedError

    def precision(self, artifact, options: BackendOptions) -> str:
        """The numeric precision the session really computes in (parity thresholds follow it)."""
        return options.precision


def declared(name: str, artifact) -> tuple[bool, str]:
    """Whether the artifact's metadata lets backend `name` run it (absent list: decided by format)."""
    allowed = (artifact.meta or {}).get("backends")
    if allowed is not None and name not in allowed:
        return False, f"artifact {artifact.name!r} ({artifact.format}) runs on {', '.join(allowed)} only"
    return True, ""


# --- registry ------------------------------------------------------------------------------------
BACKENDS: dict[str, type[Backend]] = {}
_BUILTIN_MODULES = ("torch_backend", "ort_backend", "tensorrt_backend", "xla_backend")


def register_backend(name: str):
    def wrap(cls):
        cls.name = name
        BACKENDS[name] = cls
        return cls
    return wrap


def _load_builtin() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(f"bench.backends.{module}")


def backend_names() -> list[str]:
    _load_builtin()
    return list(BACKENDS)


def get_backend(name: str) -> Backend:
    _load_builtin()
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; known backends: {', '.join(BACKENDS)}")
    return BACKENDS[name]()


# --- tokenization shared by every backend -------------------------------------------------------
class PairEncoder:
    """Tokenizes (context, candidate) pairs exactly as `BertRanker.encode` does, for any artifact
    folder (every format keeps its tokenizer files and ranker.json), without loading the model."""

    def __init__(self, tokenizer, max_length: int):
        self.tokenizer = tokenizer
        self.max_length = max_length

    @classmethod
    def from_folder(cls, folder: str | Path) -> "PairEncoder":
        from transformers import AutoTokenizer

        from models.ranker import DEFAULT_MAX_LENGTH, RANKER_FILE

        folder = Path(folder)
        meta_file = folder / RANKER_FILE
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        return cls(AutoTokenizer.from_pretrained(folder), int(meta.get("max_length", DEFAULT_MAX_LENGTH)))

    def encode(self, pairs, pad_to: int | None = None) -> dict[str, np.ndarray]:
        from models.ranker import BertRanker

        # The very same code path as the ranker's (one definition of how pairs are tokenized).
        return BertRanker.encode(self, pairs, pad_to)  # type: ignore[arg-type]


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
