"""Prefix tuning started from real activations: peft reads the prefix as the keys and values the
base model computes for real tokens, and compress starts from exactly those."""
from __future__ import annotations

import torch
from safetensors.torch import load_file

from rankbench.compress.api import compress
from rankbench.compress.methods.prefix_init import init_prefix_from_activations, real_token_key_values
from rankbench.models.presets import load_ranker


def keys_and_values(model, batch, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Layer `layer`'s key and value projections of every real token, from its input hidden states
    (another path than the hooks prefix_init uses)."""
    with torch.no_grad():
        hidden = model.bert(**{k: torch.from_numpy(v) for k, v in batch.items()},
                            output_hidden_states=True).hidden_states[layer]
        attention = model.bert.encoder.layer[layer].attention.self
        real = torch.from_numpy(batch["attention_mask"]).reshape(-1).bool()
        flat = hidden.reshape(real.numel(), -1)[real]
        return attention.key(flat), attention.value(flat)


def test_peft_reads_the_prefix_as_each_layers_keys_and_values(data):
    from peft import PrefixTuningConfig, TaskType, get_peft_model

    ranker = load_ranker("tiny-random", seed=0, max_length=48)
    batch = ranker.encode(data.train[0].pairs())
    model = get_peft_model(ranker.model, PrefixTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=5))
    init_prefix_from_activations(model, ranker, data.train[:1], 5)
    prompt = model.get_prompt(batch_size=1)
    legacy = prompt.to_legacy_cache() if hasattr(prompt, "to_legacy_cache") else prompt
    base = model.get_base_model()
    for layer in range(base.config.num_hidden_layers):
        key, value = keys_and_values(base, batch, layer)
        read_key, read_value = legacy[layer]  # (batch, heads, tokens, head_dim)
        torch.testing.assert_close(read_key[0].transpose(0, 1).reshape(5, -1), key[:5])
        torch.testing.assert_close(read_value[0].transpose(0, 1).reshape(5, -1), value[:5])


def test_compress_starts_the_prefix_from_the_first_training_tokens(teacher, ctx, data):
    # One step at a negligible rate: the saved prefix is still (to 1e-4) where training started.
    art = compress(teacher, {"method": "prefix", "num_virtual_tokens": 8, "init": "activations",
                             "max_steps": 1, "lr": 1e-7}, ctx)
    saved = next(v for k, v in load_file(str(art.path / "adapter" / "adapter_model.safetensors")).items()
                 if "prompt_encoder" in k or "prompt_embeddings" in k)
    base = load_ranker("tiny-random", seed=ctx.seed, max_length=48)
    start = real_token_key_values(base.model, base.encode(data.train[0].pairs()), 8)
    assert saved.shape == start.shape
    torch.testing.assert_close(saved, start, atol=1e-4, rtol=0)
    assert start.abs().max() > 0.05  # not a prefix of zeros, which would pass against zeros
