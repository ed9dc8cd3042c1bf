"""An HTTP system under test for LoadGen: each query is a POST /rank to a running service, many in
flight at once, timed on this side of the network (what a client sees). `rankbench load` uses it.

    with HttpTarget("http://127.0.0.1:8000", bodies, concurrency=64, timeout_s=30) as target:
        out = load_test(target, sla_p99_ms=1000, rates=[2, 4], seconds=5)   # or rates=None: search
    # out: points (one real LoadGen Server run per rate, with LoadGen's figures and the statuses
    # seen), max_rate_under_sla_rps, the service's /health

Requests are sent by an asyncio loop on its own thread (httpx), so LoadGen's issue thread never
waits on the network. Every request has a timeout; a load test is a bounded list of bounded runs.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter

import numpy as np

from rankbench.bench.loadgen import LoadgenSettings, complete, run_loadgen
from rankbench.bench.server_sim import search_max_rate
from rankbench.bench.stats import summarize


class HttpTarget:
    def __init__(self, url: str, bodies: list[bytes], concurrency: int = 64, timeout_s: float = 30.0):
        import httpx

        if not bodies:
            raise ValueError("no request bodies to send")
        self.url, self.bodies = url.rstrip("/"), bodies
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="http-load", daemon=True)
        self.thread.start()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = self._call(self._client(httpx, limits, timeout_s))
        self.records: list[tuple[int, int, int]] = []  # (sent ns, answered ns, status; 0 = no answer)

    @staticmethod
    async def _client(httpx, limits, timeout_s):
        return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(timeout_s), trust_env=False)

    def _call(self, coroutine, timeout_s: float = 60.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    async def _post(self, body: bytes, query_id: int | None) -> tuple[int, dict | None]:
        sent = time.perf_counter_ns()
        status, answer = 0, None
        try:
            response = await self.client.post(f"{self.url}/rank", content=body,
                                              headers={"content-type": "application/json"})
            status = response.status_code
            answer = response.json() if status == 200 else None
        except Exception:  # noqa: BLE001 - a refused / timed-out request is a failed query, not a crash
            status = 0
        self.records.append((sent, time.perf_counter_ns(), status))
        if query_id is not None:
            complete(query_id)
        return status, answer

    def issue(self, samples) -> None:
        for query_id, index in samples:
            asyncio.run_coroutine_threadsafe(self._post(self.bodies[index % len(self.bodies)], query_id), self.loop)

    def send(self, index: int = 0) -> tuple[int, dict | None]:
        """One request, waited for (warm-up, checks)."""
        return self._call(self._post(self.bodies[index % len(self.bodies)], None))

    def health(self) -> dict:
        async def get():
            response = await self.client.get(f"{self.url}/health")
            response.raise_for_status()
            return response.json()

        return self._call(get())

    def close(self) -> None:
        self._call(self.client.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def request_bodies(requests, candidates: int, by_id: bool) -> list[bytes]:
    """POST /rank bodies from models.requests.Request objects: texts, or catalog ids (`by_id`).
    A request cycled past its candidates would repeat ids, which the service refuses: kept once."""
    from rankbench.bench.batcher import RankQuery

    bodies = []
    for request in requests:
        query = RankQuery.of(request, candidates)
        unique = dict(zip(query.ids, query.texts))
        cands = list(unique) if by_id else [{"id": i, "text": t} for i, t in unique.items()]
        bodies.append(json.dumps({"context": query.context, "candidates": cands}).encode())
    return bodies


def http_level(target: HttpTarget, rate: float, sla_ms: float, seconds: float, seed: int = 0,
               logs: str | None = None) -> dict:
    """One LoadGen Server run at `rate` against the service; the point of its p99-vs-load curve."""
    target.records = []
    settings = LoadgenSettings("server", target_qps=rate, latency_ms=sla_ms, min_duration_ms=int(seconds * 1000),
                               max_duration_ms=int(seconds * 4000), seed=seed)
    figures = run_loadgen(target.issue, len(target.bodies), settings, outdir=logs)
    records = list(target.records)
    latencies = [(done - sent) / 1e6 for sent, done, _ in records]
    statuses = Counter(str(status) for _, _, status in records)
    ok = statuses.get("200", 0) == len(records) and bool(records)
    stats = summarize(latencies or [0.0])
    passed = bool(ok and figures.get("perf_constraints_met") is not False and stats["p99_ms"] <= sla_ms)
    return {"rate_rps": float(rate), "samples_ms": latencies, "stats": stats, "statuses": dict(statuses),
            "achieved_rps": float(figures.get("completed_qps") or 0.0), "complete": ok, "passed": passed,
            "loadgen": figures}


def load_test(target: HttpTarget, sla_p99_ms: float | None, rates: list[float] | None, seconds: float,
              max_levels: int = 4, progress=print, logs: str | None = None) -> dict:
    """Real LoadGen runs against the service: the given rates, or a search for the highest under the SLA."""
    health = target.health()
    warm = [target.send(i) for i in range(min(5, len(target.bodies)))]
    if any(status != 200 for status, _ in warm):
        raise RuntimeError(f"the service refused the load test's requests: statuses {[s for s, _ in warm]}")
    one_ms = float(np.median([(d - s) / 1e6 for s, d, _ in target.records[-3:]]))
    sla = sla_p99_ms or round(5 * one_ms, 3)
    points: dict[float, dict] = {}

    def level(rate: float) -> bool:
        folder = f"{logs}/rate-{rate:.4g}" if logs else None
        points[rate] = http_level(target, rate, sla, seconds, logs=folder)
        p = points[rate]
        if progress:
            progress(f"rate {rate:.3g}/s: p99 {p['stats']['p99_ms']:.1f} ms (SLA {sla:g}), statuses "
                     f"{p['statuses']}, LoadGen {p['loadgen']['validity']}: {'pass' if p['passed'] else 'fail'}")
        return p["passed"]

    if rates:
        passed = [r for r in sorted(rates) if level(float(r))]
    else:
        batch = int(health.get("max_batch_requests") or 1)
        passed = search_max_rate(level, 500.0 / one_ms, max_levels, batch * 2000.0 / one_ms)
    return {"url": target.url, "sla_p99_ms": sla, "one_request_ms": one_ms, "health": health,
            "points": [points[r] for r in sorted(points)],
            "max_rate_under_sla_rps": max(passed) if passed else None}
