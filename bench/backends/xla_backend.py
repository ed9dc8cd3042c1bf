"""`xla`: the TPU path. The ranker's weights in a plain-JAX BERT (bench/backends/jax_bert.py),
compiled with jax.jit, on JAX's default device: the TPU where jax[tpu] is installed, else a GPU (jax
with CUDA), else the CPU (device=cpu|gpu|tpu picks one).

The precision option names the arithmetic of every matrix product (`MATMUL`):
- fp32: Precision.HIGHEST: true fp32 on a GPU, 6 bf16 passes on a TPU (fp32 accuracy), fp32 on a CPU.
  JAX's default would run float32 products as TF32 on recent GPUs and as one bf16 pass on TPUs.
- tf32: Precision.DEFAULT, the fast path, on a GPU (TF32 tensor cores). On a CPU XLA computes fp32
  anyway (info says so); on a TPU it is refused: DEFAULT there is one bf16 pass, not TF32.
- bf16: weights and products in bf16, softmax and layer-norm statistics in fp32.
`info` records the platform, the device kind (the TPU type, e.g. "TPU v5 lite") and the precision.

Batches are padded to (batch bucket, length bucket) shapes, so XLA compiles a handful of programs
rather than one per batch (`info["compiled_shapes"]`); bigger batches than the largest batch bucket
are split by the callers (`max_batch_rows`), and `fixed_shapes` tells them to compile every shape a
scenario uses before timing it (base.warm_shapes).
"""
from __future__ import annotations

import os
import sys

import numpy as np

from rankbench.bench.backends.base import Backend, Session, default_threads, pad_batch, register_backend
from rankbench.bench.backends.options import BackendOptions

MATMUL = {"fp32": "HIGHEST", "tf32": "DEFAULT", "bf16": "DEFAULT"}  # precision -> jax.lax.Precision


def _platform_wanted(options: BackendOptions) -> str | None:
    return {"auto": None, "cpu": "cpu", "gpu": "gpu", "cuda": "gpu", "tpu": "tpu"}.get(
        options.device.split(":")[0])


def arithmetic(platform: str, precision: str) -> str:
    """What the products compute in, in words, for session info and the report."""
    if precision == "bf16":
        return "bf16 products (weights and activations in bf16)"
    if platform == "cpu":
        return ("fp32 products: XLA:CPU has no TF32, so tf32 equals fp32 here" if precision == "tf32"
                else "fp32 products (XLA:CPU)")
    if precision == "fp32":
        return "fp32 products (Precision.HIGHEST: " + ("6 bf16 passes)" if platform == "tpu" else "no TF32)")
    return "TF32 products (Precision.DEFAULT)"


@register_backend("xla")
class XlaBackend(Backend):
    def available(self) -> tuple[bool, str]:
        try:
            import jax  # noqa: F401
        except ImportError as err:
            return False, f"jax is not installed ({err})"
        return True, ""

    def supports(self, artifact, options: BackendOptions) -> tuple[bool, str]:
        if artifact.format != "hf":
            return False, f"the JAX encoder loads 'hf' ranker folders, not {artifact.format!r}"
        if options.precision not in MATMUL:
            return False, f"xla runs {', '.join(MATMUL)}, not {options.precision}"
        if options.compile or options.cuda_graphs or options.fixed_shapes or options.provider \
                or options.performance_hint:
            return False, ("compile / cuda_graphs / fixed_shapes / provider / performance_hint are options "
                           "of other backends")
        import jax

        wanted = _platform_wanted(options)
        if wanted:
            try:
                jax.devices(wanted)
            except RuntimeError as err:
                return False, f"no JAX {wanted} device here ({str(err).splitlines()[0][:160]})"
        if options.precision == "tf32" and (wanted or jax.default_backend()) == "tpu":
            return False, ("tf32 names TF32 tensor cores (NVIDIA GPUs); a TPU's fast fp32 path is one bf16 pass: "
                           "run fp32 (6 bf16 passes) or bf16")
        return True, ""

    def prepare(self, artifact, options: BackendOptions) -> Session:
        _xla_flags(options.threads or default_threads())
        return XlaSession(artifact, options)


def _xla_flags(threads: int) -> None:
    """One CPU thread for XLA when the run asks for one (only possible before jax first starts)."""
    if threads == 1 and "jax" not in sys.modules:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()


def load_state(folder) -> tuple[dict, object, int]:
    """(numpy state dict, BertConfig, max_length) of an "hf" ranker folder, via the torch loader so
    that every shape field rankbench writes is honoured exactly as the torch backend sees it."""
    from rankbench.models.encoder import PairEncoder
    from rankbench.models.ranker import load_model

    model = load_model(folder)
    state = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    return state, model.config, PairEncoder.from_folder(folder).max_length


class XlaSession(Session):
    fixed_shapes = True

    def __init__(self, artifact, options: BackendOptions):
        import jax
        import jax.numpy as jnp

        from rankbench.bench.backends.jax_bert import make_forward, params_from_state_dict, split_static

        self.jax = jax
        self.options = options
        wanted = _platform_wanted(options)
        self.dev = jax.devices(wanted)[0] if wanted else jax.devices()[0]
        state, config, self.max_length = load_state(artifact.path)
        arrays, static = split_static(params_from_state_dict(state, config))
        dtype = jnp.bfloat16 if options.precision == "bf16" else jnp.float32
        if dtype != jnp.float32:
            arrays = jax.tree_util.tree_map(lambda a: a.astype(dtype), arrays)
        self.params = jax.device_put(arrays, self.dev)
        precision = getattr(jax.lax.Precision, MATMUL[options.precision])
        self._fn = jax.jit(make_forward(static, dtype, precision))
        self._last = None
        self.max_batch_rows = options.max_rows()
        kind = getattr(self.dev, "device_kind", "?")
        self.device = f"{self.dev.platform}:{self.dev.id} ({kind})"
        # XLA:CPU sizes its thread pool by the cores and offers no setting for N threads (jax issue
        # 1539); only one thread can be asked for, before jax starts (XLA_FLAGS, see _xla_flags).
        threads = 1 if "multi_thread_eigen=false" in os.environ.get("XLA_FLAGS", "") else os.cpu_count()
        self.info = {"jax": jax.__version__, "platform": self.dev.platform, "device_kind": kind,
                     "matmul_precision": MATMUL[options.precision].lower(), "threads": threads,
                     "arithmetic": arithmetic(self.dev.platform, options.precision), "compiled_shapes": []}
        if self.dev.platform == "tpu":
            self.info["tpu_type"] = kind

    def padded_shape(self, rows: int, seq: int) -> tuple[int, int]:
        return self.options.batch_bucket(rows), self.options.seq_bucket(seq, self.max_length)

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        rows, seq = batch["input_ids"].shape
        shape = self.padded_shape(rows, seq)
        if list(shape) not in self.info["compiled_shapes"]:
            self.info["compiled_shapes"].append(list(shape))
        padded = pad_batch(batch, *shape)
        zeros = np.zeros(shape, np.int32)
        args = [self.jax.device_put(padded.get(k, zeros).astype(np.int32), self.dev)
                for k in ("input_ids", "attention_mask", "token_type_ids")]
        self._last = self._fn(self.params, *args)
        return np.asarray(self._last)[:rows]  # np.asarray waits for the device

    def synchronize(self) -> None:
        if self._last is not None:
            self._last.block_until_ready()

    def close(self) -> None:
        self.params = None
        self._last = None
