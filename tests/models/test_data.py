import json

import pytest

from rankbench.models.data import DataConfig, leave_one_out, load_data, popularity_words
from rankbench.models.jsonl_data import DataFormatError, load, read_requests, write_requests


def test_leave_one_out_holds_out_last_two_by_time():
    inter = [("u", str(i), float(100 - i)) for i in range(1, 131)]  # item 1 is the newest
    items = {str(i): f"item {i} | Drama" for i in range(1, 300)}
    data = leave_one_out("t", inter, items, {}, DataConfig(n_candidates=100, train_per_user=3))
    test, valid = data.test[0], data.valid[0]
    assert [c.id for c in test.candidates if c.label] == ["1"]
    assert [c.id for c in valid.candidates if c.label] == ["2"]
    assert len(test.candidates) == 100
    rated = {str(i) for i in range(1, 131)}
    assert not any(c.id in rated for c in test.candidates if not c.label)  # negatives never rated
    assert test.context.startswith("watched: item 2")  # newest first, target excluded
    assert len(data.train) == 3
    for r in data.train:  # training contexts never show the held-out items
        titles = r.context.removeprefix("watched: ").split("; ")
        assert "item 1" not in titles and "item 2" not in titles
    # popularity comes from the training split only: the test and validation items count zero
    assert data.item_counts["1"] == 0 and data.item_counts["2"] == 0 and data.item_counts["3"] == 1


def test_equal_timestamps_keep_file_order():
    inter = [("u", str(i), 5.0) for i in range(1, 120)]
    items = {str(i): f"item {i}" for i in range(1, 300)}
    data = leave_one_out("t", inter, items, {}, DataConfig())
    assert [c.id for c in data.test[0].candidates if c.label] == ["119"]


def test_sampling_is_seeded():
    a = load_data(DataConfig(dataset="synthetic", synthetic_users=10, synthetic_items=150, seed=3))
    b = load_data(DataConfig(dataset="synthetic", synthetic_users=10, synthetic_items=150, seed=3))
    c = load_data(DataConfig(dataset="synthetic", synthetic_users=10, synthetic_items=150, seed=4))
    assert a.test == b.test and a.train == b.train
    assert a.test != c.test


def test_synthetic_scales():
    small = load_data(DataConfig(dataset="synthetic", synthetic_users=5, synthetic_items=120))
    big = load_data(DataConfig(dataset="synthetic", synthetic_users=50, synthetic_items=400))
    assert small.summary()["users"] == 5 and big.summary()["users"] == 50
    assert big.summary()["candidates_per_request"] == 100


def test_popularity_buckets_share_ties():
    counts = {"a": 0, "b": 0, "c": 5, "d": 9}
    words = popularity_words(counts, list(counts), 4)
    assert words["a"] == words["b"] == "popularity 1/4" and words["d"] == "popularity 4/4"


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="dataset"):
        DataConfig(dataset="imagenet")
    with pytest.raises(ValueError, match="n_candidates"):
        DataConfig(n_candidates=1)


def _line(**over):
    row = {"id": "r1", "context": "watched: A", "candidates": [{"id": "1", "text": "x", "label": 1},
                                                               {"id": "2", "text": "y", "label": 0}]}
    row.update(over)
    return json.dumps(row)


def test_jsonl_round_trip(tmp_path, tiny_data):
    path = tmp_path / "req.jsonl"
    write_requests(path, tiny_data.test)
    loaded = load(path)
    assert loaded.test == tiny_data.test and loaded.train == []


@pytest.mark.parametrize("line, problem", [
    ("{not json", "not valid JSON"),
    (_line(context=3), "'context' must be a string"),
    (_line(candidates=[{"id": "1", "text": "x", "label": 1}]), "at least 2"),
    (_line(candidates=[{"id": "1", "text": "x", "label": 2}, {"id": "2", "text": "y"}]), "label must be 0 or 1"),
    (_line(candidates=[{"id": "1", "text": "x", "label": 0}, {"id": "2", "text": "y", "label": 0}]),
     "at least one candidate with label 1"),
    # A candidate without a label is not a negative by default: it is a mistake.
    (_line(candidates=[{"id": "1", "text": "x", "label": 1}, {"id": "2", "text": "y"}]), "candidates[1] lacks 'label'"),
    (_line(candidates=[{"id": "1", "text": "x", "label": True}, {"id": "2", "text": "y", "label": 0}]),
     "label must be 0 or 1"),
    (_line(extra=1), "unknown keys"),
    (_line(split="dev"), "'split' must be one of"),
    ('{"context": "c", "candidates": []}', "missing 'id'"),
])
def test_jsonl_errors_name_file_and_line(tmp_path, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text(_line(id="ok") + "\n\n" + line + "\n")
    with pytest.raises(DataFormatError) as err:
        read_requests(path)
    assert f"{path}:3:" in str(err.value) and problem in str(err.value)


def test_jsonl_duplicate_ids_and_missing_file(tmp_path):
    path = tmp_path / "dup.jsonl"
    path.write_text(_line() + "\n" + _line() + "\n")
    with pytest.raises(DataFormatError, match="duplicate request id 'r1' \\(first on line 1\\)"):
        read_requests(path)
    with pytest.raises(FileNotFoundError):
        read_requests(tmp_path / "nope.jsonl")


def test_jsonl_that_is_not_utf8_names_the_file_and_line(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(_line(id="ok").encode() + b"\n" + _line(context="caf\u00e9").encode("utf-8").replace(
        "caf\\u00e9".encode(), "caf\u00e9".encode("latin-1")) + b"\n")
    with pytest.raises(DataFormatError) as err:
        read_requests(path)
    assert f"{path}:2: not UTF-8" in str(err.value)


def test_a_data_folder_needs_a_split_file(tmp_path):
    (tmp_path / "requests.jsonl").write_text(_line() + "\n")  # not a split name
    with pytest.raises(DataFormatError, match="needs train.jsonl, valid.jsonl or test.jsonl"):
        load_data(DataConfig(dataset=str(tmp_path)))
    (tmp_path / "test.jsonl").write_text(_line(split="train") + "\n")
    with pytest.raises(DataFormatError, match="test.jsonl: holds requests with split 'train'"):
        load_data(DataConfig(dataset=str(tmp_path)))


def test_jsonl_folder_splits(tmp_path, tiny_data):
    write_requests(tmp_path / "train.jsonl", tiny_data.train[:5])
    write_requests(tmp_path / "test.jsonl", tiny_data.test[:3])
    data = load_data(DataConfig(dataset=str(tmp_path)))
    assert len(data.train) == 5 and len(data.test) == 3 and data.valid == []
    assert sum(data.item_counts.values()) == 5  # one positive per training request
