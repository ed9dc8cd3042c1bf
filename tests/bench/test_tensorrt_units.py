"""TensorRT without TensorRT or a GPU: the build path against fake `tensorrt` modules shaped like 10.x
and 11.x (11.x lacks the removed API, so using it fails here as it would there), profiles, engine cache
keys, the version range, and which precision each graph may run in (INT8 only from symmetric Q/DQ)."""
from __future__ import annotations

import types

import pytest

from rankbench.bench.backends import BackendOptions, BackendUnavailable, get_backend
from rankbench.bench.backends import tensorrt_backend
from rankbench.bench.backends.tensorrt_build import (build_engine, engine_cache_key, network_flags, profile_for,
                                                     profile_shapes, version_problem)


class _Slots:
    """Objects that refuse unknown attributes, as the bindings do (`config.int8_calibrator = x` fails)."""
    __slots__ = ()


def fake_tensorrt(version: str = "11.4.0", strongly_typed_flag: int | None = None, parse_ok: bool = True):
    """A `tensorrt` module with the builder API rankbench uses, recording each call in `trt.calls`."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    calls = trt.calls = []
    flags = {"STRONGLY_TYPED": strongly_typed_flag} if strongly_typed_flag is not None else {}
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(**flags)
    trt.BuilderFlag = types.SimpleNamespace(TF32="TF32", DEBUG="DEBUG", REFIT="REFIT")  # 11.x: no FP16, INT8 ...
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE="WORKSPACE")

    class Profile(_Slots):
        def set_shape(self, name, lo, opt, hi):
            calls.append(("set_shape", name, lo, opt, hi))

    class Config(_Slots):
        def set_memory_pool_limit(self, pool, size):
            calls.append(("pool", pool, size))

        def set_flag(self, flag):
            calls.append(("set_flag", flag))

        def clear_flag(self, flag):
            calls.append(("clear_flag", flag))

        def add_optimization_profile(self, profile):
            calls.append(("add_profile",))

    class Network(_Slots):
        num_inputs = 3

        def get_input(self, i):
            return types.SimpleNamespace(name=("input_ids", "attention_mask", "token_type_ids")[i])

    class Builder(_Slots):
        def __init__(self, logger):
            pass

        def create_network(self, flags=0):
            calls.append(("create_network", flags))
            return Network()

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            return b"engine-bytes"

    class OnnxParser(_Slots):
        num_errors = 0 if parse_ok else 1

        def __init__(self, network, logger):
            pass

        def parse(self, data):
            calls.append(("parse", len(data)))
            return parse_ok

        def get_error(self, i):
            return "unsupported node"

    trt.Builder, trt.OnnxParser = Builder, OnnxParser
    return trt


def test_profiles_cover_every_batch_and_length_without_overlap():
    profiles = profile_shapes((1, 8, 64, 512), (16, 32, 64, 128, 256), max_length=128)
    assert [p["max"][1] for p in profiles] == [16, 32, 64, 128]
    assert profiles[0]["min"] == (1, 1) and profiles[1]["min"] == (1, 17)
    assert all(p["max"][0] == 512 and p["opt"][0] == 64 for p in profiles)
    for rows, seq in [(1, 1), (100, 16), (100, 17), (512, 128), (3, 70)]:
        p = profiles[profile_for(profiles, rows, seq)]
        assert p["min"][0] <= rows <= p["max"][0] and p["min"][1] <= seq <= p["max"][1]
    with pytest.raises(ValueError, match="at most 512 rows: split"):
        profile_for(profiles, 800, 10)  # a merged server batch: the callers split it (run_in_chunks)
    assert profile_shapes(None, None, 100)[-1]["max"] == (512, 100)  # max_length that is no bucket


def test_engine_cache_key_changes_with_graph_shapes_precision_version_and_device():
    profiles = profile_shapes(None, None, 128)
    key = engine_cache_key("abc", profiles, "fp16", "10.0", "H100")
    assert key == engine_cache_key("abc", profiles, "fp16", "10.0", "H100")
    others = [engine_cache_key("abd", profiles, "fp16", "10.0", "H100"),
              engine_cache_key("abc", profile_shapes(None, None, 64), "fp16", "10.0", "H100"),
              engine_cache_key("abc", profiles, "tf32", "10.0", "H100"),
              engine_cache_key("abc", profiles, "fp16", "11.4", "H100"),
              engine_cache_key("abc", profiles, "fp16", "10.0", "A100")]
    assert len({key, *others}) == 6


def test_the_supported_versions_are_10_and_11():
    assert version_problem("10.3.0") is None and version_problem("11.4.0.106") is None
    for old_or_new in ("8.6.1", "9.3.0", "12.0.0"):
        assert "10.x, 11.x" in version_problem(old_or_new)


@pytest.mark.parametrize("precision, flag_call", [("fp32", ("clear_flag", "TF32")), ("tf32", ("set_flag", "TF32"))])
def test_build_on_tensorrt_11_is_strongly_typed_with_our_profiles(tmp_path, precision, flag_call):
    trt = fake_tensorrt("11.4.0")
    (tmp_path / "model.onnx").write_bytes(b"onnx!")
    profiles = profile_shapes((1, 64, 512), (32, 64), max_length=64)
    out = build_engine(trt, None, tmp_path / "model.onnx", tmp_path / "e" / "k.engine", profiles,
                       tf32=precision == "tf32")
    assert out.read_bytes() == b"engine-bytes" and not list(out.parent.glob("*.tmp"))
    assert trt.calls[0] == ("create_network", 0)  # 11.x: strong typing is the only mode, no flag
    assert flag_call in trt.calls and [c for c in trt.calls if c[0] == "set_flag"] == \
        ([flag_call] if flag_call[0] == "set_flag" else [])
    shapes = [c for c in trt.calls if c[0] == "set_shape"]
    assert len(shapes) == 3 * len(profiles) and [c[0] for c in trt.calls].count("add_profile") == len(profiles)
    assert ("set_shape", "input_ids", (1, 33), (64, 64), (512, 64)) in shapes


def test_build_on_tensorrt_10_asks_for_a_strongly_typed_network(tmp_path):
    trt = fake_tensorrt("10.8.0", strongly_typed_flag=5)
    assert network_flags(trt) == 1 << 5
    (tmp_path / "model.onnx").write_bytes(b"onnx!")
    build_engine(trt, None, tmp_path / "model.onnx", tmp_path / "k.engine", profile_shapes(None, None, 64))
    assert trt.calls[0] == ("create_network", 1 << 5)


def test_a_graph_tensorrt_cannot_parse_leaves_no_engine(tmp_path):
    trt = fake_tensorrt(parse_ok=False)
    (tmp_path / "model.onnx").write_bytes(b"onnx!")
    with pytest.raises(RuntimeError, match="could not parse .*unsupported node"):
        build_engine(trt, None, tmp_path / "model.onnx", tmp_path / "k.engine", profile_shapes(None, None, 64))
    assert not list(tmp_path.glob("k.engine*"))


def test_unavailable_tensorrt_says_why_and_refuses_to_prepare(tiny_artifact, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "tensorrt", fake_tensorrt("12.1.0"))
    ok, why = get_backend("tensorrt").available()
    assert not ok and "outside the range" in why  # a TensorRT this backend was not written for
    monkeypatch.delitem(__import__("sys").modules, "tensorrt")
    backend = get_backend("tensorrt")
    ok, why = backend.available()
    if ok:
        pytest.skip("TensorRT and a GPU are present: the unavailable path does not apply")
    assert why and ("tensorrt" in why.lower() or "gpu" in why.lower())
    with pytest.raises(BackendUnavailable):
        backend.prepare(tiny_artifact, BackendOptions())
    assert not backend.supports(tiny_artifact, BackendOptions(device="cpu"))[0]


def test_an_int8_cell_without_qdq_calibration_is_refused_never_built(tiny_artifact, monkeypatch):
    backend = get_backend("tensorrt")
    ok, why = backend.supports(tiny_artifact, BackendOptions(precision="int8"))
    assert not ok and "Q/DQ" in why and "calibrated on real requests" in why
    for precision in ("fp32", "tf32", "fp16", "bf16"):
        assert backend.supports(tiny_artifact, BackendOptions(precision=precision)) == (True, "")
    monkeypatch.setattr(tensorrt_backend, "_unavailable_reason", lambda: None)  # as on a GPU machine

    def never(*args, **kwargs):
        raise AssertionError("no session may be prepared for a refused cell")

    monkeypatch.setattr(tensorrt_backend, "TensorrtSession", never)
    with pytest.raises(ValueError, match="tensorrt: INT8 on TensorRT needs a graph with INT8 Q/DQ nodes"):
        backend.prepare(tiny_artifact, BackendOptions(precision="int8"))


def test_the_tensorrt_extra_pins_the_range_the_backend_accepts():
    import re
    from pathlib import Path

    from rankbench.bench.backends.tensorrt_build import SUPPORTED_MAJOR

    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    pin = re.search(r'^tensorrt = \["tensorrt([^"]*)"', text, re.M).group(1)
    assert pin == f">={SUPPORTED_MAJOR[0]},<{SUPPORTED_MAJOR[-1] + 1}"
