"""BackendOptions: how a backend runs an artifact (precision, device, threads, ...), and the
`name:opt:key=value` spec strings of the command line.

    name, options = parse_backend_spec("torch:fp16:cuda_graphs")
    options.label()              # "fp16+cuda_graphs": part of the cell's id

Precision labels say what the arithmetic is, never what the storage is:
- fp32: true fp32 products (xla: Precision.HIGHEST, which is 6 bf16 passes on a TPU; torch and
  TensorRT on CUDA: TF32 off);
- tf32: fp32 storage with TF32 tensor-core products on NVIDIA GPUs (10-bit mantissa), the libraries'
  fast path for fp32 (xla: Precision.DEFAULT on a GPU; torch: allow_tf32; TensorRT: BuilderFlag.TF32).
  On a CPU nothing changes (XLA:CPU computes fp32); on a TPU it is refused (there DEFAULT is one bf16
  pass, which is not TF32);
- fp16 / bf16: weights and products in that type; int8: INT8 products (on TensorRT only from a graph
  with Q/DQ nodes calibrated on real requests).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from rankbench.common.typed import from_dict

PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "int8")
DEVICES = ("auto", "cpu", "cuda", "gpu", "tpu")
PROVIDERS = (None, "cpu", "cuda", "tensorrt")
PERFORMANCE_HINTS = (None, "latency", "throughput")
# Padded shapes for fixed-shape programs (XLA, CUDA graphs): a bounded set, not one per batch, yet
# fine enough that padding wastes little (100 candidates -> 104 rows; 52 tokens -> 56).
DEFAULT_SEQ_BUCKETS = tuple(range(8, 129, 8)) + (160, 192, 224, 256, 320, 384, 448, 512)
DEFAULT_BATCH_BUCKETS = (1, 2, 4) + tuple(range(8, 129, 8)) + (192, 256, 320, 384, 448, 512)


@dataclass(frozen=True)
class BackendOptions:
    """How a backend runs an artifact. Options a backend does not use must stay at their defaults."""

    precision: str = "fp32"  # fp32 | tf32 | fp16 | bf16 | int8 (see the module docstring)
    device: str = "auto"  # auto | cpu | cuda | cuda:N | gpu | tpu (auto: the best device the backend has)
    threads: int | None = None  # intra-op CPU threads (None: the run's count, by default the cores)
    compile: bool = False  # torch: torch.compile the model
    cuda_graphs: bool = False  # torch on CUDA: replay captured graphs for fixed (bucketed) shapes
    # torch: pad to (batch, length) buckets and use eager attention, as cuda_graphs does, without
    # capturing: the baseline that isolates what graphs add (same attention, same padding).
    fixed_shapes: bool = False
    provider: str | None = None  # onnxruntime: cpu | cuda | tensorrt (None: cpu)
    # openvino: latency | throughput (None: latency, one stream for a single-stream server)
    performance_hint: str | None = None
    seq_buckets: tuple[int, ...] | None = None  # fixed-shape padding lengths (None: DEFAULT_SEQ_BUCKETS)
    batch_buckets: tuple[int, ...] | None = None  # fixed-shape batch sizes (None: DEFAULT_BATCH_BUCKETS)

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: expected one of {PRECISIONS}")
        dev = self.device
        if not (dev in DEVICES or (dev.startswith("cuda:") and dev[5:].isdigit())):
            raise ValueError(f"device {dev!r}: expected auto, cpu, cuda, cuda:N, gpu or tpu")
        if self.threads is not None and (not isinstance(self.threads, int) or isinstance(self.threads, bool)
                                         or self.threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {self.threads!r}")
        if self.provider not in PROVIDERS:
            raise ValueError(f"provider {self.provider!r}: expected cpu, cuda or tensorrt")
        if self.performance_hint not in PERFORMANCE_HINTS:
            raise ValueError(f"performance_hint {self.performance_hint!r}: expected latency or throughput")
        for name in ("seq_buckets", "batch_buckets"):
            value = getattr(self, name)
            if value is not None:
                value = tuple(int(v) for v in value)
                if not value or any(v < 1 for v in value) or list(value) != sorted(set(value)):
                    raise ValueError(f"{name} must be increasing positive integers, got {value}")
                object.__setattr__(self, name, value)

    @classmethod
    def from_dict(cls, raw: dict | None, where: str = "backend options") -> "BackendOptions":
        return from_dict(cls, dict(raw or {}), where)

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

    def max_rows(self) -> int:
        """The largest batch bucket: fixed-shape programs split bigger batches into chunks of it."""
        return (self.batch_buckets or DEFAULT_BATCH_BUCKETS)[-1]

    def batch_bucket(self, size: int) -> int:
        buckets = self.batch_buckets or DEFAULT_BATCH_BUCKETS
        return bucket(size, buckets, max(size, buckets[-1]))


def backend_label(name: str, options) -> str:
    """A backend with its non-default options, as cell ids write it: "torch:tf32+device=cuda"; the
    bare name for default options, or for options this version cannot read."""
    try:
        label = (options if isinstance(options, BackendOptions) else BackendOptions.from_dict(options)).label()
    except ValueError:
        return name
    return f"{name}:{label}" if label else name


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
            raw[token] = True  # a bare flag: compile, cuda_graphs, fixed_shapes
    return name, BackendOptions.from_dict(raw, f"backend {spec!r}")


def _parse_value(key: str, value: str):
    if key in ("seq_buckets", "batch_buckets"):
        return tuple(int(v) for v in value.replace("/", ",").split(",") if v)
    flags = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if key in ("compile", "cuda_graphs", "fixed_shapes") and value.lower() in flags:
        return flags[value.lower()]
    if key == "threads":
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"threads={value!r}: expected an integer") from None
    return value
