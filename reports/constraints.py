"""Constraints: what a deployment must meet and how to pick among the cells that meet it.

    Constraints(p99_ms=50, min_retention=0.99, confidence=0.95)   # or from [constraints] in TOML

`confidence` set: an accuracy constraint holds only when the lower end of the cell's interval at that
confidence meets it (a retention of 1.00 measured on 100 users, with an interval reaching 0.90, does
not prove >= 0.95). Unset: the point estimates decide, and the decision says the claim is unproven.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from rankbench.bench.scenarios import scenario_names
from rankbench.common.typed import from_dict

OBJECTIVES = ("throughput", "p99", "bytes", "ndcg")
DEFAULT_SCENARIO = "single-stream"
DEFAULT_MIN_RETENTION = 0.99


@dataclass(frozen=True)
class Constraints:
    p99_ms: float | None = None          # the SLA on p99 latency (and the server scenario's); None = no limit
    min_retention: float | None = DEFAULT_MIN_RETENTION  # NDCG@10 / the teacher's NDCG@10, same requests
    min_fidelity: float | None = None    # mean per-request Spearman of the scores with the teacher's
    max_bytes: int | None = None         # model size on disk
    confidence: float | None = None      # accuracy constraints on the interval's lower end at this level
    objective: str = "throughput"        # how to pick one cell from the Pareto set
    scenario: str = DEFAULT_SCENARIO     # whose latency counts
    backend: str | None = None           # restrict to one backend

    def __post_init__(self):
        if self.scenario not in scenario_names():
            raise ValueError(f"scenario must be one of {', '.join(scenario_names())}, got {self.scenario!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if self.p99_ms is not None and not self.p99_ms > 0:
            raise ValueError(f"p99_ms must be > 0, got {self.p99_ms}")
        if self.min_retention is not None and not 0 <= self.min_retention <= 2:
            raise ValueError(f"min_retention is a ratio such as 0.99, got {self.min_retention}")
        if self.min_fidelity is not None and not -1 <= self.min_fidelity <= 1:
            raise ValueError(f"min_fidelity is a Spearman correlation in [-1, 1], got {self.min_fidelity}")
        if self.max_bytes is not None and not self.max_bytes > 0:
            raise ValueError(f"max_bytes must be > 0, got {self.max_bytes}")
        if self.confidence is not None and not 0.5 <= self.confidence < 1:
            raise ValueError(f"confidence must be in [0.5, 1), e.g. 0.95, got {self.confidence}")

    @classmethod
    def from_dict(cls, data: dict | None, where: str = "constraints") -> "Constraints":
        return from_dict(cls, dict(data or {}), where)

    def to_dict(self) -> dict:
        return asdict(self)

    def merged(self, **overrides) -> "Constraints":
        """A copy with every override that is not None applied (CLI flags over the run's constraints)."""
        data = self.to_dict()
        data.update({k: v for k, v in overrides.items() if v is not None})
        return Constraints.from_dict(data)

    @classmethod
    def for_run(cls, results: dict, **overrides) -> "Constraints":
        """The run's own constraints (results.run.constraints) with overrides on top, else defaults."""
        return cls.from_dict(results.get("run", {}).get("constraints")).merged(**overrides)

    def describe(self) -> str:
        parts = [f"scenario {self.scenario}"]
        if self.p99_ms is not None:
            parts.append(f"p99 <= {self.p99_ms:g} ms")
        lower = f" (lower end of the {self.confidence:.0%} interval)" if self.confidence else ""
        if self.min_retention is not None:
            parts.append(f"retention >= {self.min_retention:g}{lower}")
        if self.min_fidelity is not None:
            parts.append(f"fidelity (Spearman) >= {self.min_fidelity:g}{lower}")
        if self.max_bytes is not None:
            parts.append(f"size <= {self.max_bytes / 1e6:.1f} MB")
        if self.backend:
            parts.append(f"backend {self.backend}")
        return ", ".join(parts) + f"; objective: {self.objective}"
