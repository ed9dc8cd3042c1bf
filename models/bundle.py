"""A portable bundle of the trained teacher and the MovieLens files, small enough for a machine whose
transfer limit is 64 MiB (a bundle is at most BUNDLE_LIMIT = 60 MiB, or it is not written).

    manifest = make_bundle(teacher_folder, data_dir, "runs/gpu-bundle")   # whole folder, or nothing
    teacher_folder, data_dir = restore_bundle("runs/gpu-bundle", "work")  # on the other machine

The teacher's weights travel as fp16 safetensors (half the bytes: MiniLM-L6's fp32 weights are about
90 MB) and are restored to fp32 on arrival: the restored teacher is the teacher with its weights
rounded to fp16 once, and the manifest records the largest rounding error (and, when `pairs` are given,
the largest score difference it makes). Carried along: config.json, the tokenizer files, ranker.json,
train_report.json and the three ml-100k files. Every file's size and sha256 are in bundle.json and
are checked on arrival.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from rankbench.common.files import atomic_write_json, replace_dir
from rankbench.models.movielens import SHA256 as MOVIELENS_SHA256

BUNDLE_LIMIT = 60 * 2**20
MANIFEST = "bundle.json"
HALF_WEIGHTS = "model.fp16.safetensors"
MODEL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
               "ranker.json", "train_report.json")


class BundleError(ValueError):
    """A bundle that cannot be made (too large, missing files) or restored (damaged): says which."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _half_weights(src: Path, dst: Path) -> float:
    """fp32 safetensors -> fp16 ones; returns the largest absolute rounding error."""
    import torch
    from safetensors.torch import load_file, save_file

    state = load_file(str(src))
    half, worst = {}, 0.0
    for name, tensor in state.items():
        if not tensor.is_floating_point():
            half[name] = tensor
            continue
        converted = tensor.to(torch.float16)
        if not torch.isfinite(converted).all():
            raise BundleError(f"{src}: weight {name} does not fit fp16 (|w| up to {tensor.abs().max():.3g})")
        worst = max(worst, float((converted.float() - tensor.float()).abs().max()) if tensor.numel() else 0.0)
        half[name] = converted.contiguous()
    save_file(half, str(dst), metadata={"restore_dtype": "float32"})
    return worst


def _copy_inputs(teacher: Path, data_dir: Path, staging: Path) -> float:
    weights = teacher / "model.safetensors"
    if not weights.is_file() or not (teacher / "config.json").is_file():
        raise BundleError(f"{teacher}: a teacher folder needs config.json and model.safetensors")
    missing = [name for name in MOVIELENS_SHA256 if not (data_dir / name).is_file()]
    if missing:
        raise BundleError(f"{data_dir} lacks {', '.join(missing)}")
    (staging / "teacher").mkdir(parents=True)
    (staging / "data").mkdir()
    rounding = _half_weights(weights, staging / "teacher" / HALF_WEIGHTS)
    for name in MODEL_FILES:
        if (teacher / name).is_file():
            shutil.copy2(teacher / name, staging / "teacher" / name)
    for name in MOVIELENS_SHA256:
        shutil.copy2(data_dir / name, staging / "data" / name)
    return rounding


def make_bundle(teacher, data_dir, out, limit: int = BUNDLE_LIMIT, pairs=None) -> dict:
    """Write the bundle folder `out` (replacing an older one) and return its manifest; raise
    BundleError, leaving nothing behind, when it would pass `limit` bytes."""
    teacher, data_dir, out = Path(teacher), Path(data_dir), Path(out)
    staging = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        rounding = _copy_inputs(teacher, data_dir, staging)
        files = {p.relative_to(staging).as_posix(): {"bytes": p.stat().st_size, "sha256": _sha256(p)}
                 for p in sorted(staging.rglob("*")) if p.is_file()}
        total = sum(f["bytes"] for f in files.values())
        if total > limit:
            raise BundleError(f"the bundle would hold {total / 2**20:.1f} MiB, more than its limit of "
                              f"{limit / 2**20:.1f} MiB")
        verified = all(files[f"data/{n}"]["sha256"] == h for n, h in MOVIELENS_SHA256.items())
        manifest = {"version": 1, "limit_bytes": limit, "total_bytes": total, "files": files,
                    "teacher": {"source": str(teacher), "stored_dtype": "float16", "restored_dtype": "float32",
                                "max_abs_weight_rounding": rounding},
                    "data": {"dataset": "movielens-100k", "matches_recbole_checksums": verified}}
        if pairs:
            manifest["teacher"]["max_abs_score_change"] = _score_change(teacher, staging, pairs)
        atomic_write_json(staging / MANIFEST, manifest)
        replace_dir(staging, out)
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _score_change(teacher: Path, staging: Path, pairs) -> float:
    """Largest score difference between the teacher and its restored copy on `pairs`."""
    import numpy as np

    from rankbench.models.ranker import BertRanker

    restored = _restore_teacher(staging, staging / ".restored")
    try:
        before = BertRanker.load(teacher).score_pairs(list(pairs))
        after = BertRanker.load(restored).score_pairs(list(pairs))
        return float(np.abs(before.astype(np.float64) - after).max())
    finally:
        shutil.rmtree(staging / ".restored", ignore_errors=True)


def check_bundle(bundle) -> dict:
    """The manifest, after checking every file's size and sha256 (BundleError names a bad file)."""
    bundle = Path(bundle)
    try:
        manifest = json.loads((bundle / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise BundleError(f"{bundle}: no readable {MANIFEST} ({err})") from None
    for name, facts in manifest["files"].items():
        path = bundle / name
        if not path.is_file() or path.stat().st_size != facts["bytes"] or _sha256(path) != facts["sha256"]:
            raise BundleError(f"{bundle}: {name} is missing or damaged (size or sha256 differs from {MANIFEST})")
    return manifest


def _restore_teacher(bundle: Path, out: Path) -> Path:
    import torch
    from safetensors.torch import load_file, save_file

    out.mkdir(parents=True, exist_ok=True)
    state = load_file(str(bundle / "teacher" / HALF_WEIGHTS))
    full = {k: (v.to(torch.float32) if v.is_floating_point() else v) for k, v in state.items()}
    save_file(full, str(out / "model.safetensors"), metadata={"format": "pt"})
    for name in MODEL_FILES:
        if (bundle / "teacher" / name).is_file():
            shutil.copy2(bundle / "teacher" / name, out / name)
    return out


def restore_bundle(bundle, out) -> tuple[Path, Path]:
    """(the teacher as an fp32 ranker folder under `out`, the folder of the ml-100k files), after
    checking the bundle. A teacher restored before from the same bundle is reused."""
    bundle, out = Path(bundle), Path(out)
    manifest = check_bundle(bundle)
    stamp = hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()
    teacher = out / "teacher-fp32"
    marker = teacher / "restored.json"
    if not (marker.is_file() and json.loads(marker.read_text()).get("bundle") == stamp):
        staging = out / f".teacher-fp32.{os.getpid()}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        _restore_teacher(bundle, staging)
        atomic_write_json(staging / "restored.json", {"bundle": stamp, "from": str(bundle)})
        replace_dir(staging, teacher)
    return teacher, bundle / "data"
