"""Bad input through the real commands: a clear error naming the key, a non-zero exit before any
work, nothing written; and a run whose variant fails exits non-zero after writing what it could."""
from __future__ import annotations

import dataclasses
import json

import pytest

from rankbench.cli import main

EXPERIMENT = """
[run]
name = "bad"
eval_users = 3
parity_requests = 2
latency_requests = 2
confirm_samples = 0
[data]
dataset = "synthetic"
synthetic_users = 20
synthetic_items = 150
train_per_user = 2
n_candidates = 12
[teacher]
base = "tiny-random"
max_length = 32
[teacher.train]
max_steps = 2
[[variants]]
name = "heads"
steps = [{method = "prune-heads", ratio = 0.5, importance = "magnitude"}]
[[backends]]
name = "torch"
threads = 1
[[scenarios]]
name = "single-stream"
candidates = 12
[timing]
min_samples = 2
min_seconds = 0.0
warmup_max = 2
[constraints]
min_retention = 0.5
"""


def _experiment(tmp_path, text=EXPERIMENT, **replace):
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "exp.toml"
    path.write_text(text.replace("[run]", f'[run]\nout_dir = "{tmp_path / "out"}"'))
    return path


@pytest.mark.parametrize("step, message", [
    ('{method = "distill", layers = 3}', "a student of 3 layers from a teacher of 2"),
    ('{method = "quantize-ort-dynamic"}, {method = "quantize-torch-dynamic"}', "cannot follow a 'onnx' artifact"),
    ('{method = "distill", layers = true}', "distill.layers: expected an integer, got true"),
])
def test_check_catches_recipes_that_cannot_build(tmp_path, capsys, step, message):
    path = _experiment(tmp_path, **{'{method = "prune-heads", ratio = 0.5, importance = "magnitude"}': step})
    assert main(["run", str(path), "--check"]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flags, message", [
    (["--batch-sizes", "0", "--scenarios", "offline"], "batch_sizes must be a non-empty list of positive integers"),
    (["--candidates", "0"], "--candidates must be >= 1"),
    (["--p99-ms", "-5"], "--p99-ms must be > 0"),
    (["--backends", "torch:threads=0"], "threads must be a positive integer"),
])
def test_bench_refuses_bad_flags_before_any_work(tmp_path, capsys, flags, message):
    out = tmp_path / "run"
    code = main(["bench", "--preset", "tiny-random", "--dataset", "synthetic", "--out", str(out), "--quiet", *flags])
    assert code == 2 and message in capsys.readouterr().err
    assert not out.exists()


def test_compress_refuses_a_boolean_layer_count(tmp_path, capsys):
    code = main(["compress", "--parent", str(tmp_path), "--step", '{"method": "distill", "layers": true}'])
    assert code == 2 and "distill.layers: expected an integer, got true (a boolean)" in capsys.readouterr().err


def test_a_run_with_a_failed_variant_exits_non_zero_after_writing_everything(tmp_path, monkeypatch, capsys):
    from rankbench.compress import registry

    def broken(*_args):
        raise RuntimeError("the disk is full")

    method = registry.get_method("prune-heads")
    monkeypatch.setitem(registry.METHODS, "prune-heads", dataclasses.replace(method, handler=broken))
    assert main(["run", str(_experiment(tmp_path))]) == 1
    out = tmp_path / "out"
    results = json.loads((out / "results.json").read_text())
    assert [c["id"] for c in results["cells"]] == ["teacher/torch:threads=1/single-stream[candidates=12]"]
    assert any("variant heads failed to build: RuntimeError: the disk is full" in n for n in results["run"]["notes"])
    assert (out / "report.html").is_file() and (out / "decision.json").is_file()
    assert "the disk is full" in (out / "errors.log").read_text()  # the traceback, kept off the console
    assert "Traceback" not in capsys.readouterr().err
