"""PairEncoder: tokenizes (context, candidate) pairs exactly as `BertRanker.encode` does, for any
artifact folder (every format keeps its tokenizer files and ranker.json), without loading the model.

    encoder = PairEncoder.from_folder(artifact.path)
    batch = encoder.encode(request.pairs())        # {"input_ids", "attention_mask", "token_type_ids"}

    encoder.load_catalog((c.id, c.text) for r in requests for c in r.candidates)   # once, at load
    batch = encoder.encode_request(context, [c.text for c in candidates])          # same ids, faster
    ctx = encoder.context_ids(context)                 # or in two timed steps:
    batch = encoder.assemble([(ctx, texts)])           # several requests -> one padded batch

Every backend tokenizes through this class, so one definition says how pairs become ids.

The catalog path: item texts change rarely, so they are tokenized once (`load_catalog`); a request
tokenizes its context once and each pair's ids are assembled by concatenation with the tokenizer's
own special tokens, `longest_first` truncation (models.pair_ids), padding and token types. The ids
equal the tokenizer's output (tests/models/test_encoder_catalog.py checks every ML-100K test request);
a text not in the catalog is tokenized on the spot. A tokenizer whose layout cannot be assembled
that way (a slow tokenizer, left truncation) takes the plain path for every request.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Iterable

import numpy as np

from rankbench.models.pair_ids import PairTemplate


class PairEncoder:
    def __init__(self, tokenizer, max_length: int):
        self.tokenizer = tokenizer
        self.max_length = max_length
        # The fast tokenizer's truncation/padding state is shared: concurrent calls with different
        # settings fail ("Already borrowed"), and the service's worker threads share one encoder.
        self._lock = threading.Lock()
        self._text_ids: dict[str, list[int]] = {}  # item text -> token ids without special tokens
        self._item_text: dict[str, str] = {}  # item id -> text (catalog look-ups by id)
        self.template = PairTemplate.of(tokenizer)  # None: this tokenizer takes the plain path
        self.with_types = "token_type_ids" in getattr(tokenizer, "model_input_names", ())

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
        with self._lock:
            return BertRanker.encode(self, pairs, pad_to)  # type: ignore[arg-type]

    # --- the catalog ------------------------------------------------------------------------------
    def load_catalog(self, items: Iterable[tuple[str, str]]) -> int:
        """Tokenize the (item id, text) pairs not seen yet; returns the catalog's size. Reloading with
        changed texts replaces them (ids are looked up by text, so a changed text is never stale)."""
        items = list(items)
        new = sorted({text for _, text in items} - set(self._text_ids))
        text_ids = dict(self._text_ids)
        if new:
            text_ids.update(zip(new, self.token_ids(new)))
        item_text = {**self._item_text, **{item_id: text for item_id, text in items}}
        self._text_ids, self._item_text = text_ids, item_text  # swapped whole: readers never see half
        return len(item_text)

    def catalog_text(self, item_id: str) -> str | None:
        return self._item_text.get(item_id)

    @property
    def catalog_size(self) -> int:
        return len(self._item_text)

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text alone, without special tokens (what a pair is assembled from)."""
        if not texts:
            return []
        with self._lock:
            return list(self.tokenizer(list(texts), add_special_tokens=False)["input_ids"])

    def context_ids(self, context: str) -> list[int]:
        return self.token_ids([context])[0]

    # --- requests ---------------------------------------------------------------------------------
    def encode_request(self, context: str, texts: list[str], pad_to: int | None = None) -> dict[str, np.ndarray]:
        """One request's pairs (context, text) for each text: the ids `encode` gives, from the catalog."""
        if self.template is None:
            return self.encode([(context, t) for t in texts], pad_to)
        return self.assemble([(self.context_ids(context), texts)], pad_to)

    def encode_requests(self, requests: list[tuple[str, list[str]]], pad_to: int | None = None) -> dict[str, np.ndarray]:
        """Several requests' pairs, in order, as one batch padded to its longest pair."""
        if self.template is None:
            return self.encode([(c, t) for c, texts in requests for t in texts], pad_to)
        contexts = self.token_ids([c for c, _ in requests])
        return self.assemble(list(zip(contexts, [texts for _, texts in requests])), pad_to)

    def assemble(self, requests: list[tuple[list[int], list[str]]], pad_to: int | None = None) -> dict[str, np.ndarray]:
        """(context ids, item texts) per request -> one batch; items missing from the catalog are
        tokenized here, in one call."""
        if self.template is None:
            raise ValueError("this tokenizer cannot assemble pairs from cached ids; use encode()")
        cached = self._text_ids
        missing = sorted({t for _, texts in requests for t in texts if t not in cached})
        extra = dict(zip(missing, self.token_ids(missing))) if missing else {}
        length = min(pad_to or self.max_length, self.max_length)
        rows = [self.template.pair(ctx, cached[t] if t in cached else extra[t], length)
                for ctx, texts in requests for t in texts]
        return self.template.batch(rows, pad_to=length if pad_to else None, with_types=self.with_types)
