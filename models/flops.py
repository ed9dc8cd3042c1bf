"""FLOPs per (context, candidate) pair: the model's arithmetic cost at a reference length.

    flops_per_pair(ranker.model)                      # at REFERENCE_TOKENS tokens
    flops_per_pair(model, seq_len=128, prefix_tokens=16)

Counted from the modules actually present (so pruned heads, per-layer FFN widths, dropped layers and
adapters all show), as 2 x multiply-accumulates of the matrix products: every linear layer of the
encoder per token, the two attention products (Q K^T and P V) per layer, and the pooler and
classifier once per pair (they see only the [CLS] token). Softmax, GELU, LayerNorm and embedding
lookups are left out: they are a few percent of the total and do not change with compression.
"""
from __future__ import annotations

import torch

REFERENCE_TOKENS = 64


def _linear_macs(module: torch.nn.Module) -> int:
    """Multiply-accumulates per token of every linear layer inside `module` (fp32 or quantized)."""
    total = 0
    for sub in module.modules():
        weight = getattr(sub, "weight", None)
        if isinstance(sub, torch.nn.Linear) or (callable(weight) and hasattr(sub, "in_features")):
            total += int(sub.in_features) * int(sub.out_features)
    return total


def flops_per_pair(model: torch.nn.Module, seq_len: int = REFERENCE_TOKENS, prefix_tokens: int = 0) -> int:
    """FLOPs to score one pair of `seq_len` tokens; `prefix_tokens` extra keys (prefix tuning)."""
    bert = model.bert if hasattr(model, "bert") else model
    flops = 0
    for layer in bert.encoder.layer:
        flops += 2 * seq_len * _linear_macs(layer)
        attention = layer.attention.self
        inner = attention.num_attention_heads * attention.attention_head_size
        keys = seq_len + prefix_tokens
        flops += 2 * 2 * seq_len * keys * inner  # scores Q K^T, then probabilities x V
    if getattr(bert, "pooler", None) is not None:
        flops += 2 * _linear_macs(bert.pooler)
    head = getattr(model, "classifier", None)
    if head is not None:
        flops += 2 * _linear_macs(head)
    return int(flops)
