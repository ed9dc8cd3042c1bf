"""reports: report.html (self-contained, verdict first, table, every plot), summary.md, failures."""
from __future__ import annotations

import json
import re

import pytest

from rankbench.bench.results import ResultsError
from results_factory import VARIANTS, artifact, cell, hand_results

PLOTS = ("pareto", "latency-cdf", "throughput-batch", "p99-load")


def test_verdict_comes_first_then_environment_then_table(rendered):
    html, _ = rendered
    order = [html.index(f'id="{name}"') for name in ("verdict", "environment", "cells-table", "fig-pareto")]
    assert order == sorted(order)
    verdict = html[html.index('id="verdict"'):html.index('id="environment"')]
    assert "Deploy <code>distill-l3+int8</code> on <code>onnxruntime</code>" in verdict
    assert "p99 &lt;= 50 ms" in verdict  # the SLA from run.constraints, escaped


def test_table_has_one_row_per_measured_cell_and_summarises_the_rest(rendered, sample):
    html, _ = rendered
    start = html.index('id="cells-table"')
    table = html[start:html.index("</table>", start)]
    rows = re.findall(r'<td class="name">(.+?)<br><span class="muted">([^&]+) &middot; ([^<]+)</span></td>', table)
    rows = [f"{variant.replace('<wbr>', '')}/{serving}/{scenario}" for variant, serving, scenario in rows]
    measured = [c["id"] for c in sample["cells"] if c["status"] != "unavailable"]
    assert rows == measured and len(set(rows)) == len(rows)  # one row per cell, none merged
    assert "invalid" in table and "top-10 overlap 0.62" in table  # parity failure with its figures
    assert "XLA compile ran out of memory" in table and "tensorrt needs an NVIDIA GPU" not in table
    after = html[html.index("</table>", start):html.index("</section>", start)]
    assert "tensorrt needs an NVIDIA GPU" in after  # the unavailable combinations, said once
    headers = re.findall(r"<th[^>]*>([^<]+)</th>", table)
    for name in ("p50 (ms)", "p99 (ms)", "Speed-up", "Pairs/s", "NDCG@10", "Retention", "Fidelity", "Size (MB)"):
        assert name in headers
    assert re.search(r"\d\.\d\dx", table)  # speed-ups against the teacher


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
    assert "**Deploy `distill-l3+int8` on `onnxruntime`.**" in summary
    assert "| cell | status | p50 ms | p99 ms | speed-up |" in summary
    assert "| distill-l3+int8/onnxruntime/single-stream | ok |" in summary and "**chosen**" in summary
    assert "Retention at 95% confidence" in summary
    assert "parity failed" in summary  # what does not count is said
    assert len(lines) < 60 and len(summary) < 8000


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
