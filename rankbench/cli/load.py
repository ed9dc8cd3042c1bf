"""`rankbench load URL`: load-test a running `rankbench serve` with MLPerf LoadGen over HTTP.

    rankbench load http://127.0.0.1:8000 --p99-ms 1000 --rates 2,4,8 --seconds 10 --out runs/load
    rankbench load http://127.0.0.1:8000 --p99-ms 1000 --by-id      # candidates named by catalog id
    rankbench load URL --p99-ms 1000 --attach runs/default/results.json   # the report shows it

Each rate is one real LoadGen Server run (Poisson arrivals in real time, many requests in flight);
without --rates the highest rate with p99 <= the SLA is searched (--max-levels runs at most).
Latencies are timed on the client side of the network. --out keeps load.json and LoadGen's logs
per rate; --attach adds the figures to a results.json as "served" (for the chosen variant's
report). Exit code 0 when a rate passed, 3 when none did.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="the service, e.g. http://127.0.0.1:8000")
    parser.add_argument("--dataset", default="movielens-100k", help="requests to send: movielens-100k, synthetic "
                        "or a requests .jsonl (default: %(default)s)")
    parser.add_argument("--requests", type=int, default=50, help="distinct test requests, cycled")
    parser.add_argument("--candidates", type=int, default=100, help="candidates per request")
    parser.add_argument("--by-id", action="store_true", help="send catalog ids instead of texts")
    parser.add_argument("--p99-ms", type=float, default=None, help="the SLA (default: 5x one request's latency)")
    parser.add_argument("--rates", default=None, help="comma-separated requests/s (default: search)")
    parser.add_argument("--seconds", type=float, default=5.0, help="LoadGen min duration per rate")
    parser.add_argument("--max-levels", type=int, default=4, help="search: runs at most")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight, at most")
    parser.add_argument("--timeout-s", type=float, default=30.0, help="per request")
    parser.add_argument("--out", default=None, help="folder for load.json and LoadGen's logs")
    parser.add_argument("--attach", default=None, help="a results.json to record the figures in (as \"served\")")


def _check(args) -> list[float] | None:
    for flag in ("requests", "candidates", "max_levels", "concurrency"):
        if getattr(args, flag) < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be >= 1")
    if args.seconds <= 0 or args.timeout_s <= 0:
        raise ValueError("--seconds and --timeout-s must be > 0")
    if not args.url.startswith(("http://", "https://")):
        raise ValueError(f"{args.url!r} is not an http:// URL")
    rates = [float(r) for r in args.rates.split(",") if r.strip()] if args.rates else None
    if rates is not None and (not rates or min(rates) <= 0):
        raise ValueError("--rates must be positive numbers")
    return rates


def main(args) -> int:
    import json
    from pathlib import Path

    from rankbench.common.files import atomic_write_json
    from rankbench.models.data import DataConfig, load_data
    from rankbench.serve.http_load import HttpTarget, load_test, request_bodies

    rates = _check(args)
    data = load_data(DataConfig(dataset=args.dataset))
    bodies = request_bodies(data.test[:args.requests], args.candidates, args.by_id)
    logs = str(Path(args.out) / "loadgen") if args.out else None
    with HttpTarget(args.url, bodies, args.concurrency, args.timeout_s) as target:
        out = load_test(target, args.p99_ms, rates, args.seconds, args.max_levels, logs=logs)
    out["requests"] = {"dataset": args.dataset, "count": len(bodies), "candidates": args.candidates,
                       "by_id": args.by_id}
    if args.out:
        print(f"wrote {atomic_write_json(Path(args.out) / 'load.json', out)}")
    if args.attach:
        attach(args.attach, out)
    best = out["max_rate_under_sla_rps"]
    print(json.dumps({"max_rate_under_sla_rps": best, "sla_p99_ms": out["sla_p99_ms"],
                      "points": [{k: p[k] for k in ("rate_rps", "achieved_rps", "passed", "statuses")} |
                                 {"p50_ms": p["stats"]["p50_ms"], "p99_ms": p["stats"]["p99_ms"],
                                  "loadgen": p["loadgen"]["validity"]} for p in out["points"]]}, indent=1))
    return 0 if best is not None else 3


def attach(results_path: str, out: dict) -> None:
    """Record the served figures in results.json under "served" (written whole, validated)."""
    from rankbench.bench.results import read_results, write_results

    results = read_results(results_path)
    health = out["health"]
    served = {"variant": health.get("variant"), "backend": health.get("backend"), "url": out["url"],
              "sla_p99_ms": out["sla_p99_ms"], "max_rate_under_sla_rps": out["max_rate_under_sla_rps"],
              "service": health, "requests": out["requests"],
              "points": [{k: v for k, v in p.items() if k != "loadgen"} | {"loadgen": _compact(p["loadgen"])}
                         for p in out["points"]]}
    results.setdefault("served", []).append(served)
    write_results(results_path, results)
    print(f"recorded the served figures in {results_path}")


def _compact(figures: dict) -> dict:
    return {k: v for k, v in figures.items() if k not in ("summary", "log_dir")}
