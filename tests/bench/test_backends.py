"""Each backend on the tiny model: parity with PyTorch fp32 (skipped with the reason where the
backend is unavailable here), plus the registry and options contracts."""
from __future__ import annotations

import numpy as np
import pytest

from rankbench.bench.backends import BackendOptions, backend_names, get_backend, parse_backend_spec
from rankbench.models.encoder import PairEncoder
from rankbench.bench.backends.base import pad_batch
from rankbench.bench.backends.options import bucket
from rankbench.bench.parity import check_parity, reference_scores

BACKENDS = ["torch", "onnxruntime", "xla", "tensorrt", "openvino"]


def test_registry_lists_the_builtin_backends_and_rejects_unknown_names():
    assert set(BACKENDS) <= set(backend_names())
    with pytest.raises(ValueError, match="known backends: .*onnxruntime"):
        get_backend("tvm")


def test_options_are_validated_and_parsed():
    name, options = parse_backend_spec("torch:fp16:cuda_graphs:threads=2:seq_buckets=32/64")
    assert name == "torch" and options.precision == "fp16" and options.cuda_graphs and options.threads == 2
    assert options.seq_buckets == (32, 64)
    assert options.label() == "fp16+threads=2+cuda_graphs+seq_buckets=32,64"
    assert BackendOptions.from_dict(options.to_dict()) == options
    with pytest.raises(ValueError, match="precision"):
        BackendOptions(precision="fp8")
    with pytest.raises(ValueError, match="backend options: unknown key 'batch'"):
        BackendOptions.from_dict({"batch": 3})
    with pytest.raises(ValueError, match="threads: expected an integer or none, got true"):
        BackendOptions.from_dict({"threads": True})
    with pytest.raises(ValueError, match="increasing"):
        BackendOptions(seq_buckets=(64, 32))


def test_buckets_and_padding():
    assert bucket(20, (16, 32, 64), 128) == 32
    assert bucket(100, (16, 32, 64, 128, 256), 100) == 100  # capped at max_length
    assert bucket(700, (1, 512), 512) == 700
    batch = {"input_ids": np.ones((3, 5), np.int64), "attention_mask": np.ones((3, 5), np.int64)}
    padded = pad_batch(batch, 4, 8)
    assert padded["input_ids"].shape == (4, 8) and padded["attention_mask"][:3, 5:].sum() == 0


@pytest.mark.parametrize("name", BACKENDS)
def test_backend_matches_torch_fp32_on_the_tiny_model(name, tiny_artifact, requests_):
    backend = get_backend(name)
    ok, why = backend.available()
    if not ok:
        pytest.skip(f"{name} unavailable here: {why}")
    options = BackendOptions(threads=1) if name in ("torch", "onnxruntime", "openvino") else BackendOptions()
    ok, why = backend.supports(tiny_artifact, options)
    assert ok, why
    encoder = PairEncoder.from_folder(tiny_artifact.path)
    reference, ref_name = reference_scores(tiny_artifact, encoder, requests_)
    assert np.ptp(reference[0]) > 1e-3  # the scores spread, so rank statistics mean something
    with backend.prepare(tiny_artifact, options) as session:
        assert isinstance(session.device, str) and session.device
        figures = check_parity(session, encoder, requests_, reference, "fp32", ref_name)
        scores = session.run(encoder.encode(requests_[0].pairs()[:3]))
        session.synchronize()
    assert scores.dtype == np.float32 and scores.shape == (3,)
    assert figures["passed"], figures
    assert figures["max_abs_diff"] <= 1e-3 and figures["spearman"] >= 0.999


def test_unsupported_combinations_say_why(tiny_artifact):
    ok, why = get_backend("onnxruntime").supports(tiny_artifact, BackendOptions(precision="fp16"))
    assert not ok and "fp16" in why
    ok, why = get_backend("xla").supports(tiny_artifact, BackendOptions(compile=True))
    assert not ok and "compile" in why
    for name in ("torch", "onnxruntime", "xla", "tensorrt"):  # an openvino option elsewhere is refused
        ok, why = get_backend(name).supports(tiny_artifact, BackendOptions(performance_hint="latency"))
        assert not ok and "performance_hint" in why, name


def test_performance_hint_is_an_option_like_the_others():
    name, options = parse_backend_spec("openvino:bf16:performance_hint=throughput:threads=2")
    assert (name, options.precision, options.performance_hint) == ("openvino", "bf16", "throughput")
    assert options.label() == "bf16+threads=2+performance_hint=throughput"
    assert BackendOptions.from_dict(options.to_dict()) == options
    with pytest.raises(ValueError, match="performance_hint 'fast'"):
        BackendOptions(performance_hint="fast")


def test_a_missing_openvino_package_is_a_reason_not_a_crash(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "openvino", None)  # as if it were not installed
    ok, why = get_backend("openvino").available()
    assert not ok and "openvino is not installed" in why
