"""The experiment file is checked whole before any work, with the file and key in every error."""
import pytest

from rankbench.cli import main
from rankbench.experiment.config import ExperimentError, load_experiment

GOOD = """
[run]
name = "t"
eval_users = 5
[data]
dataset = "synthetic"
[teacher]
base = "tiny-random"
[teacher.train]
max_steps = 2
[[variants]]
name = "small"
steps = [{method = "distill", layers = 1}, {method = "quantize-ort-dynamic"}]
[[backends]]
name = "onnxruntime"
threads = 1
[[scenarios]]
name = "single-stream"
candidates = 10
[constraints]
p99_ms = 50
"""


def _write(tmp_path, text):
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return path


def test_good_file_parses(tmp_path):
    exp = load_experiment(_write(tmp_path, GOOD), backends=["torch", "onnxruntime"],
                          scenarios=["single-stream"])
    assert exp.teacher.train.max_steps == 2 and exp.data.dataset == "synthetic"
    assert [s.method for s in exp.variants["small"]] == ["distill", "quantize-ort-dynamic"]
    assert exp.backends == [{"name": "onnxruntime", "threads": 1}]
    assert exp.constraints.p99_ms == 50


@pytest.mark.parametrize("change, message", [
    (("[run]", "[run]\ncolour = 1"), "run: unknown key 'colour'"),
    (("[data]", "[dta]"), "unknown section 'dta'"),
    (("max_steps = 2", "max_steps = 0"), "teacher.train: max_steps must be >= 1"),
    (('dataset = "synthetic"', 'dataset = "imagenet"'), "data: dataset 'imagenet'"),
    (('method = "distill", layers = 1', 'method = "distil", layers = 1'), "variants[0] (small).steps[0]: unknown compression method 'distil'"),
    (('name = "onnxruntime"', 'name = "tpu-magic"'), "unknown backend 'tpu-magic'"),
    (('name = "single-stream"', 'name = "burst"'), "unknown scenario 'burst'"),
    (("p99_ms = 50", "p99_ms = -1"), "constraints: p99_ms must be > 0"),
    (("eval_users = 5", "eval_users = 0"), "run: eval_users"),
    (("threads = 1", "threads = 1\nvariants = [\"nope\"]"), "variants must list defined variants"),
    (("threads = 1", "threads = 1\nspeed = 3"), "backends[0] (onnxruntime): options: unknown key 'speed'"),
    # Booleans are not numbers, anywhere in the file.
    (("eval_users = 5", "eval_users = true"), "run.eval_users: expected an integer, got true (a boolean)"),
    (("p99_ms = 50", "p99_ms = 50\nmin_retention = true"), "constraints.min_retention: expected a number or none"),
    (("max_steps = 2", "max_steps = 2\nlr = true"), "teacher.train.lr: expected a number, got true"),
    (('method = "distill", layers = 1', 'method = "distill", layers = true'),
     "steps[0]: distill.layers: expected an integer, got true"),
    (("threads = 1", "threads = true"), "options.threads: expected an integer or none, got true"),
    (("candidates = 10", "candidates = 0"), "scenario single-stream: candidates must be a positive integer, got 0"),
    (("candidates = 10", "candidates = true"), "candidates must be a positive integer, got true (a boolean)"),
    (('name = "single-stream"\ncandidates = 10', 'name = "server"\nsla_p99_ms = 40'),
     "the server SLA is [constraints] p99_ms"),
    (("candidates = 10", "candidates = 10\nburst = 2"), "unknown parameter"),
])
def test_bad_values_name_file_and_key(tmp_path, change, message):
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ExperimentError) as err:
        load_experiment(path, backends=["torch", "onnxruntime"], scenarios=["single-stream", "server"])
    assert str(path) in str(err.value) and message in str(err.value)


def test_cli_check_and_missing_file(tmp_path, capsys):
    assert main(["run", str(_write(tmp_path, GOOD)), "--check"]) == 0
    assert "ok (1 variants" in capsys.readouterr().out
    assert main(["run", str(tmp_path / "nope.toml")]) == 2
    assert "no experiment file" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["default.toml", "quick.toml", "compression.toml", "gpu.toml", "tpu.toml"])
def test_shipped_experiments_are_valid(name):
    from pathlib import Path

    path = Path(__file__).parents[3] / "experiments" / name
    assert main(["run", str(path), "--check"]) == 0


def test_eval_users_override_is_checked_before_any_work(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(_write(tmp_path, GOOD)), "--eval-users", "0", "--out", str(out)]) == 2
    assert "--eval-users must be >= 1" in capsys.readouterr().err
    assert not out.exists()  # nothing was started
