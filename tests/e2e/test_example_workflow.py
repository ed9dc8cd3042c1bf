"""examples/rankbench-gate.yml: the CI example runs the quick experiment, uploads the report, and
fails on `select` finding nothing feasible or on `compare` finding a regression."""
from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "rankbench-gate.yml"


def steps():
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["bench"]["steps"]


def step_running(text):
    found = [s for s in steps() if text in s.get("run", "")]
    assert found, f"no step runs {text!r}"
    return found[0]


def test_runs_the_quick_experiment_and_reports():
    step_running("rankbench run experiments/quick.toml")
    assert "GITHUB_STEP_SUMMARY" in step_running("rankbench report")["run"]
    upload = next(s for s in steps() if s.get("uses", "").startswith("actions/upload-artifact"))
    assert "report.html" in upload["with"]["path"] and upload.get("if") == "always()"


def test_select_and_compare_fail_the_build():
    for command in ("rankbench select", "rankbench compare"):
        step = step_running(command)
        assert not step.get("continue-on-error"), f"{command} must be able to fail the job"
    assert "pipefail" in step_running("rankbench compare")["run"]  # piping through tee keeps the exit code
