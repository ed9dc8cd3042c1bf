"""Data, the BERT ranker, presets and the shared training loop."""
import logging

# torchao (imported by transformers when present) logs failures to load its CUDA-only kernels and
# torch deprecation notes on every start; transformers logs tensor-parallel plans. None of it is
# actionable for a user on a CPU: keep the console for rankbench's own output.
for _name in ("torchao", "torch.utils._pytree", "transformers.integrations.tensor_parallel"):
    logging.getLogger(_name).setLevel(logging.ERROR)
