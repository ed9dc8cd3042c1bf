"""The scenarios LoadGen drives against a real system under test (registered in bench/scenarios.py).

    out = loadgen_server(ctx, params)          # "server": real-time Poisson runs, one per offered rate
    m, figures = loadgen_single_stream(step, session.synchronize, timing, distinct=len(queries))
    figures = loadgen_offline(ranker, queries, expected_rps, seconds=1.0, max_batch=8)

- server: for each offered rate, a LoadGen Server run of `seconds_per_rate` issues queries on its
  own Poisson schedule, in real time, into the queue of a bench.batcher.Batcher (dynamic batcher,
  `workers` threads calling the session); each query is completed (QuerySamplesComplete) the moment
  its batch is done. Latencies come from the system's own clock (arrival in the queue -> done) and
  LoadGen's verdict is kept beside them. A rate passes when LoadGen's p99 and ours are within the
  SLA and no query was shed or failed; the highest passing rate is found by `searched_rates`.
  Each point also carries the simulation's p99 for the very same arrivals and measured service
  times (bench.server_sim.simulate_server), so the report shows how far the estimate is from real.
- single-stream: LoadGen's SingleStream issues one query at a time; the query is served inline
  (no thread hand-off, as MLPerf's single-stream SUTs do) and timed part by part.
- offline: every query at once into the batcher: the served requests/s of the whole system
  (pair assembly, batching, model, sorting), beside the offline scenario's model-only sweep.
"""
from __future__ import annotations

import numpy as np

from rankbench.bench.batcher import Batcher, RankProcessor, RankQuery
from rankbench.bench.loadgen import LoadgenSettings, complete, loadgen_available, run_loadgen
from rankbench.bench.server_sim import load_catalog, searched_rates, simulate_server
from rankbench.bench.stats import summarize
from rankbench.bench.timing import Measurement, TimingConfig, now_ns, warm_up

# A query queued for 2x the SLA has missed it already; answering it unserved (shed) keeps an
# overloaded level from serving a backlog for minutes: the level ends about 2 SLAs after LoadGen
# stops issuing, and its p99 still counts every shed query as a miss.
SHED_AFTER_SLA = 2.0


def _require_loadgen() -> None:
    ok, why = loadgen_available()
    if not ok:
        raise RuntimeError(why)


def loadgen_single_stream(step, synchronize, timing: TimingConfig, distinct: int) -> tuple[Measurement, dict]:
    """Warm up, then a LoadGen SingleStream run calling step(sample index) inline, timed here."""
    _require_loadgen()
    m = Measurement(warmup_ms=warm_up(step, synchronize, timing, at_least=distinct))
    expected_ms = float(np.median(m.warmup_ms[-3:])) if m.warmup_ms else 1.0

    def issue(samples):
        for query_id, index in samples:
            t0 = now_ns()
            parts = step(index)
            synchronize()
            m.samples_ms.append((now_ns() - t0) / 1e6)
            for name, value in (parts or {}).items():
                m.parts_ms.setdefault(name, []).append(value / 1e6)
            complete(query_id)

    settings = LoadgenSettings("single-stream", min_duration_ms=int(timing.min_seconds * 1000),
                               max_duration_ms=int(timing.max_seconds * 1000), min_query_count=timing.min_samples,
                               max_query_count=timing.max_samples, expected_latency_ms=expected_ms)
    start = now_ns()
    figures = run_loadgen(issue, distinct, settings)
    m.seconds = (now_ns() - start) / 1e9
    return m, figures


def loadgen_offline(ranker: RankProcessor, queries: list[RankQuery], expected_rps: float, seconds: float,
                    max_batch: int) -> dict:
    """A LoadGen Offline run through the batcher: every query issued at once."""
    _require_loadgen()
    batcher = Batcher(ranker.process, max_batch=max_batch)

    def issue(samples):
        for query_id, index in samples:
            batcher.submit(queries[index % len(queries)], on_done=lambda _job, q=query_id: complete(q))

    try:
        return run_loadgen(issue, len(queries), LoadgenSettings("offline", target_qps=max(expected_rps, 0.1),
                                                                min_duration_ms=int(seconds * 1000)))
    finally:
        batcher.close()


def _warm_up(ranker: RankProcessor, queries: list[RankQuery], ctx, max_batch: int) -> float:
    """Compile/settle single and merged services; one request's service time in seconds."""
    ranker.warm_merged_shapes(queries, max_batch)
    times = warm_up(lambda i: ranker.serve_now([queries[i % len(queries)]]), ctx.session.synchronize,
                    ctx.timing, at_least=len(queries))
    for size in range(2, max_batch + 1):
        ranker.serve_now([queries[k % len(queries)] for k in range(size)])
    return float(np.median(times[-3:])) / 1000.0


def loadgen_server(ctx, params: dict) -> dict:
    """The "server" scenario: see the module docstring."""
    _require_loadgen()
    n_cand, max_batch = int(params["candidates"]), int(params["max_batch_requests"])
    ranker = RankProcessor(ctx.session, ctx.encoder)
    queries = [RankQuery.of(r, n_cand) for r in ctx.requests]
    load_catalog(ctx.encoder, queries)
    service_s = _warm_up(ranker, queries, ctx, max_batch)
    sla_ms = params["sla_p99_ms"] or round(5 * service_s * 1000.0, 3)  # none given: 5x one service
    points: dict[float, dict] = {}

    def level(rate: float) -> bool:
        points[rate] = run_level(ranker, queries, rate, sla_ms, params)
        p = points[rate]
        if ctx.progress:
            ctx.progress(f"rate {rate:.3g}/s: p99 {p['stats']['p99_ms']:.1f} ms (SLA {sla_ms:g}; simulation "
                         f"{p['simulated_p99_ms']:.1f}), LoadGen {p['loadgen']['validity']}: "
                         f"{'pass' if p['passed'] else 'fail'}")
        return p["passed"]

    passed = searched_rates(level, params, service_s, max_batch, sla_ms)
    best = max(passed) if passed else None
    chosen = points[best] if best is not None else points[min(points)]
    sim_ok = [r for r, p in points.items() if p["simulated_p99_ms"] <= sla_ms and p["utilization"] < 1]
    return {"samples_ms": chosen["samples_ms"], "stats": chosen["stats"], "parts_ms": {},
            "points": [points[r] for r in sorted(points)], "max_rate_under_sla_rps": best,
            "simulated_max_rate_under_sla_rps": max(sim_ok) if sim_ok else None,
            "sla_p99_ms": sla_ms, "service_ms": service_s * 1000.0, "loadgen": chosen["loadgen"]}


def run_level(ranker: RankProcessor, queries: list[RankQuery], rate: float, sla_ms: float, params: dict) -> dict:
    """One real LoadGen Server run at `rate` requests/s; its point of the p99-vs-load curve."""
    batcher = Batcher(ranker.process, int(params["max_batch_requests"]), float(params["max_wait_ms"]),
                      int(params["workers"]), shed_after_ms=SHED_AFTER_SLA * sla_ms)
    jobs = []

    def issue(samples):
        for query_id, index in samples:
            jobs.append(batcher.submit(queries[index % len(queries)],
                                       on_done=lambda _job, q=query_id: complete(q)))

    seconds = float(params["seconds_per_rate"])
    settings = LoadgenSettings("server", target_qps=rate, latency_ms=sla_ms, min_duration_ms=int(seconds * 1000),
                               max_duration_ms=int(seconds * 4000), min_query_count=int(params["min_queries"]),
                               seed=int(params["seed"]))
    try:
        figures = run_loadgen(issue, len(queries), settings)
    finally:
        batcher.close()
    return level_point(rate, jobs, figures, sla_ms, params)


def level_point(rate: float, jobs: list, figures: dict, sla_ms: float, params: dict) -> dict:
    """The point's figures from its jobs (our clock) and LoadGen's verdict."""
    n_cand = int(params["candidates"])
    latencies = [j.latency_ms for j in jobs]
    shed = sum(1 for j in jobs if j.shed)
    errors = sum(1 for j in jobs if j.error and not j.shed)
    stats = summarize(latencies, n_cand, 1)
    batches = {j.started_ns: (j.batch_size, j.done_ns - j.started_ns) for j in jobs if j.started_ns}
    busy_s = sum(d for _, d in batches.values()) / 1e9
    served = [j for j in jobs if j.started_ns]
    passed = bool(figures.get("perf_constraints_met") is not False and stats["p99_ms"] <= sla_ms
                  and not shed and not errors)
    return {"rate_rps": float(rate), "samples_ms": latencies, "stats": stats,
            "achieved_rps": float(figures.get("completed_qps") or 0.0), "complete": not shed and not errors,
            "utilization": round(rate * busy_s / max(len(served), 1), 4), "passed": passed,
            "shed": shed, "errors": errors,
            "queue_p99_ms": float(np.percentile([j.queue_ms for j in jobs], 99)) if jobs else 0.0,
            "mean_batch_requests": round(float(np.mean([b for b, _ in batches.values()])), 3) if batches else 0.0,
            "simulated_p99_ms": replay_p99(jobs, batches, params), "loadgen": figures}


def replay_p99(jobs: list, batches: dict, params: dict) -> float:
    """The simulation's p99 (ms) for these very arrivals, with the service times this run measured
    (median per batch size; a size never run here scales the per-request median)."""
    if not jobs:
        return 0.0
    by_size: dict[int, list[float]] = {}
    for size, duration in batches.values():
        by_size.setdefault(size, []).append(duration / 1e9)
    per_request = float(np.median([d / s for s, ds in by_size.items() for d in ds])) if by_size else 0.0
    medians = {s: float(np.median(ds)) for s, ds in by_size.items()}
    first = min(j.arrived_ns for j in jobs)
    arrivals = np.sort(np.asarray([(j.arrived_ns - first) / 1e9 for j in jobs]))
    latencies, _, _ = simulate_server(arrivals, lambda idx: medians.get(len(idx), per_request * len(idx)),
                                      int(params["max_batch_requests"]), float(params["max_wait_ms"]) / 1000.0)
    return float(np.percentile(np.asarray(latencies) * 1000.0, 99))
