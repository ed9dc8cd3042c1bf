"""Choose the cell to deploy: feasible cells -> Pareto set -> one pick by the objective.

    from rankbench.reports.select import select
    decision = select(results, Constraints(p99_ms=50, min_retention=0.99, confidence=0.95))
    decision.choice          # a Candidate (cell id, variant, serving, p99_ms, ndcg, ...) or None
    decision.to_dict()       # what decision.json holds

A cell is one variant served one way (backend with all its options) in one scenario, named by its
canonical id. Rules, in order, for every cell of the run:
1. Only cells of the selected scenario (and backend, when one is asked for) are candidates.
2. A cell must have status "ok" (invalid = failed parity, unavailable, failed are rejected with their
   reason), latency statistics and its own NDCG@10.
3. Constraints: p99 <= p99_ms; retention (NDCG@10 / the teacher's, same requests) >= min_retention
   and fidelity (Spearman with the teacher's scores) >= min_fidelity, on the lower end of the
   interval when `confidence` is set; bytes on disk <= max_bytes. A constraint that is set but cannot
   be checked rejects.
4. Pareto set of the feasible cells over (p99 lower, NDCG@10 higher, bytes lower; unknown bytes count
   as the worst). Cells equal on all three do not dominate each other.
5. The objective picks one from the Pareto set (throughput: highest pairs/s, p99: lowest, bytes:
   smallest, ndcg: highest); ties break by p99, then NDCG@10, then bytes, then id.
Every cell not chosen gets a Rejection saying which rule removed it and, where a cell beat it, which.
The decision also says whether the choice's retention holds at 95% confidence.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rankbench.common.files import atomic_write_json
from rankbench.reports.constraints import Constraints
from rankbench.reports.figures import accuracy_figures, best_throughput, cell_stats, serving, speedup

CLOSEST_MISSES = 3
CLAIM_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Candidate:
    """One cell with the figures selection looks at."""

    cell_id: str
    variant: str
    backend: str
    serving: str                 # backend and its options, e.g. "torch:fp16+cuda_graphs"
    scenario: str
    p50_ms: float | None
    p99_ms: float | None
    p99_reliable: bool | None
    ndcg: float | None
    ndcg_ci: list | None
    retention: float | None
    retention_ci: list | None
    fidelity: float | None
    fidelity_ci: list | None
    bytes: int | None
    pairs_per_s: float | None    # best offline throughput of this variant served this way, else the cell's
    speedup: float | None        # the teacher's PyTorch fp32 p50 / this cell's p50 (same scenario)
    scores_from: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Rejection:
    cell_id: str
    variant: str
    backend: str
    scenario: str
    reason: str              # scenario | backend | status | no-latency | no-accuracy | p99 | retention | fidelity | bytes | dominated | objective
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
    claims: dict = field(default_factory=dict)  # what the choice's intervals prove
    confirmation: list = field(default_factory=list)  # re-measured p99s (rankbench.bench.confirm)

    @property
    def closest_misses(self) -> list[Rejection]:
        misses = [r for r in self.rejected if r.miss is not None]
        return sorted(misses, key=lambda r: (r.miss, r.cell_id))[:CLOSEST_MISSES]

    @property
    def runner_up(self) -> Candidate | None:
        """The best feasible cell after the choice, by the same objective."""
        others = [c for c in self.feasible if self.choice is None or c.cell_id != self.choice.cell_id]
        return min(others, key=objective_key(self.constraints.objective)) if others else None

    def rejection(self, cell_id: str) -> Rejection | None:
        return next((r for r in self.rejected if r.cell_id == cell_id), None)

    def to_dict(self) -> dict:
        return {"constraints": self.constraints.to_dict(),
                "choice": self.choice.to_dict() if self.choice else None,
                "why": self.why, "claims": self.claims, "confirmation": self.confirmation,
                "runner_up": self.runner_up.to_dict() if self.runner_up else None,
                "pareto": [c.to_dict() for c in self.pareto],
                "feasible": [c.cell_id for c in self.feasible],
                "rejected": [r.to_dict() for r in self.rejected],
                "closest_misses": [r.to_dict() for r in self.closest_misses]}


def candidate(results: dict, cell: dict, confidence: float | None = None) -> Candidate:
    stats = cell_stats(cell) or {}
    acc = accuracy_figures(results, cell, confidence)
    artifact = results.get("artifacts", {}).get(cell["variant"]) or {}
    return Candidate(cell_id=cell["id"], variant=cell["variant"], backend=cell["backend"], serving=serving(cell),
                     scenario=cell["scenario"], p50_ms=stats.get("p50_ms"), p99_ms=stats.get("p99_ms"),
                     p99_reliable=stats.get("p99_reliable"), ndcg=acc["ndcg"], ndcg_ci=acc["ndcg_ci"],
                     retention=acc["retention"], retention_ci=acc["retention_ci"], fidelity=acc["fidelity"],
                     fidelity_ci=acc["fidelity_ci"], bytes=artifact.get("bytes_on_disk"),
                     pairs_per_s=best_throughput(results, cell), speedup=speedup(results, cell),
                     scores_from=("per artifact (results v1)" if acc["per_artifact"] else acc["scores_from"]))


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


def _accuracy_breaks(cand: Candidate, constraints: Constraints) -> tuple[list, str | None]:
    """(broken accuracy constraints as (reason, detail, miss), or a reason they cannot be checked)."""
    broken = []
    for name, minimum, value, interval in (("retention", constraints.min_retention, cand.retention, cand.retention_ci),
                                           ("fidelity", constraints.min_fidelity, cand.fidelity, cand.fidelity_ci)):
        if minimum is None:
            continue
        if value is None:
            return [], f"{name} unknown (no teacher scores on the same requests)"
        if constraints.confidence is not None:
            if not interval:
                return [], f"{name} has no interval to check at {constraints.confidence:.0%}"
            low = interval[0]
            if low < minimum:
                broken.append((name, f"{name} {value:.4f}, its {constraints.confidence:.0%} interval reaches "
                                     f"{low:.4f} < {minimum:g}", (minimum - low) / abs(minimum or 1)))
        elif value < minimum:
            broken.append((name, f"{name} {value:.4f} < {minimum:g}", (minimum - value) / abs(minimum or 1)))
    return broken, None


def check_cell(results: dict, cell: dict, constraints: Constraints) -> tuple[Candidate, Rejection | None]:
    """The candidate for a cell, and why it is not feasible (None when it is)."""
    cand = candidate(results, cell, constraints.confidence)
    if cell["scenario"] != constraints.scenario:
        return cand, _reject(cand, "scenario", f"scenario {cell['scenario']}; selection uses {constraints.scenario}")
    if constraints.backend and cell["backend"] != constraints.backend:
        return cand, _reject(cand, "backend", f"backend {cell['backend']}; selection asks for {constraints.backend}")
    if cell["status"] != "ok":
        return cand, _reject(cand, "status", status_detail(cell))
    if cand.p99_ms is None:
        return cand, _reject(cand, "no-latency", "no latency samples or statistics")
    if cand.ndcg is None:
        return cand, _reject(cand, "no-accuracy", f"cell {cand.cell_id} has no NDCG@10 of its own")
    broken = []  # (reason, detail, relative miss)
    if constraints.p99_ms is not None and cand.p99_ms > constraints.p99_ms:
        broken.append(("p99", f"p99 {cand.p99_ms:.3g} ms > {constraints.p99_ms:g} ms",
                       cand.p99_ms / constraints.p99_ms - 1))
    accuracy_broken, unknown = _accuracy_breaks(cand, constraints)
    if unknown:
        return cand, _reject(cand, "no-accuracy", unknown)
    broken += accuracy_broken
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


def claims(results: dict, choice: Candidate, constraints: Constraints) -> dict:
    """What the choice's accuracy intervals prove at 95% confidence."""
    at = accuracy_figures(results, _cell(results, choice.cell_id), CLAIM_CONFIDENCE)
    out = {"confidence": CLAIM_CONFIDENCE, "retention": at["retention"], "retention_ci": at["retention_ci"]}
    if constraints.min_retention is not None:
        out["retention_holds"] = bool(at["retention_ci"]) and at["retention_ci"][0] >= constraints.min_retention
    if constraints.min_fidelity is not None:
        out["fidelity_holds"] = bool(at["fidelity_ci"]) and at["fidelity_ci"][0] >= constraints.min_fidelity
    return out


def _cell(results: dict, cell_id: str) -> dict:
    return next(c for c in results.get("cells", []) if c["id"] == cell_id)


def _why(choice: Candidate, constraints: Constraints, n_pareto: int, n_feasible: int, n_cells: int) -> str:
    figures = f"p99 {choice.p99_ms:.3g} ms, NDCG@10 {choice.ndcg:.4f}"
    if choice.retention is not None:
        interval = f" [{choice.retention_ci[0]:.3f}, {choice.retention_ci[1]:.3f}]" if choice.retention_ci else ""
        figures += f" (retention {choice.retention:.3f}{interval})"
    if choice.speedup is not None:
        figures += f", {choice.speedup:.2f}x the teacher's speed"
    if choice.bytes is not None:
        figures += f", {choice.bytes / 1e6:.1f} MB"
    if choice.pairs_per_s is not None:
        figures += f", {choice.pairs_per_s:,.0f} pairs/s"
    best_by = {"throughput": "the highest throughput", "p99": "the lowest p99", "bytes": "the smallest size",
               "ndcg": "the highest NDCG@10"}[constraints.objective]
    return (f"{choice.variant} on {choice.serving}: {figures}. It meets {constraints.describe().split(';')[0]} "
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
        decision = Decision(constraints, None, f"no cell meets {constraints.describe().split(';')[0]}", [], [], rejected)
        if decision.closest_misses:
            decision.why += "; closest: " + "; ".join(f"{m.cell_id} ({m.detail})" for m in decision.closest_misses)
        return decision
    front, beaten = pareto_front(feasible)
    front.sort(key=lambda c: _key(c) + (c.cell_id,))
    choice = min(front, key=objective_key(constraints.objective))
    for cand in feasible:
        if cand.cell_id in beaten:
            by = beaten[cand.cell_id]
            rejected.append(_reject(cand, "dominated", f"dominated by {by.cell_id} (p99 {by.p99_ms:.3g} vs "
                                    f"{cand.p99_ms:.3g} ms, NDCG@10 {by.ndcg:.4f} vs {cand.ndcg:.4f})", by=by.cell_id))
        elif cand is not choice:
            rejected.append(_reject(cand, "objective", f"Pareto-optimal, but {choice.cell_id} is better on "
                                    f"{constraints.objective}", by=choice.cell_id))
    considered = sum(1 for c in results.get("cells", []) if c["scenario"] == constraints.scenario)
    why = _why(choice, constraints, len(front), len(feasible), considered)
    return Decision(constraints, choice, why, front, feasible, rejected, claims(results, choice, constraints))


def write_decision(decision: Decision, out_dir: str | Path, source: str | None = None,
                   name: str = "decision.json", machine: str | None = None) -> Path:
    """decision.json in `out_dir` (written whole), with the results file it was made from (and the
    machine it decides for, when it decides for one: rankbench.reports.machines)."""
    head = {"results": source, **({"machine": machine} if machine else {})}
    return atomic_write_json(Path(out_dir) / name, {**head, **decision.to_dict()})
