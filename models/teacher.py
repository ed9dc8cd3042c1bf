"""The fine-tuned teacher: trained once, cached under a hash of everything that shapes it.

    ranker, folder, report = get_teacher(TeacherConfig(), DataConfig())

The cache key covers the base model, the data config and the training hyper-parameters; a changed
value trains a new teacher, an unchanged one loads in seconds. Training checkpoints land next to
the final folder, so an interrupted `rankbench train` resumes where it stopped.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rankbench.common.digest import Hasher, digest
from rankbench.common.files import replace_dir
from rankbench.common.typed import from_dict

from rankbench.models.data import DataConfig, load_data
from rankbench.models.hub import hub_commit, looks_like_hub_id
from rankbench.models.movielens import cache_root
from rankbench.models.presets import PRESETS, load_ranker
from rankbench.models.ranker import BertRanker, with_dropout
from rankbench.models.requests import RankingData
from rankbench.models.train import TrainConfig, train

REPORT_FILE = "train_report.json"


@dataclass(frozen=True)
class TeacherConfig:
    base: str = "minilm-l6"  # a preset name, a local model folder or a Hugging Face hub id (org/name)
    max_length: int = 64  # tokens per (context, candidate) pair; MovieLens pairs average ~45
    # 300 steps of 8 requests: the budget that beat popularity in a trial (results/defaults.md, "Teacher").
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_steps=300, lr=1e-4))
    # Hidden, attention and classifier dropout while fine-tuning; None keeps the base model's own
    # (MiniLM's 0.1). The teacher ablation (README) measured what 0.0 does within the step budget.
    dropout: float | None = None

    def __post_init__(self):
        if isinstance(self.train, dict):
            object.__setattr__(self, "train", from_dict(TrainConfig, self.train, "train"))
        if isinstance(self.max_length, bool) or not isinstance(self.max_length, int) or self.max_length < 8:
            raise ValueError(f"max_length must be an integer >= 8, got {self.max_length!r}")
        if self.dropout is not None and (isinstance(self.dropout, bool) or not 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be in [0, 1) (or left out for the base model's own), "
                             f"got {self.dropout!r}")


def _base_identity(base: str) -> str:
    if base in PRESETS:
        return base
    folder = Path(base)
    if not folder.exists() and looks_like_hub_id(base):
        # The snapshot's commit: a new version of the hub model trains a new teacher.
        return json.dumps({"hub": base, "commit": hub_commit(base)})
    files = sorted((p.name, p.stat().st_size) for p in folder.glob("*") if p.is_file())
    return json.dumps([str(folder.resolve()), files])


# The modules whose code shapes a trained teacher: a change in any of them trains a new one.
_TRAINING_CODE = ("train.py", "ranker.py", "presets.py", "data.py", "movielens.py", "jsonl_data.py",
                  "requests.py", "synthetic.py", "teacher.py", "context.py", "jsonl_fields.py", "hub.py")


def training_code() -> str:
    hasher = Hasher()
    for name in _TRAINING_CODE:
        hasher.update(name).update_file(Path(__file__).parent / name)
    return hasher.hexdigest()


def teacher_key(config: TeacherConfig, data_config: DataConfig) -> str:
    return digest({"base": _base_identity(config.base), "max_length": config.max_length,
                   "dropout": config.dropout, "train": asdict(config.train), "data": data_config.to_dict(),
                   "code": training_code()})


def teacher_dir(config: TeacherConfig, data_config: DataConfig, cache: Path | None = None) -> Path:
    return (cache or cache_root()) / "teachers" / teacher_key(config, data_config)


def get_teacher(config: TeacherConfig, data_config: DataConfig, data: RankingData | None = None,
                cache: Path | None = None, progress: bool = True) -> tuple[BertRanker, Path, dict]:
    root = teacher_dir(config, data_config, cache)
    final = root / "model"
    if (final / REPORT_FILE).is_file():
        return BertRanker.load(final), final, json.loads((final / REPORT_FILE).read_text())
    data = data or load_data(data_config)
    ranker = load_ranker(config.base, seed=config.train.seed, max_length=config.max_length)
    if config.dropout is not None:
        ranker.model = with_dropout(ranker.model, config.dropout)
    report = train(ranker, data.train, config.train, checkpoint_dir=root / "checkpoint",
                   desc="fine-tuning teacher", progress=progress)
    report.update(base=config.base, dropout=config.dropout, key=root.name, train=asdict(config.train),
                  data=data_config.to_dict())
    staging = root / "model.partial"
    shutil.rmtree(staging, ignore_errors=True)
    ranker.save(staging)
    (staging / REPORT_FILE).write_text(json.dumps(report, indent=1))
    replace_dir(staging, final)  # the report file marks a complete teacher
    shutil.rmtree(root / "checkpoint", ignore_errors=True)
    return ranker, final, report
