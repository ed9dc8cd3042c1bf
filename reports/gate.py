"""The gate's verdicts: thresholds, one row per judged figure, and the rules that judge a figure.

    row = judge_latency("cell", "p99 ms", base_samples, new_samples, q=99, limit=0.10, thresholds)
    row = judge_accuracy("cell", "ndcg@10", base_values, new_values, thresholds)   # paired per request

Latency: a regression only when the new/base ratio exceeds 1 + the limit AND the lower end of its
bootstrap interval does too, so a difference that noise could explain never fails a build (above the
limit but not significant: "noise?"). Accuracy: a regression when the drop exceeds the limit and
the paired interval of the per-request differences lies below zero (the drop is real); without
per-request values (older files), when the drop of the means exceeds the limit. Fewer samples than
`min_samples`, or a non-finite value, is a regression in itself: such a figure cannot vouch for
anything.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from rankbench.bench.stats import bootstrap_ratio_ci, paired_diff_ci, percentile


@dataclass(frozen=True)
class Thresholds:
    max_p99_regression: float = 0.10   # relative: 0.10 = 10% slower
    max_p50_regression: float = 0.10
    max_throughput_drop: float = 0.10  # offline pairs/s, relative
    max_rate_drop: float = 0.10        # server: maximum rate under the SLA, relative
    max_accuracy_drop: float = 0.005   # absolute drop of a ranking metric
    confidence: float = 0.95           # of every bootstrap interval
    min_samples: int = 3               # fewer latency samples than this cannot be judged
    allow_missing: bool = False        # a cell of the base missing from the new run is not a regression
    allow_status: bool = False         # a cell that is no longer ok is not a regression

    def __post_init__(self):
        limits = (self.max_p99_regression, self.max_p50_regression, self.max_throughput_drop,
                  self.max_rate_drop, self.max_accuracy_drop)
        if any(not isinstance(v, (int, float)) or math.isnan(v) or v < 0 for v in limits):
            raise ValueError("thresholds must be numbers >= 0")
        if not 0.5 <= self.confidence < 1:
            raise ValueError(f"confidence must be in [0.5, 1), got {self.confidence}")
        if self.min_samples < 1:
            raise ValueError(f"min_samples must be >= 1, got {self.min_samples}")


@dataclass(frozen=True)
class Row:
    key: str              # the cell id (and point)
    what: str             # "p99 ms" | "p50 ms" | "pairs/s" | a metric name | "status" | "cell"
    base: str
    new: str
    change: str
    verdict: str          # ok | faster | better | noise? | REGRESSION | missing | new | note
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

    def judged_cells(self) -> set[str]:
        return {r.key.split(" ")[0] for r in self.rows if r.what not in ("cell", "status")}

    def markdown(self, only_changes: bool = False) -> str:
        rows = [r for r in self.rows if not only_changes or r.verdict not in ("ok", "better", "faster")]
        lines = ["| cell | what | base | new | change | verdict |", "|---|---|---:|---:|---:|---|"]
        lines += [f"| {r.key} | {r.what} | {r.base} | {r.new} | {r.change} | "
                  f"{'**' + r.verdict + '**' if r.regression else r.verdict}{' - ' + r.detail if r.detail else ''} |"
                  for r in rows]
        verdict = f"**{len(self.regressions)} regression(s)**" if self.regressions else "no regression"
        hidden = len(self.rows) - len(rows)
        note = ["", f"{hidden} more row(s) within thresholds (--all lists them)"] if hidden else []
        summary = f"{len(self.judged_cells())} cell(s) judged, {len(self.rows)} figure(s)"
        return "\n".join([f"### rankbench compare: {verdict}", "", summary, "", *lines, *note,
                          *[f"\n> {w}" for w in self.warnings]])


def unusable(samples) -> str | None:
    """Why these samples cannot be judged (too few, not finite), or None."""
    if any(not math.isfinite(float(x)) for x in samples):
        return "non-finite samples"
    return None


def judge_latency(key: str, what: str, base_samples, new_samples, q: float, limit: float,
                  thresholds: Thresholds, higher_is_better: bool = False) -> Row:
    """Judge one latency percentile (or, with higher_is_better, a throughput: pass 1 / samples)."""
    for side, samples in (("base", base_samples), ("new", new_samples)):
        why = unusable(samples) or (f"{len(samples)} samples < {thresholds.min_samples}"
                                    if len(samples) < thresholds.min_samples else None)
        if why:
            return Row(key, what, str(len(base_samples)), str(len(new_samples)), "", "REGRESSION", f"{side}: {why}")
    ratio, low, high = bootstrap_ratio_ci(base_samples, new_samples, q=q, confidence=thresholds.confidence)
    interval = (f"ratio {ratio:.3f}, {thresholds.confidence:.0%} CI [{low:.3f}, {high:.3f}], "
                f"n {len(base_samples)}/{len(new_samples)}")
    bound = 1 + limit
    if ratio > bound and low > bound:
        verdict = "REGRESSION"
    elif ratio > bound:
        verdict, interval = "noise?", interval + f"; CI reaches below {bound:.2f}"
    elif high < 1:
        verdict = "faster"
    else:
        verdict = "ok"
    base_value, new_value = percentile(base_samples, q), percentile(new_samples, q)
    return Row(key, what, f"{base_value:.3g}", f"{new_value:.3g}", f"{ratio - 1:+.1%}", verdict, interval)


def judge_accuracy(key: str, metric: str, base_values, new_values, thresholds: Thresholds) -> Row:
    """A ranking metric: per-request values paired when both sides have them on the same requests."""
    if len(base_values) == len(new_values) > 1:
        diff, (low, high) = paired_diff_ci(new_values, base_values, thresholds.confidence)
        base_mean = sum(base_values) / len(base_values)
        significant = high < 0
        detail = f"paired {thresholds.confidence:.0%} CI of the change [{low:+.4f}, {high:+.4f}]"
    else:
        base_mean, diff = base_values[0], new_values[0] - base_values[0]
        significant, detail = True, "no per-request values: means compared"
    if not math.isfinite(diff):
        return Row(key, metric, f"{base_mean:.4f}", "nan", "", "REGRESSION", "non-finite accuracy")
    if -diff > thresholds.max_accuracy_drop and significant:
        verdict = "REGRESSION"
    elif -diff > thresholds.max_accuracy_drop:
        verdict = "noise?"
    else:
        verdict = "better" if diff > thresholds.max_accuracy_drop and detail.startswith("paired") and low > 0 else "ok"
    return Row(key, metric, f"{base_mean:.4f}", f"{base_mean + diff:.4f}", f"{diff:+.4f}", verdict, detail)


def judge_rate(key: str, base_rate, new_rate, thresholds: Thresholds) -> Row:
    """Server: the maximum rate under the SLA must not drop by more than the limit (or vanish)."""
    shown = lambda r: "none" if r is None else f"{r:.3g}"  # noqa: E731
    if base_rate is None:
        return Row(key, "max rate rps", "none", shown(new_rate), "", "ok" if new_rate is None else "better")
    if new_rate is None or not math.isfinite(new_rate):
        return Row(key, "max rate rps", shown(base_rate), shown(new_rate), "", "REGRESSION",
                   "no rate meets the SLA any more")
    change = new_rate / base_rate - 1
    verdict = "REGRESSION" if change < -thresholds.max_rate_drop else ("better" if change > 0 else "ok")
    return Row(key, "max rate rps", shown(base_rate), shown(new_rate), f"{change:+.1%}", verdict,
               f"limit -{thresholds.max_rate_drop:.0%}")
