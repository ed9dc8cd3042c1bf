"""Which units (heads, FFN neurons, layers) matter: gradient importance on real requests, weight
magnitude, and the choice of units to remove.

    scores = gradient_importance(ranker, requests, [l.attention.self for l in layers], heads, gate_heads)
    remove = choose(scores, ratio=0.5, scope="global")          # per layer: indices to remove

Gradient importance follows Michel et al. ("Are Sixteen Heads Really Better than One?"): a gate of
ones multiplies each unit's output, and |dLoss/dgate| summed over real training requests is the
unit's importance (normalized per layer, as in the paper, so layers compare globally). Used by
pruning and by distillation (narrower students).
"""
from __future__ import annotations

import numpy as np
import torch

from rankbench.compress.structure import n_removed


def gradient_importance(ranker, requests, gated_modules, widths, transform) -> list[np.ndarray]:
    """|dLoss/dgate| per unit, one gate vector per module; a forward hook applies each gate through
    `transform(gate, module, inputs, output) -> output`."""
    model = ranker.model
    gates = [torch.ones(w, requires_grad=True) for w in widths]
    hooks = [m.register_forward_hook(lambda mod, inp, out, g=g: transform(g, mod, inp, out))
             for m, g in zip(gated_modules, gates)]
    was_training = model.training
    model.eval()  # no dropout: importance of the model as it will run
    try:
        for start in range(0, len(requests), 8):
            batch = requests[start:start + 8]
            pairs = [p for r in batch for p in r.pairs()]
            labels = torch.tensor([float(x) for r in batch for x in r.labels])
            enc = ranker.encode(pairs)
            logits = model(**{k: torch.from_numpy(v) for k, v in enc.items()}).logits.reshape(-1)
            # Pointwise BCE on the labels: the task loss, defined for requests of any size.
            torch.nn.functional.binary_cross_entropy_with_logits(logits, labels).backward()
    finally:
        for h in hooks:
            h.remove()
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    scores = [g.grad.abs().numpy() if g.grad is not None else np.zeros(len(g)) for g in gates]
    # Per-layer L2 normalization (Michel et al.) so that layers with larger gradients don't dominate.
    return [s / (np.linalg.norm(s) + 1e-12) for s in scores]


def gate_heads(gate, module, inp, out):
    context = out[0]
    size = context.shape[-1] // len(gate)
    return (context * gate.repeat_interleave(size),) + tuple(out[1:])


def gate_tensor(gate, module, inp, out):
    return out * gate


def gate_layer(gate, module, inp, out):
    # Scale the layer's update of the residual stream: gate 0 = the layer is skipped.
    hidden = inp[0]
    return (hidden + gate * (out[0] - hidden),) + tuple(out[1:])


def head_magnitude(layer) -> np.ndarray:
    attn = layer.attention
    heads, size = attn.self.num_attention_heads, attn.self.attention_head_size
    rows = [m.weight.detach().reshape(heads, size, -1).pow(2).sum(dim=(1, 2))
            for m in (attn.self.query, attn.self.key, attn.self.value)]
    cols = attn.output.dense.weight.detach().reshape(-1, heads, size).pow(2).sum(dim=(0, 2))
    return (sum(rows) + cols).sqrt().numpy()


def ffn_magnitude(layer) -> np.ndarray:
    w_in = layer.intermediate.dense.weight.detach().norm(dim=1)
    w_out = layer.output.dense.weight.detach().norm(dim=0)
    return (w_in * w_out).numpy()


def choose(scores: list[np.ndarray], ratio: float, scope: str) -> list[list[int]]:
    """Indices to remove per layer: the lowest scores, keeping at least one unit in every layer."""
    if scope == "per-layer":
        return [sorted(np.argsort(s, kind="stable")[:min(n_removed(ratio, len(s)), len(s) - 1)].tolist())
                for s in scores]
    total = n_removed(ratio, sum(len(s) for s in scores))
    units = sorted((float(v), layer, i) for layer, s in enumerate(scores) for i, v in enumerate(s))
    left = [len(s) for s in scores]
    out: list[list[int]] = [[] for _ in scores]
    for _, layer, i in units:
        if total == 0:
            break
        if left[layer] > 1:
            out[layer].append(i)
            left[layer] -= 1
            total -= 1
    return [sorted(o) for o in out]
