"""PairEncoder: tokenizes (context, candidate) pairs exactly as `BertRanker.encode` does, for any
artifact folder (every format keeps its tokenizer files and ranker.json), without loading the model.

    encoder = PairEncoder.from_folder(artifact.path)
    batch = encoder.encode(request.pairs())        # {"input_ids", "attention_mask", "token_type_ids"}

Every backend tokenizes through this class, so one definition says how pairs become ids.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class PairEncoder:
    def __init__(self, tokenizer, max_length: int):
        self.tokenizer = tokenizer
        self.max_length = max_length

    @classmethod
    def from_folder(cls, folder: str | Path) -> "PairEncoder":
        from transformers import AutoTokenizer

        from rankbench.models.ranker import DEFAULT_MAX_LENGTH, RANKER_FILE

        folder = Path(folder)
        meta_file = folder / RANKER_FILE
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        return cls(AutoTokenizer.from_pretrained(folder), int(meta.get("max_length", DEFAULT_MAX_LENGTH)))

    def encode(self, pairs, pad_to: int | None = None) -> dict[str, np.ndarray]:
        from rankbench.models.ranker import BertRanker

        # The very same code path as the ranker's (one definition of how pairs are tokenized).
        return BertRanker.encode(self, pairs, pad_to)  # type: ignore[arg-type]
