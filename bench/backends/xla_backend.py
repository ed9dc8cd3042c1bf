"""`xla`: the TPU path. The ranker's weights in a plain-JAX BERT (bench/backends/jax_bert.py),
compiled with jax.jit, on whatever JAX device exists: TPU (jax[tpu]), GPU (jax with CUDA), else CPU.

Batches are padded to (batch bucket, length bucket) shapes, so XLA compiles a handful of programs
rather than one per batch; `info["compiled_shapes"]` lists them. Precision fp32, or bf16 (weights
and matmuls in bf16, softmax and layer-norm statistics in fp32).
"""
from __future__ import annotations

import os
import sys

import numpy as np

from rankbench.bench.backends.base import Backend, Session, default_threads, pad_batch, register_backend
from rankbench.bench.backends.options import BackendOptions


def _platform_wanted(options: BackendOptions) -> str | None:
    return {"auto": None, "cpu": "cpu", "gpu": "gpu", "cuda": "gpu", "tpu": "tpu"}.get(
        options.device.split(":")[0])


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
        if options.precision not in ("fp32", "bf16"):
            return False, f"xla runs fp32 or bf16, not {options.precision}"
        if options.compile or options.cuda_graphs or options.provider or options.performance_hint:
            return False, "compile / cuda_graphs / provider / performance_hint are options of other backends"
        wanted = _platform_wanted(options)
        if wanted:
            import jax

            try:
                jax.devices(wanted)
            except RuntimeError as err:
                return False, f"no JAX {wanted} device here ({str(err).splitlines()[0][:160]})"
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
        self._fn = jax.jit(make_forward(static, dtype))
        self._last = None
        self.device = f"{self.dev.platform}:{self.dev.id} ({getattr(self.dev, 'device_kind', '?')})"
        # XLA:CPU sizes its thread pool by the cores and offers no setting for N threads (jax issue
        # 1539); only one thread can be asked for, before jax starts (XLA_FLAGS, see _xla_flags).
        self.info = {"jax": jax.__version__, "platform": self.dev.platform, "compiled_shapes": [],
                     "threads": 1 if "multi_thread_eigen=false" in os.environ.get("XLA_FLAGS", "")
                     else os.cpu_count()}

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        rows, seq = batch["input_ids"].shape
        shape = (self.options.batch_bucket(rows), self.options.seq_bucket(seq, self.max_length))
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
