"""The p99-vs-load figure and table: real LoadGen runs, the simulation's estimate beside them and the
served figures, told apart; the table says how far the estimate is from the real runs."""
from __future__ import annotations

import copy
import re

from rankbench.bench.results import validate
from rankbench.reports.load_plot import load_series
from rankbench.reports.plots import p99_vs_load
from rankbench.reports.render import render
from tests.reports.results_factory import sample_results


def with_estimates(results: dict) -> dict:
    out = copy.deepcopy(results)
    for cell in out["cells"]:
        if cell["scenario"] == "server" and cell["status"] == "ok":
            for point in cell["points"]:
                point["simulated_p99_ms"] = point["stats"]["p99_ms"] * 0.5  # an optimistic estimate: ratio 0.5
                point["loadgen"] = {"scenario": "server", "validity": "INVALID",
                                    "invalid_reasons": ["early stopping not met"]}
            cell["simulated_max_rate_under_sla_rps"] = cell["points"][-1]["rate_rps"]
    validate(out)
    return out


def test_real_simulated_and_served_series_are_told_apart():
    results = with_estimates(sample_results())
    served_cell = next(c for c in results["cells"] if c["scenario"] == "server" and c["status"] == "ok")
    results["served"] = [{"variant": served_cell["variant"], "backend": served_cell["backend"],
                          "points": [{"rate_rps": p["rate_rps"], "stats": p["stats"]} for p in served_cell["points"]],
                          "max_rate_under_sla_rps": served_cell["points"][0]["rate_rps"]}]
    validate(results)
    series = load_series(results)[served_cell["backend"]]
    kinds = {(variant, kind) for variant, kind, _ in series}
    assert {(served_cell["variant"], k) for k in ("real", "simulation", "served")} <= kinds
    svg = p99_vs_load(results, 50.0)
    assert "simulation (estimate)" in svg and "served over HTTP" in svg and "SLA p99 = 50 ms" in svg

    html, _ = render(results)
    table = html[html.index('<table id="load-table">'):]
    table = table[:table.index("</table>")]
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)
               if f"<td>{served_cell['variant']}</td><td>{served_cell['backend']}</td>" in r)
    assert "<td>0.5</td>" in row  # simulated / real p99
    assert f"0 of {len(served_cell['points'])}" in row  # no VALID LoadGen run
    assert "<td>1</td>" in row  # served / in-process p99 at the same rates
