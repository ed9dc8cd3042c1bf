"""Distillation: a k-layer student initialized from chosen layers of the parent, trained on its scores.

    {"method": "distill", "layers": 3, "init": "alternate", "loss": "distill-kl", "hard_weight": 0.5}
    {"method": "distill", "layers": 2, "heads_ratio": 0.5, "ffn_ratio": 0.25}   # a narrower student

The teacher is the parent artifact (the model being compressed). Its scores on the training requests
are computed once and cached (ctx.cache_dir/teacher-scores, keyed by the teacher's hash), so trying
several students costs one teacher pass. The loss is `distill_weight` x the distillation loss (MSE on
scores, or KL between the teacher's and the student's softmax over a request's candidates) plus
`hard_weight` x the label loss, all from rankbench.models.train.LOSSES.

Layer choice: "alternate" spreads the k layers evenly and always keeps the top one (the layer the
classifier was trained on): 6 -> 3 keeps 1, 3, 5; "bottom" keeps 0..k-1; "top" keeps the last k.
A narrower student is made by magnitude-pruning the same share of heads / FFN neurons in every layer
before training (uniform widths keep a standard BertConfig).
"""
from __future__ import annotations

from dataclasses import dataclass

from rankbench.compress.api import hf_ranker, save_hf
from rankbench.compress.config import Shape, TrainFields, check_choice, check_ratio
from rankbench.compress.importance import ffn_magnitude, head_magnitude
from rankbench.compress.registry import register_method
from rankbench.compress.structure import keep_layers, layer_choice, n_removed, prune_ffn, prune_heads
from rankbench.compress.training import run_training

INITS = ("alternate", "bottom", "top")


@dataclass(frozen=True, kw_only=True)
class DistillConfig(TrainFields):
    layers: int  # encoder layers of the student (at most the teacher's)
    init: str = "alternate"  # which teacher layers initialize the student: alternate, bottom, top
    heads_ratio: float = 0.0  # share of heads removed in every layer before training (0: none)
    ffn_ratio: float = 0.0  # share of FFN neurons removed in every layer before training (0: none)
    loss: str = "distill-kl"  # "distill-kl" or "distill-mse"
    distill_weight: float = 1.0
    hard_loss: str = "listwise"  # the label loss: "listwise" or "bce"
    hard_weight: float = 0.5
    lr: float = 1e-4  # a fresh student moves further than a fine-tune: a larger default rate
    needs = ("data",)

    def __post_init__(self):
        if isinstance(self.layers, bool) or not isinstance(self.layers, int) or self.layers < 1:
            raise ValueError(f"distill: layers must be an integer >= 1, got {self.layers!r}")
        check_choice(self.method, "init", self.init, INITS)
        check_ratio(self.method, "heads_ratio", self.heads_ratio, allow_zero=True)
        check_ratio(self.method, "ffn_ratio", self.ffn_ratio, allow_zero=True)
        check_choice(self.method, "loss", self.loss, ("distill-kl", "distill-mse"))
        check_choice(self.method, "hard_loss", self.hard_loss, ("listwise", "bce"))
        if self.distill_weight < 0 or self.hard_weight < 0 or self.distill_weight + self.hard_weight == 0:
            raise ValueError("distill: distill_weight and hard_weight must be >= 0, not both 0")
        self.check_training()

    def plan(self, parent: Shape) -> Shape:
        shape = super().plan(parent)
        if parent.layers is not None and self.layers > parent.layers:
            raise ValueError(f"distill: a student of {self.layers} layers from a teacher of "
                             f"{parent.layers}: the student must not have more layers than the teacher")
        return Shape(shape.format, self.layers, False)

    def losses(self) -> dict:
        out = {self.loss: self.distill_weight}
        if self.hard_weight:
            out[self.hard_loss] = self.hard_weight
        return {name: w for name, w in out.items() if w}


def student_layers(init: str, teacher_layers: int, layers: int) -> list[int]:
    if init == "bottom":
        return list(range(layers))
    if init == "top":
        return list(range(teacher_layers - layers, teacher_layers))
    return layer_choice("alternate", teacher_layers, teacher_layers - layers)


def _uniform_remove(scores, ratio):
    return [sorted(s.argsort(kind="stable")[:min(n_removed(ratio, len(s)), len(s) - 1)].tolist()) for s in scores]


def _distill(parent, config, ctx, out):
    student = hf_ranker(parent)  # a fresh copy of the teacher's weights to cut down
    teacher_layers = student.model.config.num_hidden_layers
    if config.layers > teacher_layers:  # plan() checks this up front; the real model decides
        raise ValueError(f"distill: {config.layers} layers > the teacher's {teacher_layers}")
    keep = student_layers(config.init, teacher_layers, config.layers)
    keep_layers(student.model, keep)
    layers = list(student.model.bert.encoder.layer)
    if config.heads_ratio:
        prune_heads(student.model, _uniform_remove([head_magnitude(l) for l in layers], config.heads_ratio))
    if config.ffn_ratio:
        prune_ffn(student.model, _uniform_remove([ffn_magnitude(l) for l in layers], config.ffn_ratio))
    meta = run_training(student, config.train_config(config.losses(), ctx.seed), ctx, teacher=parent,
                        desc=f"distilling {config.layers}-layer student")
    return save_hf(student, out, student_init_layers=keep, **meta)


register_method("distill", DistillConfig, _distill)
