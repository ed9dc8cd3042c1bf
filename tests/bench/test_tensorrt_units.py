"""TensorRT without TensorRT or a GPU: profile shapes, engine cache keys, the unavailable path."""
from __future__ import annotations

import pytest

from rankbench.bench.backends import BackendOptions, BackendUnavailable, get_backend
from rankbench.bench.backends.tensorrt_backend import builder_flags, engine_cache_key, profile_for, profile_shapes


def test_profiles_cover_every_batch_and_length_without_overlap():
    profiles = profile_shapes((1, 8, 64, 512), (16, 32, 64, 128, 256), max_length=128)
    assert [p["max"][1] for p in profiles] == [16, 32, 64, 128]
    assert profiles[0]["min"] == (1, 1) and profiles[1]["min"] == (1, 17)
    assert all(p["max"][0] == 512 and p["opt"][0] == 64 for p in profiles)
    for rows, seq in [(1, 1), (100, 16), (100, 17), (512, 128), (3, 70)]:
        index = profile_for(profiles, rows, seq)
        p = profiles[index]
        assert p["min"][0] <= rows <= p["max"][0] and p["min"][1] <= seq <= p["max"][1]
    with pytest.raises(ValueError, match="no TensorRT optimization profile"):
        profile_for(profiles, 513, 10)
    assert profile_shapes(None, None, 100)[-1]["max"] == (512, 100)  # max_length that is no bucket


def test_engine_cache_key_changes_with_model_shapes_flags_and_device():
    profiles = profile_shapes(None, None, 128)
    key = engine_cache_key("abc", profiles, "fp16", "10.0", "H100")
    assert key == engine_cache_key("abc", profiles, "fp16", "10.0", "H100")
    others = [engine_cache_key("abd", profiles, "fp16", "10.0", "H100"),
              engine_cache_key("abc", profile_shapes(None, None, 64), "fp16", "10.0", "H100"),
              engine_cache_key("abc", profiles, "int8", "10.0", "H100"),
              engine_cache_key("abc", profiles, "fp16", "10.1", "H100"),
              engine_cache_key("abc", profiles, "fp16", "10.0", "A100")]
    assert len({key, *others}) == 6
    assert builder_flags("fp32") == [] and "INT8" in builder_flags("int8")


def test_unavailable_tensorrt_says_why_and_refuses_to_prepare(tiny_artifact):
    backend = get_backend("tensorrt")
    ok, why = backend.available()
    if ok:
        pytest.skip("TensorRT and a GPU are present: the unavailable path does not apply")
    assert why and ("tensorrt" in why.lower() or "gpu" in why.lower())
    with pytest.raises(BackendUnavailable):
        backend.prepare(tiny_artifact, BackendOptions())
    assert not backend.supports(tiny_artifact, BackendOptions(device="cpu"))[0]


def test_tensorrt_int8_artifact_recipe_and_reference(tiny_artifact, tmp_path, requests_):
    import json
    import shutil

    import numpy as np

    from rankbench.models.encoder import PairEncoder
    from rankbench.bench.backends.tensorrt_backend import INT8_FORMAT, int8_recipe
    from rankbench.bench.parity import reference_scores
    from rankbench.compress.artifact import Artifact

    folder = tmp_path / "trt-int8"
    shutil.copytree(tiny_artifact.path, folder)
    encoder = PairEncoder.from_folder(folder)
    (folder / "calibration").mkdir()
    np.savez(folder / "calibration" / "batch_0000.npz", **encoder.encode(requests_[0].pairs()[:4], pad_to=32))
    (folder / "tensorrt.json").write_text(json.dumps({"precision": "int8", "calibration_dir": "calibration",
                                                      "calibration_cache": "calibration.cache"}))
    artifact = Artifact(folder, "trt-int8", INT8_FORMAT, {"backends": ["tensorrt"]})
    batches, table = int8_recipe(artifact)
    assert len(batches) == 1 and batches[0]["input_ids"].shape == (4, 32) and table.name == "calibration.cache"
    backend = get_backend("tensorrt")
    assert backend.precision(artifact, BackendOptions()) == "int8"
    assert backend.supports(artifact, BackendOptions())[0]
    # the reference is PyTorch fp32 of the fp32 files the engine is built from
    scores, name = reference_scores(artifact, encoder, requests_[:1])
    assert name == "torch fp32 cpu" and len(scores[0]) == len(requests_[0].candidates)
