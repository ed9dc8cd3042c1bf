"""Fixtures for the report, select and compare tests: hand-made results files (see results_factory)."""
from __future__ import annotations

import json

import pytest

from results_factory import sample_results


@pytest.fixture(scope="session")
def sample():
    """A full synthetic run with an SLA in run.constraints; treat as read-only (copy before editing)."""
    return sample_results(seed=0, constraints={"p99_ms": 50.0, "min_retention": 0.99})


@pytest.fixture(scope="session")
def sample_path(sample, tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "results.json"
    path.write_text(json.dumps(sample))
    return path


@pytest.fixture(scope="session")
def rendered(sample_path, tmp_path_factory):
    """(report.html text, summary.md text) rendered once through the CLI."""
    from rankbench.cli import main

    out = tmp_path_factory.mktemp("report")
    assert main(["report", str(sample_path), "--out", str(out)]) == 0
    return (out / "report.html").read_text(), (out / "summary.md").read_text()
