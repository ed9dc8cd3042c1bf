"""Start prefix tuning from real activations instead of peft's random prefix.

peft draws a prefix without an MLP from N(0, 1): keys and values unlike any the frozen attention
was trained on, which it must first learn away. Li & Liang (2021, section 7.2) start the prefix from
the activations of real words instead, which helped most when data or steps are few (ours: 600
steps). Here virtual token t at layer l starts as the key and value the base model computes at layer
l for the t-th real token (padding skipped) of the first training inputs.

peft reads its prefix embedding (num_virtual_tokens, layers * 2 * hidden) as, per token,
[layer 0 key | layer 0 value | layer 1 key | ...], each `hidden` wide (PeftModel.get_prompt:
view(..., layers * 2, heads, head_dim), then split in pairs): the layout built below.
"""
from __future__ import annotations

import numpy as np
import torch

INIT_CHOICES = ("random", "activations")


def real_token_key_values(bert_model, batch: dict[str, np.ndarray], n: int) -> torch.Tensor:
    """(n, layers * 2 * hidden): every layer's key and value projections of the first `n` real
    tokens of `batch` (a BertForSequenceClassification's inputs)."""
    layers = bert_model.bert.encoder.layer
    captured: dict[tuple[int, int], torch.Tensor] = {}
    hooks = []
    for index, layer in enumerate(layers):
        for kind, projection in enumerate((layer.attention.self.key, layer.attention.self.value)):
            def keep(_module, _inputs, output, at=(index, kind)):
                captured[at] = output
            hooks.append(projection.register_forward_hook(keep))
    try:
        with torch.no_grad():
            bert_model(**{name: torch.from_numpy(values) for name, values in batch.items()})
    finally:
        for hook in hooks:
            hook.remove()
    real = torch.from_numpy(batch["attention_mask"]).reshape(-1).bool()
    if int(real.sum()) < n:
        raise ValueError(f"prefix init: {n} virtual tokens but only {int(real.sum())} real tokens to start them from")
    columns = [captured[(index, kind)].reshape(real.numel(), -1)[real][:n]
               for index in range(len(layers)) for kind in (0, 1)]
    return torch.cat(columns, dim=-1)


def init_prefix_from_activations(peft_model, ranker, requests, n: int) -> None:
    """Overwrite the active prefix (no MLP) with the base model's keys and values of the first
    real tokens of `requests` (each request gives at least one pair of >= 8 tokens)."""
    pairs = [pair for request in requests for pair in request.pairs()]
    weight = peft_model.prompt_encoder[peft_model.active_adapter].embedding.weight
    values = real_token_key_values(peft_model.get_base_model(), ranker.encode(pairs), n)
    if values.shape != weight.shape:
        raise ValueError(f"prefix init: activations of shape {tuple(values.shape)} for a prefix of "
                         f"shape {tuple(weight.shape)}")
    with torch.no_grad():
        weight.copy_(values)
