"""Models whose shapes BertConfig cannot say alone (per-layer FFN widths, pruned heads, adapters) save,
reload with the same scores through BertRanker.load, and export to ONNX with the same scores."""
from __future__ import annotations

import numpy as np
import pytest

from rankbench.compress.api import compress, copy_tokenizer
from rankbench.compress.structure import keep_layers, prune_ffn, prune_heads
from rankbench.models.flops import flops_per_pair
from rankbench.models.ranker import BertRanker


def _ort_scores(folder, requests):
    from rankbench.compress.methods.quantize_ort import onnx_scores
    from rankbench.models.onnx_export import export_onnx

    export_onnx(folder, folder / "export" / "model.onnx")
    copy_tokenizer(folder, folder / "export")
    return np.concatenate(onnx_scores(folder / "export", requests))


@pytest.fixture
def uneven(teacher, tmp_path):
    """Layer 0: 3 heads, 54 FFN neurons; layer 1: 2 heads, 34 neurons."""
    ranker = teacher.torch_ranker()
    prune_heads(ranker.model, [[0], [1, 3]])
    prune_ffn(ranker.model, [list(range(10)), list(range(0, 60, 2))])
    ranker.save(tmp_path / "uneven")
    return ranker, tmp_path / "uneven"


def test_uneven_widths_and_heads_reload_and_export(uneven, requests):
    ranker, folder = uneven
    assert ranker.model.config.rankbench_intermediate_sizes == [54, 34]
    loaded = BertRanker.load(folder)
    widths = [layer.intermediate.dense.out_features for layer in loaded.model.bert.encoder.layer]
    assert widths == [54, 34]
    assert [layer.attention.self.num_attention_heads for layer in loaded.model.bert.encoder.layer] == [3, 2]
    before = np.concatenate(ranker.score(requests))
    assert np.abs(np.concatenate(loaded.score(requests)) - before).max() <= 1e-6
    assert np.abs(_ort_scores(folder, requests) - before).max() <= 1e-4


def test_dropping_layers_keeps_their_shapes(uneven, tmp_path, requests):
    ranker, _ = uneven
    keep_layers(ranker.model, [1])
    assert ranker.model.config.pruned_heads == {0: [1, 3]}
    assert ranker.model.config.intermediate_size == 34  # one layer left: a standard config again
    ranker.save(tmp_path / "one")
    loaded = BertRanker.load(tmp_path / "one")
    assert np.abs(np.concatenate(loaded.score(requests)) - np.concatenate(ranker.score(requests))).max() <= 1e-6


def test_adapter_model_exports_to_onnx(teacher, ctx, requests):
    art = compress(teacher, {"method": "adapter", "size": 8, "max_steps": 2}, ctx)
    ranker = art.torch_ranker()
    # Training moved the zero-initialized up-projection, so the adapter really is in the graph.
    assert ranker.model.bert.encoder.layer[0].output.adapter.up.weight.abs().sum() > 0
    assert np.abs(_ort_scores(art.path, requests) - np.concatenate(ranker.score(requests))).max() <= 1e-4


def test_flops_follow_the_shapes(teacher):
    model = teacher.torch_ranker().model
    full = flops_per_pair(model, 64)
    # Per layer and token: q, k, v, out (4 x 32 x 32) + FFN (2 x 32 x 64) MACs; attention 2 x 64 x 32.
    per_layer = 2 * 64 * (4 * 32 * 32 + 2 * 32 * 64) + 2 * 2 * 64 * 64 * 32
    assert full == 2 * per_layer + 2 * 32 * 32 + 2 * 32
    prune_heads(model, [[0, 1], []])
    assert flops_per_pair(model, 64) < full
    assert flops_per_pair(model, 64, prefix_tokens=16) > flops_per_pair(model, 64)
