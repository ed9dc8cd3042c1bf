"""The CI gate measured as an instrument: how often it raises a false alarm on two runs of the same
code (A/A), and the smallest uniform slow-down it catches 95% of the time, at the default sample
count, with independent runs and with interleaved timing (compare --remeasure).

    .venv/bin/python scripts/gate_power.py --artifact runs/default/artifacts/<variant> \\
        --backend onnxruntime --runs 20 --samples 20 --out results/reference/<date>-gate

Method: `--runs` independent single-stream runs of one cell (fresh session, warm-up, `--samples`
timed requests each, as a run of the experiment measures a cell) give every A/A pair; a uniform
slow-down s is applied to one side of each pair by multiplying its measured samples by 1 + s, and
the gate's own rule (reports/gate.py: p50 and p99 beyond +10% with the bootstrap interval above it)
judges the pair. Interleaved: `--runs` rounds of the same artifact timed alternately against itself
(bench/interleave.py), the slow-down again applied to one side. Writes gate_power.json into --out
(with the date and the load average before and after) and prints the two summaries.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import source_tree  # noqa: E402

source_tree.use()

SLOWDOWNS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50)


def independent_runs(artifact, backend: str, requests, runs: int, samples: int, candidates: int) -> list[list]:
    from rankbench.bench.backends import BackendOptions, get_backend
    from rankbench.bench.scenarios import ScenarioContext, run_scenario
    from rankbench.bench.timing import TimingConfig
    from rankbench.models.encoder import PairEncoder

    timing = TimingConfig(min_samples=samples, max_samples=samples, min_seconds=0.0, warmup_max=5)
    out = []
    for run in range(runs):
        with get_backend(backend).prepare(artifact, BackendOptions()) as session:
            ctx = ScenarioContext(session, PairEncoder.from_folder(artifact.path), requests, timing)
            out.append(run_scenario("single-stream", ctx, {"candidates": candidates})["samples_ms"])
        print(f"independent run {run + 1}/{runs}: p50 {sorted(out[-1])[len(out[-1]) // 2]:.1f} ms", flush=True)
    return out


def interleaved_runs(artifact, backend: str, requests, runs: int, samples: int, candidates: int) -> list[tuple]:
    from rankbench.bench.backends import BackendOptions
    from rankbench.bench.interleave import interleaved_samples

    out = []
    for run in range(runs):
        out.append(interleaved_samples(artifact, artifact, backend, BackendOptions(), requests, candidates, samples))
        print(f"interleaved run {run + 1}/{runs}", flush=True)
    return out


def flagged(base: list, new: list) -> bool:
    from rankbench.reports.gate import Thresholds, judge_latency

    t = Thresholds()
    return any(judge_latency("cell", what, base, new, q, limit, t).regression
               for what, q, limit in (("p50", 50, t.max_p50_regression), ("p99", 99, t.max_p99_regression)))


def rates(pairs: list[tuple]) -> dict:
    """Alarm rate at no slow-down (false alarms) and at each slow-down of the second side."""
    out = {"pairs": len(pairs), "false_alarm_rate": sum(flagged(a, b) for a, b in pairs) / len(pairs)}
    out["detection"] = {f"{s:.2f}": sum(flagged(a, [x * (1 + s) for x in b]) for a, b in pairs) / len(pairs)
                        for s in SLOWDOWNS}
    caught = [s for s in SLOWDOWNS if out["detection"][f"{s:.2f}"] >= 0.95]
    out["smallest_slowdown_caught_95"] = min(caught) if caught else None
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--samples", type=int, default=20, help="timed requests per run (default.toml: 20)")
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--dataset", default="movielens-100k")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    from rankbench.bench.machine import environment
    from rankbench.compress.artifact import Artifact
    from rankbench.models.data import DataConfig, load_data

    artifact = Artifact.load(args.artifact)
    requests = load_data(DataConfig(dataset=args.dataset)).test[:50]
    started, load_before = time.time(), os.getloadavg()
    independent = independent_runs(artifact, args.backend, requests, args.runs, args.samples, args.candidates)
    interleaved = interleaved_runs(artifact, args.backend, requests, args.runs, args.samples, args.candidates)
    env = environment()
    report = {"artifact": artifact.name, "backend": args.backend, "runs": args.runs, "samples": args.samples,
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "load_average_before": load_before, "load_average_after": os.getloadavg(),
              "seconds": round(time.time() - started), "machine": {k: env[k] for k in ("cpu", "isa", "cores")},
              "independent": rates(list(itertools.combinations(independent, 2))),
              "interleaved": rates(interleaved)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gate_power.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k in ("independent", "interleaved")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
