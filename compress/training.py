"""Training helpers shared by distillation, PEFT and recovery after pruning.

    targets = teacher_scores(teacher_artifact, requests, ctx)      # computed once, then cached
    meta = run_training(ranker, train_config, ctx, teacher=parent) # -> train_seconds, trainable_params,
                                                                   #    train_peak_rss(_delta)_bytes

Teacher scores are cached under ctx.cache_dir/teacher-scores by (teacher hash, digest of the
requests' ids, texts and labels): several students of one teacher cost one teacher pass, and a
pass interrupted by a kill resumes from the chunks it had kept.
"""
from __future__ import annotations

import shutil

from rankbench.common.digest import Hasher
from rankbench.common.files import atomic_path


def requests_digest(requests: list) -> str:
    """Identity of a list of requests: ids, texts and labels (the same ids with other texts differ)."""
    hasher = Hasher()
    for request in requests:
        hasher.update(f"{request.id}\x1f{request.context}\x1e")
        for candidate in request.candidates:
            hasher.update(f"{candidate.id}\x1f{candidate.text}\x1f{candidate.label}\x1e")
    return hasher.hexdigest()


def sample_requests(requests: list, count: int, seed: int) -> list:
    """A seeded sample spread over all users (the first N requests would all be the first users')."""
    import random

    if count >= len(requests):
        return list(requests)
    return [requests[i] for i in sorted(random.Random(seed).sample(range(len(requests)), count))]


def teacher_scores(teacher: Artifact, requests: list, ctx: CompressContext, chunk: int = 64) -> list:
    """The teacher's scores on `requests`, computed once and cached under the teacher's hash.

    The teacher pass takes minutes on a CPU, so it is kept in chunks as it goes (`<key>.parts/`): a
    run killed mid-pass scores only the chunks it lacks. The finished pass is one .npz.
    """
    import numpy as np
    from tqdm.auto import tqdm

    path = ctx.cache_dir / "teacher-scores" / f"{teacher.hash}-{requests_digest(requests)}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return [stored[f"r{i}"] for i in range(len(requests))]
    parts = path.with_suffix(".parts")
    parts.mkdir(parents=True, exist_ok=True)
    scores: dict[int, np.ndarray] = {}
    for done in parts.glob("*.npz"):
        with np.load(done) as stored:
            scores.update((int(key[1:]), stored[key]) for key in stored.files)
    ranker = None
    with tqdm(total=len(requests), initial=len(scores), desc="teacher scores", unit="req",
              disable=not ctx.progress, leave=False) as bar:
        for start in range(0, len(requests), chunk):
            todo = [i for i in range(start, min(start + chunk, len(requests))) if i not in scores]
            if not todo:
                continue
            ranker = ranker or teacher.torch_ranker()
            block = {i: ranker.score_pairs(requests[i].pairs()) for i in todo}
            _save_npz(parts / f"{start:07d}.npz", {f"r{i}": s for i, s in block.items()})
            scores.update(block)
            bar.update(len(todo))
    _save_npz(path, {f"r{i}": scores[i] for i in range(len(requests))})
    shutil.rmtree(parts, ignore_errors=True)
    return [scores[i] for i in range(len(requests))]


def _save_npz(path, arrays: dict) -> None:
    """Write whole or not at all: a kill mid-write leaves a temporary file, never a short .npz."""
    import numpy as np

    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)


def training_requests(train_config, ctx: CompressContext) -> tuple[list, object]:
    """The requests a run will see, and the config to train on exactly them.

    A short run (max_steps x batch_requests below the training set) sees a seeded sample of that
    many requests: the same number of steps, and the teacher scores only what is used.
    """
    from dataclasses import replace

    requests = ctx.data.train
    wanted = train_config.max_train_requests
    if train_config.max_steps:
        short = train_config.max_steps * train_config.batch_requests
        wanted = min(wanted or short, short) if train_config.epochs == 1 else wanted
    if wanted and wanted < len(requests):
        requests = sample_requests(requests, wanted, train_config.seed)
    return requests, replace(train_config, max_train_requests=None)


def run_training(ranker, train_config, ctx: CompressContext, teacher: Artifact | None = None,
                 desc: str = "training") -> dict:
    """Train `ranker.model` in place (models.train.train), distilling from `teacher` if given."""
    from rankbench.models.train import train

    requests, train_config = training_requests(train_config, ctx)
    targets = teacher_scores(teacher, requests, ctx) if teacher is not None else None
    frozen = set()
    if getattr(train_config, "freeze_word_embeddings", False):  # train() freezes them for its run
        frozen = {id(ranker.model.get_input_embeddings().weight)}
    trainable = int(sum(p.numel() for p in ranker.model.parameters() if p.requires_grad and id(p) not in frozen))
    report = train(ranker, requests, train_config, targets=targets, desc=desc, progress=ctx.progress)
    # Peak memory: sampled RSS during the steps (models.memory says why not tracemalloc or ru_maxrss).
    return {"train_seconds": round(report["seconds"], 3), "trainable_params": trainable,
            "train_steps": report["steps"], "train_requests": len(requests),
            "final_loss": report["final_loss"], "train_losses": dict(train_config.losses),
            "train_peak_rss_bytes": report["peak_rss_bytes"],
            "train_peak_rss_delta_bytes": report["peak_rss_delta_bytes"]}
