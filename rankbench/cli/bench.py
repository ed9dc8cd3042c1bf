"""`rankbench bench`: measure artifacts on backends and scenarios -> OUT/results.json.

    rankbench bench --preset minilm-l6 --backends torch,onnxruntime,xla,tensorrt \\
        --scenarios single-stream,offline,server --p99-ms 3000 --out runs/bench
    rankbench bench --artifact runs/x/variants/int8 --artifact runs/x/teacher --backends onnxruntime

Backend specs: NAME[:OPTION...], an option being a precision (fp32, tf32, fp16, bf16, int8), a flag
(compile, cuda_graphs, fixed_shapes) or key=value (threads=2, provider=cuda, device=cuda:1, seq_buckets=32/64/128).
Finished cells are cached under OUT/cells: the same command again measures nothing new.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--artifact", action="append", metavar="DIR", help="an artifact folder (repeatable)")
    what.add_argument("--preset", help="a models.presets name (minilm-l6, minilm-l6-random, tiny-random) or folder")
    parser.add_argument("--backends", default=None,
                        help="comma-separated backend specs (default: every registered backend)")
    parser.add_argument("--scenarios", default="single-stream,offline,server",
                        help="comma-separated scenario names (default: %(default)s)")
    parser.add_argument("--out", default="runs/bench", help="output folder (default: %(default)s)")
    parser.add_argument("--name", default=None, help="run name (default: the output folder's name)")
    parser.add_argument("--dataset", default="movielens-100k", help="movielens-100k, synthetic or a .jsonl file")
    parser.add_argument("--users", type=int, default=50, help="evaluation requests for accuracy (default: %(default)s)")
    parser.add_argument("--candidates", type=int, default=100, help="candidates per request (default: %(default)s)")
    parser.add_argument("--latency-requests", type=int, default=20, help="distinct real requests cycled in timing")
    parser.add_argument("--parity-requests", type=int, default=8, help="real requests in the parity check")
    parser.add_argument("--min-samples", type=int, default=20, help="timed samples per cell, at least")
    parser.add_argument("--min-seconds", type=float, default=2.0, help="timed seconds per cell, at least")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="timed seconds per cell, at most")
    parser.add_argument("--batch-sizes", default="1,8,32,128,512", help="offline batch sizes")
    parser.add_argument("--offline-samples", type=int, default=3, help="offline: timed batches per size, at least")
    parser.add_argument("--p99-ms", type=float, default=None,
                        help="the p99 SLA (selection and server); default for the server: 5x one request's "
                             "service time")
    parser.add_argument("--seconds-per-rate", type=float, default=5.0, help="server: LoadGen seconds per offered rate")
    parser.add_argument("--server-requests", type=int, default=5000,
                        help="server-sim: simulated arrivals per offered rate")
    parser.add_argument("--server-levels", type=int, default=6, help="server: offered rates tried, at most")
    parser.add_argument("--max-batch-requests", type=int, default=1, help="server: batcher size (1: no batching)")
    parser.add_argument("--max-wait-ms", type=float, default=0.0, help="server: batcher wait limit")
    parser.add_argument("--workers", type=int, default=1, help="server: worker threads calling the model")
    parser.add_argument("--retry-failed", action="store_true", help="measure failed cells again")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or status lines")


def scenario_params(args) -> list[tuple[str, dict]]:
    """Each named scenario with the flags it takes (a flag a scenario does not know is not passed)."""
    from rankbench.bench.scenarios import SCENARIOS

    flags = {"candidates": args.candidates, "batch_sizes": [int(b) for b in args.batch_sizes.split(",") if b],
             "requests_per_rate": args.server_requests, "max_levels": args.server_levels,
             "max_batch_requests": args.max_batch_requests, "max_wait_ms": args.max_wait_ms,
             "seconds_per_rate": args.seconds_per_rate, "workers": args.workers}
    out = []
    for name in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        defaults = SCENARIOS.get(name)[0]  # an unknown name: an error with the known ones
        params = {k: v for k, v in flags.items() if k in defaults}
        if name == "offline":
            params["min_samples"] = args.offline_samples
        out.append((name, params))
    return out


def main(args) -> int:
    from pathlib import Path

    from rankbench.bench.backends import backend_names
    from rankbench.bench.runner import run_benchmark
    from rankbench.bench.timing import TimingConfig
    from rankbench.compress.artifact import Artifact
    from rankbench.models.data import DataConfig, load_data

    out = Path(args.out)
    for flag in ("users", "candidates", "latency_requests", "parity_requests", "min_samples"):
        if getattr(args, flag) < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be >= 1")
    backends = [b.strip() for b in (args.backends or ",".join(backend_names())).split(",") if b.strip()]
    scenarios = scenario_params(args)
    from rankbench.bench.cells import backend_specs, scenario_specs

    backend_specs(backends)  # bad names, options and parameters fail here, before any work
    scenario_specs(scenarios, args.p99_ms)
    if args.p99_ms is not None and not args.p99_ms > 0:
        raise ValueError(f"--p99-ms must be > 0, got {args.p99_ms:g}")
    timing = TimingConfig(min_samples=args.min_samples, min_seconds=args.min_seconds,
                          max_seconds=max(args.max_seconds, args.min_seconds))
    if args.preset:
        variants = {_name(args.preset): preset_artifact(args.preset, out / "artifacts")}
    else:
        variants = {}
        for folder in args.artifact:
            artifact = Artifact.load(folder)
            variants[artifact.name] = artifact
    data = load_data(DataConfig(dataset=args.dataset, n_candidates=max(2, min(args.candidates, 100))))
    results = run_benchmark(variants, out, backends, scenarios, data=data, users=args.users,
                            teacher=next(iter(variants)), constraints={"p99_ms": args.p99_ms},
                            timing=timing, latency_requests=args.latency_requests,
                            parity_requests=args.parity_requests, run_name=args.name or out.name,
                            experiment={"command": "bench", **{k: v for k, v in vars(args).items()
                                                               if k != "func"}},
                            retry_failed=args.retry_failed, progress=not args.quiet)
    print(f"wrote {out / 'results.json'} ({len(results['cells'])} cells)")
    return 0


def _name(preset: str) -> str:
    from pathlib import Path

    return Path(preset).name if "/" in preset else preset


def preset_artifact(preset: str, root):
    """The preset's ranker saved once as an "hf" artifact under root/<name> (reused afterwards)."""
    from rankbench.compress.artifact import ARTIFACT_FILE, Artifact
    from rankbench.models.presets import load_ranker

    folder = root / _name(preset)
    if (folder / ARTIFACT_FILE).is_file():
        return Artifact.load(folder)
    return Artifact.from_ranker(load_ranker(preset), folder, name=_name(preset), recipe=[{"preset": preset}])
