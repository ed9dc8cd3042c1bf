"""The one fine-tuning loop: teacher training, distillation, PEFT and recovery after pruning.

    report = train(ranker, data.train, TrainConfig(losses={"listwise": 1.0}), checkpoint_dir=...)

A step takes `batch_requests` requests with all their candidates, so listwise losses see whole
requests. Losses come from the LOSSES registry and are summed with weights; a distillation loss
reads the teacher's scores from `targets` (one array per request, computed once by the caller).
With `checkpoint_dir`, the loop saves its state every `checkpoint_every` steps and an interrupted
run resumes from the last checkpoint: the batch order is a pure function of the seed and epoch.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from rankbench.common.files import atomic_path
from rankbench.common.registry import Registry
from rankbench.models.memory import PeakRSS
from rankbench.models.ranker import BertRanker
from rankbench.models.requests import Request

# A loss takes (logits [R, C], labels [R, C], mask [R, C], teacher [R, C] or None) -> scalar.
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]
LOSSES = Registry("loss")
register_loss = LOSSES.decorator


@register_loss("bce")
def bce_loss(logits, labels, mask, teacher):
    per = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return (per * mask).sum() / mask.sum()


@register_loss("listwise")
def listwise_loss(logits, labels, mask, teacher):
    # Softmax cross-entropy over each request's candidates towards its (normalized) labels.
    logp = torch.log_softmax(logits.masked_fill(mask == 0, -1e4), dim=1)
    target = labels * mask
    target = target / target.sum(dim=1, keepdim=True).clamp_min(1.0)
    return -(target * logp).sum(dim=1).mean()


@register_loss("distill-mse")
def distill_mse_loss(logits, labels, mask, teacher):
    return (((logits - teacher) ** 2) * mask).sum() / mask.sum()


@register_loss("distill-kl")
def distill_kl_loss(logits, labels, mask, teacher):
    # KL(teacher softmax || student softmax) over each request's candidates.
    neg = -1e4
    log_student = torch.log_softmax(logits.masked_fill(mask == 0, neg), dim=1)
    log_teacher = torch.log_softmax(teacher.masked_fill(mask == 0, neg), dim=1)
    return (log_teacher.exp() * (log_teacher - log_student) * mask).sum(dim=1).mean()


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 1  # passes over the training requests (max_steps, when set, stops earlier)
    max_steps: int | None = None
    batch_requests: int = 8  # requests per step, each with all its candidates
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1  # linear warm-up over this share of the steps, then linear decay
    losses: dict = field(default_factory=lambda: {"listwise": 1.0})  # loss name -> weight
    seed: int = 0
    checkpoint_every: int = 100  # steps between checkpoints (with a checkpoint_dir)
    max_train_requests: int | None = None  # a seeded subset of the training requests
    # The word-embedding table is half of MiniLM's weights: updating it costs much CPU time and,
    # with little data, buys little. Frozen by default.
    freeze_word_embeddings: bool = True

    def __post_init__(self):
        if not self.losses:
            raise ValueError(f"losses must name at least one loss; known losses: {', '.join(LOSSES.names())}")
        for name, weight in self.losses.items():
            LOSSES.get(name)  # an unknown name: an error with the known ones
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
                raise ValueError(f"losses.{name}: the weight must be a number >= 0, got {weight!r}")
        if self.epochs < 1 or self.batch_requests < 1 or self.lr <= 0:
            raise ValueError("epochs and batch_requests must be >= 1 and lr > 0")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")

    def to_dict(self) -> dict:
        return asdict(self)


def _grid(values: list[np.ndarray], width: int) -> torch.Tensor:
    out = np.zeros((len(values), width), np.float32)
    for row, v in enumerate(values):
        out[row, :len(v)] = v
    return torch.from_numpy(out)


def _batches(n: int, config: TrainConfig, epoch: int) -> list[list[int]]:
    order = list(range(n))
    random.Random(config.seed * 1000 + epoch).shuffle(order)
    return [order[i:i + config.batch_requests] for i in range(0, n, config.batch_requests)]


def _save_checkpoint(path: Path, model, optimizer, scheduler, step: int, losses: list[float]) -> None:
    # The RNG state goes too: dropout masks after a resume must be the ones an uninterrupted run draws.
    with atomic_path(path) as tmp:  # never a half-written checkpoint
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "step": step, "losses": losses,
                    "rng": torch.get_rng_state()}, tmp)


def _subset(requests: list, targets, config: TrainConfig):
    """A seeded subset of `max_train_requests` requests (and their teacher scores), in order."""
    if config.max_train_requests and config.max_train_requests < len(requests):
        keep = sorted(random.Random(config.seed).sample(range(len(requests)), config.max_train_requests))
        return [requests[i] for i in keep], [targets[i] for i in keep] if targets is not None else None
    return requests, targets


def _freeze_word_embeddings(model, config: TrainConfig) -> list:
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    if config.freeze_word_embeddings and embeddings is not None and embeddings.weight.requires_grad:
        embeddings.weight.requires_grad_(False)
        return [embeddings.weight]
    return []


def _optimizer(params: list, config: TrainConfig, total: int):
    """AdamW with linear warm-up over `warmup_ratio` of the steps, then linear decay to zero."""
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    warmup = int(total * config.warmup_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    return optimizer, scheduler


def _resume(ckpt: Path | None, model, optimizer, scheduler) -> tuple[int, list[float]]:
    """(steps done, losses so far) from the checkpoint, whose state is loaded; (0, []) without one."""
    if ckpt is None or not ckpt.is_file():
        return 0, []
    state = torch.load(ckpt, weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    return state["step"], state["losses"]


def _batch_loss(ranker: BertRanker, requests: list[Request], batch: list[int], targets, config: TrainConfig):
    """The weighted sum of the configured losses over a batch of whole requests."""
    reqs = [requests[i] for i in batch]
    sizes = [len(r.candidates) for r in reqs]
    width = max(sizes)
    enc = ranker.encode([p for r in reqs for p in r.pairs()])
    flat = ranker.model(**{k: torch.from_numpy(v) for k, v in enc.items()}).logits.reshape(-1)
    mask = _grid([np.ones(s, np.float32) for s in sizes], width)
    index = mask.reshape(-1).nonzero().squeeze(1)
    logits = torch.full((len(reqs), width), 0.0).reshape(-1).index_put((index,), flat).reshape(len(reqs), width)
    labels = _grid([np.asarray(r.labels, np.float32) for r in reqs], width)
    teacher = _grid([targets[i] for i in batch], width) if targets is not None else None
    return sum(w * LOSSES[name](logits, labels, mask, teacher) for name, w in config.losses.items())


def _steps(ranker, requests, targets, config: TrainConfig, opt, ckpt, step: int, total: int,
           losses: list[float], bar) -> int:
    """The training steps from `step` to `total`; returns the steps done (losses appended in place)."""
    optimizer, scheduler, params = opt
    model = ranker.model
    steps_per_epoch = math.ceil(len(requests) / config.batch_requests)
    for epoch in range(config.epochs):
        for k, batch in enumerate(_batches(len(requests), config, epoch)):
            if epoch * steps_per_epoch + k < step:
                continue  # done before an interruption
            if step >= total:
                return step
            loss = _batch_loss(ranker, requests, batch, targets, config)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
            if ckpt and step % config.checkpoint_every == 0:
                _save_checkpoint(ckpt, model, optimizer, scheduler, step, losses)
    return step


def train(ranker: BertRanker, requests: list[Request], config: TrainConfig = TrainConfig(), *,
          targets: list[np.ndarray] | None = None, checkpoint_dir: str | Path | None = None,
          desc: str = "training", progress: bool = True) -> dict:
    """Fine-tune `ranker.model` in place; returns steps, seconds and the loss curve."""
    if not requests:
        raise ValueError("no training requests")
    if any(n.startswith("distill") for n in config.losses) and targets is None:
        raise ValueError("a distillation loss needs the teacher's scores (targets)")
    requests, targets = _subset(requests, targets, config)
    torch.manual_seed(config.seed)
    model = ranker.model
    frozen = _freeze_word_embeddings(model, config)
    params = [p for p in model.parameters() if p.requires_grad]
    steps_per_epoch = math.ceil(len(requests) / config.batch_requests)
    total = min(config.max_steps or 10**12, steps_per_epoch * config.epochs)
    optimizer, scheduler = _optimizer(params, config, total)
    ckpt = Path(checkpoint_dir) / "checkpoint.pt" if checkpoint_dir else None
    step, losses = _resume(ckpt, model, optimizer, scheduler)
    start = time.perf_counter()
    model.train()
    bar = tqdm(total=total, initial=step, desc=desc, unit="step", disable=not progress, dynamic_ncols=True)
    with PeakRSS() as peak:
        step = _steps(ranker, requests, targets, config, (optimizer, scheduler, params), ckpt, step, total,
                      losses, bar)
    bar.close()
    model.eval()
    for weight in frozen:
        weight.requires_grad_(True)
    return {"steps": step, "seconds": time.perf_counter() - start,
            "final_loss": float(np.mean(losses[-50:])) if losses else None,
            "loss_curve": losses[::max(1, len(losses) // 200)], "requests": len(requests), **peak.result()}
