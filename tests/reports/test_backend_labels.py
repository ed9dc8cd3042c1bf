"""The report keeps each backend's options apart: torch fp32, torch tf32 and torch fp16 + CUDA graphs
are three rows, each labelled as in its cell id, each with its own throughput."""
from __future__ import annotations

from results_factory import artifact, cell, hand_results

from rankbench.reports.render import parity_rows, table_rows
from rankbench.reports.constraints import Constraints
from rankbench.reports.select import select


def test_options_of_one_backend_are_separate_labelled_rows():
    cells = [cell("teacher", "torch", p99=40.0, pairs_per_s=1000.0, backend_options={"precision": "fp32"}),
             cell("teacher", "torch", p99=20.0, pairs_per_s=3000.0, backend_options={"precision": "tf32"},
                  id="teacher/torch:tf32/single-stream"),
             cell("teacher", "torch", p99=9.0, pairs_per_s=9000.0, id="teacher/torch:fp16+cuda_graphs/single-stream",
                  backend_options={"precision": "fp16", "cuda_graphs": True})]
    results = hand_results({"teacher": artifact("teacher", 0.41)}, cells)
    rows = {r["serving"]: r for r in table_rows(results, select(results, Constraints()))}
    assert set(rows) == {"torch", "torch:tf32", "torch:fp16+cuda_graphs"}
    throughput = [rows[k]["pairs_per_s"] for k in ("torch", "torch:tf32", "torch:fp16+cuda_graphs")]
    assert throughput == [1000.0, 3000.0, 9000.0]
    assert {r["id"] for r in parity_rows(results)} == {"teacher/torch", "teacher/torch:tf32",
                                                       "teacher/torch:fp16+cuda_graphs"}
