"""Load scenarios (MLPerf LoadGen style), one registry: single-stream, offline, server, and sweeps.

    params = resolve_params("server", {"sla_p99_ms": 200})      # defaults filled, unknown keys rejected
    out = run_scenario("server", ScenarioContext(session, encoder, requests, timing), params)
    # out: samples_ms, stats, parts_ms, points, max_rate_under_sla_rps, sla_p99_ms (results-schema cell fields)

- single-stream: one real request at a time (N candidates, real token lengths). A sample is what a
  ranking server does for it: tokenize the pairs, run the model, sort the candidates; the three parts
  are kept apart (parts_ms) as well as the total (samples_ms).
- offline: model throughput (pairs/s) at batch sizes 1..512 over real pre-tokenized pairs; one point
  per batch size, the cell's own stats are those of the best batch size.
- server: Poisson arrivals at a target rate; latency = queueing + service. Arrivals live on a virtual
  clock, but every (batched) service is executed for real and its measured duration used: with one
  worker, start = max(arrival, worker free) and completion = start + measured service, which is exact
  for a single worker and never sleeps while idle (a 2-core machine cannot afford a load generator
  thread next to the model). A batcher merges queued requests up to `max_batch_requests`, waiting at
  most `max_wait_ms` after the first. The search finds the highest rate whose p99 <= the SLA and
  whose utilization (rate x measured service time per request) is below 1: with the few requests a CPU can
  afford per rate, an overloaded queue would otherwise not have grown enough to show it.
- sweep-candidates / sweep-length: single-stream latency against candidates per request, and model
  latency against sequence length (pairs padded/truncated to the length).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from rankbench.bench.backends.base import run_in_chunks, warm_shapes
from rankbench.bench.stats import summarize
from rankbench.common.registry import Registry
from rankbench.bench.timing import Measurement, TimingConfig, measure, now_ns, warm_up


@dataclass
class ScenarioContext:
    session: object  # a bench.backends.base.Session
    encoder: object  # a bench.backends.base.PairEncoder
    requests: list  # real requests (models.requests.Request), cycled in order
    timing: TimingConfig = TimingConfig()
    progress: Callable[[str], None] | None = None  # receives short notes while a long scenario runs


SCENARIOS = Registry("scenario")  # name -> (default parameters, function)
# Bump a scenario's version when its measurement changes: cached cells of older versions are redone.
SCENARIO_VERSIONS = {"server": 3}  # 3: merged batches split at the backend's maximum, shapes warmed


def register_scenario(name: str, **defaults):
    def wrap(fn):
        SCENARIOS.add(name, (defaults, fn))
        return fn
    return wrap


def scenario_names() -> list[str]:
    return SCENARIOS.names()


# Parameters that may be 0 (every other number must be > 0), and those that are lists.
_MAY_BE_ZERO = ("max_wait_ms", "min_seconds", "seed")
_LISTS = ("batch_sizes", "values", "rates")


def _check_param(name: str, key: str, value, default) -> None:
    """A value of the default's type (a boolean is not a number), positive where it is a count or a
    duration; a default of None takes none, or a positive number (a list of them for list params)."""
    where = f"scenario {name}: {key}"

    def number(v, integer: bool) -> bool:
        return (isinstance(v, int) or (not integer and isinstance(v, float))) and not isinstance(v, bool) \
            and (v > 0 or (key in _MAY_BE_ZERO and v == 0))

    if default is None and key in _LISTS:
        ok = value is None or (isinstance(value, list) and bool(value) and all(number(v, False) for v in value))
        kind = "a non-empty list of positive numbers, or none"
    elif default is None:
        ok, kind = value is None or number(value, False), "a positive number or none"
    elif isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, list):
        integer = all(isinstance(v, int) for v in default)
        ok = isinstance(value, list) and bool(value) and all(number(v, integer) for v in value)
        kind = f"a non-empty list of positive {'integers' if integer else 'numbers'}"
    else:
        integer = isinstance(default, int)
        ok = number(value, integer)
        kind = ("a non-negative " if key in _MAY_BE_ZERO else "a positive ") + ("integer" if integer else "number")
    if not ok:
        shown = f"{str(value).lower()} (a boolean)" if isinstance(value, bool) else repr(value)
        raise ValueError(f"{where} must be {kind}, got {shown}")


def resolve_params(name: str, params: dict | None = None) -> dict:
    """The scenario's parameters with defaults filled in; unknown keys and bad values are errors."""
    defaults = SCENARIOS.get(name)[0]
    params = dict(params or {})
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"scenario {name}: unknown parameter(s) {unknown}; known: {sorted(defaults)}")
    for key, value in params.items():
        _check_param(name, key, value, defaults[key])
    out = {**defaults, **params}
    for key in _LISTS:
        if out.get(key) is not None:
            out[key] = list(out[key])
    return out


def run_scenario(name: str, ctx: ScenarioContext, params: dict | None = None) -> dict:
    params = resolve_params(name, params)
    result = SCENARIOS.get(name)[1](ctx, params)
    result["scenario_params"] = params
    return result


def candidate_pairs(request, n: int) -> tuple[list[tuple[str, str]], list[str]]:
    """The first n candidates of a request (cycled when it has fewer): (pairs, candidate ids)."""
    cands = list(request.candidates)
    if not cands:
        raise ValueError(f"request {request.id} has no candidates")
    chosen = [cands[i % len(cands)] for i in range(n)]
    return [(request.context, c.text) for c in chosen], [c.id for c in chosen]


def _serve_one(ctx: ScenarioContext, request, n: int) -> dict:
    """Tokenize, score and rank one request; returns the part durations in ns."""
    pairs, ids = candidate_pairs(request, n)
    t0 = now_ns()
    batch = ctx.encoder.encode(pairs)
    t1 = now_ns()
    scores = run_in_chunks(ctx.session, batch)
    ctx.session.synchronize()
    t2 = now_ns()
    order = np.argsort(-np.asarray(scores), kind="stable")
    ranked = [ids[j] for j in order]  # what a server returns
    t3 = now_ns()
    assert len(ranked) == n
    return {"tokenize": t1 - t0, "model": t2 - t1, "sort": t3 - t2}


def _point(key: str, value, m: Measurement, pairs: int, requests: int = 1) -> dict:
    return {key: value, "samples_ms": m.samples_ms, "stats": summarize(m.samples_ms, pairs, requests)}


@register_scenario("single-stream", candidates=100)
def single_stream(ctx: ScenarioContext, params: dict) -> dict:
    n = int(params["candidates"])
    m = measure(lambda i: _serve_one(ctx, ctx.requests[i % len(ctx.requests)], n),
                ctx.session.synchronize, ctx.timing, distinct_inputs=len(ctx.requests))
    return {"samples_ms": m.samples_ms, "stats": summarize(m.samples_ms, n, 1), "parts_ms": m.parts_ms,
            "points": []}


def _pair_pool(requests, need: int) -> list[tuple[str, str]]:
    pool = [p for r in requests for p in r.pairs()]
    if not pool:
        raise ValueError("no pairs in the requests")
    return [pool[i % len(pool)] for i in range(need)]


@register_scenario("offline", batch_sizes=[1, 8, 32, 128, 512], distinct_batches=2,
                   min_samples=3, min_seconds=0.5)
def offline(ctx: ScenarioContext, params: dict) -> dict:
    timing = ctx.timing.scaled(min_samples=int(params["min_samples"]), min_seconds=float(params["min_seconds"]),
                               max_samples=max(int(params["min_samples"]), ctx.timing.max_samples),
                               warmup_min=2, warmup_max=min(ctx.timing.warmup_max, 6))
    points = []
    for size in params["batch_sizes"]:
        pool = _pair_pool(ctx.requests, size * int(params["distinct_batches"]))
        batches = [ctx.encoder.encode(pool[i:i + size]) for i in range(0, len(pool), size)]
        m = measure(lambda i: (run_in_chunks(ctx.session, batches[i % len(batches)]), None)[1],
                    ctx.session.synchronize, timing, distinct_inputs=len(batches))
        points.append(_point("batch_size", int(size), m, int(size)))
        if ctx.progress:
            ctx.progress(f"batch {size}: {points[-1]['stats']['pairs_per_s']:.0f} pairs/s")
    best = max(points, key=lambda p: p["stats"]["pairs_per_s"] or 0)
    return {"samples_ms": best["samples_ms"], "stats": best["stats"], "parts_ms": {}, "points": points,
            "best_batch_size": best["batch_size"]}


# --- server ---------------------------------------------------------------------------------------
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


@register_scenario("server", candidates=100, sla_p99_ms=None, requests_per_rate=60, max_batch_requests=1,
                   max_wait_ms=0.0, max_levels=6, rates=None, seed=0)
def server(ctx: ScenarioContext, params: dict) -> dict:
    n_cand = int(params["candidates"])
    max_batch = int(params["max_batch_requests"])

    def serve(indices: list[int]) -> float:
        reqs = [ctx.requests[k % len(ctx.requests)] for k in indices]
        t0 = now_ns()
        encoded = [candidate_pairs(r, n_cand) for r in reqs]
        batch = ctx.encoder.encode([p for pairs, _ in encoded for p in pairs])
        scores = np.asarray(run_in_chunks(ctx.session, batch))
        ctx.session.synchronize()
        for q, (_, ids) in enumerate(encoded):  # rank each request's own candidates
            order = np.argsort(-scores[q * n_cand:(q + 1) * n_cand], kind="stable")
            _ = [ids[j] for j in order]
        return (now_ns() - t0) / 1e9

    warm_shapes(ctx.session, merged_shapes(ctx, n_cand, max_batch))  # fixed-shape backends: compile all first
    times = warm_up(lambda i: serve([i]), ctx.session.synchronize, ctx.timing, at_least=len(ctx.requests))
    for size in range(2, max_batch + 1):  # warm up single and merged services, and estimate capacity
        serve(list(range(size)))
    service_s = float(np.median(times[-3:])) / 1000.0
    sla_ms = params["sla_p99_ms"]
    if sla_ms is None:  # no SLA given: 5x one request's service time, recorded as such
        sla_ms = round(5 * service_s * 1000.0, 3)
    sla_s = sla_ms / 1000.0
    count = int(params["requests_per_rate"])
    points: dict[float, dict] = {}

    def level(rate: float) -> bool:
        arrivals = poisson_arrivals(rate, count, int(params["seed"]))
        lat, complete, busy = simulate_server(arrivals, serve, max_batch, float(params["max_wait_ms"]) / 1000.0,
                                              sla_s)
        lat_ms = [x * 1000.0 for x in lat]
        stats = summarize(lat_ms, n_cand, 1)
        span = max(arrivals[len(lat) - 1] + lat[-1] - arrivals[0], 1e-9)
        # Offered load = rate x measured service time per request (batching included): >= 1 means
        # the queue grows without bound, however short the finite run makes its p99 look (a few
        # requests cannot show the steady state). The nominal rate, not the sample's, is used.
        utilization = round(rate * busy / len(lat), 4)  # judged as recorded: 0.99996 is 1.0, overloaded
        points[rate] = {"rate_rps": float(rate), "samples_ms": lat_ms, "stats": stats,
                        "achieved_rps": len(lat) / span, "complete": complete,
                        "utilization": utilization}
        ok = complete and utilization < 1.0 and stats["p99_ms"] <= sla_ms
        if ctx.progress:
            ctx.progress(f"rate {rate:.3g}/s: p99 {stats['p99_ms']:.1f} ms (SLA {sla_ms:g}), "
                         f"utilization {utilization:.2f}: {'pass' if ok else 'fail'}")
        return ok

    levels = int(params["max_levels"])
    if service_s * 1000.0 > sla_ms and max_batch == 1:
        levels = min(levels, 2)  # one request alone exceeds the SLA: no rate can pass; keep a short curve
    if params["rates"]:
        passed = [r for r in sorted(params["rates"]) if level(float(r))]
    else:
        passed = _search(level, 0.5 / service_s, levels, max_batch / service_s * 2)
    best = max(passed) if passed else None
    chosen = points[best] if best is not None else points[min(points)]
    return {"samples_ms": chosen["samples_ms"], "stats": chosen["stats"], "parts_ms": {},
            "points": [points[r] for r in sorted(points)], "max_rate_under_sla_rps": best,
            "sla_p99_ms": sla_ms, "service_ms": service_s * 1000.0}


def merged_shapes(ctx: ScenarioContext, n_cand: int, max_batch: int) -> list[tuple[int, int]]:
    """Every (rows, length) a merged service can have: k requests of n_cand pairs, padded to the
    longest of them, which is one request's own length. Empty for dynamic-shape sessions."""
    if not getattr(ctx.session, "fixed_shapes", False):
        return []
    lengths = sorted({ctx.encoder.encode(candidate_pairs(r, n_cand)[0])["input_ids"].shape[1] for r in ctx.requests})
    return [(k * n_cand, length) for k in range(1, max_batch + 1) for length in lengths]


def _search(level: Callable[[float], bool], start: float, max_levels: int, ceiling: float) -> list[float]:
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


# --- sweeps ---------------------------------------------------------------------------------------
def _sweep_result(points: list[dict], default) -> dict:
    chosen = next((p for p in points if p["value"] == default), points[-1])
    return {"samples_ms": chosen["samples_ms"], "stats": chosen["stats"], "parts_ms": {}, "points": points}


@register_scenario("sweep-candidates", values=[10, 25, 50, 100, 200], min_samples=5, min_seconds=0.5)
def sweep_candidates(ctx: ScenarioContext, params: dict) -> dict:
    timing = ctx.timing.scaled(min_samples=int(params["min_samples"]), min_seconds=float(params["min_seconds"]))
    points = []
    for n in params["values"]:
        m = measure(lambda i, n=int(n): _serve_one(ctx, ctx.requests[i % len(ctx.requests)], n),
                    ctx.session.synchronize, timing, distinct_inputs=len(ctx.requests))
        points.append(_point("value", int(n), m, int(n)))
    return _sweep_result(points, 100)


@register_scenario("sweep-length", values=[16, 32, 64, 128], candidates=100, min_samples=5, min_seconds=0.5)
def sweep_length(ctx: ScenarioContext, params: dict) -> dict:
    timing = ctx.timing.scaled(min_samples=int(params["min_samples"]), min_seconds=float(params["min_seconds"]))
    n = int(params["candidates"])
    points = []
    for length in params["values"]:
        batches = [ctx.encoder.encode(candidate_pairs(r, n)[0], pad_to=int(length)) for r in ctx.requests[:4]]
        m = measure(lambda i: (run_in_chunks(ctx.session, batches[i % len(batches)]), None)[1],
                    ctx.session.synchronize, timing, distinct_inputs=len(batches))
        points.append(_point("value", int(length), m, n))
    return _sweep_result(points, params["values"][-1])
