import numpy as np
import pytest
import torch

from rankbench.models.metrics import evaluate
from rankbench.models.presets import load_ranker
from rankbench.models.train import LOSSES, TrainConfig, train


def _params(ranker):
    return [p.detach().clone() for p in ranker.model.parameters()]


@pytest.mark.parametrize("losses", [{"listwise": 1.0}, {"bce": 1.0}, {"listwise": 1.0, "bce": 0.5}])
def test_training_reduces_loss_and_learns(tiny_data, losses):
    ranker = load_ranker("tiny-random", max_length=48)
    before = evaluate(ranker.score(tiny_data.train[:60]), tiny_data.train[:60])["auc"]
    report = train(ranker, tiny_data.train, TrainConfig(epochs=4, lr=3e-3, losses=losses,
                                                        freeze_word_embeddings=False), progress=False)
    curve = report["loss_curve"]
    assert np.mean(curve[-5:]) < np.mean(curve[:5])
    after = evaluate(ranker.score(tiny_data.train[:60]), tiny_data.train[:60])["auc"]
    assert after > before


def test_word_embeddings_frozen_by_default(tiny_data):
    ranker = load_ranker("tiny-random", max_length=48)
    emb = ranker.model.get_input_embeddings().weight.detach().clone()
    layer = ranker.model.bert.encoder.layer[0].output.dense.weight.detach().clone()
    train(ranker, tiny_data.train, TrainConfig(max_steps=3, lr=1e-2), progress=False)
    assert torch.equal(emb, ranker.model.get_input_embeddings().weight)
    assert not torch.equal(layer, ranker.model.bert.encoder.layer[0].output.dense.weight)
    assert ranker.model.get_input_embeddings().weight.requires_grad  # restored after training


def test_resume_after_interruption_matches_uninterrupted(tiny_data, tmp_path):
    config = TrainConfig(max_steps=8, checkpoint_every=4, lr=1e-3, batch_requests=4)
    full = load_ranker("tiny-random", max_length=48)
    train(full, tiny_data.train, config, progress=False)

    # A run that dies during step 6 (after the step-4 checkpoint), resumed in a fresh process/model.
    interrupted = load_ranker("tiny-random", max_length=48)
    partial = config
    ckpt_dir = tmp_path / "resume"

    class Stop(Exception):
        pass

    calls = {"n": 0}
    original = LOSSES["listwise"]

    def crashing(*args):
        calls["n"] += 1
        if calls["n"] == 6:
            raise Stop
        return original(*args)

    LOSSES["listwise"] = crashing
    try:
        with pytest.raises(Stop):
            train(interrupted, tiny_data.train, partial, checkpoint_dir=ckpt_dir, progress=False)
    finally:
        LOSSES["listwise"] = original
    resumed = load_ranker("tiny-random", max_length=48)
    assert torch.load(ckpt_dir / "checkpoint.pt", weights_only=False)["step"] == 4
    report = train(resumed, tiny_data.train, partial, checkpoint_dir=ckpt_dir, progress=False)
    assert report["steps"] == 8
    for a, b in zip(_params(full), _params(resumed)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_distillation_loss_needs_targets(tiny_data):
    ranker = load_ranker("tiny-random")
    with pytest.raises(ValueError, match="teacher's scores"):
        train(ranker, tiny_data.train, TrainConfig(losses={"distill-kl": 1.0}), progress=False)
    targets = [np.asarray(r.labels, np.float32) * 5 for r in tiny_data.train]
    report = train(ranker, tiny_data.train, TrainConfig(max_steps=2, losses={"distill-kl": 1.0, "bce": 0.5}),
                   targets=targets, progress=False)
    assert report["steps"] == 2


def test_config_validation():
    with pytest.raises(ValueError, match="unknown loss"):
        TrainConfig(losses={"hinge": 1.0})
    with pytest.raises(ValueError, match="warmup_ratio"):
        TrainConfig(warmup_ratio=1.5)


def test_peak_memory_counts_what_the_work_added():
    from rankbench.models.memory import PeakRSS

    with PeakRSS() as peak:
        block = np.ones(16 * 2**20 // 8 * 8)  # 128 MiB of float64, touched, alive at the end
    assert block.sum() > 0
    result = peak.result()
    assert result["peak_rss_delta_bytes"] >= 100 * 2**20
    assert result["peak_rss_bytes"] >= result["peak_rss_delta_bytes"]


def test_training_reports_its_peak_memory(tiny_data):
    ranker = load_ranker("tiny-random", max_length=48)
    report = train(ranker, tiny_data.train, TrainConfig(max_steps=2), progress=False)
    assert report["peak_rss_bytes"] > 0 and report["peak_rss_delta_bytes"] >= 0
