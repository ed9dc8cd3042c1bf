"""The GPU bundle: teacher weights in fp16 restored to fp32, the MovieLens files, a manifest checked on
arrival, and the size limit (60 MiB, so it fits a 64 MiB transfer) enforced before anything is kept."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rankbench.models.bundle import BUNDLE_LIMIT, BundleError, check_bundle, make_bundle, restore_bundle
from rankbench.models.data import DataConfig, load_data
from rankbench.models.ranker import BertRanker


@pytest.fixture(scope="module")
def teacher_folder(tmp_path_factory):
    from rankbench.models.presets import load_ranker

    ranker = load_ranker("tiny-random", seed=0, max_length=48)
    return ranker.save(tmp_path_factory.mktemp("teacher"))


def test_bundle_round_trip(teacher_folder, fake_movielens, tmp_path):
    pairs = [("watched: Film 3 (1953)", f"Film {i} | Drama") for i in range(6)]
    manifest = make_bundle(teacher_folder, fake_movielens, tmp_path / "bundle", pairs=pairs)
    files = manifest["files"]
    assert {"teacher/model.fp16.safetensors", "teacher/config.json", "teacher/ranker.json", "teacher/vocab.txt",
            "data/ml-100k.inter", "data/ml-100k.item", "data/ml-100k.user"} <= set(files)
    assert manifest["total_bytes"] == sum(f["bytes"] for f in files.values()) <= BUNDLE_LIMIT
    weights = (teacher_folder / "model.safetensors").stat().st_size
    assert files["teacher/model.fp16.safetensors"]["bytes"] < 0.55 * weights
    assert manifest["data"]["matches_recbole_checksums"] is False  # made-up files, and it says so
    assert 0 < manifest["teacher"]["max_abs_weight_rounding"] < 1e-3
    teacher, data_dir = restore_bundle(tmp_path / "bundle", tmp_path / "work")
    from safetensors.torch import load_file

    assert {str(t.dtype) for t in load_file(str(teacher / "model.safetensors")).values()} <= {"torch.float32",
                                                                                             "torch.int64"}
    before = BertRanker.load(teacher_folder).score_pairs(pairs)
    after = BertRanker.load(teacher).score_pairs(pairs)
    assert np.abs(before - after).max() == pytest.approx(manifest["teacher"]["max_abs_score_change"], abs=1e-6)
    assert np.abs(before - after).max() < 1e-2
    data = load_data(DataConfig(data_dir=str(data_dir)))
    assert len(data.test) == 12 and len(data.test[0].candidates) == 100
    stamp = (teacher / "model.safetensors").stat().st_mtime_ns
    assert restore_bundle(tmp_path / "bundle", tmp_path / "work")[0] == teacher  # restored once
    assert (teacher / "model.safetensors").stat().st_mtime_ns == stamp


def test_a_bundle_over_the_limit_is_not_written(teacher_folder, fake_movielens, tmp_path):
    with pytest.raises(BundleError, match="more than its limit of 0.1 MiB"):
        make_bundle(teacher_folder, fake_movielens, tmp_path / "bundle", limit=100_000)
    assert list(tmp_path.iterdir()) == []  # neither the bundle nor its staging folder


def test_a_damaged_bundle_is_refused_by_name(teacher_folder, fake_movielens, tmp_path):
    make_bundle(teacher_folder, fake_movielens, tmp_path / "bundle")
    with open(tmp_path / "bundle" / "data" / "ml-100k.item", "a") as fh:
        fh.write("x")
    with pytest.raises(BundleError, match="data/ml-100k.item is missing or damaged"):
        check_bundle(tmp_path / "bundle")
    with pytest.raises(BundleError, match="lacks ml-100k.inter"):
        make_bundle(teacher_folder, tmp_path / "nowhere", tmp_path / "b2")


@pytest.mark.slow
def test_the_minilm_teacher_and_movielens_fit_in_60_mib(tmp_path):
    """The real sizes: MiniLM-L6 (the teacher's shape) in fp16 plus the real ml-100k files."""
    from rankbench.models.movielens import ensure_files
    from rankbench.models.presets import load_ranker

    folder = load_ranker("minilm-l6", max_length=64).save(tmp_path / "minilm")
    manifest = make_bundle(folder, ensure_files(), tmp_path / "bundle")
    assert manifest["data"]["matches_recbole_checksums"] is True
    assert 40 * 2**20 < manifest["total_bytes"] <= BUNDLE_LIMIT, manifest["total_bytes"]
    assert json.loads((tmp_path / "bundle" / "bundle.json").read_text())["total_bytes"] == manifest["total_bytes"]
