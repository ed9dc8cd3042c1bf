"""The teacher's `dropout` option: what it changes in the model, the cache key and the training."""
import json

import pytest
import torch

from rankbench.models.data import DataConfig
from rankbench.models.presets import load_ranker
from rankbench.models.ranker import with_dropout
from rankbench.models.teacher import TeacherConfig, get_teacher, teacher_key
from rankbench.models.train import TrainConfig

TINY_DATA = DataConfig(dataset="synthetic", synthetic_users=30, synthetic_items=150, train_per_user=4,
                       n_candidates=20)


def _twice_in_train_mode(model, batch):
    model.train()
    with torch.no_grad():
        return model(**batch).logits, model(**batch).logits


def test_with_dropout_keeps_the_weights_and_sets_every_rate(tiny_ranker, tiny_data):
    enc = tiny_ranker.encode(tiny_data.train[0].pairs())
    batch = {k: torch.from_numpy(v) for k, v in enc.items()}
    first, second = _twice_in_train_mode(tiny_ranker.model, batch)
    assert not torch.equal(first, second)  # the base's own dropout (0.1) is on in train mode
    rebuilt = with_dropout(tiny_ranker.model, 0.0)
    config = rebuilt.config
    assert (config.hidden_dropout_prob, config.attention_probs_dropout_prob, config.classifier_dropout) == (0, 0, 0)
    for (name, a), (_, b) in zip(tiny_ranker.model.state_dict().items(), rebuilt.state_dict().items()):
        assert torch.equal(a, b), name
    first, second = _twice_in_train_mode(rebuilt, batch)
    assert torch.equal(first, second)
    tiny_ranker.model.eval()
    rebuilt.eval()
    with torch.no_grad():
        assert torch.equal(tiny_ranker.model(**batch).logits, rebuilt(**batch).logits)


def test_teacher_dropout_trains_as_a_base_whose_config_says_so(tmp_path):
    """dropout = 0.0 trains the very model the ablation measured: a base folder with dropout 0."""
    folder = load_ranker("tiny-random", seed=0, max_length=48).save(tmp_path / "base")
    train = TrainConfig(max_steps=3, batch_requests=4, lr=1e-3)
    by_option, _, report = get_teacher(TeacherConfig(base=str(folder), max_length=48, train=train, dropout=0.0),
                                       TINY_DATA, cache=tmp_path / "cache", progress=False)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    by_folder, _, _ = get_teacher(TeacherConfig(base=str(folder), max_length=48, train=train),
                                  TINY_DATA, cache=tmp_path / "cache", progress=False)
    assert report["dropout"] == 0.0 and by_option.model.config.hidden_dropout_prob == 0.0
    for (name, a), (_, b) in zip(by_option.model.state_dict().items(), by_folder.model.state_dict().items()):
        assert torch.equal(a, b), name
    with_default, _, _ = get_teacher(TeacherConfig(base="tiny-random", max_length=48, train=train),
                                     TINY_DATA, cache=tmp_path / "cache", progress=False)
    assert with_default.model.config.hidden_dropout_prob == 0.1
    assert not torch.equal(with_default.model.classifier.weight, by_option.model.classifier.weight)


def test_dropout_is_part_of_the_teacher_key_and_checked():
    keys = {teacher_key(TeacherConfig(dropout=p), DataConfig()) for p in (None, 0.0, 0.05)}
    assert len(keys) == 3
    for bad in (1.0, -0.1, True):
        with pytest.raises(ValueError, match="dropout must be in"):
            TeacherConfig(dropout=bad)
