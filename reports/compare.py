"""CI gate: `rankbench compare BASE.json NEW.json` -> a Markdown table; exit 1 on a regression.

Cells are matched by (variant, backend, scenario). Latency is judged from the raw samples: a p99
regression counts only when the new/base p99 ratio exceeds 1 + max_p99_regression AND the lower end of
its 95% bootstrap interval does too, so a difference that noise could explain never fails a build
(ratios above the threshold that are not significant are shown as "noise?"). Cells without top-level
samples (server, sweeps) are judged per point, matched by batch size / rate / value.
Accuracy is judged on the metric values: a drop larger than max_accuracy_drop (absolute) in any of
NDCG@10, HR@10, MRR, AUC of a variant is a regression. A cell that was ok and is now invalid or failed
is a regression too. Runs from different machines are refused unless --force.

    report = compare(base, new, Thresholds(max_p99_regression=0.10))
    report.regressions, report.markdown()
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rankbench.models.metrics import METRICS
from rankbench.bench.stats import bootstrap_ratio_ci, percentile

@dataclass(frozen=True)
class Thresholds:
    max_p99_regression: float = 0.10   # relative: 0.10 = 10% slower p99
    max_accuracy_drop: float = 0.005   # absolute drop of a metric
    confidence: float = 0.95           # of the bootstrap interval of the p99 ratio

    def __post_init__(self):
        if self.max_p99_regression < 0 or self.max_accuracy_drop < 0:
            raise ValueError("thresholds must be >= 0")
        if not 0.5 <= self.confidence < 1:
            raise ValueError(f"confidence must be in [0.5, 1), got {self.confidence}")


@dataclass(frozen=True)
class Row:
    key: str              # variant/backend/scenario[ point]
    what: str             # "p99" | a metric name | "status"
    base: str
    new: str
    change: str
    verdict: str          # ok | faster | noise? | REGRESSION | missing | new | note
    detail: str = ""

    @property
    def regression(self) -> bool:
        return self.verdict == "REGRESSION"


@dataclass
class Comparison:
    rows: list[Row] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.regression]

    def markdown(self, only_changes: bool = False) -> str:
        rows = [r for r in self.rows if not only_changes or r.verdict != "ok"]
        lines = ["| cell | what | base | new | change | verdict |", "|---|---|---:|---:|---:|---|"]
        lines += [f"| {r.key} | {r.what} | {r.base} | {r.new} | {r.change} | "
                  f"{'**' + r.verdict + '**' if r.regression else r.verdict}{' - ' + r.detail if r.detail else ''} |"
                  for r in rows]
        verdict = (f"**{len(self.regressions)} regression(s)**" if self.regressions else "no regression")
        hidden = len(self.rows) - len(rows)
        note = [f"", f"{hidden} more row(s) within thresholds (--all lists them)"] if hidden else []
        return "\n".join([f"### rankbench compare: {verdict}", "", *lines, *note, *[f"\n> {w}" for w in self.warnings]])


def judge_latency(key: str, base_samples, new_samples, thresholds: Thresholds) -> Row:
    base_p99, new_p99 = percentile(base_samples, 99), percentile(new_samples, 99)
    ratio, low, high = bootstrap_ratio_ci(base_samples, new_samples, q=99, confidence=thresholds.confidence)
    limit = 1 + thresholds.max_p99_regression
    interval = f"ratio {ratio:.3f}, {thresholds.confidence:.0%} CI [{low:.3f}, {high:.3f}], n {len(base_samples)}/{len(new_samples)}"
    if ratio > limit and low > limit:
        verdict = "REGRESSION"
    elif ratio > limit:
        verdict, interval = "noise?", interval + f"; CI reaches below {limit:.2f}"
    elif high < 1:
        verdict = "faster"
    else:
        verdict = "ok"
    return Row(key, "p99 ms", f"{base_p99:.3g}", f"{new_p99:.3g}", f"{ratio - 1:+.1%}", verdict, interval)


def _point_label(point: dict) -> str:
    for name, unit in (("batch_size", "batch "), ("rate_rps", "rate "), ("value", "value ")):
        if name in point:
            return f"{unit}{point[name]:g}" + (" rps" if name == "rate_rps" else "")
    return "point"


def _latency_pairs(base_cell: dict, new_cell: dict) -> list[tuple[str, list, list]]:
    """(label, base samples, new samples) to judge: the cell's own samples, else each matched point."""
    if base_cell.get("samples_ms") and new_cell.get("samples_ms"):
        return [("", base_cell["samples_ms"], new_cell["samples_ms"])]
    new_points = {_point_label(p): p for p in new_cell.get("points", [])}
    pairs = []
    for point in base_cell.get("points", []):
        label = _point_label(point)
        other = new_points.get(label)
        if other and point.get("samples_ms") and other.get("samples_ms"):
            pairs.append((f" {label}", point["samples_ms"], other["samples_ms"]))
    return pairs


def _cell_key(cell: dict) -> tuple[str, str, str]:
    return cell["variant"], cell["backend"], cell["scenario"]


def compare_cells(base: dict, new: dict, thresholds: Thresholds) -> list[Row]:
    rows = []
    base_cells = {_cell_key(c): c for c in base.get("cells", [])}
    new_cells = {_cell_key(c): c for c in new.get("cells", [])}
    for key in sorted(base_cells.keys() | new_cells.keys()):
        name = "/".join(key)
        old, cur = base_cells.get(key), new_cells.get(key)
        if cur is None or old is None:
            rows.append(Row(name, "cell", "-" if old is None else old["status"], "-" if cur is None else cur["status"],
                            "", "missing" if cur is None else "new"))
            continue
        if old["status"] != cur["status"]:
            broke = old["status"] == "ok" and cur["status"] in ("invalid", "failed")
            rows.append(Row(name, "status", old["status"], cur["status"], "", "REGRESSION" if broke else "note",
                            cur.get("reason") or ""))
        if old["status"] == "ok" and cur["status"] == "ok":
            rows += [judge_latency(name + label, a, b, thresholds) for label, a, b in _latency_pairs(old, cur)]
    return rows


def compare_accuracy(base: dict, new: dict, thresholds: Thresholds) -> list[Row]:
    rows = []
    for variant in sorted(base.get("artifacts", {}).keys() & new.get("artifacts", {}).keys()):
        old = base["artifacts"][variant].get("accuracy") or {}
        cur = new["artifacts"][variant].get("accuracy") or {}
        for metric in METRICS:
            if metric not in old or metric not in cur:
                continue
            drop = old[metric] - cur[metric]
            verdict = "REGRESSION" if drop > thresholds.max_accuracy_drop else "ok"
            rows.append(Row(variant, metric, f"{old[metric]:.4f}", f"{cur[metric]:.4f}", f"{-drop:+.4f}", verdict,
                            f"drop > {thresholds.max_accuracy_drop:g}" if verdict != "ok" else ""))
    return rows


def compare(base: dict, new: dict, thresholds: Thresholds | None = None) -> Comparison:
    """Compare two validated results dicts. Does not check the machines: see `comparable`."""
    thresholds = thresholds or Thresholds()
    return Comparison(compare_cells(base, new, thresholds) + compare_accuracy(base, new, thresholds))


def comparable(base: dict, new: dict) -> tuple[bool, str]:
    from rankbench.bench.results import same_machine

    return same_machine(base["environment"], new["environment"])
