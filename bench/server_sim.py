"""The server scenario's quick estimate ("server-sim"): a simulated queue over measured service times.

    out = simulated_server(ctx, params)     # registered as the scenario "server-sim" in bench/scenarios.py

Services are measured for real first: `service_samples` of each batch size from 1 to
`max_batch_requests` (the merged requests' shapes warmed before). Then, for each offered rate,
`requests_per_rate` Poisson arrivals on a virtual clock go through one worker (start = max(arrival,
worker free), completion = start + a service time drawn from those of its batch size), a batcher
merging queued requests up to `max_batch_requests` and waiting at most `max_wait_ms` after the first.
Nothing runs while the clock is simulated, so thousands of arrivals per rate cost nothing and the
p99 is that of a long run, not the maximum of a few dozen requests (with 60 requests per rate, one
bunch of three arrivals put the teacher's p99 above its SLA at every rate). It shows no overlap, no
thread contention and no real batcher waits: it is an estimate, and the real LoadGen runs of the
"server" scenario (bench/loadgen_scenarios.py) were ~30% slower at the tail on a CPU. The search
finds the highest rate whose p99 <= the SLA and whose utilization (rate x service time per request)
is below 1. Every rate replays the same unit-rate arrival draws, scaled (common random numbers:
rates compare on equal luck).

`simulate_server` also replays the arrivals of a real run with its measured service times, which is
how each real server point carries the simulation's figure beside its own; `search_max_rate` is
the rate search both scenarios use.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from rankbench.bench.batcher import RankProcessor, RankQuery
from rankbench.bench.stats import summarize
from rankbench.bench.timing import warm_up


def load_catalog(encoder, queries: list[RankQuery]) -> None:
    """Tokenize the queries' item texts once, as a service does when its catalog loads."""
    if hasattr(encoder, "load_catalog"):
        encoder.load_catalog((i, t) for q in queries for i, t in zip(q.ids, q.texts))


def poisson_arrivals(rate_rps: float, count: int, seed: int = 0) -> np.ndarray:
    """Arrival times (s) of a Poisson process: exponential gaps with mean 1/rate."""
    if rate_rps <= 0:
        raise ValueError(f"rate must be > 0, got {rate_rps}")
    gaps = np.random.default_rng(seed).exponential(1.0 / rate_rps, size=count)
    return np.cumsum(gaps)


def simulate_server(arrivals: np.ndarray, serve: Callable[[list[int]], float], max_batch: int = 1,
                    max_wait_s: float = 0.0, sla_s: float | None = None) -> tuple[list[float], bool, float]:
    """One worker, FIFO queue, optional batcher. `serve(indices)` runs the merged requests for real
    and returns its duration (s). Returns (latencies in s per served request, complete, busy seconds).
    Stops early once enough requests missed the SLA that p99 cannot meet it any more (complete=False)."""
    n = len(arrivals)
    latencies: list[float] = []
    worker_free, i, over, busy = 0.0, 0, 0, 0.0
    while i < n:
        first = arrivals[i]
        ready = max(worker_free, first)
        fill = arrivals[i + max_batch - 1] if i + max_batch - 1 < n else math.inf
        dispatch = max(ready, min(first + max_wait_s, fill)) if max_batch > 1 else ready
        j = i
        while j < n and j - i < max_batch and arrivals[j] <= dispatch:
            j += 1
        duration = serve(list(range(i, j)))
        busy += duration
        done = dispatch + duration
        for k in range(i, j):
            latencies.append(done - arrivals[k])
            if sla_s is not None and latencies[-1] > sla_s:
                over += 1
        worker_free, i = done, j
        # With k >= 1% of n + 2 latencies above the SLA, the interpolated p99 is above it for sure.
        if sla_s is not None and over >= 0.01 * n + 2 and i < n:
            return latencies, False, busy
    return latencies, True, busy



def simulated_server(ctx, params: dict) -> dict:
    """The "server-sim" scenario (see the module docstring); a cell's estimate, not a real run."""
    n_cand = int(params["candidates"])
    max_batch = int(params["max_batch_requests"])

    ranker = RankProcessor(ctx.session, ctx.encoder)
    queries = [RankQuery.of(r, n_cand) for r in ctx.requests]
    load_catalog(ctx.encoder, queries)

    def serve(indices: list[int]) -> float:
        return ranker.serve_now([queries[k % len(queries)] for k in indices])

    # Warm up single and merged services (their shapes may compile) before any is measured.
    ranker.warm_merged_shapes(queries, max_batch)
    warm_up(lambda i: serve([i]), ctx.session.synchronize, ctx.timing, at_least=len(ctx.requests))
    for size in range(2, max_batch + 1):
        serve(list(range(size)))
    services = measure_services(serve, max_batch, int(params["service_samples"]))
    service_s = float(np.median(services[1]))
    sla_ms = params["sla_p99_ms"]
    if sla_ms is None:  # no SLA given: 5x one request's service time, recorded as such
        sla_ms = round(5 * service_s * 1000.0, 3)
    sla_s = sla_ms / 1000.0
    count = int(params["requests_per_rate"])
    points: dict[float, dict] = {}
    # Simulated latencies of the rate the result reports only: the highest passing, else the lowest.
    kept: dict[str, tuple[float, list[float]]] = {}

    def level(rate: float) -> bool:
        arrivals = poisson_arrivals(rate, count, int(params["seed"]))
        draws = np.random.default_rng(int(params["seed"]))
        lat, complete, busy = simulate_server(arrivals, lambda idx: float(draws.choice(services[len(idx)])),
                                              max_batch, float(params["max_wait_ms"]) / 1000.0, sla_s)
        lat_ms = [x * 1000.0 for x in lat]
        stats = summarize(lat_ms, n_cand, 1)
        span = max(arrivals[len(lat) - 1] + lat[-1] - arrivals[0], 1e-9)
        # Offered load = rate x service time per request (batching included): >= 1 means the queue
        # grows without bound, however short a finite run makes its p99 look. The nominal rate is used.
        utilization = round(rate * busy / len(lat), 4)  # judged as recorded: 0.99996 is 1.0, overloaded
        points[rate] = {"rate_rps": float(rate), "simulated_requests": len(lat_ms), "stats": stats,
                        "achieved_rps": len(lat) / span, "complete": complete,
                        "utilization": round(utilization, 4)}
        ok = complete and utilization < 1.0 and stats["p99_ms"] <= sla_ms
        if "lowest" not in kept or rate < kept["lowest"][0]:
            kept["lowest"] = (rate, lat_ms)
        if ok and ("best" not in kept or rate > kept["best"][0]):
            kept["best"] = (rate, lat_ms)
        if ctx.progress:
            ctx.progress(f"rate {rate:.3g}/s: p99 {stats['p99_ms']:.1f} ms (SLA {sla_ms:g}), "
                         f"utilization {utilization:.2f}: {'pass' if ok else 'fail'}")
        return ok

    passed = searched_rates(level, params, service_s, max_batch, sla_ms)
    best = max(passed) if passed else None
    chosen, chosen_ms = kept["best"] if best is not None else kept["lowest"]
    return {"samples_ms": chosen_ms, "stats": points[chosen]["stats"], "parts_ms": {},
            "points": [points[r] for r in sorted(points)], "max_rate_under_sla_rps": best,
            "sla_p99_ms": sla_ms, "service_ms": service_s * 1000.0,
            "service_samples_ms": {str(k): [v * 1000.0 for v in vs] for k, vs in services.items()}}


def measure_services(serve: Callable[[list[int]], float], max_batch: int, per_size: int) -> dict[int, list[float]]:
    """Service durations (s) for each batch size 1..max_batch, `per_size` of each, cycling the requests."""
    services: dict[int, list[float]] = {}
    start = 0
    for size in range(1, max_batch + 1):
        services[size] = []
        for _ in range(per_size):
            services[size].append(serve(list(range(start, start + size))))
            start += size
    return services


def searched_rates(level: Callable[[float], bool], params: dict, service_s: float, max_batch: int,
                   sla_ms: float) -> list[float]:
    """The rates that passed: the given `rates`, or a search from half one request's capacity."""
    levels = int(params["max_levels"])
    if service_s * 1000.0 > sla_ms and max_batch == 1:
        levels = min(levels, 2)  # one request alone exceeds the SLA: no rate can pass; keep a short curve
    if params["rates"]:
        return [r for r in sorted(params["rates"]) if level(float(r))]
    return search_max_rate(level, 0.5 / service_s, levels, max_batch / service_s * 2)


def search_max_rate(level: Callable[[float], bool], start: float, max_levels: int, ceiling: float) -> list[float]:
    """Highest passing rate: grow x1.6 from `start` until a level fails, then bisect (geometric)."""
    lo, hi, passed, rate = None, None, [], start
    for _ in range(max_levels):
        if level(rate):
            passed.append(rate)
            lo = rate
        else:
            hi = rate
        if hi is None:
            rate = min(rate * 1.6, ceiling) if rate < ceiling else None
        elif lo is None:
            rate = rate / 2
        else:
            rate = math.sqrt(lo * hi) if hi / lo > 1.08 else None
        if rate is None:
            break
    return passed
