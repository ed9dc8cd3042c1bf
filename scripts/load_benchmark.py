"""The load benchmark behind the README's serving numbers: for the teacher and the chosen variant,
the highest Poisson rate with p99 <= SLA from real LoadGen runs in process, the simulation's
estimate beside it, the same rates served over HTTP (`rankbench serve` + LoadGen over loopback),
and single-stream p50 with and without the catalog token cache.

    .venv/bin/python scripts/load_benchmark.py --decision runs/default/decision.json \\
        --seconds-per-rate 20 --max-levels 5 --out results/load-benchmark.json      # a quiet machine
    .venv/bin/python scripts/load_benchmark.py --teacher DIR --variant DIR --backend onnxruntime --p99-ms 1000
    .venv/bin/python scripts/load_benchmark.py --decision runs/default/decision.json --only variant \
        --pin --model-threads 1 --rates 1.6 --seconds-per-rate 300     # a long run at one rate, client apart

Takes minutes per model on a CPU (levels x seconds, twice: in process and served): run it when the
machine is otherwise idle, and keep the printed table with its date and load average. Everything
listens on and sends to 127.0.0.1; every run is bounded in time. The goals of issue 13 are checked
and printed: the variant sustains >= 5x the teacher's rate, served p99 within 15% of in-process p99
at the same rate (with the p99 ratio's bootstrap interval: whether the runs could tell), preparing a
request < 1% of the variant's single-stream p50 with the catalog. On a small machine the HTTP client
competes with the model for the cores: --pin keeps it on a core of its own.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import source_tree  # noqa: E402 - rankbench from this checkout, installed or not

source_tree.use()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--decision", help="decision.json: the chosen variant and backend, the teacher from its results")
    p.add_argument("--teacher", help="the teacher's artifact folder (without --decision)")
    p.add_argument("--variant", help="the variant's artifact folder (without --decision)")
    p.add_argument("--backend", default="onnxruntime", help="backend spec (without --decision)")
    p.add_argument("--p99-ms", type=float, default=None, help="the SLA (default: the decision's p99 constraint)")
    p.add_argument("--dataset", default="movielens-100k")
    p.add_argument("--requests", type=int, default=20, help="distinct test requests, cycled")
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--seconds-per-rate", type=float, default=10.0)
    p.add_argument("--max-levels", type=int, default=5)
    p.add_argument("--rates", type=lambda text: [float(v) for v in text.split(",")], default=None,
                   help="offered rates to run (comma-separated) instead of searching: long runs at a few rates")
    p.add_argument("--max-batch", type=int, default=4)
    p.add_argument("--max-wait-ms", type=float, default=10.0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--samples", type=int, default=30, help="single-stream samples per cache setting")
    p.add_argument("--only", choices=["teacher", "variant"], help="measure one of the two models")
    p.add_argument("--model-threads", type=int, default=None,
                   help="the model's CPU threads, in process and served (default: the target's)")
    p.add_argument("--pin", action="store_true",
                   help="the model (in process and the service) on all CPUs but the last, the HTTP client "
                        "on the last: on a small machine the client otherwise competes with the model")
    p.add_argument("--out", default=None, help="write the figures here as JSON")
    return p.parse_args(argv)


def targets(args) -> tuple[dict, float | None]:
    """role -> ServeTarget for the teacher and the variant; and the SLA."""
    from rankbench.serve.service import ServeTarget

    if args.decision:
        variant = ServeTarget.from_decision(args.decision)
        decision = json.loads(Path(args.decision).read_text())
        results_path = Path(decision["results"])
        results_path = results_path if results_path.exists() else Path(args.decision).parent / results_path.name
        results = json.loads(results_path.read_text())
        teacher_name = results["run"]["teacher"]
        teacher = ServeTarget(results["artifacts"][teacher_name]["path"], variant.backend, variant.options,
                              teacher_name)
        sla = args.p99_ms or (decision.get("constraints") or {}).get("p99_ms")
        return {"teacher": teacher, "variant": variant}, sla
    if not (args.teacher and args.variant):
        raise SystemExit("give --decision, or --teacher and --variant")
    from rankbench.bench.backends import parse_backend_spec

    name, options = parse_backend_spec(args.backend)
    return {"teacher": ServeTarget(args.teacher, name, options.to_dict(), "teacher"),
            "variant": ServeTarget(args.variant, name, options.to_dict(), Path(args.variant).name)}, args.p99_ms


def in_process(target, requests, sla_ms, args) -> dict:
    """Single-stream with and without the catalog, the real LoadGen server search, and the simulation."""
    from rankbench.bench.backends import BackendOptions, get_backend
    from rankbench.bench.scenarios import ScenarioContext, run_scenario
    from rankbench.bench.timing import TimingConfig
    from rankbench.compress.artifact import Artifact
    from rankbench.models.encoder import PairEncoder

    artifact = Artifact.load(target.artifact)
    encoder = PairEncoder.from_folder(artifact.path)
    timing = TimingConfig(min_samples=args.samples, min_seconds=1.0, max_seconds=120.0, warmup_max=5)
    server = {"candidates": args.candidates, "sla_p99_ms": sla_ms, "max_batch_requests": args.max_batch,
              "max_wait_ms": args.max_wait_ms, "max_levels": args.max_levels}
    with get_backend(target.backend).prepare(artifact, BackendOptions.from_dict(target.options)) as session:
        ctx = ScenarioContext(session, encoder, requests, timing, progress=lambda note: print("   ", note))
        cached = run_scenario("single-stream", ctx, {"candidates": args.candidates, "catalog": True})
        plain = run_scenario("single-stream", ctx, {"candidates": args.candidates, "catalog": False})
        real = run_scenario("server", ctx, {**server, "seconds_per_rate": args.seconds_per_rate,
                                            "workers": args.workers, "rates": args.rates})
        sim = run_scenario("server-sim", ctx, server)
    return {"single_stream_catalog": _ss(cached), "single_stream_plain": _ss(plain), "server": real,
            "server_sim": sim}


def _ss(cell: dict) -> dict:
    import numpy as np

    parts = {k: float(np.median(v)) for k, v in cell["parts_ms"].items()}
    prepare = parts.get("tokenize", 0.0) + parts.get("context_tokenize", 0.0) + parts.get("assemble", 0.0)
    return {"p50_ms": cell["stats"]["p50_ms"], "p99_ms": cell["stats"]["p99_ms"], "parts_p50_ms": parts,
            "prepare_p50_ms": prepare, "loadgen_validity": (cell.get("loadgen") or {}).get("validity")}


def backend_spec(target) -> str:
    """The target's backend and options as a `--backend` spec (rankbench.bench.backends.parse_backend_spec)."""
    options = target.options
    tokens = [target.backend, options.get("precision") or "fp32"]
    tokens += [f"{k}={options[k]}" for k in ("threads", "provider", "device") if options.get(k) not in (None, "auto")]
    tokens += [k for k in ("compile", "cuda_graphs") if options.get(k)]
    if options.get("seq_buckets"):
        tokens.append("seq_buckets=" + "/".join(str(v) for v in options["seq_buckets"]))
    return ":".join(tokens)


def start_service(target, args, catalog: str) -> tuple[subprocess.Popen, str]:
    import threading

    command = [sys.executable, "-m", "rankbench", "serve", "--artifact", target.artifact, "--backend",
               backend_spec(target), "--port", "0", "--catalog", catalog, "--max-batch", str(args.max_batch),
               "--max-wait-ms", str(args.max_wait_ms), "--workers", str(args.workers)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 300
    for line in process.stdout:  # the service prints its URL once loaded
        if "listening on " in line:  # the rest of its output is drained, so the pipe never fills
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process, line.rsplit("listening on ", 1)[1].strip()
        if time.monotonic() > deadline:
            break
    process.kill()
    raise RuntimeError(f"rankbench serve did not start ({' '.join(command)})")


def served(target, requests, rates, sla_ms, args) -> dict:
    """The same rates (and a search when none passed in process) over HTTP, client-side timing."""
    from rankbench.serve.http_load import request_bodies

    model_cpus, client_cpus = cpu_split(args)
    with pinned(model_cpus):  # the service inherits this thread's CPUs
        process, url = start_service(target, args, args.dataset)
    try:
        with pinned(client_cpus):  # the client's threads start here and inherit them
            return _drive(url, request_bodies(requests, args.candidates, by_id=True), rates, sla_ms, args)
    finally:
        process.terminate()
        process.wait(60)


def _drive(url: str, bodies: list[bytes], rates, sla_ms, args) -> dict:
    from rankbench.serve.http_load import HttpTarget, load_test

    with HttpTarget(url, bodies, concurrency=64, timeout_s=max(30.0, 4 * (sla_ms or 1000) / 1000)) as client:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                client.health()
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.5)
        return load_test(client, sla_ms, rates, args.seconds_per_rate, args.max_levels,
                         progress=lambda note: print("   ", note))


def cpu_split(args) -> tuple[list[int] | None, list[int] | None]:
    """(the model's and service's CPUs, the client's CPUs) under --pin: all but the last, and the
    last; (None, None) unpinned or on one CPU. Read from this process's affinity at the top level."""
    cpus = sorted(os.sched_getaffinity(0)) if args.pin else []
    return (cpus[:-1], cpus[-1:]) if len(cpus) > 1 else (None, None)


@contextmanager
def pinned(cpus: list[int] | None):
    """Run the block on these CPUs (None: as is). Linux sets the calling thread's affinity, which
    threads and processes started inside the block inherit; the old set is restored after."""
    if not cpus:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def at_same_rate(real: dict, http: dict) -> list[dict]:
    """Served / in-process latency at each rate run both ways: p50, p90 and p99 ratios, and the p99
    ratio's bootstrap interval (a run of a few dozen requests cannot resolve a p99 to 15%)."""
    from rankbench.bench.stats import bootstrap_ratio_ci, percentile

    out = []
    for p in real["points"]:
        match = next((h for h in http["points"] if abs(h["rate_rps"] - p["rate_rps"]) < 1e-6), None)
        if match and p["samples_ms"] and match["samples_ms"]:
            ratio, low, high = bootstrap_ratio_ci(p["samples_ms"], match["samples_ms"], 99)
            out.append({"rate_rps": p["rate_rps"], "in_process_p99_ms": p["stats"]["p99_ms"],
                        "served_p99_ms": match["stats"]["p99_ms"], "ratio": ratio, "ratio_ci": [low, high],
                        "below_saturation": bool(p.get("passed")), "samples": [len(p["samples_ms"]),
                                                                                len(match["samples_ms"])],
                        **{f"p{q}_ratio": percentile(match["samples_ms"], q) / percentile(p["samples_ms"], q)
                           for q in (50, 90)}})
    return out


def run(args) -> dict:
    from rankbench.models.data import DataConfig, load_data

    roles, sla = targets(args)
    if args.only:
        roles = {args.only: roles[args.only]}
    if args.model_threads:
        roles = {role: replace(t, options={**t.options, "threads": args.model_threads}) for role, t in roles.items()}
    requests = load_data(DataConfig(dataset=args.dataset)).test[:args.requests]
    out = {"command": " ".join(sys.argv), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "sla_p99_ms": sla, "settings": vars(args), "models": {}}
    for role, target in roles.items():
        print(f"{role}: {target.variant} on {backend_spec(target)}")
        with pinned(cpu_split(args)[0]):
            mine = in_process(target, requests, sla, args)
        rates = [p["rate_rps"] for p in mine["server"]["points"]]
        mine["served"] = served(target, requests, rates, mine["server"]["sla_p99_ms"], args)
        mine["same_rate"] = at_same_rate(mine["server"], mine["served"])
        out["models"][role] = {"target": vars(target), "backend_spec": backend_spec(target), **mine}
    out["cpus"] = dict(zip(("model", "client"), cpu_split(args)))
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out["goals"] = goals(out["models"])
    return out


def goals(models: dict) -> dict:
    """Issue 13's goals, for the models measured. Served vs in-process p99 is compared below
    saturation only (rates whose in-process run passed): past it, a p99 grows with the run's length."""
    out = {}
    rates = {role: m["server"]["max_rate_under_sla_rps"] for role, m in models.items()}
    if rates.get("teacher") and rates.get("variant"):
        out["rate_ratio"] = rates["variant"] / rates["teacher"]
        out["rate_ratio_at_least_5"] = rates["variant"] >= 5 * rates["teacher"]
    for role, m in models.items():
        below = [r for r in m["same_rate"] if r["below_saturation"]]
        out[f"{role}_served_p99_within_15pct"] = bool(below) and all(abs(r["ratio"] - 1) <= 0.15 for r in below)
        # Whether the runs were long enough to tell: every interval inside [0.85, 1.15].
        out[f"{role}_served_p99_resolved_to_15pct"] = bool(below) and all(
            r["ratio_ci"][0] >= 0.85 and r["ratio_ci"][1] <= 1.15 for r in below)
    if "variant" in models:
        ss = models["variant"]["single_stream_catalog"]
        out["prepare_share_of_p50"] = ss["prepare_p50_ms"] / ss["p50_ms"]
        out["prepare_under_1pct"] = ss["prepare_p50_ms"] < 0.01 * ss["p50_ms"]
    return out


def table(out: dict) -> str:
    rows = ["| model | max rate, real (req/s) | simulation's estimate (req/s) | server-sim (req/s) | served "
            "max rate (req/s) | served / in-process p99 [95% CI] | single-stream p50 catalog / plain (ms) | prepare (ms) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for role, m in out["models"].items():
        num = lambda v: "none" if v is None else f"{v:.3g}"  # noqa: E731
        ratios = ", ".join(f"{r['ratio']:.2f} [{r['ratio_ci'][0]:.2f}, {r['ratio_ci'][1]:.2f}] @ {r['rate_rps']:.3g}/s"
                           for r in m["same_rate"]) or "-"
        rows.append(f"| {role} ({m['target']['variant']}, {m.get('backend_spec', m['target']['backend'])}) | "
                    f"{num(m['server']['max_rate_under_sla_rps'])} | {num(m['server']['simulated_max_rate_under_sla_rps'])} | "
                    f"{num(m['server_sim']['max_rate_under_sla_rps'])} | {num(m['served']['max_rate_under_sla_rps'])} | "
                    f"{ratios} | {m['single_stream_catalog']['p50_ms']:.2f} / {m['single_stream_plain']['p50_ms']:.2f} | "
                    f"{m['single_stream_catalog']['prepare_p50_ms']:.3f} vs {m['single_stream_plain']['prepare_p50_ms']:.3f} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = run(args)
    print(table(out))
    print("goals:", json.dumps(out["goals"]), "load average:", out["load_average_at_end"])
    if args.out:
        from rankbench.common.files import atomic_write_json

        print("wrote", atomic_write_json(Path(args.out), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
