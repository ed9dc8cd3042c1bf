"""The JAX encoder on shapes that differ from the base: fewer layers, pruned heads per layer (head
size from hidden_size / num_attention_heads, not 64), per-layer FFN widths and adapters."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from rankbench.bench.backends import BackendOptions, get_backend
from rankbench.models.encoder import PairEncoder
from rankbench.bench.parity import check_parity, reference_scores
from rankbench.models.ranker import BertRanker



def spread_head(model) -> None:  # as in conftest: spread the scores so rank statistics test something
    with torch.no_grad():
        model.classifier.weight.mul_(100.0)


def _artifact(model, path, name):
    from rankbench.compress.artifact import Artifact
    from rankbench.models.presets import minilm_path
    from transformers import AutoTokenizer

    spread_head(model)
    ranker = BertRanker(model, AutoTokenizer.from_pretrained(minilm_path()), 64)
    return Artifact.from_ranker(ranker, path, name=name)


def _xla_parity(artifact, requests):
    encoder = PairEncoder.from_folder(artifact.path)
    reference, name = reference_scores(artifact, encoder, requests)
    with get_backend("xla").prepare(artifact, BackendOptions()) as session:
        return check_parity(session, encoder, requests, reference, "fp32", name)


def test_xla_runs_a_pruned_shallower_variant(tmp_path, requests_):
    torch.manual_seed(1)
    # 3 layers, 6 heads of 8 dims (head size 8, not 64); layer 0 loses 2 heads, layer 2 all but one
    config = BertConfig(vocab_size=30522, hidden_size=48, num_hidden_layers=3, num_attention_heads=6,
                        intermediate_size=40, num_labels=1)
    model = BertForSequenceClassification(config).eval()
    model.prune_heads({0: [1, 4], 2: [0, 1, 2, 3, 5]})
    artifact = _artifact(model, tmp_path / "pruned", "pruned")
    figures = _xla_parity(artifact, requests_[:3])
    assert figures["passed"], figures


def test_xla_runs_per_layer_ffn_widths_and_adapters(tmp_path, requests_):
    from rankbench.models import ranker as ranker_module

    if not hasattr(ranker_module, "BertOutputWithAdapter"):
        pytest.skip("rankbench.models.ranker has no adapter support yet")
    torch.manual_seed(2)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, num_labels=1)
    config.rankbench_intermediate_sizes = [24, 40]
    config.rankbench_adapter_size = 8
    model = ranker_module.build_model(config).eval()
    with torch.no_grad():  # a trained adapter is not the identity
        for layer in model.bert.encoder.layer:
            layer.output.adapter.up.weight.normal_(0, 0.2)
    artifact = _artifact(model, tmp_path / "narrow", "narrow")
    figures = _xla_parity(artifact, requests_[:3])
    assert figures["passed"], figures
