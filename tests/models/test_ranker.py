import numpy as np
import pytest
import torch

from rankbench.models.presets import UnknownPreset, load_ranker
from rankbench.models.ranker import BertRanker


def test_save_load_round_trip_is_exact(tmp_path, tiny_ranker, tiny_data):
    reqs = tiny_data.test[:3]
    before = tiny_ranker.score(reqs)
    tiny_ranker.save(tmp_path / "r")
    loaded = BertRanker.load(tmp_path / "r")
    assert loaded.max_length == tiny_ranker.max_length
    for a, b in zip(before, loaded.score(reqs)):
        np.testing.assert_array_equal(a, b)


def test_dynamic_padding_and_cap(tiny_ranker):
    short = tiny_ranker.encode([("a", "b"), ("a b c", "d")])
    assert short["input_ids"].shape == (2, 7)  # [CLS] a b c [SEP] d [SEP]
    long = tiny_ranker.encode([("word " * 200, "item")])
    assert long["input_ids"].shape[1] == tiny_ranker.max_length
    fixed = tiny_ranker.encode([("a", "b")], pad_to=16)
    assert fixed["input_ids"].shape == (1, 16) and fixed["attention_mask"].sum() == 5


def test_batching_does_not_change_scores(tiny_ranker, tiny_data):
    pairs = tiny_data.test[0].pairs()
    np.testing.assert_allclose(tiny_ranker.score_pairs(pairs, batch_size=3),
                               tiny_ranker.score_pairs(pairs, batch_size=64), atol=1e-5)


def test_presets_and_errors(tmp_path):
    tiny = load_ranker("tiny-random")
    assert tiny.model.config.num_hidden_layers == 2 and tiny.model.config.hidden_size == 32
    assert tiny.model.config.num_labels == 1
    with pytest.raises(UnknownPreset, match="presets: minilm-l6"):
        load_ranker("bert-huge")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnknownPreset, match="no config.json"):
        load_ranker(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError):
        BertRanker.load(tmp_path / "missing")


def test_same_seed_same_model():
    a, b = load_ranker("tiny-random", seed=1), load_ranker("tiny-random", seed=1)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)


@pytest.mark.slow
def test_minilm_preset_loads_offline():
    ranker = load_ranker("minilm-l6")
    cfg = ranker.model.config
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads) == (6, 384, 12)
    assert 22_000_000 < ranker.num_parameters() < 23_500_000
    scores = ranker.score_pairs([("watched: Toy Story (1995)", "Babe (1995) | Children's, Comedy")])
    assert scores.shape == (1,) and np.isfinite(scores).all()
