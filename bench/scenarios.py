"""Load scenarios (MLPerf LoadGen style), one registry: single-stream, offline, server, and sweeps.

    params = resolve_params("server", {"sla_p99_ms": 200})      # defaults filled, unknown keys rejected
    out = run_scenario("server", ScenarioContext(session, encoder, requests, timing), params)
    # out: samples_ms, stats, parts_ms, points, max_rate_under_sla_rps, sla_p99_ms (results-schema cell fields)

- single-stream: one real request at a time (N candidates, real token lengths), issued by MLPerf
  LoadGen's SingleStream scenario and served inline (bench/loadgen_scenarios.py; the timing loop of
  bench/timing.py where LoadGen is not installed). A sample is what a ranking server does for it:
  prepare the pair ids, run the model, sort the candidates. With `catalog` (the default) item texts
  are tokenized once when the requests load, and a request tokenizes its context once and assembles
  its pairs from cached ids (parts context_tokenize, assemble, model, sort); without it every pair
  is tokenized per request (tokenize, model, sort). LoadGen's own figures go under "loadgen".
- offline: model throughput (pairs/s) at batch sizes 1..512 over real pre-tokenized pairs; one point
  per batch size, the cell's own stats are those of the best batch size. Then a short LoadGen
  Offline run of the whole system (every request at once through the batcher) under "loadgen".
- server: real load. For each offered rate, LoadGen's Server scenario issues requests on a Poisson
  schedule in real time into a queue, a dynamic batcher (`max_batch_requests`, `max_wait_ms`) and
  `workers` threads calling the session (bench/batcher.py); p99 from the system's own clock,
  LoadGen's verdict (VALID/INVALID and why, early stopping) per point; the highest rate under the
  SLA is searched over real runs of `seconds_per_rate` each. Each point carries the simulation's
  p99 for the same arrivals (simulated_p99_ms).
- server-sim: the quick estimate kept from before (bench/server_sim.py): a virtual Poisson clock over
  service times measured per batch size (thousands of simulated arrivals per rate). It is labelled
  an estimate: it shows no overlap, contention or real batcher waits, and was ~30% optimistic at
  the tail against real runs on a CPU.
- sweep-candidates / sweep-length: single-stream latency against candidates per request, and model
  latency against sequence length (pairs padded/truncated to the length).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from rankbench.bench.backends.base import run_in_chunks
from rankbench.bench.batcher import RankProcessor, RankQuery
from rankbench.bench.scenario_params import resolve_params
from rankbench.bench.loadgen import loadgen_available
from rankbench.bench.loadgen_scenarios import loadgen_offline, loadgen_server, loadgen_single_stream
from rankbench.bench.server_sim import load_catalog, poisson_arrivals, simulate_server, simulated_server
from rankbench.bench.stats import summarize
from rankbench.bench.timing import Measurement, TimingConfig, measure, now_ns
from rankbench.common.registry import Registry

__all__ = ["ScenarioContext", "SCENARIOS", "register_scenario", "scenario_names", "resolve_params",
           "run_scenario", "candidate_pairs", "poisson_arrivals", "simulate_server"]


@dataclass
class ScenarioContext:
    session: object  # a bench.backends.base.Session
    encoder: object  # a bench.backends.base.PairEncoder
    requests: list  # real requests (models.requests.Request), cycled in order
    timing: TimingConfig = TimingConfig()
    progress: Callable[[str], None] | None = None  # receives short notes while a long scenario runs


SCENARIOS = Registry("scenario")  # name -> (default parameters, function)
# Bump a scenario's version when its measurement changes: cached cells of older versions are redone.
SCENARIO_VERSIONS = {"server": 3, "single-stream": 2, "offline": 2}


def register_scenario(name: str, **defaults):
    def wrap(fn):
        SCENARIOS.add(name, (defaults, fn))
        return fn
    return wrap


def scenario_names() -> list[str]:
    return SCENARIOS.names()


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


def serve_one(ctx: ScenarioContext, query: RankQuery, catalog: bool) -> dict:
    """Prepare, score and rank one request; returns the part durations in ns. With the catalog, the
    context is tokenized once and the pairs assembled from cached item ids (context_tokenize,
    assemble); without it every pair is tokenized (tokenize)."""
    t0 = now_ns()
    if catalog:
        context_ids = ctx.encoder.context_ids(query.context)
        t1 = now_ns()
        batch = ctx.encoder.assemble([(context_ids, list(query.texts))])
    else:
        t1 = t0
        batch = ctx.encoder.encode([(query.context, t) for t in query.texts])
    t2 = now_ns()
    scores = run_in_chunks(ctx.session, batch)
    ctx.session.synchronize()
    t3 = now_ns()
    order = np.argsort(-np.asarray(scores), kind="stable")
    ranked = [query.ids[j] for j in order]  # what a server returns
    t4 = now_ns()
    assert len(ranked) == len(query.ids)
    prepare = {"context_tokenize": t1 - t0, "assemble": t2 - t1} if catalog else {"tokenize": t2 - t0}
    return {**prepare, "model": t3 - t2, "sort": t4 - t3}


def prepare_queries(ctx: ScenarioContext, n: int | None, catalog: bool) -> tuple[list[RankQuery], bool]:
    """The requests as queries of n candidates; with `catalog`, their item texts tokenized once
    (when the encoder can assemble pairs: else every pair is tokenized, and catalog is False)."""
    queries = [RankQuery.of(r, n) for r in ctx.requests]
    catalog = catalog and getattr(ctx.encoder, "template", None) is not None
    if catalog:
        load_catalog(ctx.encoder, queries)
    return queries, catalog


def _point(key: str, value, m: Measurement, pairs: int, requests: int = 1) -> dict:
    return {key: value, "samples_ms": m.samples_ms, "stats": summarize(m.samples_ms, pairs, requests)}


@register_scenario("single-stream", candidates=100, catalog=True, loadgen=True)
def single_stream(ctx: ScenarioContext, params: dict) -> dict:
    """LoadGen SingleStream drives one request at a time (the timing loop where LoadGen is missing)."""
    n = int(params["candidates"])
    queries, catalog = prepare_queries(ctx, n, bool(params["catalog"]))

    def step(i: int) -> dict:
        return serve_one(ctx, queries[i % len(queries)], catalog)

    figures, why = None, None
    use_loadgen, why = loadgen_available() if params["loadgen"] else (False, "loadgen = false")
    if use_loadgen:
        m, figures = loadgen_single_stream(step, ctx.session.synchronize, ctx.timing, len(queries))
    else:
        m = measure(step, ctx.session.synchronize, ctx.timing, distinct_inputs=len(queries))
    out = {"samples_ms": m.samples_ms, "stats": summarize(m.samples_ms, n, 1), "parts_ms": m.parts_ms,
           "points": [], "catalog": catalog, "loadgen": figures}
    if why:
        out["loadgen_note"] = f"timing loop, not LoadGen: {why}"
    return out


def _pair_pool(requests, need: int) -> list[tuple[str, str]]:
    """`need` pairs taken across requests (candidate 0 of every request, then candidate 1, ...), so
    that a batch holds pairs of distinct requests as an offline job would, not one request's."""
    longest = max((len(r.candidates) for r in requests), default=0)
    pool = [(r.context, r.candidates[k].text) for k in range(longest) for r in requests if k < len(r.candidates)]
    if not pool:
        raise ValueError("no pairs in the requests")
    return [pool[i % len(pool)] for i in range(need)]


@register_scenario("offline", batch_sizes=[1, 8, 32, 128, 512], distinct_batches=2,
                   min_samples=3, min_seconds=0.5, loadgen_seconds=1.0, loadgen_batch_requests=8)
def offline(ctx: ScenarioContext, params: dict) -> dict:
    """Model throughput per batch size; then (loadgen_seconds > 0) a LoadGen Offline run of the whole
    system through the batcher, its figures under "loadgen"."""
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
    out = {"samples_ms": best["samples_ms"], "stats": best["stats"], "parts_ms": {}, "points": points,
           "best_batch_size": best["batch_size"], "loadgen": None}
    if params["loadgen_seconds"] > 0 and loadgen_available()[0]:
        queries, _ = prepare_queries(ctx, None, True)
        per_request = float(np.mean([len(q.texts) for q in queries]))
        out["loadgen"] = loadgen_offline(RankProcessor(ctx.session, ctx.encoder), queries,
                                         2.0 * (best["stats"]["pairs_per_s"] or 1.0) / per_request,
                                         float(params["loadgen_seconds"]), int(params["loadgen_batch_requests"]))
    return out


# --- server ---------------------------------------------------------------------------------------
@register_scenario("server", candidates=100, sla_p99_ms=None, seconds_per_rate=5.0, min_queries=1,
                   max_batch_requests=1, max_wait_ms=0.0, workers=1, max_levels=6, rates=None, seed=0)
def server(ctx: ScenarioContext, params: dict) -> dict:
    """Real-time LoadGen Server runs against the queue + batcher + workers (bench/loadgen_scenarios.py)."""
    return loadgen_server(ctx, params)


@register_scenario("server-sim", candidates=100, sla_p99_ms=None, requests_per_rate=5000, service_samples=8,
                   max_batch_requests=1, max_wait_ms=0.0, max_levels=6, rates=None, seed=0)
def server_sim(ctx: ScenarioContext, params: dict) -> dict:
    """A quick estimate: a simulated queue over measured service times (bench/server_sim.py)."""
    return simulated_server(ctx, params)


# --- sweeps ---------------------------------------------------------------------------------------
def _sweep_result(points: list[dict], default) -> dict:
    chosen = next((p for p in points if p["value"] == default), points[-1])
    return {"samples_ms": chosen["samples_ms"], "stats": chosen["stats"], "parts_ms": {}, "points": points}


@register_scenario("sweep-candidates", values=[10, 25, 50, 100, 200], min_samples=5, min_seconds=0.5)
def sweep_candidates(ctx: ScenarioContext, params: dict) -> dict:
    timing = ctx.timing.scaled(min_samples=int(params["min_samples"]), min_seconds=float(params["min_seconds"]))
    points = []
    for n in params["values"]:
        queries, catalog = prepare_queries(ctx, int(n), True)
        m = measure(lambda i, qs=queries: serve_one(ctx, qs[i % len(qs)], catalog),
                    ctx.session.synchronize, timing, distinct_inputs=len(queries))
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
