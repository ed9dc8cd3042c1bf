"""Every method on the tiny model, from one table: it runs, its artifact is complete and reloads with
the same scores, and its accuracy-critical claim holds (the `claim` function of its row)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from rankbench.compress.api import compress
from rankbench.compress.artifact import ARTIFACT_FILE, Artifact
from rankbench.compress.registry import config_from_dict, method_names, torch_loader

from peft_claims import (  # the PEFT rows' claims, beside this file
    adapter, adapter_with_norms_and_biases, lora_all_linear_on_teacher, lora_merged, lora_with_norms_and_biases,
    prefix, prefix_projected, prefix_with_norms_and_biases, started_from_teacher)

TRAIN = {"max_steps": 2}  # training methods: just enough steps to prove the loop runs


def scores(artifact, requests) -> np.ndarray:
    if artifact.format == "onnx":
        from rankbench.compress.methods.quantize_ort import onnx_scores

        return np.concatenate(onnx_scores(artifact.path, requests))
    if artifact.format == "openvino":
        return openvino_scores(artifact, requests)
    return np.concatenate(artifact.torch_ranker().score(requests))


def openvino_scores(artifact, requests) -> np.ndarray:
    """Scores of the artifact as read back from disk by the openvino backend (f32, one thread)."""
    from rankbench.bench.backends import BackendOptions, get_backend
    from rankbench.models.encoder import PairEncoder

    encoder = PairEncoder.from_folder(artifact.path)
    with get_backend("openvino").prepare(artifact, BackendOptions(threads=1)) as session:
        assert session.info["inference_precision"] == "f32"
        return np.concatenate([session.run(encoder.encode(r.pairs())) for r in requests])


def correlates(artifact, teacher, requests, teacher_scores):
    ours = scores(artifact, requests)
    assert np.corrcoef(ours, teacher_scores)[0, 1] > 0.95
    assert teacher.meta["params"] == artifact.meta["params"]


def heads(model) -> list[int]:
    return [layer.attention.self.num_attention_heads for layer in model.bert.encoder.layer]


# --- the claims ---------------------------------------------------------------------------------
def half_heads_global(art, teacher, requests, teacher_scores):
    model = art.torch_ranker().model
    assert sum(heads(model)) == 4 and min(heads(model)) >= 1  # 2 layers x 4 heads -> exactly half left
    assert sum(len(v) for v in model.config.pruned_heads.values()) == 4
    assert art.meta["flops_per_pair"] < teacher.meta["flops_per_pair"]


def half_heads_per_layer(art, teacher, requests, teacher_scores):
    assert heads(art.torch_ranker().model) == [2, 2]


def ffn_global(art, teacher, requests, teacher_scores):
    model = art.torch_ranker().model
    widths = [layer.intermediate.dense.out_features for layer in model.bert.encoder.layer]
    assert widths == art.meta["ffn_widths"] and sum(widths) == 2 * 64 - 32  # 25% of 128 neurons gone
    if len(set(widths)) > 1:
        assert model.config.rankbench_intermediate_sizes == widths


def ffn_per_layer(art, teacher, requests, teacher_scores):
    config = json.loads((art.path / "config.json").read_text())
    assert config["intermediate_size"] == 32 and not config.get("rankbench_intermediate_sizes")


def one_layer_left(art, teacher, requests, teacher_scores):
    assert art.torch_ranker().model.config.num_hidden_layers == 1
    assert art.meta["kept_layers"] == [1]


def sparse(art, teacher, requests, teacher_scores):
    model = art.torch_ranker().model
    weights = [m.weight for m in model.bert.encoder.modules() if isinstance(m, torch.nn.Linear)]
    zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
    assert zeros >= 0.75
    assert art.meta["nonzero_params"] < art.meta["params"] and art.meta["csr_bytes"] < art.meta["dense_bytes"]


def onnx_int8(art, teacher, requests, teacher_scores):
    import onnx

    graph = onnx.load(str(art.path / "model.onnx")).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask", "token_type_ids"]
    assert [o.name for o in graph.output] == ["logits"]
    assert any(n.op_type in ("DynamicQuantizeLinear", "QuantizeLinear", "MatMulInteger") for n in graph.node)
    correlates(art, teacher, requests, teacher_scores)


def static_int8(art, teacher, requests, teacher_scores):
    # Per layer q, k, v, attention output and FFN input; FFN down-projections and the head stay fp32.
    assert art.meta["quantized_nodes"] == 2 * 5
    onnx_int8(art, teacher, requests, teacher_scores)


def torch_int8(art, teacher, requests, teacher_scores):
    quantized = [m for m in art.torch_ranker().model.modules()
                 if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert len(quantized) == 2 * 6 + 2  # per layer q, k, v, attention out, FFN in, FFN out; pooler, head
    correlates(art, teacher, requests, teacher_scores)


def bf16(art, teacher, requests, teacher_scores):
    assert next(art.torch_ranker().model.parameters()).dtype == torch.bfloat16
    assert art.meta["bytes_on_disk"] < 0.6 * teacher.meta["bytes_on_disk"]
    correlates(art, teacher, requests, teacher_scores)


def fp16(art, teacher, requests, teacher_scores):
    assert next(art.torch_ranker().model.parameters()).dtype == torch.float16
    correlates(art, teacher, requests, teacher_scores)


def tensorrt_qdq(art, teacher, requests, teacher_scores):
    import onnx
    from onnx import numpy_helper

    from rankbench.compress.onnx_types import graph_precision, qdq_problems

    path = art.path / "model.onnx"
    graph = onnx.load(str(path)).graph
    zero_points = {n.input[2] for n in graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")}
    inits = {i.name: i for i in graph.initializer}
    # Symmetric INT8 everywhere (what TensorRT accepts): every zero point an int8 constant 0.
    assert zero_points and all(inits[z].data_type == onnx.TensorProto.INT8 for z in zero_points)
    assert not any(numpy_helper.to_array(inits[z]).any() for z in zero_points)
    assert qdq_problems(path) == [] and graph_precision(path) == "int8"
    assert art.meta["precision"] == "int8" and art.meta["calibration_requests"] == 8
    assert art.meta["quantized_nodes"] == 2 * 5  # as ORT static: FFN down-projections and the head stay float
    correlates(art, teacher, requests, teacher_scores)


def onnx_fp16(art, teacher, requests, teacher_scores):
    import onnx

    from rankbench.compress.onnx_types import graph_precision

    graph = onnx.load(str(art.path / "model.onnx")).graph
    assert graph_precision(art.path / "model.onnx") == "fp16" and art.meta["precision"] == "fp16"
    # Inputs and outputs keep their types: int64 ids in, float32 logits out.
    assert [i.type.tensor_type.elem_type for i in graph.input] == [onnx.TensorProto.INT64] * 3
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert art.meta["converter"] in ("modelopt-autocast", "torch-export")
    assert art.meta["bytes_on_disk"] < 0.6 * teacher.meta["bytes_on_disk"]
    correlates(art, teacher, requests, teacher_scores)


def openvino_ir(art, teacher, requests, teacher_scores):
    from rankbench.models.openvino_model import op_counts, read_ir

    model = read_ir(art.path / "model.xml")
    assert [i.get_any_name() for i in model.inputs] == ["input_ids", "attention_mask", "token_type_ids"]
    assert all(i.get_partial_shape().is_dynamic for i in model.inputs)
    assert art.meta["bytes_on_disk"] == sum((art.path / f).stat().st_size for f in ("model.xml", "model.bin"))
    assert art.meta["precision"] == "int8" and art.meta["reload_max_abs_diff"] <= 1e-5
    assert torch_loader(art.format) is None
    correlates(art, teacher, requests, teacher_scores)
    return op_counts(model)


def openvino_int8(art, teacher, requests, teacher_scores):
    counts = openvino_ir(art, teacher, requests, teacher_scores)
    # NNCF quantizes the activations entering the linear layers: at least six per layer, 2 layers.
    assert counts.get("FakeQuantize", 0) == art.meta["fake_quantize_ops"] >= 2 * 6
    assert art.meta["calibration_requests"] == 8


def openvino_weights(art, teacher, requests, teacher_scores):
    counts = openvino_ir(art, teacher, requests, teacher_scores)
    assert counts.get("FakeQuantize", 0) == 0 and art.meta["calibration_requests"] == 0
    from rankbench.models.openvino_model import read_ir

    int8 = [op for op in read_ir(art.path / "model.xml").get_ops()
            if op.get_type_name() == "Constant" and op.get_element_type().get_type_name() in ("u8", "i8")]
    assert len(int8) >= 2 * 6  # the weights of the linear layers are stored as 8-bit integers


def student_one_layer(art, teacher, requests, teacher_scores):
    assert art.torch_ranker().model.config.num_hidden_layers == 1
    assert art.meta["student_init_layers"] == [1] and art.meta["train_steps"] == 2


def narrow_student(art, teacher, requests, teacher_scores):
    model = art.torch_ranker().model
    assert model.config.num_hidden_layers == 2 and heads(model) == [2, 2]
    assert model.config.intermediate_size == 32


# method -> rows of (the step's other fields, the claim to check). Built into the test table from the
# registry: a registered method without a row gets a failing case.
ROWS = {
    "prune-heads": [({"ratio": 0.5}, half_heads_global),
                    ({"ratio": 0.5, "importance": "magnitude", "scope": "per-layer"}, half_heads_per_layer),
                    ({"ratio": 0.5, "recovery": "distill", "recovery_steps": 2}, half_heads_global)],
    "prune-ffn": [({"ratio": 0.25}, ffn_global),
                  ({"ratio": 0.5, "importance": "magnitude", "scope": "per-layer"}, ffn_per_layer)],
    "prune-layers": [({"ratio": 0.5, "which": "alternate"}, one_layer_left)],
    "prune-unstructured": [({"sparsity": 0.75}, sparse)],
    "quantize-ort-dynamic": [({}, onnx_int8)],
    "quantize-ort-static": [({"calibration_requests": 8}, static_int8),
                            ({"calibration_requests": 8, "calibration": "percentile", "skip_ffn_output": False,
                              "quantize_attention": True, "per_channel": False}, onnx_int8)],
    "quantize-torch-dynamic": [({}, torch_int8)],
    "half": [({"dtype": "bfloat16"}, bf16), ({"dtype": "float16"}, fp16)],
    "quantize-tensorrt-int8": [({"calibration_requests": 8}, tensorrt_qdq)],
    "onnx-fp16": [({"converter": "torch"}, onnx_fp16)],
    "quantize-openvino-int8": [({"calibration_requests": 8}, openvino_int8),
                               ({"calibration_requests": 8, "subset_size": 4, "preset": "performance",
                                 "fast_bias_correction": False, "compress_to_fp16": False}, openvino_int8),
                               ({"weights_only": True}, openvino_weights)],
    "distill": [({"layers": 1, **TRAIN}, student_one_layer),
                ({"layers": 2, "heads_ratio": 0.5, "ffn_ratio": 0.5, "loss": "distill-mse", **TRAIN}, narrow_student)],
    "lora": [(TRAIN, lora_merged),
             ({"r": 4, "alpha": 8, "target_modules": ["query", "key", "value", "dense"], "lr": 1e-5,
               "start": "teacher", **TRAIN}, lora_all_linear_on_teacher),
             ({"bias": "all", "modules_to_save": ["LayerNorm", "pooler"], "start": "teacher", **TRAIN},
              lora_with_norms_and_biases)],
    "prefix": [(TRAIN, prefix),
               ({"num_virtual_tokens": 4, "prefix_projection": True, "start": "teacher", **TRAIN}, prefix_projected),
               ({"num_virtual_tokens": 4, "bias": "all", "modules_to_save": ["LayerNorm", "pooler"],
                 "start": "teacher", **TRAIN}, prefix_with_norms_and_biases)],
    "adapter": [({"size": 8, **TRAIN}, adapter),
                ({"size": 8, "bias": "all", "modules_to_save": ["LayerNorm", "pooler"], "start": "teacher", **TRAIN},
                 adapter_with_norms_and_biases),
                ({"size": 4, "lr": 1e-5, "start": "teacher", **TRAIN}, started_from_teacher)],
}
CASES = [({"method": name, **fields}, claim) for name in method_names()
         for fields, claim in ROWS.get(name, [({}, None)])]


def test_every_row_names_a_registered_method():
    assert set(ROWS) <= set(method_names()), f"rows for unknown methods: {set(ROWS) - set(method_names())}"


@pytest.mark.parametrize("step, claim", CASES, ids=[json.dumps(s)[1:-1].replace('"', "") for s, _ in CASES])
def test_method(step, claim, teacher, ctx, requests, teacher_scores):
    if claim is None:
        pytest.fail(f"method {step['method']!r} is registered but has no row in ROWS: add one")
    art = compress(teacher, step, ctx)
    # A complete artifact: metadata, tokenizer, ranker.json, in a folder named by its build key.
    raw = json.loads((art.path / ARTIFACT_FILE).read_text())
    assert raw["format"] == art.format and raw["hash"] == art.hash
    meta = art.meta
    for key in ("params", "nonzero_params", "bytes_on_disk", "flops_per_pair", "build_seconds", "notes"):
        assert key in meta, key
    assert meta["recipe"] == [json.loads(json.dumps(config_from_dict(step).to_dict()))]
    assert meta["parent_hash"] == teacher.hash and Artifact.load(art.path).hash == art.hash
    assert meta["bytes_on_disk"] > 0
    if "train_steps" in meta:
        assert meta["train_seconds"] > 0 and meta["trainable_params"] > 0
        assert meta["train_peak_rss_bytes"] > 0 and meta["train_peak_rss_delta_bytes"] >= 0
    AutoTokenizer.from_pretrained(art.path)
    assert json.loads((art.path / "ranker.json").read_text())["max_length"] == 48
    # Reloads with the same scores: compress compares the model as built with the one read back.
    if art.format not in ("onnx", "openvino"):
        assert meta["reload_max_abs_diff"] <= 1e-5
        assert torch_loader(art.format) is not None
    claim(art, teacher, requests, teacher_scores)


def test_lora_unmerged_rebuilds_the_same_base_with_another_seed(teacher, data, tmp_path, requests):
    from rankbench.compress.api import CompressContext
    from rankbench.compress.methods.peft import lora_unmerged

    ctx = CompressContext(out_dir=tmp_path / "v", data=data, teacher=teacher, seed=3)
    art = compress(teacher, {"method": "lora", **TRAIN}, ctx)
    unmerged = np.concatenate(lora_unmerged(art.path).score(requests))
    assert np.abs(scores(art, requests) - unmerged).max() <= 1e-5


def test_openvino_int8_without_its_packages_says_what_to_install(teacher, ctx, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "nncf", None)  # as if it were not installed
    with pytest.raises(RuntimeError, match="needs the openvino and nncf packages.*pip install openvino nncf"):
        compress(teacher, {"method": "quantize-openvino-int8", "calibration_requests": 8}, ctx)
    assert not any(ctx.out_dir.iterdir())  # nothing half-written


def test_openvino_int8_config_errors_name_the_field():
    with pytest.raises(ValueError, match="subset_size 64 is more than calibration_requests 32"):
        config_from_dict({"method": "quantize-openvino-int8", "calibration_requests": 32, "subset_size": 64})
    with pytest.raises(ValueError, match="preset must be one of"):
        config_from_dict({"method": "quantize-openvino-int8", "preset": "fast"})
    with pytest.raises(ValueError, match="fast_bias_correction"):
        config_from_dict({"method": "quantize-openvino-int8", "fast_bias_correction": "yes"})
