"""results.json -> report.html (one self-contained file) + summary.md, through jinja2 templates.

    from rankbench.reports.render import write_report
    paths = write_report(results, "runs/x")          # [report.html, summary.md]

Nothing is rendered that the results file does not hold: figures come from its raw samples and
statistics, the verdict from rankbench.reports.select on its cells. Both files are rendered in memory and then
written to temporary names and renamed, so a failure never leaves a partial report behind.
A section the run has nothing for says so in a sentence, never as an empty heading; the stored
confirmations (results.json) are shown for the cells this decision names.
"""
from __future__ import annotations

from pathlib import Path

from rankbench.common.files import atomic_write_text
from rankbench.reports.constraints import Constraints
from rankbench.reports.figures import BASELINE_BACKEND
from rankbench.reports.machines import decide_per_machine, describe, machine_names, machine_of
from rankbench.reports.select import Decision, candidate, select, status_detail

TEMPLATES = Path(__file__).parent / "templates"
OWN_SCORES = "this cell's own session"  # bench.accuracy's scores_from for a cell scored in its own session
SUMMARY_ROWS = 15  # a CI job summary is read at a glance: the full table is in report.html
FIGURE_SCENARIOS = {"latency-cdf": "single-stream", "throughput-batch": "offline", "p99-load": "server"}
SWEEPS = ("sweep-candidates", "sweep-length")


def _num(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def _mb(value) -> str:
    return "-" if value is None else f"{value / 1e6:.1f} MB"


def _role(decision: Decision, cell_id: str | None) -> tuple[str, str]:
    """(short tag, explanation) of a cell in the decision."""
    if cell_id is None:
        return "", ""
    if decision.choice and decision.choice.cell_id == cell_id:
        return "chosen", "see the verdict"
    if any(c.cell_id == cell_id for c in decision.pareto):
        rejection = decision.rejection(cell_id)
        return "pareto", rejection.detail if rejection else "Pareto-optimal"
    rejection = decision.rejection(cell_id)
    if rejection is None:
        return "", ""
    if rejection.reason == "scenario":
        return "", ""  # other scenarios are not judged (the table's caption says which one is)
    # a status rejection is shown by the status tag
    tag = "" if rejection.reason == "status" else rejection.reason
    if rejection.by:  # the full sentence is in decision.json; the table names the winner
        return tag, f"{'dominated' if tag == 'dominated' else 'beaten'} by {rejection.by.rsplit('/', 1)[0]}"
    return tag, rejection.detail


def table_rows(results: dict, decision: Decision) -> list[dict]:
    """One row per measured cell (unavailable cells are summarised apart): latency, speed-up against
    the teacher, throughput, the cell's own accuracy with its intervals, size, and its role."""
    rows = []
    for cell in results.get("cells", []):
        if cell["status"] == "unavailable":
            continue
        cand = candidate(results, cell)
        tag, why = _role(decision, cell["id"])
        stats = (cand.p50_ms, cand.p99_ms) if cell["status"] == "ok" else (None, None)
        rows.append({"id": cell["id"], "variant": cell["variant"], "serving": cand.serving,
                     "machine": machine_of(results, cell),
                     "scenario": cell["scenario"], "scenario_params": _id_params(cell, cand.serving),
                     "status": cell["status"],
                     "detail": status_detail(cell) if cell["status"] != "ok" else why, "tag": tag,
                     "p50_ms": stats[0], "p99_ms": stats[1], "p99_reliable": cand.p99_reliable is not False,
                     "speedup": cand.speedup if cell["status"] == "ok" else None,
                     "pairs_per_s": cand.pairs_per_s if cell["status"] == "ok" else None,
                     "ndcg": cand.ndcg, "ndcg_ci": cand.ndcg_ci, "retention": cand.retention,
                     "retention_ci": cand.retention_ci, "fidelity": cand.fidelity, "fidelity_ci": cand.fidelity_ci,
                     "scores_from": cand.scores_from, "bytes": cand.bytes,
                     "scored_elsewhere": bool(cand.scores_from) and cand.scores_from != OWN_SCORES,
                     "params": (results.get("artifacts", {}).get(cell["variant"]) or {}).get("params")})
    return rows


def _id_params(cell: dict, how: str) -> str:
    """The params part of a canonical id (`variant/serving/scenario[params]`): '[candidates=50]' or ''."""
    prefix = f"{cell['variant']}/{how}/{cell['scenario']}"
    return cell["id"][len(prefix):] if cell["id"].startswith(prefix) else ""


def summary_rows(rows: list[dict], decision: Decision, teacher: str | None,
                 limit: int = SUMMARY_ROWS) -> tuple[list[dict], int]:
    """(the rows of the decision's scenario a CI summary shows, how many it leaves out). With more
    than `limit`, the ones the verdict names come first (chosen, runner-up, Pareto set, the teacher's
    baseline), then the fastest feasible ones, then the fastest others; in the table's order."""
    scenario = [r for r in rows if r["scenario"] == decision.constraints.scenario]
    if len(scenario) <= limit:
        return scenario, 0
    named = {c.cell_id for c in decision.pareto}
    named |= {c.cell_id for c in (decision.choice, decision.runner_up) if c is not None}
    named |= {r["id"] for r in scenario if r["variant"] == teacher and r["serving"] == BASELINE_BACKEND}
    feasible = {c.cell_id for c in decision.feasible}
    fastest = sorted((r for r in scenario if r["id"] not in named and r["speedup"] is not None),
                     key=lambda r: (r["id"] not in feasible, -r["speedup"]))
    keep = named | {r["id"] for r in fastest[:max(0, limit - len(named))]}
    shown = [r for r in scenario if r["id"] in keep]
    return shown, len(scenario) - len(shown)


def unavailable_summary(results: dict) -> list[str]:
    """The combinations that cannot run here, one line per reason."""
    groups: dict[str, list[str]] = {}
    for cell in results.get("cells", []):
        if cell["status"] == "unavailable":
            groups.setdefault(cell.get("reason") or "unavailable", []).append(cell["id"].rsplit("/", 1)[0])
    lines = []
    for why, ids in groups.items():
        unique = list(dict.fromkeys(ids))
        shown = ", ".join(unique[:4]) + (f" and {len(unique) - 4} more" if len(unique) > 4 else "")
        lines.append(f"{why}: {shown}")
    return lines


def problems(results: dict) -> list[str]:
    """Cells that were not measured or do not count, grouped by reason (for the summary)."""
    groups: dict[str, list[str]] = {}
    for cell in results.get("cells", []):
        if cell["status"] not in ("ok", "unavailable"):
            groups.setdefault(status_detail(cell), []).append(cell["id"])
    return [f"{', '.join(ids[:4])}{f' and {len(ids) - 4} more' if len(ids) > 4 else ''}: {why}"
            for why, ids in groups.items()]


def machine_groups(results: dict, constraints: Constraints) -> list[dict]:
    """One entry per machine with its cells and its own decision, where cells ran on several
    machines (a cluster run); none for a run on one machine."""
    if len(machine_names(results)) < 2:
        return []
    groups = []
    for name, decision in decide_per_machine(results, constraints).items():
        ids = [c["id"] for c in results.get("cells", []) if machine_of(results, c) == name]
        groups.append({"name": name, "describe": describe(results, name), "cells": ids, "decision": decision})
    return groups


def missing_sentence(results: dict, scenario: str) -> str:
    """What a plot section says when the run gave it nothing to draw."""
    cells = [c for c in results.get("cells", []) if c["scenario"] == scenario]
    if not cells:
        return f"No {scenario} cells were measured in this run."
    measured = [c for c in cells if c["status"] == "ok"]
    if not measured:
        return f"None of the {len(cells)} {scenario} cells of this run was measured (see the table for why)."
    return f"The {len(measured)} measured {scenario} cells of this run hold nothing this figure draws."


def empty_sections(results: dict, decision: Decision, plots: dict) -> dict[str, str]:
    """A sentence for every figure the run has nothing for (keyed like the figures)."""
    out = {name: missing_sentence(results, scenario) for name, scenario in FIGURE_SCENARIOS.items()
           if not plots.get(name)}
    if not plots.get("pareto"):
        out["pareto"] = (f"No {decision.constraints.scenario} cell has both a p99 and an NDCG@10 of its own, "
                         "so there is nothing to place.")
    if not any(plots.get(name) for name in SWEEPS):
        out["sweeps"] = "No sweeps (candidates per request, sequence length) were measured in this run."
    return out


def confirmations(results: dict, decision: Decision) -> list[dict]:
    """The stored confirmations of the cells this decision names (the choice, the runner-up): a
    report made with other constraints than the run's names its own roles, or none."""
    roles = {c.cell_id: role for role, c in (("runner-up", decision.runner_up), ("choice", decision.choice)) if c}
    defn = _schema()["$defs"]["confirmation"]
    return [_with_schema_keys({**c, "role": roles[c["cell_id"]]}, defn)
            for c in results.get("confirmations") or [] if c.get("cell_id") in roles]


def parity_rows(results: dict) -> list[dict]:
    """One row per variant served one way (parity belongs to the variant and the backend with its
    options; a failing check wins), failures first."""
    from rankbench.reports.figures import serving

    rows: dict[str, dict] = {}
    for cell in results.get("cells", []):
        parity = cell.get("parity")
        key = f"{cell['variant']}/{serving(cell)}"
        if parity and (key not in rows or not parity.get("passed", True)):
            rows[key] = {"id": key, **parity}
    return sorted(rows.values(), key=lambda r: bool(r.get("passed")))


def _with_schema_keys(data: dict, defn: dict) -> dict:
    """`data` with every property the schema knows (None when absent), so templates need no guards."""
    return {**{key: None for key in defn.get("properties", {})}, **data}


def _schema() -> dict:
    import json

    from rankbench.bench.results import SCHEMA_PATH

    return json.loads(SCHEMA_PATH.read_text())


def _plots(results: dict, decision: Decision) -> dict[str, str]:
    from rankbench.reports import plots

    svgs = {"pareto": plots.pareto(results, decision), "latency-cdf": plots.latency_cdf(results),
            "throughput-batch": plots.throughput_vs_batch(results),
            "p99-load": plots.p99_vs_load(results, decision.constraints.p99_ms), **plots.sweeps(results)}
    return {k: v for k, v in svgs.items() if v}


def context(results: dict, decision: Decision, source: str | None = None) -> dict:
    from rankbench.reports.plots import pareto_key

    props = _schema()["properties"]
    artifact_defn = props["artifacts"]["additionalProperties"]
    parity_defn = _schema()["$defs"]["parity"]
    rows = table_rows(results, decision)
    shown, left_out = summary_rows(rows, decision, results["run"].get("teacher"))
    plot_svgs = _plots(results, decision)
    return {"results": results, "run": _with_schema_keys(results["run"], props["run"]),
            "env": _with_schema_keys(results["environment"], props["environment"]), "decision": decision,
            "rows": rows, "summary_rows": shown, "summary_left_out": left_out, "source": source,
            "parity": [_with_schema_keys(p, parity_defn) for p in parity_rows(results)],
            "plots": plot_svgs, "empty": empty_sections(results, decision, plot_svgs),
            "pareto_key": pareto_key(results, decision) if "pareto" in plot_svgs else [],
            "artifacts": {name: _with_schema_keys(a, artifact_defn) for name, a in results.get("artifacts", {}).items()},
            "baselines": results.get("baselines", {}), "problems": problems(results),
            "unavailable": unavailable_summary(results), "confirmations": confirmations(results, decision),
            "machines": machine_groups(results, decision.constraints),
            "statuses": sorted({c["status"] for c in results.get("cells", [])})}


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             autoescape=jinja2.select_autoescape(["html", "html.j2"]), trim_blocks=True,
                             lstrip_blocks=True)
    env.filters.update(num=_num, mb=_mb)
    return env


def render(results: dict, constraints: Constraints | None = None, source: str | None = None) -> tuple[str, str]:
    """(report.html, summary.md) as strings."""
    from markupsafe import Markup

    decision = select(results, constraints or Constraints.for_run(results))
    ctx = context(results, decision, source)
    env = _environment()
    html_ctx = dict(ctx, plots={k: Markup(v) for k, v in ctx["plots"].items()})
    return (env.get_template("report.html.j2").render(**html_ctx),
            env.get_template("summary.md.j2").render(**ctx))


def write_report(results: dict, out_dir: str | Path, constraints: Constraints | None = None,
                 source: str | None = None) -> list[Path]:
    html, markdown = render(results, constraints, source)  # everything that can fail happens before writing
    out_dir = Path(out_dir)
    return [atomic_write_text(out_dir / "report.html", html), atomic_write_text(out_dir / "summary.md", markdown)]
