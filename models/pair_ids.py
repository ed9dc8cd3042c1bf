"""Pair ids assembled from each side's cached token ids, as the fast tokenizer would make them.

    template = PairTemplate.of(tokenizer)            # None when this tokenizer cannot be mirrored
    ids, types = template.pair(context_ids, item_ids, max_length=64)
    batch = template.batch([(ids, types), ...])      # padded like tokenizer(..., padding="longest")

`truncate_longest_first` is the rule of the Rust tokenizers library (TruncationStrategy::LongestFirst
for a pair): with a budget B = max_length - special tokens, when the pair is too long the shorter
side is kept whole if the longer one can take the rest; otherwise the shorter side gets B // 2 and
the longer one B // 2 + B % 2. (The slow Python tokenizers remove one token at a time from the
longer side instead, which can end elsewhere: `of` refuses them.) `of` also checks the template
against the tokenizer's own output on probe pairs that truncate each side, so a layout it got
wrong falls back to tokenizing rather than giving different ids.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def truncate_longest_first(n1: int, n2: int, budget: int) -> tuple[int, int]:
    """Lengths kept of a pair of sides of n1 and n2 tokens, `budget` tokens for both."""
    if n1 + n2 <= budget:
        return n1, n2
    short, long_ = (n2, n1) if n1 > n2 else (n1, n2)
    if short > budget:
        long_ = short
    else:
        long_ = max(short, budget - short)
    if short + long_ > budget:
        short = budget // 2
        long_ = short + budget % 2
    return (long_, short) if n1 > n2 else (short, long_)


@dataclass(frozen=True)
class PairTemplate:
    """prefix + A + middle + B + suffix, each segment with its own token type."""

    prefix: tuple[int, ...]
    middle: tuple[int, ...]
    suffix: tuple[int, ...]
    type_a: int  # token type of the prefix, A and the middle
    type_b: int  # token type of B and the suffix
    pad_id: int
    pad_type: int

    @property
    def specials(self) -> int:
        return len(self.prefix) + len(self.middle) + len(self.suffix)

    @classmethod
    def of(cls, tokenizer) -> "PairTemplate | None":
        """The template of a fast, right-truncating, right-padding tokenizer, checked on probes."""
        if not getattr(tokenizer, "is_fast", False) or tokenizer.pad_token_id is None:
            return None
        if getattr(tokenizer, "truncation_side", "right") != "right" or \
                getattr(tokenizer, "padding_side", "right") != "right":
            return None
        try:
            template = cls._from_sentinels(tokenizer)
        except (ValueError, TypeError, AttributeError, NotImplementedError):
            return None
        return template if template is not None and template.matches(tokenizer) else None

    @classmethod
    def _from_sentinels(cls, tokenizer) -> "PairTemplate | None":
        a, b = -1, -2  # ids no vocabulary has: where they land is where A and B go
        ids = list(tokenizer.build_inputs_with_special_tokens([a], [b]))
        types = list(tokenizer.create_token_type_ids_from_sequences([a], [b]))
        if ids.count(a) != 1 or ids.count(b) != 1 or len(types) != len(ids):
            return None
        i, j = ids.index(a), ids.index(b)
        if not i < j or len(set(types[:j])) != 1 or len(set(types[j:])) != 1:
            return None
        if len(ids) - 2 != tokenizer.num_special_tokens_to_add(pair=True):
            return None
        return cls(tuple(ids[:i]), tuple(ids[i + 1:j]), tuple(ids[j + 1:]), types[0], types[j],
                   int(tokenizer.pad_token_id), int(getattr(tokenizer, "pad_token_type_id", 0)))

    def matches(self, tokenizer) -> bool:
        """Same ids, types and mask as the tokenizer on pairs that truncate the context, the item,
        both, neither, and with an empty side."""
        long_ = "the quick brown fox jumps over the lazy dog " * 4
        probes = [("watched: heat; casino", "ronin (1998) | action"), (long_, "babe | comedy"),
                  ("toy story", long_), (long_, long_ + "again"), ("", "x"), ("y", "")]
        for length in (self.specials + 5, self.specials + 6, 24):
            enc = tokenizer([c for c, _ in probes], [t for _, t in probes], truncation="longest_first",
                            max_length=length, padding="longest")
            sides = [tokenizer(list(side), add_special_tokens=False)["input_ids"] for side in zip(*probes)]
            mine = self.batch([self.pair(c, t, length) for c, t in zip(*sides)], with_types=True)
            for key in ("input_ids", "attention_mask", "token_type_ids"):
                if key in enc and not np.array_equal(np.asarray(enc[key]), mine[key]):
                    return False
        return True

    def pair(self, context: list[int], item: list[int], max_length: int) -> tuple[list[int], list[int]]:
        """(ids, token types) of one pair truncated to max_length tokens in all."""
        n1, n2 = truncate_longest_first(len(context), len(item), max_length - self.specials)
        a = self.prefix + tuple(context[:n1]) + self.middle
        b = tuple(item[:n2]) + self.suffix
        return [*a, *b], [self.type_a] * len(a) + [self.type_b] * len(b)

    def batch(self, rows: list[tuple[list[int], list[int]]], pad_to: int | None = None,
              with_types: bool = True) -> dict[str, np.ndarray]:
        """Rows padded to the longest (or to pad_to), in BertRanker.encode's keys and dtypes."""
        width = pad_to or max((len(ids) for ids, _ in rows), default=0)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        types = np.full((len(rows), width), self.pad_type, dtype=np.int64)
        for r, (row_ids, row_types) in enumerate(rows):
            n = len(row_ids)
            ids[r, :n] = row_ids
            mask[r, :n] = 1
            types[r, :n] = row_types
        out = {"input_ids": ids, "attention_mask": mask}
        if with_types:
            out["token_type_ids"] = types
        return out
