"""What every compression method's config shares: the base dataclass, the shape a step plans, the
training knobs of methods that train, and checks whose errors name the method and the field.

    @dataclass(frozen=True, kw_only=True)
    class PruneHeadsConfig(MethodConfig):
        ratio: float
        def __post_init__(self):
            check_ratio(self.method, "ratio", self.ratio)

Types are checked before `__post_init__` runs (rankbench.common.typed, through
`registry.config_from_dict`), so the checks here are about ranges and choices.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar


def check_ratio(method: str, name: str, value: float, allow_zero: bool = False) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and low_ok and value < 1):
        bound = "[0, 1)" if allow_zero else "(0, 1)"
        raise ValueError(f"{method}: {name} must be in {bound}, got {value!r}")


def check_choice(method: str, name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{method}: {name} must be one of {list(choices)}, got {value!r}")


def check_positive(method: str, name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{method}: {name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class Shape:
    """What validation knows about an artifact before it exists: its format and layer count."""

    format: str
    layers: int | None
    root: bool  # no step applied yet (PEFT starts from the pre-trained base, so it must come first)


@dataclass(frozen=True, kw_only=True)
class MethodConfig:
    method: ClassVar[str] = ""  # set by registry.register_method
    accepts: ClassVar[tuple[str, ...]] = ("hf",)  # parent formats this method can take
    produces: ClassVar[str] = "hf"
    needs: ClassVar[tuple[str, ...]] = ()  # context parts it uses: "data", "base"

    def to_dict(self) -> dict:
        return {"method": self.method, **asdict(self)}

    def plan(self, parent: Shape) -> Shape:
        """The shape this step produces from `parent`; raises if it cannot follow it."""
        if parent.format not in self.accepts:
            raise ValueError(f"step {self.method!r} cannot follow a {parent.format!r} artifact "
                             f"(it takes {list(self.accepts)})")
        return Shape(self.produces, parent.layers, False)


@dataclass(frozen=True, kw_only=True)
class TrainFields(MethodConfig):
    """A method that trains: the knobs of models.train.TrainConfig it exposes."""

    epochs: int = 1
    max_steps: int | None = None
    lr: float = 5e-5
    batch_requests: int = 8
    max_train_requests: int | None = None

    def check_training(self) -> None:
        check_positive(self.method, "epochs", self.epochs)
        check_positive(self.method, "lr", self.lr)
        check_positive(self.method, "batch_requests", self.batch_requests)
        check_positive(self.method, "max_steps", self.max_steps, allow_none=True)
        check_positive(self.method, "max_train_requests", self.max_train_requests, allow_none=True)

    def train_config(self, losses: dict, seed: int):
        from rankbench.models.train import TrainConfig

        return TrainConfig(epochs=self.epochs, max_steps=self.max_steps, lr=self.lr,
                           batch_requests=self.batch_requests, losses=dict(losses), seed=seed,
                           max_train_requests=self.max_train_requests)
