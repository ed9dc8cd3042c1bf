"""The catalog path of PairEncoder gives exactly the tokenizer's ids: every truncation case, several
max lengths, unicode and empty-looking texts from a JSONL file, items missing from the catalog, and
(slow) every ML-100K test request."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rankbench.models.encoder import PairEncoder
from rankbench.models.pair_ids import PairTemplate, truncate_longest_first

TRICKY = Path(__file__).parent / "data" / "tricky_requests.jsonl"


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from rankbench.models.presets import minilm_path

    return AutoTokenizer.from_pretrained(minilm_path())


def assert_same(encoder: PairEncoder, requests, pad_to=None) -> int:
    """Catalog ids == tokenizer ids for every request; returns the pairs compared."""
    compared = 0
    for req in requests:
        texts = [c.text for c in req.candidates]
        expected = encoder.encode([(req.context, t) for t in texts], pad_to)
        got = encoder.encode_request(req.context, texts, pad_to)
        assert list(got) == list(expected), req.id
        for key in expected:
            assert got[key].dtype == expected[key].dtype
            np.testing.assert_array_equal(got[key], expected[key], err_msg=f"{req.id}: {key}")
        compared += len(texts)
    return compared


def catalog_encoder(tokenizer, requests, max_length: int) -> PairEncoder:
    encoder = PairEncoder(tokenizer, max_length)
    assert encoder.template is not None, "the MiniLM fast tokenizer must take the catalog path"
    encoder.load_catalog((c.id, c.text) for r in requests for c in r.candidates)
    return encoder


def test_longest_first_rule_by_hand():
    assert truncate_longest_first(3, 4, 10) == (3, 4)  # fits: nothing cut
    assert truncate_longest_first(2, 20, 10) == (2, 8)  # only the item is cut
    assert truncate_longest_first(20, 2, 10) == (8, 2)  # only the context is cut
    assert truncate_longest_first(20, 30, 11) == (5, 6)  # both: the longer side gets the odd token
    assert truncate_longest_first(30, 20, 11) == (6, 5)
    assert truncate_longest_first(7, 7, 10) == (5, 5)


@pytest.mark.parametrize("max_length", [9, 16, 33, 64, 128])
def test_ids_equal_the_tokenizer_on_every_truncation_case(tokenizer, max_length):
    from rankbench.models.jsonl_data import read_requests
    from tests.bench.conftest import make_requests

    requests = read_requests(TRICKY)["test"] + make_requests(6, 12)
    encoder = catalog_encoder(tokenizer, requests, max_length)
    assert assert_same(encoder, requests) > 50
    assert assert_same(encoder, requests, pad_to=max_length) > 50
    assert assert_same(encoder, requests[:3], pad_to=max(8, max_length // 2)) > 0


def test_the_tricky_file_covers_each_side_being_cut(tokenizer):
    from rankbench.models.jsonl_data import read_requests

    requests = read_requests(TRICKY)["test"]
    budget = 64 - PairTemplate.of(tokenizer).specials
    cuts = set()
    for req in requests:
        n1 = len(tokenizer(req.context, add_special_tokens=False)["input_ids"])
        for c in req.candidates:
            n2 = len(tokenizer(c.text, add_special_tokens=False)["input_ids"])
            k1, k2 = truncate_longest_first(n1, n2, budget)
            cuts.add(("context" if k1 < n1 else "") + ("item" if k2 < n2 else "") or "none")
            cuts.add("empty" if n2 == 0 or n1 == 0 else "nonempty")
    assert cuts >= {"context", "item", "contextitem", "none", "empty"}


def test_items_missing_from_the_catalog_are_tokenized(tokenizer):
    from tests.bench.conftest import make_requests

    requests = make_requests(3, 8)
    encoder = catalog_encoder(tokenizer, requests[:1], 64)  # only the first request's items are cached
    assert encoder.catalog_size == 8
    assert assert_same(encoder, requests) == 24
    batch = encoder.encode_requests([(r.context, [c.text for c in r.candidates]) for r in requests])
    plain = encoder.encode([p for r in requests for p in r.pairs()])
    for key in plain:
        np.testing.assert_array_equal(batch[key], plain[key])
    assert encoder.catalog_text(requests[0].candidates[0].id) == requests[0].candidates[0].text
    assert encoder.catalog_text("no-such-item") is None


def test_a_changed_catalog_text_is_never_served_stale(tokenizer):
    encoder = PairEncoder(tokenizer, 64)
    encoder.load_catalog([("i1", "Heat (1995)")])
    encoder.load_catalog([("i1", "Casino (1995) | Crime")])
    assert encoder.catalog_text("i1") == "Casino (1995) | Crime"
    got = encoder.encode_request("watched: Ronin", ["Casino (1995) | Crime"])
    np.testing.assert_array_equal(got["input_ids"], encoder.encode([("watched: Ronin", "Casino (1995) | Crime")])["input_ids"])


def test_a_slow_tokenizer_takes_the_plain_path():
    from transformers import BertTokenizer

    from rankbench.models.presets import minilm_path

    slow = BertTokenizer.from_pretrained(minilm_path())
    encoder = PairEncoder(slow, 16)
    assert encoder.template is None
    long_ = "a b c d e f g h i j k l m n o p"
    got = encoder.encode_request(long_, ["x y z " * 5, "w"])
    np.testing.assert_array_equal(got["input_ids"], encoder.encode([(long_, "x y z " * 5), (long_, "w")])["input_ids"])


@pytest.mark.slow
@pytest.mark.parametrize("max_length", [64, 128])
def test_ids_equal_the_tokenizer_on_every_movielens_test_request(tokenizer, max_length):
    from rankbench.models.data import DataConfig, load_data

    data = load_data(DataConfig(dataset="movielens-100k"))
    assert len(data.test) == 943
    encoder = catalog_encoder(tokenizer, data.test, max_length)
    assert assert_same(encoder, data.test) == sum(len(r.candidates) for r in data.test)
