"""Choose the variant and backend to deploy: feasible cells -> Pareto set -> one pick by the objective.

    from rankbench.reports.select import Constraints, select
    decision = select(results, Constraints(p99_ms=50, min_retention=0.99))
    decision.choice          # a Candidate (variant, backend, p99_ms, ndcg, ...) or None
    decision.to_dict()       # what decision.json holds

Rules, in order, for every cell of the run:
1. Only cells of the selected scenario (and backend, when one is asked for) are candidates.
2. A cell must have status "ok" (invalid = failed parity, unavailable, failed are rejected with their
   reason), latency statistics and an NDCG@10 for its variant.
3. Constraints: p99 <= p99_ms, retention (NDCG@10 / the teacher's) >= min_retention, bytes on disk
   <= max_bytes. A constraint that is set but cannot be checked (no retention, no size) rejects.
4. Pareto set of the feasible cells over (p99 lower, NDCG@10 higher, bytes lower; unknown bytes count
   as the worst). A cell is dominated when another is at least as good on all three and strictly
   better on one; cells equal on all three do not dominate each other, so ties all stay in the set.
5. The objective picks one from the Pareto set (throughput: highest pairs/s, p99: lowest, bytes:
   smallest, ndcg: highest); ties on the objective break by p99, then NDCG@10, then bytes, then id.
Every cell not chosen gets a Rejection saying which rule removed it and, where a cell beat it, which.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rankbench.bench.scenarios import scenario_names
from rankbench.common.files import atomic_write_json
from rankbench.common.typed import from_dict
from rankbench.models.metrics import retention as retention_ratio

OBJECTIVES = ("throughput", "p99", "bytes", "ndcg")
DEFAULT_SCENARIO = "single-stream"
DEFAULT_MIN_RETENTION = 0.99
CLOSEST_MISSES = 3


@dataclass(frozen=True)
class Constraints:
    """What a deployment must meet and how to pick among the cells that meet it."""

    p99_ms: float | None = None          # SLA on single-request p99 latency; None = no limit
    min_retention: float | None = DEFAULT_MIN_RETENTION  # NDCG@10 / teacher's NDCG@10
    max_bytes: int | None = None         # model size on disk
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
        if self.max_bytes is not None and not self.max_bytes > 0:
            raise ValueError(f"max_bytes must be > 0, got {self.max_bytes}")

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
        if self.min_retention is not None:
            parts.append(f"retention >= {self.min_retention:g}")
        if self.max_bytes is not None:
            parts.append(f"size <= {self.max_bytes / 1e6:.1f} MB")
        if self.backend:
            parts.append(f"backend {self.backend}")
        return ", ".join(parts) + f"; objective: {self.objective}"


@dataclass(frozen=True)
class Candidate:
    """One cell with the figures selection looks at."""

    cell_id: str
    variant: str
    backend: str
    scenario: str
    p50_ms: float | None
    p99_ms: float | None
    p99_reliable: bool | None
    ndcg: float | None
    retention: float | None
    bytes: int | None
    pairs_per_s: float | None    # best offline throughput of this variant on this backend, else the cell's

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Rejection:
    cell_id: str
    variant: str
    backend: str
    scenario: str
    reason: str              # scenario | backend | status | no-latency | no-accuracy | p99 | retention | bytes | dominated | objective
    detail: str              # one readable sentence
    by: str | None = None    # the cell that dominates or beats it
    miss: float | None = None  # how far outside the constraints (relative), for closest misses

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Decision:
    constraints: Constraints
    choice: Candidate | None
    why: str
    pareto: list[Candidate] = field(default_factory=list)
    feasible: list[Candidate] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def closest_misses(self) -> list[Rejection]:
        misses = [r for r in self.rejected if r.miss is not None]
        return sorted(misses, key=lambda r: (r.miss, r.cell_id))[:CLOSEST_MISSES]

    def rejection(self, cell_id: str) -> Rejection | None:
        return next((r for r in self.rejected if r.cell_id == cell_id), None)

    def to_dict(self) -> dict:
        return {"constraints": self.constraints.to_dict(),
                "choice": self.choice.to_dict() if self.choice else None,
                "why": self.why,
                "pareto": [c.to_dict() for c in self.pareto],
                "feasible": [c.cell_id for c in self.feasible],
                "rejected": [r.to_dict() for r in self.rejected],
                "closest_misses": [r.to_dict() for r in self.closest_misses]}


# --- figures of a cell ------------------------------------------------------------------------
def cell_stats(cell: dict) -> dict | None:
    """The cell's latency statistics: as written from its raw samples, or summarized from them now."""
    if cell.get("stats"):
        return cell["stats"]
    if cell.get("samples_ms"):
        from rankbench.bench.stats import summarize

        return summarize(cell["samples_ms"])
    return None


def best_throughput(results: dict, variant: str, backend: str, label: str | None = None) -> float | None:
    """Highest pairs/s of a variant on a backend (with `label`: on those options only, see
    backend_label): offline points first, any ok cell otherwise."""
    from rankbench.bench.backends.options import backend_label

    best = None
    for cell in results.get("cells", []):
        if cell["variant"] != variant or cell["backend"] != backend or cell["status"] != "ok":
            continue
        if label is not None and backend_label(cell["backend"], cell.get("backend_options") or {}) != label:
            continue
        pool = [p.get("stats") for p in cell.get("points", [])] if cell["scenario"] == "offline" else []
        pool.append(cell.get("stats"))
        for stats in pool:
            value = (stats or {}).get("pairs_per_s")
            if value is not None and (best is None or value > best):
                best = value
    return best


def teacher_ndcg(results: dict) -> float | None:
    teacher = results.get("run", {}).get("teacher")
    accuracy = (results.get("artifacts", {}).get(teacher) or {}).get("accuracy") or {}
    return accuracy.get("ndcg@10")


def variant_accuracy(results: dict, variant: str) -> tuple[float | None, float | None]:
    """(NDCG@10, retention against the run's teacher) of a variant; retention as recorded otherwise."""
    accuracy = (results.get("artifacts", {}).get(variant) or {}).get("accuracy") or {}
    ndcg = accuracy.get("ndcg@10")
    reference = teacher_ndcg(results)
    if ndcg is not None and reference:
        return ndcg, retention_ratio(ndcg, reference)
    return ndcg, accuracy.get("retention")


def candidate(results: dict, cell: dict) -> Candidate:
    stats = cell_stats(cell) or {}
    ndcg, retention = variant_accuracy(results, cell["variant"])
    artifact = results.get("artifacts", {}).get(cell["variant"]) or {}
    return Candidate(cell_id=cell["id"], variant=cell["variant"], backend=cell["backend"],
                     scenario=cell["scenario"], p50_ms=stats.get("p50_ms"), p99_ms=stats.get("p99_ms"),
                     p99_reliable=stats.get("p99_reliable"), ndcg=ndcg, retention=retention,
                     bytes=artifact.get("bytes_on_disk"),
                     pairs_per_s=best_throughput(results, cell["variant"], cell["backend"]))


# --- the rules ----------------------------------------------------------------------------------
def _reject(cand: Candidate, reason: str, detail: str, by: str | None = None,
            miss: float | None = None) -> Rejection:
    return Rejection(cand.cell_id, cand.variant, cand.backend, cand.scenario, reason, detail, by, miss)


def status_detail(cell: dict) -> str:
    text = f"status {cell['status']}"
    if cell.get("reason"):
        text += f": {cell['reason']}"
    parity = cell.get("parity") or {}
    if parity and not parity.get("passed", True):
        figures = [f"{name} {parity[key]:.3g}" for key, name in
                   (("max_abs_diff", "max |diff|"), ("spearman", "Spearman"), ("top10_overlap", "top-10 overlap"))
                   if parity.get(key) is not None]
        figures += parity.get("failures") or []
        if figures:
            text += f" (parity: {', '.join(figures)})"
    return text


def check_cell(results: dict, cell: dict, constraints: Constraints) -> tuple[Candidate, Rejection | None]:
    """The candidate for a cell, and why it is not feasible (None when it is)."""
    cand = candidate(results, cell)
    if cell["scenario"] != constraints.scenario:
        return cand, _reject(cand, "scenario", f"scenario {cell['scenario']}; selection uses {constraints.scenario}")
    if constraints.backend and cell["backend"] != constraints.backend:
        return cand, _reject(cand, "backend", f"backend {cell['backend']}; selection asks for {constraints.backend}")
    if cell["status"] != "ok":
        return cand, _reject(cand, "status", status_detail(cell))
    if cand.p99_ms is None:
        return cand, _reject(cand, "no-latency", "no latency samples or statistics")
    if cand.ndcg is None:
        return cand, _reject(cand, "no-accuracy", f"variant {cand.variant} has no NDCG@10")
    broken = []  # (reason, detail, relative miss)
    if constraints.p99_ms is not None and cand.p99_ms > constraints.p99_ms:
        broken.append(("p99", f"p99 {cand.p99_ms:.3g} ms > {constraints.p99_ms:g} ms",
                       cand.p99_ms / constraints.p99_ms - 1))
    if constraints.min_retention is not None:
        if cand.retention is None:
            return cand, _reject(cand, "no-accuracy", "retention unknown (no teacher NDCG@10)")
        if cand.retention < constraints.min_retention:
            broken.append(("retention", f"retention {cand.retention:.4f} < {constraints.min_retention:g}",
                           (constraints.min_retention - cand.retention) / constraints.min_retention))
    if constraints.max_bytes is not None:
        if cand.bytes is None:
            return cand, _reject(cand, "bytes", "size on disk unknown")
        if cand.bytes > constraints.max_bytes:
            broken.append(("bytes", f"{cand.bytes / 1e6:.1f} MB > {constraints.max_bytes / 1e6:.1f} MB",
                           cand.bytes / constraints.max_bytes - 1))
    if broken:
        return cand, _reject(cand, broken[0][0], "; ".join(b[1] for b in broken),
                             miss=sum(b[2] for b in broken))
    return cand, None


def _key(cand: Candidate) -> tuple[float, float, float]:
    """Pareto coordinates, all to be minimized."""
    return (cand.p99_ms, -cand.ndcg, math.inf if cand.bytes is None else cand.bytes)


def dominates(a: Candidate, b: Candidate) -> bool:
    ka, kb = _key(a), _key(b)
    return all(x <= y for x, y in zip(ka, kb)) and any(x < y for x, y in zip(ka, kb))


def pareto_front(cands: list[Candidate]) -> tuple[list[Candidate], dict[str, Candidate]]:
    """(the Pareto set, cell id -> a cell dominating it) for the rest."""
    front, beaten = [], {}
    for cand in cands:
        dominators = [o for o in cands if dominates(o, cand)]
        if dominators:
            beaten[cand.cell_id] = min(dominators, key=lambda o: (_key(o), o.cell_id))
        else:
            front.append(cand)
    return front, beaten


def objective_key(objective: str):
    primary = {"throughput": lambda c: -(c.pairs_per_s or 0.0), "p99": lambda c: c.p99_ms,
               "bytes": lambda c: math.inf if c.bytes is None else c.bytes, "ndcg": lambda c: -c.ndcg}[objective]
    return lambda c: (primary(c), *_key(c), c.cell_id)


def _why(choice: Candidate, constraints: Constraints, n_pareto: int, n_feasible: int, n_cells: int) -> str:
    figures = f"p99 {choice.p99_ms:.3g} ms, NDCG@10 {choice.ndcg:.4f}"
    if choice.retention is not None:
        figures += f" (retention {choice.retention:.3f})"
    if choice.bytes is not None:
        figures += f", {choice.bytes / 1e6:.1f} MB"
    if choice.pairs_per_s is not None:
        figures += f", {choice.pairs_per_s:,.0f} pairs/s"
    best_by = {"throughput": "the highest throughput", "p99": "the lowest p99", "bytes": "the smallest size",
               "ndcg": "the highest NDCG@10"}[constraints.objective]
    return (f"{choice.variant} on {choice.backend}: {figures}. It meets {constraints.describe().split(';')[0]} "
            f"and has {best_by} of the {n_pareto} Pareto-optimal cells ({n_feasible} feasible of {n_cells} "
            f"{constraints.scenario} cells).")


def select(results: dict, constraints: Constraints | None = None) -> Decision:
    """The deployment decision for a (validated) results dict. Pure: reads nothing, writes nothing."""
    constraints = constraints or Constraints.for_run(results)
    feasible, rejected = [], []
    for cell in results.get("cells", []):
        cand, rejection = check_cell(results, cell, constraints)
        if rejection:
            rejected.append(rejection)
        else:
            feasible.append(cand)
    if not feasible:
        why = f"no cell meets {constraints.describe().split(';')[0]}"
        decision = Decision(constraints, None, why, [], [], rejected)
        misses = decision.closest_misses
        if misses:
            decision.why += "; closest: " + "; ".join(f"{m.variant} on {m.backend} ({m.detail})" for m in misses)
        return decision
    front, beaten = pareto_front(feasible)
    front.sort(key=lambda c: _key(c) + (c.cell_id,))
    choice = min(front, key=objective_key(constraints.objective))
    for cand in feasible:
        if cand.cell_id in beaten:
            by = beaten[cand.cell_id]
            rejected.append(_reject(cand, "dominated", f"dominated by {by.variant} on {by.backend} "
                                    f"(p99 {by.p99_ms:.3g} vs {cand.p99_ms:.3g} ms, NDCG@10 {by.ndcg:.4f} vs "
                                    f"{cand.ndcg:.4f})", by=by.cell_id))
        elif cand is not choice:
            rejected.append(_reject(cand, "objective", f"Pareto-optimal, but {choice.variant} on {choice.backend} "
                                    f"is better on {constraints.objective}", by=choice.cell_id))
    considered = sum(1 for c in results.get("cells", []) if c["scenario"] == constraints.scenario)
    why = _why(choice, constraints, len(front), len(feasible), considered)
    return Decision(constraints, choice, why, front, feasible, rejected)


def write_decision(decision: Decision, out_dir: str | Path, source: str | None = None) -> Path:
    """decision.json in `out_dir` (written whole), with the results file it was made from."""
    return atomic_write_json(Path(out_dir) / "decision.json", {"results": source, **decision.to_dict()})
