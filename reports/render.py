"""results.json -> report.html (one self-contained file) + summary.md, through jinja2 templates.

    from rankbench.reports.render import write_report
    paths = write_report(results, "runs/x")          # [report.html, summary.md]

Nothing is rendered that the results file does not hold: figures come from its raw samples and
statistics, the verdict from rankbench.reports.select on its cells. Both files are rendered in memory and then
written to temporary names and renamed, so a failure never leaves a partial report behind.
"""
from __future__ import annotations

from pathlib import Path

from rankbench.bench.backends.options import backend_label
from rankbench.common.files import atomic_write_text
from rankbench.reports.select import Constraints, Decision, best_throughput, cell_stats, select, status_detail, variant_accuracy

TEMPLATES = Path(__file__).parent / "templates"


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
    # a status rejection is already shown in the status column; other scenarios are not judged
    tag = "" if rejection.reason in ("status", "scenario") else rejection.reason
    if rejection.by:  # the full sentence is in decision.json; the table names the winner
        return tag, f"{'dominated' if tag == 'dominated' else 'beaten'} by {rejection.by.rsplit('/', 1)[0]}"
    return tag, rejection.detail


def table_rows(results: dict, decision: Decision) -> list[dict]:
    """One row per variant x backend with its options (torch fp32 and torch tf32 are two rows): latency of
    the decision's scenario, best throughput, accuracy, size."""
    scenario = decision.constraints.scenario
    pairs: dict[tuple[str, str], list[dict]] = {}
    for cell in results.get("cells", []):
        pairs.setdefault((cell["variant"], backend_label(cell["backend"], cell.get("backend_options") or {})),
                         []).append(cell)
    rows = []
    for (variant, backend), cells in pairs.items():
        main = next((c for c in cells if c["scenario"] == scenario), None)
        shown = main or cells[0]
        status = shown["status"]
        stats = (cell_stats(shown) if status == "ok" else None) or {}
        ndcg, retention = variant_accuracy(results, variant)
        artifact = results.get("artifacts", {}).get(variant) or {}
        tag, why = _role(decision, main["id"] if main else None)
        detail = status_detail(shown) if status != "ok" else why
        others = [f"{c['scenario']}: {status_detail(c)}" for c in cells
                  if c is not shown and c["status"] != "ok" and status_detail(c) != status_detail(shown)]
        rows.append({"variant": variant, "backend": backend, "status": status,
                     "detail": "; ".join([detail, *others]).strip("; "), "tag": tag,
                     "p50_ms": stats.get("p50_ms"), "p99_ms": stats.get("p99_ms"),
                     "p99_reliable": stats.get("p99_reliable", True),
                     "pairs_per_s": best_throughput(results, variant, shown["backend"], backend)
                     if status == "ok" else None,
                     "ndcg": ndcg, "retention": retention, "params": artifact.get("params"),
                     "bytes": artifact.get("bytes_on_disk")})
    return rows


def problems(results: dict) -> list[str]:
    """Cells that were not measured or do not count, grouped by reason (for the summary)."""
    groups: dict[str, list[str]] = {}
    for cell in results.get("cells", []):
        if cell["status"] != "ok":
            groups.setdefault(status_detail(cell), []).append(f"{cell['variant']}/{cell['backend']}/{cell['scenario']}")
    return [f"{', '.join(ids[:4])}{f' and {len(ids) - 4} more' if len(ids) > 4 else ''}: {why}"
            for why, ids in groups.items()]


def parity_rows(results: dict) -> list[dict]:
    """One row per variant x backend (parity is a property of the pair; a failing check wins), failures first."""
    rows: dict[tuple[str, str], dict] = {}
    for cell in results.get("cells", []):
        parity = cell.get("parity")
        key = (cell["variant"], backend_label(cell["backend"], cell.get("backend_options") or {}))
        if parity and (key not in rows or not parity.get("passed", True)):
            rows[key] = {"id": f"{key[0]}/{key[1]}", **parity}
    return sorted(rows.values(), key=lambda r: bool(r.get("passed")))


def _with_schema_keys(data: dict, defn: dict) -> dict:
    """`data` with every property the schema knows (None when absent), so templates need no guards."""
    return {**{key: None for key in defn.get("properties", {})}, **data}


def _schema() -> dict:
    import json

    from rankbench.bench.results import SCHEMA_PATH

    return json.loads(SCHEMA_PATH.read_text())


def context(results: dict, decision: Decision, source: str | None = None) -> dict:
    from rankbench.reports import plots

    plot_svgs = {"pareto": plots.pareto(results, decision), "latency-cdf": plots.latency_cdf(results),
                 "throughput-batch": plots.throughput_vs_batch(results),
                 "p99-load": plots.p99_vs_load(results, decision.constraints.p99_ms), **plots.sweeps(results)}
    props = _schema()["properties"]
    artifact_defn = props["artifacts"]["additionalProperties"]
    parity_defn = _schema()["$defs"]["parity"]
    return {"results": results, "run": _with_schema_keys(results["run"], props["run"]),
            "env": _with_schema_keys(results["environment"], props["environment"]), "decision": decision,
            "rows": table_rows(results, decision), "source": source,
            "parity": [_with_schema_keys(p, parity_defn) for p in parity_rows(results)],
            "plots": {k: v for k, v in plot_svgs.items() if v},
            "artifacts": {name: _with_schema_keys(a, artifact_defn) for name, a in results.get("artifacts", {}).items()},
            "baselines": results.get("baselines", {}), "problems": problems(results),
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
