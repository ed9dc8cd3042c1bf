"""The foundation's commands, run in-process through the real argument parser."""
import json
from pathlib import Path

import pytest

from rankbench.cli import COMMANDS, main
from rankbench.models.jsonl_data import write_requests


@pytest.mark.parametrize("argv", [[], *([name] for name in COMMANDS)], ids=["rankbench", *COMMANDS])
def test_help_prints_for_every_command(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: rankbench") and (not argv or COMMANDS[argv[0]] in " ".join(out.split()))


def test_data_info_jsonl(tmp_path, tiny_data, capsys):
    path = tmp_path / "reqs.jsonl"
    write_requests(path, tiny_data.test)
    assert main(["data", "info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["test_requests"] == len(tiny_data.test)
    assert info["candidates_per_request"] == 20


def test_data_info_synthetic_text(capsys):
    assert main(["data", "info", "--dataset", "synthetic"]) == 0
    out = capsys.readouterr().out
    assert "test requests" in out and "candidates per request  100" in out


def test_malformed_jsonl_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "context": "c", "candidates": "nope"}\n')
    assert main(["data", "info", str(path)]) == 2
    assert f"{path}:1: 'candidates' must be a list" in capsys.readouterr().err


def test_unknown_preset_and_missing_model(tmp_path, capsys):
    assert main(["train", "--dataset", "synthetic", "--preset", "no-such-model"]) == 2
    assert "unknown preset or missing model folder 'no-such-model'" in capsys.readouterr().err
    assert main(["eval", "--dataset", "synthetic", "--model", str(tmp_path / "gone")]) == 2
    assert "no model folder" in capsys.readouterr().err


def test_unfetchable_dataset_says_what_to_do(tmp_path, monkeypatch, capsys):
    from rankbench.models import movielens

    monkeypatch.setenv("RANKBENCH_DATA_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(movielens, "RECBOLE_WHEEL", "recbole==0.0.0.does.not.exist")
    assert main(["data", "info"]) == 2
    err = capsys.readouterr().err
    assert "could not be fetched" in err and "--data-dir" in err
    assert main(["data", "info", "--data-dir", str(tmp_path)]) == 2
    assert "lacks ml-100k.inter" in capsys.readouterr().err


def test_train_then_eval_on_tiny_model(tmp_path, capsys):
    args = ["--dataset", "synthetic", "--preset", "tiny-random", "--max-steps", "3", "--max-length", "32"]
    assert main(["train", *args, "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["steps"] == 3
    assert main(["train", *args, "--json"]) == 0  # cached: same folder, no new training
    assert json.loads(capsys.readouterr().out)["path"] == trained["path"]
    assert main(["train", *args, "--dropout", "0", "--json"]) == 0  # another teacher, trained without dropout
    without = json.loads(capsys.readouterr().out)["path"]
    assert without != trained["path"]
    assert json.loads((Path(without) / "config.json").read_text())["hidden_dropout_prob"] == 0
    assert main(["eval", *args, "--users", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["users"] == 5 and result["split"] == "test" and result["reference"] == "teacher"
    for name in ("teacher", "popularity", "cf-als"):
        row = result[name]
        assert {"ndcg@10", "hr@10", "mrr", "auc"} <= set(row) and row["users"] == 5
        assert all(low <= row[m] <= high for m, (low, high) in row["ci"].items())
    for name in ("popularity", "cf-als"):  # retention paired with the teacher on the same users
        low, high = result[name]["retention_ci"]
        assert low <= result[name]["retention"] <= high
    assert result["teacher"]["retention"] is None
    assert main(["eval", *args, "--users", "4", "--split", "valid"]) == 0
    out = capsys.readouterr().out
    assert "4 valid users" in out and "cf-als" in out and "popularity" in out


def test_eval_takes_the_data_and_teacher_of_an_experiment(tmp_path, capsys):
    experiment = tmp_path / "tiny.toml"
    experiment.write_text('[data]\ndataset = "synthetic"\nhistory_len = 4\nitem_details = true\n\n'
                          '[teacher]\nbase = "tiny-random"\nmax_length = 32\ndropout = 0.0\n\n[teacher.train]\nmax_steps = 2\n')
    assert main(["eval", "--experiment", str(experiment), "--users", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["users"] == 3 and {"teacher", "popularity", "cf-als"} <= set(result)
    for flag in (["--preset", "minilm-l6"], ["--dropout", "0.1"]):
        assert main(["eval", "--experiment", str(experiment), *flag]) == 2
        assert "--experiment sets the data and the teacher" in capsys.readouterr().err


@pytest.mark.slow
def test_movielens_info(capsys):
    assert main(["data", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["users"], info["items"], info["interactions"]) == (943, 1682, 100000)
    assert (info["test_requests"], info["candidates_per_request"]) == (943, 100)
