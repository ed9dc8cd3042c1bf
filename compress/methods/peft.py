"""Parameter-efficient fine-tuning: LoRA, prefix tuning, bottleneck adapters.

    {"method": "lora", "r": 8, "alpha": 16, "target_modules": ["query", "value"], "epochs": 1}
    {"method": "lora", "r": 16, "target_modules": ["query", "key", "value", "dense"], "lr": 1e-3,
     "max_steps": 600, "start": "teacher"}
    {"method": "lora", "r": 16, "target_modules": ["query", "key", "value", "dense"], "bias": "all",
     "modules_to_save": ["LayerNorm", "pooler"]}
    {"method": "prefix", "num_virtual_tokens": 16, "prefix_projection": true}
    {"method": "prefix", "num_virtual_tokens": 16, "bias": "all", "modules_to_save": ["LayerNorm", "pooler"]}
    {"method": "prefix", "num_virtual_tokens": 16, "init": "activations"}
    {"method": "adapter", "size": 64, "bias": "all", "modules_to_save": ["LayerNorm", "pooler"]}

By default (`start = "base"`) these start from the pre-trained model the teacher was fine-tuned
from (ctx.base, else the teacher's metadata), not from the fine-tuned teacher: a team adapts one
shared base model to many surfaces, each with a few trainable parameters. `start = "teacher"`
trains them on top of the fine-tuned teacher instead: a domain-adapted start, for comparing the
methods with what they can add once the domain is learnt. Either way a PEFT step must be the first
step of a recipe; its artifact's parent is the teacher (for provenance, and for its max_length
and tokenizer). Artifacts record train_seconds, trainable_params and the training's peak memory
(train_peak_rss_delta_bytes: models.memory).

- LoRA (peft): the merged model is an "hf" artifact (runs everywhere, same cost as the base); the
  adapter itself is kept in `adapter/` (see `lora_unmerged`). Merging is checked to change no score.
- Prefix tuning (peft): format "peft-prefix" (`base/` + `adapter/`), torch only; it adds
  `num_virtual_tokens` keys to every attention layer, so it costs more than the base. With
  `bias = "all"` the trained biases are written into `base/` (peft saves only the prefix and
  modules_to_save); compress checks that the reloaded artifact scores as trained. `init =
  "activations"` starts the prefix from the base model's keys and values of real training tokens
  instead of noise (prefix_init.py).
- Bottleneck adapters (our own module, models.ranker.BottleneckAdapter; peft has none for BERT
  encoders): an "hf" artifact with `rankbench_adapter_size` in its config; trains the adapters, the
  layer norms inside the encoder layers and the classifier (and what bias / modules_to_save add).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rankbench.compress.api import Built, save_hf
from rankbench.compress.config import Shape, TrainFields, check_choice, check_positive
from rankbench.compress.methods.prefix_init import INIT_CHOICES, init_prefix_from_activations
from rankbench.compress.registry import register_method
from rankbench.compress.training import run_training


STARTS = ("base", "teacher")
LORA_BIAS = ("none", "all", "lora_only")  # peft's names: which biases train beside the LoRA matrices
BIAS_NONE_OR_ALL = ("none", "all")  # adapters and prefix tuning: every bias trains, or none


@dataclass(frozen=True, kw_only=True)
class _PeftFields(TrainFields):
    lr: float = 5e-4  # few parameters, started at zero or random: a larger rate than a full fine-tune
    start: str = "base"  # "base": the pre-trained model; "teacher": the fine-tuned teacher
    # Modules trained in full beside the method's own weights, matched by the end of their names
    # (peft's rule), e.g. "LayerNorm" and "pooler"; every method can add every bias (`bias`).
    # Few weights, but from the pre-trained base they decide how close PEFT gets to the full
    # fine-tune (README, PEFT).
    modules_to_save: tuple[str, ...] = ()
    needs = ("data", "base")

    def check_training(self) -> None:
        super().check_training()
        check_choice(self.method, "start", self.start, STARTS)

    def plan(self, parent: Shape) -> Shape:
        shape = super().plan(parent)
        if not parent.root:
            raise ValueError(f"{self.method}: PEFT trains from the pre-trained base, so it must be the "
                             "first step of a recipe (its parent is the teacher)")
        return shape


@dataclass(frozen=True, kw_only=True)
class LoraConfig(_PeftFields):
    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: tuple[str, ...] = ("query", "value")
    bias: str = "none"

    def __post_init__(self):
        check_positive(self.method, "r", self.r)
        check_choice(self.method, "bias", self.bias, LORA_BIAS)
        check_positive(self.method, "alpha", self.alpha)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"lora: dropout must be in [0, 1), got {self.dropout}")
        if not self.target_modules:
            raise ValueError("lora: target_modules must name at least one module (e.g. query, value)")
        self.check_training()


@dataclass(frozen=True, kw_only=True)
class PrefixConfig(_PeftFields):
    num_virtual_tokens: int = 16
    lr: float = 1e-2  # prefix tuning needs a large rate (Li & Liang use 5e-5..8e-3 with many epochs)
    # Li & Liang train the prefix through an MLP (reparametrization) for stability; peft's
    # prefix_projection. Only the resulting prefix is needed to serve, but peft keeps the MLP.
    prefix_projection: bool = False
    bias: str = "none"
    # "activations": start from the base model's keys and values of real tokens (prefix_init.py)
    init: str = "random"
    produces = "peft-prefix"

    def __post_init__(self):
        check_positive(self.method, "num_virtual_tokens", self.num_virtual_tokens)
        check_choice(self.method, "bias", self.bias, BIAS_NONE_OR_ALL)
        check_choice(self.method, "init", self.init, INIT_CHOICES)
        if self.init == "activations" and self.prefix_projection:
            raise ValueError("prefix: init = \"activations\" sets the prefix itself, so it needs "
                             "prefix_projection = false (an MLP's input has no activations to start from)")
        self.check_training()


@dataclass(frozen=True, kw_only=True)
class AdapterConfig(_PeftFields):
    size: int = 32  # bottleneck width
    bias: str = "none"

    def __post_init__(self):
        check_positive(self.method, "size", self.size)
        check_choice(self.method, "bias", self.bias, BIAS_NONE_OR_ALL)
        self.check_training()

    def trains(self, name: str) -> bool:
        """Whether the parameter `name` trains. Houlsby et al.: the adapters, the layer norms after
        attention and FFN, and the task head; then what `bias` and `modules_to_save` add."""
        if ".adapter." in name or ".output.LayerNorm" in name or name.startswith("classifier"):
            return True
        if self.bias == "all" and name.endswith(".bias"):
            return True
        modules = name.split(".")[:-1]
        return any(".".join(modules[:k]).endswith(end) for end in self.modules_to_save
                   for k in range(1, len(modules) + 1))


def _base_ranker(parent, config, ctx):
    """The model PEFT trains on: the pre-trained base (with the teacher's max_length), or the teacher."""
    from rankbench.compress.api import hf_ranker
    from rankbench.models.presets import load_ranker
    from rankbench.models.ranker import DEFAULT_MAX_LENGTH, RANKER_FILE

    if config.start == "teacher":
        return hf_ranker(parent)
    ranker_file = parent.path / RANKER_FILE
    max_length = json.loads(ranker_file.read_text())["max_length"] if ranker_file.is_file() else DEFAULT_MAX_LENGTH
    return load_ranker(ctx.base_model(), seed=ctx.seed, max_length=max_length)


def _probe_scores(ranker, ctx) -> np.ndarray:
    return np.concatenate(ranker.score(ctx.data.valid[:4]))


def _start_model(parent, config, ctx) -> str:
    """What the adapter applies to: the base model's name, or the teacher's folder."""
    return str(parent.path.resolve()) if config.start == "teacher" else ctx.base_model()


def _peft_notes(config, ctx) -> list[str]:
    if config.start == "teacher":
        return ["trained on top of the fine-tuned teacher (a domain-adapted start), not from the pre-trained "
                f"base {ctx.base_model()!r}"]
    return [f"trained from the pre-trained base {ctx.base_model()!r}, not from the fine-tuned teacher"]


def _lora(parent, config, ctx, out):
    from peft import LoraConfig as PeftLora, TaskType, get_peft_model

    ranker = _base_ranker(parent, config, ctx)
    # A random preset depends on the seed; the base a teacher-started adapter applies to is the teacher.
    base_meta = {"base": _start_model(parent, config, ctx), "base_seed": ctx.seed}
    # SEQ_CLS makes the new classifier head trainable and saves it with the adapter.
    ranker.model = get_peft_model(ranker.model, PeftLora(
        task_type=TaskType.SEQ_CLS, r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
        target_modules=list(config.target_modules), bias=config.bias,
        modules_to_save=list(config.modules_to_save) or None))
    meta = run_training(ranker, config.train_config({"listwise": 1.0}, ctx.seed), ctx, desc="LoRA")
    ranker.model.save_pretrained(out / "adapter")
    (out / "adapter" / "base.json").write_text(json.dumps(base_meta))
    unmerged = _probe_scores(ranker, ctx)
    ranker.model = ranker.model.merge_and_unload()
    merged = _probe_scores(ranker, ctx)
    built = save_hf(ranker, out, **meta, base=ctx.base_model(), base_seed=ctx.seed, peft_start=config.start,
                    merge_max_abs_diff=float(np.abs(merged - unmerged).max()),
                    adapter_bytes=sum(p.stat().st_size for p in (out / "adapter").glob("*.safetensors")),
                    notes=_peft_notes(config, ctx) + ["LoRA merged into the base weights; adapter kept in adapter/"])
    built.meta["bytes_on_disk"] = (out / "model.safetensors").stat().st_size
    return built


def lora_unmerged(folder: str | Path):
    """The LoRA artifact as trained: its base with the adapter applied on the fly (not merged)."""
    from peft import PeftModel

    from rankbench.models.presets import load_ranker
    from rankbench.models.ranker import BertRanker

    folder = Path(folder)
    merged = BertRanker.load(folder)
    base = json.loads((folder / "adapter" / "base.json").read_text())
    ranker = load_ranker(base["base"], seed=base.get("base_seed", 0), max_length=merged.max_length)
    ranker.model = PeftModel.from_pretrained(ranker.model, folder / "adapter").eval()
    return ranker


def _prefix(parent, config, ctx, out):
    from peft import PrefixTuningConfig, TaskType, get_peft_model

    from rankbench.models.flops import REFERENCE_TOKENS, flops_per_pair

    ranker = _base_ranker(parent, config, ctx)
    ranker.save(out / "base")
    params = sum(p.numel() for p in ranker.model.parameters())
    flops = flops_per_pair(ranker.model, REFERENCE_TOKENS, prefix_tokens=config.num_virtual_tokens)
    ranker.model = get_peft_model(ranker.model, PrefixTuningConfig(
        task_type=TaskType.SEQ_CLS, num_virtual_tokens=config.num_virtual_tokens,
        prefix_projection=config.prefix_projection, modules_to_save=list(config.modules_to_save) or None))
    if config.init == "activations":  # the first requests hold more real tokens than needed (else it raises)
        init_prefix_from_activations(ranker.model, ranker, ctx.data.train[:1 + config.num_virtual_tokens // 32],
                                     config.num_virtual_tokens)
    biases = _train_base_biases(ranker.model) if config.bias == "all" else {}
    meta = run_training(ranker, config.train_config({"listwise": 1.0}, ctx.seed), ctx, desc="prefix tuning")
    ranker.model.save_pretrained(out / "adapter")
    if biases:
        _save_biases(out / "base", biases)
    prefix_params = sum(p.numel() for n, p in ranker.model.named_parameters() if "prompt_encoder" in n)
    return Built("peft-prefix", {**meta, "base": ctx.base_model(), "peft_start": config.start,
                                 "params": params + prefix_params, "nonzero_params": params + prefix_params,
                                 "flops_per_pair": flops, "flops_tokens": REFERENCE_TOKENS,
                                 "num_virtual_tokens": config.num_virtual_tokens,
                                 "notes": _peft_notes(config, ctx) + ["prefix tuning runs in PyTorch only"]}, ranker)


def _train_base_biases(model) -> dict:
    """Let every bias of the base model train ({name in the base model: parameter}), except those
    of modules_to_save, whose trained copies peft saves with the prefix."""
    biases = {name: param for name, param in model.get_base_model().named_parameters()
              if name.endswith(".bias") and "original_module." not in name and "modules_to_save." not in name}
    for param in biases.values():
        param.requires_grad = True
    return biases


def _save_biases(base_folder: Path, biases: dict) -> None:
    """Write the trained biases into the saved base model, which the prefix is loaded on."""
    from rankbench.models.ranker import BertRanker

    base = BertRanker.load(base_folder)
    _missing, unexpected = base.model.load_state_dict({k: v.detach() for k, v in biases.items()}, strict=False)
    if unexpected:
        raise RuntimeError(f"prefix: trained biases not in the base model: {unexpected[:3]}")
    base.save(base_folder)


def load_prefix(folder: Path):
    from peft import PeftModel

    from rankbench.models.ranker import BertRanker

    ranker = BertRanker.load(Path(folder) / "base")
    ranker.model = PeftModel.from_pretrained(ranker.model, Path(folder) / "adapter").eval()
    return ranker


def _adapter(parent, config, ctx, out):
    from rankbench.models.ranker import build_model

    ranker = _base_ranker(parent, config, ctx)
    base_config = ranker.model.config
    base_config.rankbench_adapter_size = config.size
    model = build_model(base_config)
    missing, unexpected = model.load_state_dict(ranker.model.state_dict(), strict=False)
    if unexpected or any(".adapter." not in k for k in missing):
        raise RuntimeError(f"adapter: base weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")
    for name, param in model.named_parameters():
        param.requires_grad = config.trains(name)
    ranker.model = model
    meta = run_training(ranker, config.train_config({"listwise": 1.0}, ctx.seed), ctx, desc="adapters")
    for param in model.parameters():
        param.requires_grad = True
    return save_hf(ranker, out, **meta, base=ctx.base_model(), peft_start=config.start, adapter_size=config.size,
                   notes=_peft_notes(config, ctx))


register_method("lora", LoraConfig, _lora)
register_method("prefix", PrefixConfig, _prefix, loader=load_prefix)
register_method("adapter", AdapterConfig, _adapter)
