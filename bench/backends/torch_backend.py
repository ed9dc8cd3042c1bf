"""`torch`: PyTorch eager (optionally torch.compile) on CPU or CUDA; fp32, tf32/fp16/bf16 on CUDA;
CUDA graphs replayed for fixed, bucketed shapes.

Runs any artifact format with a PyTorch loader (rankbench.compress.registry.torch_loader), "hf" included.
fp32 on CUDA is true fp32 (TF32 matmuls off for the session); tf32 turns TF32 tensor cores on.
With `cuda_graphs`, each batch is padded to a (batch bucket, length bucket) shape; one graph is
captured per shape (before timing: `fixed_shapes` sessions are warmed by the callers) and replayed
(static input buffers are refilled). Capture needs an attention mask built by device ops only
(transformers' eager mask path; on transformers 5 its eager attention). `fixed_shapes` runs exactly
that padded forward without graphs, so "graphs vs no graphs" is measured with the same attention
implementation and the same padding; the default path keeps the model's own attention (SDPA) and
mask on dynamic shapes. `info` says which attention, mask and padding a cell used.
"""
from __future__ import annotations

import numpy as np

from rankbench.bench.backends.base import Backend, Session, default_threads, pad_batch, register_backend
from rankbench.bench.backends.options import BackendOptions


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _resolve_device(options: BackendOptions) -> str:
    if options.device in ("auto", "gpu"):
        return "cuda" if _cuda_available() else "cpu"
    return options.device


@register_backend("torch")
class TorchBackend(Backend):
    reference_rank = 0

    def runs_format(self, fmt: str) -> bool:
        from rankbench.compress.registry import torch_loader

        return torch_loader(fmt) is not None

    def available(self) -> tuple[bool, str]:
        try:
            import torch  # noqa: F401
        except ImportError as err:
            return False, f"torch is not installed ({err})"
        return True, ""

    def supports(self, artifact, options: BackendOptions) -> tuple[bool, str]:
        if not self.runs_format(artifact.format):
            return False, f"artifact format {artifact.format!r} has no PyTorch loader"
        if options.provider is not None:
            return False, "option provider is for onnxruntime"
        if options.performance_hint is not None:
            return False, "option performance_hint is for openvino"
        if options.device == "tpu":
            return False, "the torch backend runs on cpu or cuda; use xla for TPUs"
        device = _resolve_device(options)
        if device.startswith("cuda") and not _cuda_available():
            return False, "CUDA requested but torch.cuda.is_available() is False"
        if options.precision == "int8":
            return False, "int8 on torch comes from a quantized artifact, not a backend option"
        if options.precision == "tf32" and not device.startswith("cuda"):
            return False, "tf32 is a mode of NVIDIA tensor cores (torch on CUDA); on the CPU torch computes fp32"
        if options.precision in ("fp16", "bf16") and not device.startswith("cuda"):
            return False, f"{options.precision} on the torch backend needs CUDA (CPU half kernels are slow)"
        if options.cuda_graphs and not device.startswith("cuda"):
            return False, "cuda_graphs needs a CUDA device"
        return True, ""

    def precision(self, artifact, options: BackendOptions) -> str:
        # A "half" artifact computes in its stored dtype whatever the options say.
        stored = {"float16": "fp16", "bfloat16": "bf16"}.get(str((artifact.meta or {}).get("dtype")))
        return stored or options.precision

    def prepare(self, artifact, options: BackendOptions) -> Session:
        return TorchSession(artifact, options, _resolve_device(options))


def _use_eager_attention(model) -> None:
    """Make the attention mask come from device ops only, across transformers versions."""
    bert = getattr(model, "bert", None)
    if bert is not None and hasattr(bert, "attn_implementation"):
        bert.attn_implementation = "eager"  # transformers 4.x: BertModel picks the mask path by this
        return
    setter = getattr(model, "set_attn_implementation", None)  # newer transformers: functional attention
    if setter:
        try:
            setter("eager")
        except Exception:  # noqa: BLE001 - a model that cannot switch keeps its modules
            pass


class TorchSession(Session):
    def __init__(self, artifact, options: BackendOptions, device: str):
        import torch
        import transformers

        self.torch = torch
        self.options = options
        self._threads_before = torch.get_num_threads()
        torch.set_num_threads(options.threads or default_threads())
        ranker = artifact.torch_ranker()
        self.max_length = ranker.max_length
        dtype = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16,
                 "bf16": torch.bfloat16}[options.precision]
        self.dev = torch.device(device)
        model = ranker.model.eval().to(self.dev)
        self.padded = bool(options.cuda_graphs or options.fixed_shapes)
        if self.padded:
            # transformers' SDPA mask path checks the mask on the host (torch.all(mask == 1)), a sync
            # that graph capture forbids; the eager path builds the mask with device ops only.
            # fixed_shapes takes the same path, so graphs are compared with like.
            _use_eager_attention(model)
            self.fixed_shapes = True
            self.max_batch_rows = options.max_rows()
        if dtype != torch.float32:
            model = model.to(dtype)
        self.model = torch.compile(model) if options.compile else model
        self.is_cuda = self.dev.type == "cuda"
        self._tf32_before = None
        if self.is_cuda:  # TF32 products only where the label says so; restored on close
            self._tf32_before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = options.precision == "tf32"
            index = self.dev.index if self.dev.index is not None else torch.cuda.current_device()
            self.device = f"cuda:{index} ({torch.cuda.get_device_name(index)})"
        else:
            self.device = "cpu"
        self._graphs: dict[tuple[int, int], tuple] = {}
        self._pool = None
        self.dtype = dtype
        self._mask_4d = int(transformers.__version__.split(".")[0]) >= 5
        self.info = {"threads": torch.get_num_threads(), "dtype": str(dtype).replace("torch.", ""),
                     "attention": getattr(model.config, "_attn_implementation", None),
                     "padding": "buckets" if self.padded else "dynamic",
                     "attention_mask": "4D additive, built by device ops" if self.padded else "the model's own",
                     "tf32": options.precision == "tf32" if self.is_cuda else False,
                     "compiled": bool(options.compile), "cuda_graphs": bool(options.cuda_graphs)}

    def _forward(self, inputs):
        return self.model(**inputs).logits

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            if self.padded:
                return self._run_padded(batch)
            inputs = {k: torch.from_numpy(v).to(self.dev, non_blocking=True) for k, v in batch.items()}
            return self._forward(inputs).reshape(-1).float().cpu().numpy()

    def padded_shape(self, rows: int, seq: int) -> tuple[int, int]:
        if not self.padded:
            return rows, seq
        return self.options.batch_bucket(rows), self.options.seq_bucket(seq, self.max_length)

    def _static_forward(self, inputs):
        """The forward pass of padded batches, captured or not: with a 4D additive mask built here by
        device ops, because transformers >= 5 builds its masks with a host-to-device copy
        (torch.tensor(0.0, device=...)), which capture forbids, and passes a ready 4D mask through
        untouched. transformers 4.x takes the 2D mask on its eager path, which uses device ops only."""
        if not self._mask_4d:
            return self._forward(inputs)
        mask = inputs["attention_mask"][:, None, None, :].to(self.dtype)
        additive = (1.0 - mask) * self.torch.finfo(self.dtype).min
        return self._forward({**inputs, "attention_mask": additive})

    def _run_padded(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        torch = self.torch
        rows, seq = batch["input_ids"].shape
        shape = self.padded_shape(rows, seq)
        padded = pad_batch(batch, *shape)
        if not self.options.cuda_graphs:
            inputs = {k: torch.from_numpy(v).to(self.dev, non_blocking=True) for k, v in padded.items()}
            return self._static_forward(inputs).reshape(-1)[:rows].float().cpu().numpy()
        if shape not in self._graphs:
            self._graphs[shape] = self._capture(padded)
        graph, static_in, static_out = self._graphs[shape]
        for key, value in padded.items():
            static_in[key].copy_(torch.from_numpy(value), non_blocking=True)
        graph.replay()
        return static_out.reshape(-1)[:rows].float().cpu().numpy()

    def _capture(self, padded: dict[str, np.ndarray]):
        torch = self.torch
        static_in = {k: torch.from_numpy(v).to(self.dev) for k, v in padded.items()}
        stream = torch.cuda.Stream(self.dev)
        stream.wait_stream(torch.cuda.current_stream(self.dev))
        with torch.cuda.stream(stream):  # warm-up on a side stream, as capture requires
            for _ in range(3):
                self._static_forward(static_in)
        torch.cuda.current_stream(self.dev).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        if self._pool is None:
            self._pool = torch.cuda.graph_pool_handle()
        # One memory pool for all graphs: they replay one at a time and each output is copied to
        # the host right after its replay, so sharing is safe and memory stays that of one graph.
        with torch.cuda.graph(graph, pool=self._pool):
            static_out = self._static_forward(static_in)
        self.info["graphs_captured"] = len(self._graphs) + 1
        return graph, static_in, static_out

    def synchronize(self) -> None:
        if self.is_cuda:
            self.torch.cuda.synchronize(self.dev)

    def close(self) -> None:
        self._graphs.clear()
        self.model = None
        if self.is_cuda:
            self.torch.cuda.empty_cache()
            backends = self.torch.backends
            backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32 = self._tf32_before
        self.torch.set_num_threads(self._threads_before)
