"""The claims of the PEFT rows of test_methods.ROWS (LoRA, prefix tuning, adapters): what trains,
what is saved, and that a merged or reloaded model scores as trained."""
from __future__ import annotations

import json

import numpy as np
from safetensors.torch import load_file


def torch_scores(artifact, requests) -> np.ndarray:
    return np.concatenate(artifact.torch_ranker().score(requests))


def lora_merged(art, teacher, requests, teacher_scores):
    from rankbench.compress.methods.peft import lora_unmerged

    unmerged = np.concatenate(lora_unmerged(art.path).score(requests))
    assert np.abs(torch_scores(art, requests) - unmerged).max() <= 1e-5
    assert (art.path / "adapter" / "adapter_model.safetensors").is_file()
    assert 0 < art.meta["trainable_params"] < art.meta["params"] / 100


def lora_with_norms_and_biases(art, teacher, requests, teacher_scores):
    from rankbench.compress.methods.peft import lora_unmerged

    # r=8 on query and value (2 layers x 2 x 8 x (32 + 32)), every bias outside the trained modules
    # (q, k, v, attention output: 32 each; FFN 64 + 32, per layer), the three layer norms' 64 each
    # and the embeddings' 64, the pooler (32 x 32 + 32) and the head (33).
    assert art.meta["trainable_params"] == 2 * 2 * 8 * 64 + 2 * (4 * 32 + 64 + 32) + (2 * 2 + 1) * 64 + 1056 + 33
    merged = art.torch_ranker().model.state_dict()
    base = teacher.torch_ranker().model.state_dict()
    for name in ("bert.encoder.layer.0.output.LayerNorm.weight", "bert.pooler.dense.weight",
                 "bert.encoder.layer.1.intermediate.dense.bias"):
        assert not np.allclose(merged[name].numpy(), base[name].numpy()), f"{name} did not train"
    unmerged = np.concatenate(lora_unmerged(art.path).score(requests))
    assert np.abs(torch_scores(art, requests) - unmerged).max() <= 1e-5


def prefix(art, teacher, requests, teacher_scores):
    # 16 virtual tokens x 2 layers x (key + value) x hidden 32, plus the 33 weights of the new head.
    assert art.meta["trainable_params"] == 16 * 2 * 2 * 32 + 33
    assert art.meta["flops_per_pair"] > teacher.meta["flops_per_pair"]


def adapter(art, teacher, requests, teacher_scores):
    state = load_file(str(art.path / "model.safetensors"))
    for i in range(2):
        for part in ("down", "up"):
            for kind in ("weight", "bias"):
                assert f"bert.encoder.layer.{i}.output.adapter.{part}.{kind}" in state
    assert state["bert.encoder.layer.0.output.adapter.down.weight"].shape == (8, 32)
    assert json.loads((art.path / "config.json").read_text())["rankbench_adapter_size"] == 8


def adapter_with_norms_and_biases(art, teacher, requests, teacher_scores):
    # The adapters (2 layers x (32 x 8 + 8 + 8 x 32 + 32)), the layers' four layer norms (64 each)
    # and the head (33) as always; then the embeddings' layer norm (64), the pooler (32 x 32 + 32)
    # and every other bias (q, k, v, attention output: 32 each; FFN 64 + 32, per layer).
    assert art.meta["trainable_params"] == 2 * 552 + 4 * 64 + 33 + 64 + 1056 + 2 * (4 * 32 + 64 + 32)
    trained = art.torch_ranker().model.state_dict()
    base = teacher.torch_ranker().model.state_dict()
    for name in ("bert.embeddings.LayerNorm.weight", "bert.pooler.dense.weight",
                 "bert.encoder.layer.1.attention.self.key.bias"):
        assert not np.allclose(trained[name].numpy(), base[name].numpy()), f"{name} did not train"
    assert np.allclose(trained["bert.encoder.layer.1.attention.self.key.weight"].numpy(),
                       base["bert.encoder.layer.1.attention.self.key.weight"].numpy())


def started_from_teacher(art, teacher, requests, teacher_scores):
    """A PEFT step with start="teacher": a few small steps from the teacher keep its scores' order
    (from the pre-trained base, whose head is fresh, they would be unrelated to the teacher's)."""
    assert art.meta["peft_start"] == "teacher" and "on top of the fine-tuned teacher" in " ".join(art.meta["notes"])
    assert np.corrcoef(torch_scores(art, requests), teacher_scores)[0, 1] > 0.99


def lora_all_linear_on_teacher(art, teacher, requests, teacher_scores):
    from rankbench.compress.methods.peft import lora_unmerged

    # r=4 on query, key, value and every "dense" (attention output, FFN in and out, the pooler):
    # 4 x (in + out) weights each, plus the one-output head (32 + 1) that SEQ_CLS trains.
    per_layer = 4 * (32 + 32) * 4 + 4 * (32 + 64) * 2
    assert art.meta["trainable_params"] == 2 * per_layer + 4 * (32 + 32) + 33
    assert json.loads((art.path / "adapter" / "base.json").read_text())["base"] == str(teacher.path.resolve())
    unmerged = np.concatenate(lora_unmerged(art.path).score(requests))
    assert np.abs(torch_scores(art, requests) - unmerged).max() <= 1e-5
    started_from_teacher(art, teacher, requests, teacher_scores)


def prefix_with_norms_and_biases(art, teacher, requests, teacher_scores):
    # 4 virtual tokens x 2 layers x (key + value) x 32, the head (33), the pooler (32 x 32 + 32),
    # five layer norms (64 each), saved with the prefix and loaded back with it; and every other bias
    # (q, k, v, attention output: 32 each; FFN 64 + 32, per layer), written into the saved base.
    assert art.meta["trainable_params"] == 4 * 2 * 2 * 32 + 33 + 1056 + 5 * 64 + 2 * (4 * 32 + 64 + 32)
    saved = load_file(str(art.path / "adapter" / "adapter_model.safetensors"))
    assert any("pooler" in k for k in saved) and sum("LayerNorm" in k for k in saved) == 10
    loaded = art.torch_ranker().model.state_dict()
    base = teacher.torch_ranker().model.state_dict()
    weight = next(v for k, v in loaded.items() if "pooler.modules_to_save" in k and k.endswith("dense.weight"))
    assert not np.allclose(weight.numpy(), base["bert.pooler.dense.weight"].numpy())
    bias = next(v for k, v in loaded.items() if k.endswith("layer.1.intermediate.dense.bias"))
    assert not np.allclose(bias.numpy(), base["bert.encoder.layer.1.intermediate.dense.bias"].numpy())
    key = next(v for k, v in loaded.items() if k.endswith("layer.1.attention.self.key.weight"))
    assert np.allclose(key.numpy(), base["bert.encoder.layer.1.attention.self.key.weight"].numpy())


def prefix_projected(art, teacher, requests, teacher_scores):
    # An embedding of 4 x 32, then the MLP 32 -> 32 -> 2 layers x (key + value) x 32, and the head.
    assert art.meta["trainable_params"] == 4 * 32 + (32 * 32 + 32) + (32 * 128 + 128) + 33
    assert art.meta["peft_start"] == "teacher"
