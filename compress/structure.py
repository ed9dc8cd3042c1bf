"""Structural edits of a BertForSequenceClassification that change its shapes and record them in its
config, so `save_pretrained` + `models.ranker.load_model` give the same model back with no patching:

    prune_heads(model, [[0, 3], [1]])       # heads by current index per layer -> config.pruned_heads
    prune_ffn(model, [[...], [...]])        # neurons per layer -> intermediate_size or
                                            #   rankbench_intermediate_sizes (unequal widths)
    keep_layers(model, [1, 3, 5])           # -> num_hidden_layers; heads and widths follow their layers

Used by pruning (compress/methods/prune.py) and by distillation (compress/methods/distill.py).
"""
from __future__ import annotations

import torch


def n_removed(ratio: float, units: int) -> int:
    # Round half up (Python's round() sends 0.5 to 0 and 2.5 to 2: surprising for "half the layers").
    return int(ratio * units + 0.5)


def prune_heads(model, remove: list[list[int]]) -> None:
    """Remove heads given by their current index in each layer (HF wants original indices)."""
    original = {}
    for i, (layer, current) in enumerate(zip(model.bert.encoder.layer, remove)):
        alive = sorted(set(range(model.config.num_attention_heads)) - set(layer.attention.pruned_heads))
        if current:
            original[i] = [alive[h] for h in current]
    model.prune_heads(original)  # records config.pruned_heads, so save/load keeps the shapes


def prune_ffn(model, remove: list[list[int]]) -> None:
    from transformers.pytorch_utils import prune_linear_layer

    widths = []
    for layer, drop in zip(model.bert.encoder.layer, remove):
        width = layer.intermediate.dense.out_features
        keep = torch.tensor(sorted(set(range(width)) - set(drop)), dtype=torch.long)
        layer.intermediate.dense = prune_linear_layer(layer.intermediate.dense, keep, dim=0)
        layer.output.dense = prune_linear_layer(layer.output.dense, keep, dim=1)
        widths.append(len(keep))
    set_ffn_widths(model.config, widths)


def set_ffn_widths(config, widths: list[int]) -> None:
    # Equal widths fit a standard BertConfig (every tool reads it); unequal ones need our own field.
    if len(set(widths)) == 1:
        config.intermediate_size = widths[0]
        config.rankbench_intermediate_sizes = None
    else:
        config.rankbench_intermediate_sizes = list(widths)


def keep_layers(model, keep: list[int]) -> None:
    """Keep only the encoder layers at `keep` (in order); heads and widths follow their layers."""
    encoder, config = model.bert.encoder, model.config
    encoder.layer = torch.nn.ModuleList([encoder.layer[i] for i in keep])
    pruned = {int(k): v for k, v in (config.pruned_heads or {}).items()}
    config.pruned_heads = {new: pruned[old] for new, old in enumerate(keep) if pruned.get(old)}
    widths = getattr(config, "rankbench_intermediate_sizes", None)
    config.num_hidden_layers = len(keep)
    if widths:
        set_ffn_widths(config, [widths[i] for i in keep])
    for new, layer in enumerate(encoder.layer):
        layer.attention.self.layer_idx = new


def layer_choice(which: str, layers: int, removed: int) -> list[int]:
    """Layers to keep when removing `removed` of `layers` without gradients."""
    keep = layers - removed
    if which == "top":  # remove the top layers
        return list(range(keep))
    if which == "bottom":
        return list(range(removed, layers))
    return sorted({round((i + 1) * layers / keep) - 1 for i in range(keep)})  # evenly spread
