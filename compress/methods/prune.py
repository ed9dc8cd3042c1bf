"""Pruning: attention heads, FFN neurons, whole layers (structured) and global magnitude (unstructured).

    {"method": "prune-heads", "ratio": 0.5, "importance": "gradient", "scope": "global"}
    {"method": "prune-ffn", "ratio": 0.3, "scope": "per-layer", "recovery": "distill"}
    {"method": "prune-layers", "ratio": 0.5, "which": "alternate"}
    {"method": "prune-unstructured", "sparsity": 0.5}

Gradient importance follows Michel et al. ("Are Sixteen Heads Really Better than One?"): a gate of
ones multiplies each unit's output, and |dLoss/dgate| summed over real training requests is the unit's
importance (normalized per layer, as in the paper, so layers compare globally). Structured pruning
really removes rows and columns: the model saves with its new shapes in its config (pruned_heads,
intermediate_size or rankbench_intermediate_sizes, num_hidden_layers) and reloads without patching.
Recovery (optional): a short fine-tune, or distillation from the unpruned parent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rankbench.compress.api import hf_ranker, save_hf
from rankbench.compress.config import MethodConfig, Shape, check_choice, check_positive, check_ratio
from rankbench.compress.importance import (choose, ffn_magnitude, gate_heads, gate_layer, gate_tensor,
                                           gradient_importance, head_magnitude)
from rankbench.compress.registry import register_method
from rankbench.compress.structure import keep_layers, layer_choice, n_removed, prune_ffn, prune_heads
from rankbench.compress.training import run_training, sample_requests

SCOPES = ("global", "per-layer")
RECOVERY = ("none", "finetune", "distill")


@dataclass(frozen=True, kw_only=True)
class _Recoverable(MethodConfig):
    ratio: float  # share of the units to remove
    importance_requests: int = 32  # training requests used for gradient importance
    recovery: str = "none"  # "none", "finetune" (listwise) or "distill" (KL to the unpruned parent)
    recovery_steps: int = 100
    recovery_lr: float = 3e-5

    def __post_init__(self):
        check_ratio(self.method, "ratio", self.ratio)
        check_choice(self.method, "recovery", self.recovery, RECOVERY)
        check_positive(self.method, "importance_requests", self.importance_requests)
        check_positive(self.method, "recovery_steps", self.recovery_steps)
        check_positive(self.method, "recovery_lr", self.recovery_lr)


@dataclass(frozen=True, kw_only=True)
class _Units(_Recoverable):
    importance: str = "gradient"  # "gradient" (Michel et al., on real requests) or "magnitude"
    scope: str = "global"  # "global": lowest scores anywhere; "per-layer": the same share in each layer

    def __post_init__(self):
        super().__post_init__()
        check_choice(self.method, "importance", self.importance, ("gradient", "magnitude"))
        check_choice(self.method, "scope", self.scope, SCOPES)

    @property
    def needs(self):
        return ("data",) if self.importance == "gradient" or self.recovery != "none" else ()


@dataclass(frozen=True, kw_only=True)
class PruneHeadsConfig(_Units):
    pass


@dataclass(frozen=True, kw_only=True)
class PruneFFNConfig(_Units):
    pass


@dataclass(frozen=True, kw_only=True)
class PruneLayersConfig(_Recoverable):
    which: str = "importance"  # "importance" (gradient gate per layer), "top", "bottom", "alternate"

    def __post_init__(self):
        super().__post_init__()
        check_choice(self.method, "which", self.which, ("importance", "top", "bottom", "alternate"))

    @property
    def needs(self):
        return ("data",) if self.which == "importance" or self.recovery != "none" else ()

    def plan(self, parent: Shape) -> Shape:
        shape = super().plan(parent)
        if parent.layers is None:
            return shape
        removed = n_removed(self.ratio, parent.layers)
        if removed >= parent.layers:
            raise ValueError(f"prune-layers: ratio {self.ratio} would remove all {parent.layers} layers")
        if removed == 0:
            raise ValueError(f"prune-layers: ratio {self.ratio} of {parent.layers} layers removes none")
        return Shape(shape.format, parent.layers - removed, False)


@dataclass(frozen=True, kw_only=True)
class PruneUnstructuredConfig(MethodConfig):
    sparsity: float  # share of the encoder's linear weights set to zero (global magnitude threshold)

    def __post_init__(self):
        check_ratio(self.method, "sparsity", self.sparsity)


# --- handlers ---------------------------------------------------------------------------------
def _importance_requests(ctx, config):
    return sample_requests(ctx.data.train, config.importance_requests, ctx.seed)


def _recover(ranker, parent, config, ctx) -> dict:
    if config.recovery == "none":
        return {}
    from rankbench.models.train import TrainConfig

    losses = {"listwise": 1.0} if config.recovery == "finetune" else {"distill-kl": 1.0}
    teacher = parent if config.recovery == "distill" else None  # the unpruned model
    train_config = TrainConfig(max_steps=config.recovery_steps, lr=config.recovery_lr, losses=losses,
                               seed=ctx.seed)
    return {f"recovery_{k}": v for k, v in run_training(ranker, train_config, ctx, teacher,
                                                        desc=f"{config.method} recovery").items()}


def _prune_heads(parent, config, ctx, out):
    ranker = hf_ranker(parent)
    layers = list(ranker.model.bert.encoder.layer)
    if config.importance == "gradient":
        scores = gradient_importance(ranker, _importance_requests(ctx, config), [l.attention.self for l in layers],
                                     [l.attention.self.num_attention_heads for l in layers], gate_heads)
    else:
        scores = [head_magnitude(l) for l in layers]
    remove = choose(scores, config.ratio, config.scope)
    prune_heads(ranker.model, remove)
    meta = _recover(ranker, parent, config, ctx)
    heads = [l.attention.self.num_attention_heads for l in ranker.model.bert.encoder.layer]
    return save_hf(ranker, out, heads_per_layer=heads, **meta)


def _prune_ffn(parent, config, ctx, out):
    ranker = hf_ranker(parent)
    layers = list(ranker.model.bert.encoder.layer)
    if config.importance == "gradient":
        scores = gradient_importance(ranker, _importance_requests(ctx, config), [l.intermediate for l in layers],
                                     [l.intermediate.dense.out_features for l in layers], gate_tensor)
    else:
        scores = [ffn_magnitude(l) for l in layers]
    prune_ffn(ranker.model, choose(scores, config.ratio, config.scope))
    meta = _recover(ranker, parent, config, ctx)
    widths = [l.intermediate.dense.out_features for l in ranker.model.bert.encoder.layer]
    return save_hf(ranker, out, ffn_widths=widths, **meta)


def _prune_layers(parent, config, ctx, out):
    ranker = hf_ranker(parent)
    layers = list(ranker.model.bert.encoder.layer)
    removed = n_removed(config.ratio, len(layers))
    if config.which == "importance":
        (scores,) = [np.concatenate(gradient_importance(ranker, _importance_requests(ctx, config), layers,
                                                        [1] * len(layers), gate_layer))]
        keep = sorted(np.argsort(-scores, kind="stable")[:len(layers) - removed].tolist())
    else:
        keep = layer_choice(config.which, len(layers), removed)
    keep_layers(ranker.model, keep)
    meta = _recover(ranker, parent, config, ctx)
    return save_hf(ranker, out, kept_layers=keep, **meta)


def _prune_unstructured(parent, config, ctx, out):
    ranker = hf_ranker(parent)
    model = ranker.model
    # The encoder's and pooler's matrices: embeddings, biases, LayerNorms and the 1-output head stay.
    weights = [m.weight for m in list(model.bert.encoder.modules()) + list(model.bert.pooler.modules())
               if isinstance(m, torch.nn.Linear)]
    flat = torch.cat([w.detach().abs().reshape(-1) for w in weights])
    k = n_removed(config.sparsity, flat.numel())
    threshold = torch.kthvalue(flat, k).values if k > 0 else torch.tensor(-1.0)
    csr_bytes = dense_bytes = 0
    with torch.no_grad():
        for w in weights:
            w.masked_fill_(w.abs() <= threshold, 0.0)
            nnz = int((w != 0).sum())
            dense_bytes += w.numel() * 4
            csr_bytes += nnz * (4 + 4) + (w.shape[0] + 1) * 4  # fp32 values, int32 columns, row pointers
    zeros = int(sum(int((w == 0).sum()) for w in weights))
    other = sum(p.numel() for p in model.parameters()) * 4 - dense_bytes
    return save_hf(ranker, out, sparsity=zeros / flat.numel(), pruned_weights=int(flat.numel()),
                   csr_bytes=int(other + csr_bytes), dense_bytes=int(other + dense_bytes),
                   notes=["unstructured zeros are stored densely: no speed-up on dense kernels; "
                          "csr_bytes is the size with the pruned matrices stored as CSR"])


register_method("prune-heads", PruneHeadsConfig, _prune_heads)
register_method("prune-ffn", PruneFFNConfig, _prune_ffn)
register_method("prune-layers", PruneLayersConfig, _prune_layers)
register_method("prune-unstructured", PruneUnstructuredConfig, _prune_unstructured)
