"""Where a run's work runs ([run] executor, address, store, accelerator_type, max_retries and the
backends' placements) is checked with the rest of the file, before any work."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from rankbench.cli import main
from rankbench.experiment.config import ExperimentError, load_experiment
from tests.rankbench.experiment.test_config import GOOD

ROOT = Path(__file__).parents[3]
KNOWN = {"backends": ["torch", "onnxruntime"], "scenarios": ["single-stream"]}


def _write(tmp_path, text):
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return path


def test_cluster_settings_parse(tmp_path):
    text = GOOD.replace("[run]", '[run]\nexecutor = "ray"\naddress = "auto"\nstore = "s3://bucket/x"\n'
                                 'accelerator_type = "A100"\nmax_retries = 0')
    text = text.replace("threads = 1", 'threads = 1\nnode_label = {"rankbench/machine" = "cpu-node"}')
    exp = load_experiment(_write(tmp_path, text), **KNOWN)
    assert (exp.run.executor, exp.run.address, exp.run.store, exp.run.max_retries) == ("ray", "auto", "s3://bucket/x", 0)
    assert exp.backends[0]["node_label"] == {"rankbench/machine": "cpu-node"}


@pytest.mark.parametrize("change, message", [
    (("[run]", '[run]\nexecutor = "spark"'), "run: executor 'spark': expected one of local, ray"),
    (("[run]", '[run]\naddress = "auto"'), "run: address is for the ray executor"),
    (("[run]", '[run]\naccelerator_type = "A100"'), "run: accelerator_type is for the ray executor"),
    (("[run]", '[run]\nexecutor = "ray"\nmax_retries = -1'), "run: max_retries must be >= 0"),
    (("[run]", "[run]\nmax_retries = true"), "run.max_retries: expected an integer, got true"),
    (("threads = 1", 'threads = 1\nnode_label = "a100"'), "backends[0] (onnxruntime): node_label: expected a table"),
    (("threads = 1", "threads = 1\nnode_label = {machine = 1}"), "node_label: expected a table"),
    (("threads = 1", "threads = 1\naccelerator_type = 100"), "accelerator_type: expected a string"),
])
def test_bad_cluster_settings_name_the_key(tmp_path, change, message):
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ExperimentError) as err:
        load_experiment(path, **KNOWN)
    assert str(path) in str(err.value) and message in str(err.value)


def test_command_line_overrides_are_checked_before_any_work(tmp_path, capsys, monkeypatch):
    path, out = _write(tmp_path, GOOD), tmp_path / "out"
    assert main(["run", str(path), "--address", "auto", "--out", str(out)]) == 2
    assert "address is for the ray executor" in capsys.readouterr().err
    assert main(["run", str(path), "--store", "nope://bucket/x", "--out", str(out)]) == 2
    assert "nope" in capsys.readouterr().err
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    assert main(["run", str(path), "--executor", "ray", "--out", str(out)]) == 2
    assert "--executor ray needs Ray, an optional extra: pip install -e '.[ray]'" in capsys.readouterr().err
    assert not out.exists()  # nothing was started
    # A file made for a cluster still runs here: --executor local drops its cluster settings.
    cluster = _write(tmp_path, GOOD.replace("[run]", '[run]\nexecutor = "ray"\naddress = "auto"'))
    assert main(["run", str(cluster), "--executor", "local", "--check"]) == 0


def test_the_cluster_example_is_valid(tmp_path, capsys):
    example = str(ROOT / "experiments" / "cluster.toml")
    assert main(["run", example, "--check", "--store", str(tmp_path)]) == 0
    if importlib.util.find_spec("s3fs") is None:  # its s3:// store needs fsspec's S3 package
        assert main(["run", example, "--check"]) == 2
        assert "Install s3fs" in capsys.readouterr().err
