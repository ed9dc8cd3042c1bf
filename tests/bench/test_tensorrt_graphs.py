"""Which graph a TensorRT cell is built from, and which precisions each graph may run in: an INT8 cell
only on symmetric Q/DQ, a Q/DQ or FP16 graph only in its own precision, FP16 of an "hf" folder from a
converted graph kept next to the engines. All of it decided before TensorRT is touched."""
from __future__ import annotations

import pytest

from rankbench.bench.backends import BackendOptions, get_backend
from rankbench.bench.backends.tensorrt_backend import cache_dir, graph_file, graph_precision_of
from rankbench.compress.api import CompressContext, compress
from rankbench.compress.onnx_types import graph_precision


@pytest.fixture(scope="module")
def graphs(tiny_artifact, tiny_data, tmp_path_factory):
    ctx = CompressContext(out_dir=tmp_path_factory.mktemp("variants"), data=tiny_data)
    return {"int8": compress(tiny_artifact, {"method": "quantize-tensorrt-int8", "calibration_requests": 4,
                                             "calibration": "minmax"}, ctx),
            "fp16": compress(tiny_artifact, {"method": "onnx-fp16", "converter": "torch"}, ctx),
            "ort-static": compress(tiny_artifact, {"method": "quantize-ort-static", "calibration_requests": 4}, ctx)}


def test_each_graph_runs_in_its_own_precision_only(graphs):
    backend = get_backend("tensorrt")
    assert backend.supports(graphs["int8"], BackendOptions(precision="int8")) == (True, "")
    assert backend.precision(graphs["int8"], BackendOptions(precision="int8")) == "int8"
    ok, why = backend.supports(graphs["int8"], BackendOptions(precision="fp16"))
    assert not ok and "INT8 Q/DQ" in why and "precision=int8 only" in why
    assert backend.supports(graphs["fp16"], BackendOptions(precision="fp16")) == (True, "")
    ok, why = backend.supports(graphs["fp16"], BackendOptions(precision="fp32"))
    assert not ok and "the graph is fp16" in why
    ok, why = backend.supports(graphs["fp16"], BackendOptions(precision="int8"))
    assert not ok and "calibrated on real requests" in why  # an fp16 graph is no INT8 calibration either
    ok, why = backend.supports(graphs["ort-static"], BackendOptions(precision="int8"))
    assert not ok and "symmetric INT8 Q/DQ only" in why and "UINT8" in why  # ONNX Runtime's U8S8 file


def test_onnxruntime_reports_the_precision_the_graph_was_built_in(graphs):
    ort = get_backend("onnxruntime")
    assert ort.precision(graphs["int8"], BackendOptions()) == "int8"
    assert ort.precision(graphs["fp16"], BackendOptions()) == "fp16"


def test_fp16_of_an_hf_folder_is_a_converted_graph_kept_next_to_the_engines(tiny_artifact, graphs, tmp_path,
                                                                            monkeypatch):
    monkeypatch.setenv("RANKBENCH_TRT_CACHE", str(tmp_path))
    folder = cache_dir(tiny_artifact)
    assert folder.parent == tmp_path and tiny_artifact.hash in folder.name
    path, made = graph_file(tiny_artifact, "fp16", folder)
    assert made in ("torch-export", "modelopt-autocast") and graph_precision(path) == "fp16"
    stamp = path.stat().st_mtime_ns
    assert graph_file(tiny_artifact, "fp16", folder) == (path, made) and path.stat().st_mtime_ns == stamp
    fp32, made = graph_file(tiny_artifact, "tf32", folder)  # tf32 is the fp32 graph with TF32 products
    assert made == "as built" and graph_precision(fp32) == "fp32"
    assert graph_file(graphs["int8"], "int8", folder)[0] == graphs["int8"].path / "model.onnx"
    assert graph_precision_of(tiny_artifact) == "fp32" and graph_precision_of(graphs["int8"]) == "int8"
