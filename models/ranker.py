"""BertRanker: a BERT cross-encoder that scores (user context, candidate item) pairs.

    ranker = BertRanker.load("path/to/ranker")         # or models.presets.load_ranker("minilm-l6")
    scores = ranker.score(requests)                     # one float32 array per request
    ranker.save("out/")                                 # HF files + tokenizer + ranker.json

Pairs are tokenized with dynamic padding: to the longest pair of the batch, capped at `max_length`.
`encode` returns numpy arrays so every backend (torch, ONNX Runtime, JAX, TensorRT) shares them.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification
from transformers.models.bert.modeling_bert import BertOutput

from rankbench.models.requests import Request

RANKER_FILE = "ranker.json"
DEFAULT_MAX_LENGTH = 128
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class BottleneckAdapter(torch.nn.Module):
    """A Houlsby-style bottleneck: h + up(gelu(down(h))). `up` starts at zero, so a fresh adapter is
    the identity and training starts from the pre-trained model's behaviour."""

    def __init__(self, hidden: int, size: int):
        super().__init__()
        self.down = torch.nn.Linear(hidden, size)
        self.up = torch.nn.Linear(size, hidden)
        torch.nn.init.zeros_(self.up.weight)
        torch.nn.init.zeros_(self.up.bias)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        # Exact (erf) GELU: the JAX backend mirrors this formula.
        return hidden_states + self.up(torch.nn.functional.gelu(self.down(hidden_states)))


class BertOutputWithAdapter(BertOutput):
    """BertOutput with a bottleneck adapter after the FFN's output projection, before the residual."""

    def __init__(self, config: BertConfig, adapter_size: int):
        super().__init__(config)
        self.adapter = BottleneckAdapter(config.hidden_size, adapter_size)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        hidden_states = self.adapter(self.dense(hidden_states))
        hidden_states = self.dropout(hidden_states)
        return self.LayerNorm(hidden_states + input_tensor)


CUSTOM_FIELDS = ("rankbench_intermediate_sizes", "rankbench_adapter_size")


def build_model(config: BertConfig) -> BertForSequenceClassification:
    """A BertForSequenceClassification honouring the shapes recorded in `config`.

    Two rankbench fields are not part of BertConfig, so the affected modules are replaced here before
    any weights are loaded: `rankbench_intermediate_sizes` (per-layer FFN widths, written by FFN
    pruning) and `rankbench_adapter_size` (a bottleneck adapter in every layer's BertOutput).
    Pruned heads (`config.pruned_heads`) are applied too, so the result takes a saved state dict as is.
    """
    model = BertForSequenceClassification(config)
    widths = getattr(config, "rankbench_intermediate_sizes", None)
    adapter = getattr(config, "rankbench_adapter_size", None)
    if widths and len(widths) != config.num_hidden_layers:
        raise ValueError(f"rankbench_intermediate_sizes has {len(widths)} entries for "
                         f"{config.num_hidden_layers} layers")
    for i, layer in enumerate(model.bert.encoder.layer):
        if adapter:
            layer.output = BertOutputWithAdapter(config, int(adapter))
        if widths:
            layer.intermediate.dense = torch.nn.Linear(config.hidden_size, int(widths[i]))
            layer.output.dense = torch.nn.Linear(int(widths[i]), config.hidden_size)
    if config.pruned_heads:
        model.prune_heads({int(k): list(v) for k, v in config.pruned_heads.items()})
    return model


def load_model(path: str | Path) -> BertForSequenceClassification:
    config = BertConfig.from_pretrained(path)
    if not any(getattr(config, name, None) for name in CUSTOM_FIELDS):
        return BertForSequenceClassification.from_pretrained(path, num_labels=1).eval()
    from safetensors.torch import load_file

    weights = Path(path) / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{path}: a model with rankbench shape fields needs model.safetensors")
    model = build_model(config)
    state = load_file(str(weights))
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Only non-persistent buffers may be absent (e.g. position_ids); anything else is a broken folder.
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not match the config (missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]})")
    return model.eval()


def with_dropout(model: BertForSequenceClassification, p: float) -> BertForSequenceClassification:
    """The same weights in a model whose hidden, attention and classifier dropout are `p`.

    Rebuilt from an edited config rather than edited in place: attention may read its rate from the
    config at build time (SDPA) and the saved config then tells what the model trained with.
    """
    config = copy.deepcopy(model.config)
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = config.classifier_dropout = p
    rebuilt = build_model(config)
    rebuilt.load_state_dict(model.state_dict())
    return rebuilt.train(model.training)


class BertRanker:
    def __init__(self, model: torch.nn.Module, tokenizer, max_length: int = DEFAULT_MAX_LENGTH):
        if max_length < 8:
            raise ValueError(f"max_length must be >= 8, got {max_length}")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length

    # --- persistence -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> "BertRanker":
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"no model folder at {path}")
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} is not a Hugging Face model folder (no config.json)")
        meta = json.loads((path / RANKER_FILE).read_text()) if (path / RANKER_FILE).is_file() else {}
        tokenizer = AutoTokenizer.from_pretrained(path)
        return cls(load_model(path), tokenizer, meta.get("max_length", DEFAULT_MAX_LENGTH))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        (path / RANKER_FILE).write_text(json.dumps({"max_length": self.max_length}, indent=1))
        return path

    # --- scoring -----------------------------------------------------------------------------
    def encode(self, pairs: list[tuple[str, str]], pad_to: int | None = None) -> dict[str, np.ndarray]:
        """Tokenize pairs; pad to the longest pair (or to `pad_to`, for fixed-shape backends)."""
        contexts, texts = zip(*pairs) if pairs else ((), ())
        enc = self.tokenizer(list(contexts), list(texts), truncation="longest_first",
                             max_length=min(pad_to or self.max_length, self.max_length),
                             padding="max_length" if pad_to else "longest", return_tensors="np")
        return {k: enc[k].astype(np.int64) for k in MODEL_INPUTS if k in enc}

    @torch.inference_mode()
    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        inputs = {k: torch.from_numpy(v) for k, v in batch.items()}
        return self.model(**inputs).logits.reshape(-1).float().numpy()

    def score_pairs(self, pairs: list[tuple[str, str]], batch_size: int = 128) -> np.ndarray:
        self.model.eval()
        parts = [self.logits(self.encode(pairs[i:i + batch_size])) for i in range(0, len(pairs), batch_size)]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def score(self, requests: list[Request], batch_size: int = 128, progress: bool = False) -> list[np.ndarray]:
        from tqdm.auto import tqdm

        out = []
        for req in tqdm(requests, desc="scoring", unit="req", disable=not progress, leave=False):
            out.append(self.score_pairs(req.pairs(), batch_size))
        return out

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())
