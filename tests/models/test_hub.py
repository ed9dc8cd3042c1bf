"""A Hugging Face hub id as the starting point, offline: a tiny model laid out in a temporary HF cache
(models--org--name/refs/main + snapshots/<commit>/), HF_HUB_OFFLINE=1, and no socket may connect."""
from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from rankbench.models.hub import HubModelUnavailable
from rankbench.models.presets import base_layers, load_ranker

COMMIT_A = "a" * 40
COMMIT_B = "b" * 40


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    return cache


def put_in_cache(cache, repo_id: str, commit: str, model, tokenizer):
    """Save `model` and `tokenizer` as the hub cache holds a downloaded snapshot."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    model.save_pretrained(snapshot)
    tokenizer.save_pretrained(snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def test_a_cached_cross_encoder_loads_offline_and_keeps_its_head(hf_cache, tiny_ranker, tiny_data):
    tiny_ranker.model.classifier.weight.data.mul_(50.0)  # a trained-looking head, so scores spread
    put_in_cache(hf_cache, "acme/tiny-cross-encoder", COMMIT_A, tiny_ranker.model, tiny_ranker.tokenizer)
    loaded = load_ranker("acme/tiny-cross-encoder", seed=7, max_length=tiny_ranker.max_length)
    requests = tiny_data.test[:2]
    expected = np.concatenate(tiny_ranker.score(requests))
    assert np.ptp(expected) > 1e-3
    assert np.allclose(np.concatenate(loaded.score(requests)), expected, atol=1e-5)  # not a fresh head
    assert base_layers("acme/tiny-cross-encoder") == 2


def test_a_checkpoint_with_another_head_gets_a_fresh_one_output_head(hf_cache, tiny_ranker):
    from transformers import BertForSequenceClassification

    config = tiny_ranker.model.config
    config.num_labels = 3  # e.g. an NLI cross-encoder
    put_in_cache(hf_cache, "acme/nli", COMMIT_A, BertForSequenceClassification(config), tiny_ranker.tokenizer)
    loaded = load_ranker("acme/nli")
    assert loaded.model.config.num_labels == 1 and loaded.model.classifier.out_features == 1


def test_offline_without_a_cached_copy_says_what_to_do(hf_cache):
    with pytest.raises(HubModelUnavailable) as err:
        load_ranker("acme/not-downloaded")
    message = str(err.value)
    assert "'acme/not-downloaded'" in message and "not in the Hugging Face cache" in message
    assert "HF_HUB_OFFLINE is set" in message and str(hf_cache) in message
    assert "huggingface-cli download acme/not-downloaded" in message and "local model folder" in message


def test_a_non_bert_model_is_refused(hf_cache, tiny_ranker):
    snapshot = put_in_cache(hf_cache, "acme/roberta", COMMIT_A, tiny_ranker.model, tiny_ranker.tokenizer)
    config = json.loads((snapshot / "config.json").read_text())
    (snapshot / "config.json").write_text(json.dumps({**config, "model_type": "roberta"}))
    with pytest.raises(ValueError, match="'roberta' model; rankbench rankers are BERT"):
        load_ranker("acme/roberta")


def test_the_teacher_key_names_the_snapshot_commit(hf_cache, tiny_ranker):
    from rankbench.models.data import DataConfig
    from rankbench.models.teacher import TeacherConfig, teacher_key

    put_in_cache(hf_cache, "acme/tiny", COMMIT_A, tiny_ranker.model, tiny_ranker.tokenizer)
    config, data = TeacherConfig(base="acme/tiny"), DataConfig(dataset="synthetic")
    first = teacher_key(config, data)
    assert teacher_key(config, data) == first
    put_in_cache(hf_cache, "acme/tiny", COMMIT_B, tiny_ranker.model, tiny_ranker.tokenizer)  # refs/main moves on
    assert teacher_key(config, data) != first


def test_train_with_a_hub_id_as_preset(hf_cache, tiny_ranker, capsys):
    from rankbench.cli import main

    put_in_cache(hf_cache, "acme/tiny", COMMIT_A, tiny_ranker.model, tiny_ranker.tokenizer)
    args = ["--dataset", "synthetic", "--preset", "acme/tiny", "--max-steps", "1", "--max-length", "32"]
    assert main(["train", *args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"] == 1 and report["base"] == "acme/tiny"
    assert main(["train", "--dataset", "synthetic", "--preset", "acme/absent", "--max-steps", "1"]) == 2
    assert "not in the Hugging Face cache" in capsys.readouterr().err
