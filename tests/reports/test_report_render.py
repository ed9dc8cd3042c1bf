"""reports: report.html (self-contained, verdict first, table, every plot), summary.md, failures."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rankbench.bench.results import ResultsError
from results_factory import VARIANTS, artifact, cell, hand_results, many_variants_results, subset

PLOTS = ("pareto", "latency-cdf", "throughput-batch", "p99-load")
ROOT = Path(__file__).resolve().parents[2]


def test_verdict_comes_first_then_environment_then_table(rendered):
    html, _ = rendered
    order = [html.index(f'id="{name}"') for name in ("verdict", "environment", "cells-table", "fig-pareto")]
    assert order == sorted(order)
    verdict = html[html.index('id="verdict"'):html.index('id="environment"')]
    assert "Deploy <code>distill-l3+int8</code> on <code>onnxruntime</code>" in verdict
    assert "p99 &lt;= 50 ms" in verdict  # the SLA from run.constraints, escaped


def _table(html: str, table_id: str = "cells-table") -> str:
    start = html.index(f'id="{table_id}"')
    return html[start:html.index("</table>", start)]


def test_table_has_one_row_per_measured_cell_and_summarises_the_rest(rendered, sample):
    html, _ = rendered
    table = _table(html)
    rows = re.findall(r'<tr data-id="([^"]+)"', table)
    measured = [c["id"] for c in sample["cells"] if c["status"] != "unavailable"]
    assert rows == measured and len(set(rows)) == len(rows)  # one row per cell, none merged
    assert "invalid" in table and "top-10 overlap 0.62" in table  # parity failure with its figures
    assert "XLA compile ran out of memory" in table and "tensorrt" not in table
    after = html[html.index("</table>"):html.index("</section>", html.index('id="cells-table"'))]
    assert "tensorrt needs an NVIDIA GPU" in after  # the unavailable combinations, said once
    assert html.count("tensorrt needs an NVIDIA GPU") == 1
    headers = re.findall(r"<th[^>]*>([^<]+)</th>", table)
    # what a reader looks for first comes first: the cell, its speed-up, latency, accuracy with intervals
    assert headers[:6] == ["Cell", "Speed-up", "p50 ms", "p99 ms", "NDCG@10", "Retention"]
    for name in ("Fidelity", "Pairs/s", "MB", "Decision"):
        assert name in headers
    assert re.search(r"\d\.\d\dx", table)  # speed-ups against the teacher


def test_every_row_shows_its_speed_up_and_accuracy_intervals(rendered, sample):
    html, _ = rendered
    body = _table(html).split("<tbody>")[1]
    for row in body.split("</tr>")[:-1]:
        cell_id = re.search(r'data-id="([^"]+)"', row).group(1)
        cell = next(c for c in sample["cells"] if c["id"] == cell_id)
        numbers = re.findall(r'<td class="n[^"]*" data-v="([^"]*)">(.*?)</td>', row, flags=re.S)
        speedup, ndcg, retention = numbers[0], numbers[3], numbers[4]
        if cell["status"] == "ok" and cell["stats"]:
            assert re.fullmatch(r"\d+\.\d\dx", speedup[1]), cell_id
        if cell["status"] == "ok":
            for value, text in (ndcg, retention):
                assert value and re.search(r'<span class="ci">\[\d\.\d{3}, \d\.\d{3}\]</span>', text), cell_id


def test_long_ids_wrap_and_their_params_are_set_apart():
    from rankbench.reports.render import render

    html, _ = render(many_variants_results())
    assert ('<span class="nw">distill-l4+</span><wbr><span class="nw">prune-heads-25+</span><wbr>'
            '<span class="nw">int8-static</span>') in html
    assert '<span class="params">[candidates=50]</span>' in html
    assert 'title="distill-l3+int8/onnxruntime/single-stream[candidates=50]"' in html


def test_every_plot_is_inline_svg_with_labelled_axes(rendered):
    html, _ = rendered
    for name in PLOTS:
        match = re.search(rf'<svg[^>]*data-plot="{name}"', html)
        assert match, f"plot {name} missing"
    assert "p99 latency per request, single-stream (ms)" in html and "throughput (pairs/s)" in html
    assert "offered load (requests/s)" in html and "SLA p99 = 50 ms" in html
    assert 'id="parity-table"' in html and "Training time" in html and "method=distill" in html


def test_report_is_self_contained(rendered):
    html, _ = rendered
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<script src" not in html and 'rel="stylesheet"' not in html and "@import" not in html
    assert html.count("<script>") == 1 and "<style>" in html
    assert 'name="viewport"' in html and "@media print" in html


def test_summary_is_short_markdown_with_verdict_and_table(rendered, sample):
    _, summary = rendered
    lines = summary.splitlines()
    assert lines[0].startswith("## rankbench")
    assert "**Deploy `distill-l3+int8` on `onnxruntime`: 2.94x the teacher's speed.**" in summary
    assert "| cell | speed-up | p50 ms | p99 ms | NDCG@10 | retention [95% CI] | decision |" in summary
    assert re.search(r"\| distill-l3\+int8/onnxruntime/single-stream \| \d\.\d\dx \|.*\| \*\*chosen\*\* \|", summary)
    assert "Retention at 95% confidence" in summary
    assert "parity failed" in summary  # what does not count is said
    assert len(lines) < 60 and len(summary) < 8000


def test_summary_of_a_big_run_names_what_the_verdict_names_and_stays_short():
    from rankbench.reports.render import SUMMARY_ROWS, render
    from rankbench.reports.select import select

    results = many_variants_results()
    decision = select(results)
    _, summary = render(results)
    rows = [line.split(" | ")[0][2:] for line in summary.splitlines() if line.startswith("| ") and "/" in line]
    scenario = [c for c in results["cells"] if c["scenario"] == "single-stream" and c["status"] != "unavailable"]
    assert len(scenario) > SUMMARY_ROWS and len(rows) == SUMMARY_ROWS
    named = {decision.choice.cell_id, decision.runner_up.cell_id, *(c.cell_id for c in decision.pareto),
             "teacher/torch/single-stream[candidates=50]"}
    assert named <= set(rows)
    assert f"{len(scenario) - SUMMARY_ROWS} more" in summary and "`report.html`" in summary
    assert len(summary.splitlines()) < 45


def _plot_sections(html: str) -> dict[str, str]:
    """Each heading of the plots section -> what follows it up to the next heading."""
    plots = html[html.index('<section id="plots">'):html.index("</section>", html.index('<section id="plots">'))]
    parts = re.split(r"<h2>([^<]+)</h2>", plots)[1:]
    return dict(zip(parts[::2], parts[1::2]))


def test_a_run_without_offline_or_server_cells_says_so_instead_of_an_empty_heading(sample):
    from rankbench.reports.render import render

    html, _ = render(subset(sample, set(VARIANTS)))  # single-stream cells only
    sections = _plot_sections(html)
    assert set(sections) == {"Accuracy against latency", "Latency distributions", "Throughput against batch size",
                             "Tail latency under load", "Sweeps"}
    for heading, body in sections.items():
        assert "<figure" in body or 'class="empty"' in body, f"{heading} is an empty heading"
    assert "No offline cells were measured in this run." in sections["Throughput against batch size"]
    assert "No server cells were measured in this run." in sections["Tail latency under load"]
    assert "No sweeps" in sections["Sweeps"] and "<figure" in sections["Latency distributions"]


def test_the_full_sample_draws_every_section_and_says_nothing_is_missing(rendered):
    html, _ = rendered
    sections = _plot_sections(html)
    for heading in ("Accuracy against latency", "Latency distributions", "Throughput against batch size",
                    "Tail latency under load"):
        assert "<figure" in sections[heading] and 'class="empty"' not in sections[heading]


def test_a_section_says_why_it_is_empty(sample):
    from rankbench.reports.render import render

    offline_failed = [dict(c, status="failed", stats=None, reason="boom", points=[]) if c["scenario"] == "offline"
                      else c for c in sample["cells"]]
    html, _ = render(dict(sample, cells=offline_failed))
    assert "None of the 16 offline cells of this run was measured (see the table for why)." in html
    no_samples = [dict(c, samples_ms=[]) if c["scenario"] == "single-stream" else c for c in sample["cells"]]
    html, _ = render(dict(sample, cells=no_samples))
    body = _plot_sections(html)["Latency distributions"]
    assert "The 16 measured single-stream cells of this run hold nothing this figure draws." in body


def test_the_environment_says_where_the_run_time_went_when_the_run_recorded_it(sample):
    from rankbench.reports.render import render

    timed = dict(sample, run=dict(sample["run"], stage_seconds={"data and teacher": 612.4, "cells": 58.0}))
    html, _ = render(timed)
    env = html[html.index('id="environment"'):html.index('id="cells"')]
    assert "<dt>Run time</dt><dd>data and teacher 612 s, cells 58 s " in env
    html, _ = render(sample)  # an older results file has no stage times: no row, no error
    assert "<dt>Run time</dt>" not in html


def test_empty_parity_and_table_say_so():
    from rankbench.reports.render import render

    cells = [cell("teacher", "torch", p99=80.0, parity=None), cell("small", "torch", p99=20.0, parity=None)]
    html, _ = render(hand_results({"teacher": artifact("teacher", 0.4), "small": artifact("small", 0.3)}, cells))
    assert 'id="parity-table"' not in html and "No parity checks were recorded in this run." in html
    html, _ = render(hand_results({"teacher": artifact("teacher", 0.4)},
                                  [cell("teacher", "tensorrt", status="unavailable", reason="no GPU")]))
    assert 'id="cells-table"' not in html and "No cells were measured in this run." in html
    assert "no GPU: teacher/tensorrt" in html


def test_the_verdict_leads_with_the_speed_up_the_retention_interval_and_the_confirmation(sample):
    from rankbench.reports.render import render

    chosen = "distill-l3+int8/onnxruntime/single-stream"
    confirmed = {"cell_id": chosen, "role": "choice", "samples_ms": [10.0] * 662, "status": "ok", "reason": None,
                 "stats": {"n": 662, "p50_ms": 10.0, "p99_ms": 13.4, "mean_ms": 10.0}, "p99_upper_99": 14.2,
                 "p99_holds": True}
    other = dict(confirmed, cell_id="teacher/torch/single-stream", role="runner-up")
    html, summary = render(dict(sample, confirmations=[confirmed, other]))
    verdict = html[html.index('id="verdict"'):html.index('id="environment"')]
    assert re.search(r'id="headline-speedup"><span class="big">2\.94x</span>', verdict)
    assert re.search(r'id="headline-retention"><span class="big">0\.990</span> retention <span class="ci">'
                     r'\[0\.9\d\d, 0\.9\d\d\] at 95%', verdict)
    assert f"Confirmed choice <code>{chosen}</code>: p99 13.4 ms from 662 samples, &le; 14.2 ms" in verdict
    assert "the SLA holds at 99% confidence" in verdict and "Runner-up: <code>" in verdict
    assert "teacher/torch/single-stream</code>: p99 13" not in verdict  # not this decision's runner-up
    assert f"Confirmed choice `{chosen}`: p99 13.4 ms from 662 samples" in summary


def test_a_v1_reference_run_renders_with_what_it_lacks_said():
    """The compression run of results/reference (v1: one accuracy per variant, no intervals)."""
    from rankbench.bench.results import read_results
    from rankbench.reports.render import render

    html, summary = render(read_results(ROOT / "results/reference/2026-11-28-cpu-compression/results.json"))
    assert "cannot be proven at 95% confidence: this file has no per-request accuracy" in html
    assert "upgraded from v1" in html and "accuracy per variant, not per cell" in html
    assert "no interval (no per-request accuracy)" in summary
    rows = re.findall(r'<tr data-id="([^"]+)"', _table(html))
    assert len(rows) == 27 and not any(r.startswith("ort-int8-static/torch") for r in rows)


@pytest.mark.parametrize("corrupt, message", [
    (lambda text: text[: len(text) // 2], "not valid JSON"),
    (lambda text: text.replace('"status": "ok"', '"status": "great"', 1), "does not match results schema"),
    (lambda text: text.replace('"schema_version": 2', '"schema_version": 9'), "schema_version 9"),
])
def test_corrupted_results_give_a_clear_error_and_no_report(tmp_path, sample, capsys, corrupt, message):
    from rankbench.cli import main

    path = tmp_path / "results.json"
    path.write_text(corrupt(json.dumps(sample)))
    out = tmp_path / "out"
    assert main(["report", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "rankbench report: error:" in err and message in err and "Traceback" not in err
    assert not out.exists() or list(out.iterdir()) == []
    from rankbench.bench.results import read_results

    with pytest.raises(ResultsError):
        read_results(path)


def test_a_failure_while_rendering_leaves_the_previous_report_untouched(tmp_path, sample, monkeypatch):
    from rankbench.reports import plots
    from rankbench.reports.render import write_report

    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("previous report")

    def broken(*args, **kwargs):
        raise RuntimeError("plot failed")

    monkeypatch.setattr(plots, "latency_cdf", broken)
    with pytest.raises(RuntimeError):
        write_report(sample, out)
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]
    assert (out / "report.html").read_text() == "previous report"


def test_nothing_feasible_and_only_single_stream():
    from rankbench.reports.render import render

    results = hand_results({"teacher": artifact("teacher", 0.4), "small": artifact("small", 0.3)},
                           [cell("teacher", "torch", p99=80.0), cell("small", "torch", p99=20.0)],
                           constraints={"p99_ms": 50.0})
    html, summary = render(results)
    assert "No variant meets the constraints" in html and "Closest misses" in html
    assert "**No variant meets the constraints.**" in summary
    assert 'data-plot="pareto"' in html and 'data-plot="p99-load"' not in html  # nothing to draw, no empty plot


def test_cli_flags_override_the_run_constraints(tmp_path, sample_path):
    from rankbench.cli import main

    assert main(["report", str(sample_path), "--out", str(tmp_path), "--objective", "ndcg"]) == 0
    html = (tmp_path / "report.html").read_text()
    assert "Deploy <code>lora-merged</code>" in html and "objective: ndcg" in html
