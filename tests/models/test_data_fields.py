"""The teacher's richer inputs: ratings, genres and demographics in the context, hard negatives, and
the same fields given as structured JSONL keys (strictly checked)."""
from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest

from rankbench.models import movielens
from rankbench.models.context import ContextStyle, HistoryItem, render_context
from rankbench.models.data import DataConfig, hard_negative_pool, load_data
from rankbench.models.jsonl_data import DataFormatError, load

RICH = {"history_ratings": True, "item_details": True, "demographics": True, "history_len": 4}


def histories(folder):
    tables = movielens.read_tables(folder)
    out = defaultdict(list)
    for user, item, _ts in sorted(tables.interactions, key=lambda r: (int(r[0]), r[2])):
        out[user].append(item)
    return tables, out


def test_movielens_context_shows_ratings_genres_and_demographics(fake_movielens):
    tables, history = histories(fake_movielens)
    data = load_data(DataConfig(data_dir=str(fake_movielens), n_candidates=20, **RICH))
    request = next(r for r in data.test if r.id == "3:test")
    before = history["3"][:-1]
    expected = []
    for item in reversed(before[-4:]):  # newest first
        title, genres = tables.item_text[item].split(" | ")
        expected.append(f"{title} [{genres}] {tables.ratings[('3', item)]:g}/5")
    assert request.context == f"user: {tables.user_text['3']}. watched: " + "; ".join(expected)
    assert re.search(r"user: age 23, female, writer\. watched: Film \d+ \(\d{4}\) \[\w[^]]*\] [1-5]/5", request.context)


def test_new_options_default_to_the_original_inputs(fake_movielens):
    plain = load_data(DataConfig(data_dir=str(fake_movielens), n_candidates=20))
    assert all("/5" not in r.context and "[" not in r.context for r in plain.test)
    defaults = DataConfig().to_dict()
    assert (defaults["history_ratings"], defaults["item_details"], defaults["hard_negatives"]) == (False, False, 0.0)
    assert DataConfig(history_ratings=True).to_dict()["history_ratings"] is True
    with pytest.raises(ValueError, match="hard_negatives"):
        DataConfig(hard_negatives=1.5)


def test_training_interactions_and_request_users(fake_movielens):
    _tables, history = histories(fake_movielens)
    data = load_data(DataConfig(data_dir=str(fake_movielens), n_candidates=20))
    assert data.train_interactions == {u: items[:-2] for u, items in history.items()}
    assert data.request_users["5:test"] == "5"
    assert data.request_users[data.train[0].id] == data.train[0].id.split(":")[0]


def test_hard_negatives_are_popular_unrated_training_items_only():
    base = {"dataset": "synthetic", "synthetic_users": 40, "synthetic_items": 200, "negatives_per_positive": 4}
    easy, hard = load_data(DataConfig(**base)), load_data(DataConfig(**base, hard_negatives=0.5))
    assert hard.test == easy.test and hard.valid == easy.valid  # evaluation requests unchanged
    pool = set(hard_negative_pool(easy.item_counts, list(easy.item_counts)))
    assert 0 < len(pool) <= 20
    for req_easy, req_hard in zip(easy.train, hard.train, strict=True):
        assert [c.id for c in req_easy.candidates if c.label] == [c.id for c in req_hard.candidates if c.label]
        negatives = [c.id for c in req_hard.candidates if not c.label]
        assert len(negatives) == 4 and len(set(negatives)) == 4
        rated = set(hard.train_interactions[hard.request_users[req_hard.id]])
        assert not rated & set(negatives)
    share = lambda d: sum(c.id in pool for r in d.train for c in r.candidates if not c.label) / (4 * len(d.train))
    assert share(hard) >= 0.45 and share(easy) < 0.3


def write_lines(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


CANDS = [{"id": "i9", "text": "Ronin (1998) | Action", "label": 1},
         {"id": "i8", "text": "Babe (1995) | Comedy", "label": 0}]
HISTORY = [{"id": "i1", "text": "Heat (1995) | Action, Crime", "rating": 5},
           {"id": "i2", "text": "Casino (1995) | Drama", "rating": 3.5}, {"id": "i3", "text": "Fargo (1996) | Crime"}]


def test_jsonl_structured_history_and_user_render_like_movielens(tmp_path):
    rows = [{"id": "t1", "user_id": "u1", "history": HISTORY, "user": {"age": 24, "occupation": "writer"},
             "candidates": CANDS, "split": "train"},
            {"id": "e1", "user_id": 7, "history": HISTORY[:1], "user": "age 31, male, writer", "candidates": CANDS}]
    path = write_lines(tmp_path / "s.jsonl", rows)
    data = load(path, style=DataConfig(**RICH).context_style())
    assert data.train[0].context == ("user: age 24, occupation writer. watched: Fargo (1996) [Crime]; "
                                     "Casino (1995) [Drama] 3.5/5; Heat (1995) [Action, Crime] 5/5")
    assert data.test[0].context == "user: age 31, male, writer. watched: Heat (1995) [Action, Crime] 5/5"
    assert load(path).test[0].context == "watched: Heat (1995)"  # the default style: titles only
    assert data.train_interactions == {"u1": ["i1", "i2", "i3", "i9"]}  # history, then the positive
    assert data.request_users == {"t1": "u1", "e1": "7"}
    # The same history through the MovieLens renderer gives the same text.
    items = [HistoryItem(h["text"], h.get("rating")) for h in HISTORY[:1]]
    assert render_context(items, "age 31, male, writer", ContextStyle(4, True, True, True)) == data.test[0].context


def test_jsonl_from_a_data_config(tmp_path):
    path = write_lines(tmp_path / "s.jsonl", [{"id": "e1", "history": HISTORY, "candidates": CANDS}])
    data = load_data(DataConfig(dataset=str(path), history_ratings=True, history_len=2))
    assert data.test[0].context == "watched: Fargo (1996); Casino (1995) 3.5/5"


@pytest.mark.parametrize("row, problem", [
    ({"history": HISTORY, "context": "x"}, "give either 'context' or 'history', not both"),
    ({}, r"missing 'context' \(or 'history' and/or 'user'"),
    ({"history": {"id": "i1"}}, "'history' must be a list"),
    ({"history": [{"id": "i1", "text": "A", "stars": 4}]}, r"history\[0\] has unknown keys \['stars'\]"),
    ({"history": [{"text": "A"}]}, r"history\[0\] lacks 'id'"),
    ({"history": [{"id": "i1", "text": ""}]}, r"history\[0\].text must be a non-empty string"),
    ({"history": [{"id": "i1", "text": "A", "rating": True}]}, r"history\[0\].rating must be a number from 0 to 5"),
    ({"history": [{"id": "i1", "text": "A", "rating": 7}]}, r"history\[0\].rating must be a number from 0 to 5"),
    ({"history": [{"id": [1], "text": "A"}]}, r"history\[0\].id must be a string or an integer"),
    ({"user": {"age": [24]}}, "user.age must be a string or a number"),
    ({"user": {"student": True}}, "user.student must be a string or a number"),
    ({"user": 24}, "'user' must be an object of demographics"),
    ({"context": "c", "user_id": 1.5}, "'user_id' must be a string or an integer"),
    ({"context": "c", "users": "u"}, r"unknown keys \['users'\]"),
])
def test_jsonl_structured_keys_are_checked(tmp_path, row, problem):
    good = {"id": "ok", "context": "c", "candidates": CANDS}
    path = write_lines(tmp_path / "bad.jsonl", [good, {"id": "r2", "candidates": CANDS, **row}])
    with pytest.raises(DataFormatError, match=rf"bad.jsonl:2: {problem}"):
        load(path)
