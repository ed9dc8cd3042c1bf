"""The openvino backend on the tiny model: explicit precision (f32 really set, bf16 its own option),
dynamic shapes, threads and hints read back, the IR cache, INT8 artifacts (its own and ONNX
Runtime's), the "unavailable" rows of other backends, and clear errors for a damaged IR.
(Parity with PyTorch fp32 is in test_backends.py, with every backend.)"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import rankbench.models.openvino_model  # noqa: E402,F401 - before openvino: no telemetry without consent

pytest.importorskip("openvino", reason="the openvino package is not installed")

from rankbench.bench.backends import BackendOptions, get_backend  # noqa: E402
from rankbench.bench.parity import check_parity, reference_scores  # noqa: E402
from rankbench.bench.runner import run_benchmark  # noqa: E402
from rankbench.bench.timing import TimingConfig  # noqa: E402
from rankbench.compress.api import CompressContext, compress  # noqa: E402
from rankbench.compress.artifact import Artifact  # noqa: E402
from rankbench.models.encoder import PairEncoder  # noqa: E402
from rankbench.models.openvino_model import OpenVinoModelError, core, cpu_capabilities  # noqa: E402
from rankbench.models.requests import RankingData  # noqa: E402
from tests.bench.conftest import make_requests  # noqa: E402

OV = get_backend("openvino")
ONE_THREAD = BackendOptions(threads=1)
FAST = TimingConfig(min_samples=2, min_seconds=0, warmup_min=1, warmup_max=2)


@pytest.fixture(scope="module")
def ov_int8(tiny_artifact, tmp_path_factory):
    """The tiny ranker quantized by quantize-openvino-int8, calibrated on 6 hand-made requests."""
    train = make_requests(8, 12, seed=1)
    data = RankingData("handmade", train, [], make_requests(), {})
    ctx = CompressContext(out_dir=tmp_path_factory.mktemp("ov"), data=data, seed=0)
    return compress(tiny_artifact, {"method": "quantize-openvino-int8", "calibration_requests": 6}, ctx)


def _scores(artifact, options, batches):
    with OV.prepare(artifact, options) as session:
        return [session.run(b) for b in batches], dict(session.info), session


def test_fp32_cells_really_compute_in_f32(tiny_artifact):
    with OV.prepare(tiny_artifact, ONE_THREAD) as session:
        read_back = session.compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        assert read_back == "f32" and session.info["inference_precision"] == "f32"
        assert session.info["performance_hint"] == "LATENCY" and session.info["threads"] == 1
    if "BF16" in cpu_capabilities():
        # What the option guards against: left alone, OpenVINO would have compiled this in bf16 here.
        assert core().get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name() == "bf16"


def test_bf16_is_an_option_of_its_own_where_the_cpu_has_it(tiny_artifact, requests_, monkeypatch):
    bf16 = BackendOptions(precision="bf16", threads=1)
    if "BF16" in cpu_capabilities():
        assert OV.supports(tiny_artifact, bf16) == (True, "") and OV.precision(tiny_artifact, bf16) == "bf16"
        batch = PairEncoder.from_folder(tiny_artifact.path).encode(requests_[0].pairs())
        (low,), info, _ = _scores(tiny_artifact, bf16, [batch])
        (full,), _, _ = _scores(tiny_artifact, ONE_THREAD, [batch])
        assert info["inference_precision"] == "bf16"
        assert 0 < np.abs(low - full).max() < 0.1  # bf16 rounding shows, and stays small
    monkeypatch.setattr("rankbench.models.openvino_model.cpu_capabilities", lambda: ["FP32", "INT8"])
    ok, why = OV.supports(tiny_artifact, bf16)
    assert not ok and "AVX512_BF16 or AMX" in why and "FP32, INT8" in why
    ok, why = OV.supports(tiny_artifact, BackendOptions(precision="int8"))
    assert not ok and "quantize-openvino-int8" in why


def test_one_session_runs_every_batch_shape_as_separate_sessions_do(tiny_artifact, requests_):
    encoder = PairEncoder.from_folder(tiny_artifact.path)
    batches = [encoder.encode(requests_[0].pairs()[:3]), encoder.encode(requests_[1].pairs()),
               encoder.encode(requests_[2].pairs()[:1]), encoder.encode(requests_[0].pairs()[:3])]
    assert len({b["input_ids"].shape for b in batches}) == 3
    together, _, _ = _scores(tiny_artifact, ONE_THREAD, batches)
    for batch, got in zip(batches, together, strict=True):
        (alone,), _, _ = _scores(tiny_artifact, ONE_THREAD, [batch])
        assert got.shape == (batch["input_ids"].shape[0],) and np.abs(got - alone).max() <= 1e-6
    assert np.array_equal(together[0], together[3])


def test_the_throughput_hint_spreads_a_batch_over_its_streams(tiny_artifact, requests_):
    batch = PairEncoder.from_folder(tiny_artifact.path).encode(requests_[1].pairs())
    (latency,), _, _ = _scores(tiny_artifact, BackendOptions(threads=2), [batch])
    with OV.prepare(tiny_artifact, BackendOptions(threads=2, performance_hint="throughput")) as session:
        assert session.info["performance_hint"] == "THROUGHPUT"
        assert len(session.requests) == session.info["streams"] >= 1  # one infer request per stream
        throughput = session.run(batch)
        if session.info["streams"] > 1:  # each stream scored its share of the 12 rows
            shares = [r.get_output_tensor(0).get_shape()[0] for r in session.requests]
            assert sum(shares) == 12 and min(shares) >= 12 // len(shares)
    assert throughput.shape == (12,) and np.abs(latency - throughput).max() <= 1e-5


def test_the_converted_ir_is_cached_by_its_source(tiny_artifact, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(tiny_artifact.path, folder, ignore=shutil.ignore_patterns("onnx"))
    artifact = Artifact.load(folder)
    _, first, _ = _scores(artifact, ONE_THREAD, [])
    _, second, _ = _scores(artifact, ONE_THREAD, [])
    assert (first["ir_reused"], second["ir_reused"]) == (False, True)
    assert first["model_file"] == str(folder / "onnx" / "openvino" / "model.xml")
    (folder / "onnx" / "openvino" / "source.json").write_text('{"fingerprint": "of another onnx file"}')
    _, stale, _ = _scores(artifact, ONE_THREAD, [])
    (folder / "onnx" / "openvino" / "model.xml").write_text("<net><layers")  # a damaged cache is rebuilt
    _, damaged, _ = _scores(artifact, ONE_THREAD, [])
    assert (stale["ir_reused"], damaged["ir_reused"]) == (False, False)
    assert not [p for p in (folder / "onnx").iterdir() if p.name.endswith(".tmp")]


def test_an_openvino_artifact_runs_on_openvino_and_is_unavailable_elsewhere(ov_int8, data, tmp_path):
    assert ov_int8.format == "openvino" and OV.precision(ov_int8, BackendOptions()) == "int8"
    for name in ("torch", "onnxruntime", "xla", "tensorrt"):
        ok, why = get_backend(name).supports(ov_int8, BackendOptions())
        assert not ok and "'openvino'" in why, (name, why)
    results = run_benchmark({"ov-int8": ov_int8}, tmp_path, ["onnxruntime:threads=1", "openvino:threads=1"],
                            ["single-stream"], data=data, users=2, timing=FAST, latency_requests=2,
                            parity_requests=2, progress=False)
    cells = {c["backend"]: c for c in results["cells"]}
    assert cells["onnxruntime"]["status"] == "unavailable" and "'openvino'" in cells["onnxruntime"]["reason"]
    ov_cell = cells["openvino"]
    assert ov_cell["status"] == "ok", ov_cell["reason"]
    assert ov_cell["parity"]["reference"] == "openvino fp32 cpu" and ov_cell["parity"]["precision"] == "int8"
    assert ov_cell["backend_info"]["inference_precision"] == "f32" and ov_cell["backend_info"]["threads"] == 1
    assert results["artifacts"]["ov-int8"]["accuracy"]["scorer"] == "openvino fp32 cpu"
    assert ov_cell["accuracy"]["users"] == 2


def test_an_onnx_runtime_int8_file_runs_if_openvino_reads_it(tiny_artifact, requests_, tmp_path):
    ort_int8 = compress(tiny_artifact, {"method": "quantize-ort-dynamic"}, CompressContext(out_dir=tmp_path))
    assert OV.supports(ort_int8, ONE_THREAD) == (True, "") and OV.precision(ort_int8, ONE_THREAD) == "int8"
    encoder = PairEncoder.from_folder(ort_int8.path)
    reference, name = reference_scores(ort_int8, encoder, requests_)
    assert name == "onnxruntime fp32 cpu"
    with OV.prepare(ort_int8, ONE_THREAD) as session:
        figures = check_parity(session, encoder, requests_, reference, "int8", name)
    assert figures["passed"], figures
    broken = tmp_path / "broken"
    shutil.copytree(ort_int8.path, broken)
    (broken / "model.onnx").write_bytes(b"not an onnx file")
    ok, why = OV.supports(Artifact.load(broken), ONE_THREAD)
    assert not ok and "OpenVINO cannot read" in why and "model.onnx" in why


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "model.xml").write_text("<net><layers><layer id='0'"), "not well-formed XML"),
    (lambda f: (f / "model.xml").write_text("<html></html>"), "root element is <html>"),
    (lambda f: (f / "model.bin").write_bytes(b"123"), "Incorrect weights"),
    (lambda f: (f / "model.bin").unlink(), "model.bin is missing"),
])
def test_a_damaged_ir_gives_an_error_naming_the_file(ov_int8, data, tmp_path, damage, message):
    folder = tmp_path / "damaged"
    shutil.copytree(ov_int8.path, folder)
    damage(folder)
    artifact = Artifact.load(folder)
    with pytest.raises(OpenVinoModelError, match=message) as err:
        OV.prepare(artifact, ONE_THREAD)
    assert str(folder / "model.xml") in str(err.value)
    results = run_benchmark({"damaged": artifact}, tmp_path / "run", ["openvino:threads=1"], ["single-stream"],
                            data=data, users=1, timing=FAST, latency_requests=1, parity_requests=1, progress=False)
    (cell,) = results["cells"]
    assert cell["status"] == "failed" and str(folder / "model.xml") in cell["reason"] and message in cell["reason"]
