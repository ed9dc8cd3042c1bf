"""Recipes: chaining, caching by hash, and validation of every step before any work; the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

import dataclasses

from rankbench.compress import api, registry
from rankbench.compress.api import CompressContext
from rankbench.compress.registry import config_from_dict
from rankbench.compress.recipe import build_recipe, recipe_name, validate_recipe

CHAIN = [{"method": "distill", "layers": 1, "max_steps": 2},
         {"method": "prune-heads", "ratio": 0.5, "importance": "magnitude"},
         {"method": "quantize-ort-dynamic"}]


def test_chain_distill_prune_quantize(teacher, ctx, requests):
    from rankbench.compress.methods.quantize_ort import onnx_scores

    student, pruned, final = build_recipe(teacher, CHAIN, ctx, return_all=True)
    assert final.format == "onnx" and (final.path / "model.onnx").is_file()
    assert [step["method"] for step in final.meta["recipe"]] == ["distill", "prune-heads", "quantize-ort-dynamic"]
    assert pruned.meta["parent_hash"] == student.hash and final.meta["parent_hash"] == pruned.hash
    model = pruned.torch_ranker().model
    assert model.config.num_hidden_layers == 1 and model.bert.encoder.layer[0].attention.self.num_attention_heads == 2
    ours = np.concatenate(onnx_scores(final.path, requests))
    theirs = np.concatenate(pruned.torch_ranker().score(requests))
    assert np.corrcoef(ours, theirs)[0, 1] > 0.95
    assert recipe_name(CHAIN) == "distill-l1+prune-heads-0.5+quantize-ort-dynamic"


def test_chain_distill_prune_openvino_int8(teacher, ctx, requests):
    """The OpenVINO INT8 step chains like the ORT one; the IR reloads in the openvino backend."""
    import rankbench.models.openvino_model  # noqa: F401 - before nncf: no telemetry without consent

    pytest.importorskip("nncf", reason="the nncf package is not installed")
    from rankbench.bench.backends import BackendOptions, get_backend
    from rankbench.models.encoder import PairEncoder

    # Static INT8 ranges come from calibration: the tiny random model (weights of std 0.3) needs many
    # more requests than the method table's 8 before its INT8 scores rank these test requests as fp32 does.
    steps = CHAIN[:2] + [{"method": "quantize-openvino-int8", "calibration_requests": 100}]
    student, pruned, final = build_recipe(teacher, steps, ctx, return_all=True)
    assert final.format == "openvino" and final.meta["parent_hash"] == pruned.hash
    assert [step["method"] for step in final.meta["recipe"]] == ["distill", "prune-heads", "quantize-openvino-int8"]
    assert final.meta["params"] == pruned.meta["params"] < teacher.meta["params"]
    encoder = PairEncoder.from_folder(final.path)
    with get_backend("openvino").prepare(final, BackendOptions(threads=1)) as session:
        ours = np.concatenate([session.run(encoder.encode(r.pairs())) for r in requests])
    theirs = np.concatenate(pruned.torch_ranker().score(requests))
    assert np.corrcoef(ours, theirs)[0, 1] > 0.95
    with pytest.raises(ValueError, match="cannot follow a 'openvino' artifact"):
        validate_recipe(teacher, steps + [{"method": "quantize-ort-dynamic"}], ctx)


def test_rebuilding_a_recipe_does_no_work(teacher, ctx, monkeypatch):
    first = build_recipe(teacher, CHAIN[:2], ctx, return_all=True)

    def no_work(*args, **kwargs):
        raise AssertionError("a cached step was built again")

    for name, method in list(registry.METHODS.items()):
        monkeypatch.setitem(registry.METHODS, name, dataclasses.replace(method, handler=no_work))
    again = build_recipe(teacher, CHAIN[:2], ctx, return_all=True)
    assert [a.path for a in again] == [a.path for a in first]
    # A longer recipe sharing the prefix builds only its new step (which would raise here).
    with pytest.raises(AssertionError, match="built again"):
        build_recipe(teacher, CHAIN, ctx)


def test_a_different_seed_is_a_different_artifact(teacher, ctx, data, tmp_path):
    step = [{"method": "prune-heads", "ratio": 0.5, "importance": "magnitude"}]
    one = build_recipe(teacher, step, ctx)
    other = build_recipe(teacher, step, CompressContext(out_dir=ctx.out_dir, data=data, teacher=teacher, seed=1))
    assert one.path != other.path and one.hash != other.hash


def test_an_interrupted_build_leaves_no_finished_looking_folder(teacher, ctx, monkeypatch):
    step = {"method": "prune-heads", "ratio": 0.5, "importance": "magnitude"}
    config = config_from_dict(step)

    def crash(parent, config, ctx, out):
        (out / "model.safetensors").write_bytes(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setitem(registry.METHODS, config.method,
                        dataclasses.replace(registry.METHODS[config.method], handler=crash))
    with pytest.raises(KeyboardInterrupt):
        api.compress(teacher, config, ctx)
    assert not api.artifact_dir(teacher, config, ctx).exists()
    assert not any(ctx.out_dir.iterdir())  # the temporary folder is gone too
    monkeypatch.undo()
    assert api.compress(teacher, config, ctx).torch_ranker() is not None


@pytest.mark.parametrize("steps, message", [
    ([{"method": "quantize-ort-dynamic"}, {"method": "prune-heads", "ratio": 0.5}],
     r"step 2 \(prune-heads\): step 'prune-heads' cannot follow a 'onnx' artifact"),
    ([{"method": "half"}, {"method": "quantize-ort-dynamic"}], "cannot follow a 'half' artifact"),
    ([{"method": "distill", "layers": 3}], "must not have more layers than the teacher"),
    ([{"method": "distill", "layers": 1}, {"method": "distill", "layers": 2}], "more layers than the teacher"),
    ([{"method": "distill", "layers": 1}, {"method": "prune-layers", "ratio": 0.5}], "would remove all 1 layers"),
    ([{"method": "prune-heads", "ratio": 0.5, "importance": "magnitude"}, {"method": "lora"}], "must be the first step"),
    ([{"method": "prune-heads", "ratio": 0.5}, {"method": "prune-heads", "ratio": 2}], r"step 2: prune-heads: ratio"),
    ([{"method": "prune-heads", "ratio": 0.5}, {"method": "sparsify"}], "step 2: unknown compression method"),
    ([], "at least one step"),
])
def test_bad_recipes_fail_before_any_work(teacher, ctx, steps, message):
    with pytest.raises(ValueError, match=message):
        build_recipe(teacher, steps, ctx)
    assert not ctx.out_dir.exists() or not any(ctx.out_dir.iterdir())


def test_steps_that_need_data_say_so_up_front(teacher, tmp_path):
    bare = CompressContext(out_dir=tmp_path / "variants", teacher=teacher)
    with pytest.raises(ValueError, match="needs ranking data"):
        validate_recipe(teacher, [{"method": "quantize-ort-static"}], bare)
    validate_recipe(teacher, [{"method": "prune-heads", "ratio": 0.5, "importance": "magnitude"}], bare)
    no_base = CompressContext(out_dir=tmp_path / "v", teacher=api.Artifact(teacher.path, "t", "hf", {}))
    no_base.data = object()
    with pytest.raises(ValueError, match="pre-trained base"):
        validate_recipe(no_base.teacher, [{"method": "lora"}], no_base)


def test_cli_builds_and_reports(teacher, tmp_path, capsys):
    from rankbench.cli import main

    step = json.dumps({"method": "prune-heads", "ratio": 0.5, "importance": "magnitude"})
    assert main(["compress", "--parent", str(teacher.path), "--step", step, "--out", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["format"] == "hf" and result["meta"]["recipe"][0]["ratio"] == 0.5
    assert main(["compress", "--parent", str(teacher.path), "--step", '{"method": "prune-heads", "ratio": 7}',
                 "--out", str(tmp_path)]) == 2
    assert "ratio must be in (0, 1)" in capsys.readouterr().err
    assert main(["compress", "--list"]) == 0
    assert "quantize-ort-static" in capsys.readouterr().out


def test_cli_evaluates_an_openvino_variant(teacher, tmp_path, capsys):
    import rankbench.models.openvino_model  # noqa: F401 - before nncf: no telemetry without consent

    pytest.importorskip("nncf", reason="the nncf package is not installed")
    from rankbench.cli import main

    step = json.dumps({"method": "quantize-openvino-int8", "calibration_requests": 8})
    assert main(["compress", "--parent", str(teacher.path), "--step", step, "--out", str(tmp_path),
                 "--dataset", "synthetic", "--eval", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["format"] == "openvino" and result["meta"]["precision"] == "int8"
    assert 0 <= result["result_ndcg@10"] <= 1 and 0 <= result["parent_ndcg@10"] <= 1
