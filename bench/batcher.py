"""A request queue, a dynamic batcher and worker threads: what serves ranking requests for real, in
the LoadGen server scenario (bench/server_load.py) and behind `rankbench serve` alike.

    ranker = RankProcessor(session, encoder)                 # encoder with its catalog loaded
    batcher = Batcher(ranker.process, max_batch=4, max_wait_ms=5, workers=1, max_queue=256)
    job = batcher.submit(RankQuery(context, texts, ids), on_done=lambda job: ...)  # Overloaded when full
    ...                                                      # job.result: (scores, ranked ids)
    batcher.close()

A worker takes the oldest request, then waits for more until `max_batch` requests are in hand or
`max_wait_ms` has passed since that first request arrived, and runs them as one batch. Each job
keeps its own times (arrival, batch start, done) and its batch's size and parts, so queue wait and
model time come from the system's own clock. A job that has already waited `shed_after_ms` is
completed at once, unserved, with an error: an overloaded system answers late requests quickly
instead of serving a backlog nobody waits for any more (and a load test ends in bounded time).
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from rankbench.bench.backends.base import run_in_chunks, warm_shapes

now_ns = time.perf_counter_ns


class Overloaded(RuntimeError):
    """The queue is full (or the batcher is closed): the caller should answer 503."""


@dataclass(frozen=True)
class RankQuery:
    """One ranking request: a context and its candidates (texts, and ids to return in order)."""

    context: str
    texts: tuple[str, ...]
    ids: tuple[str, ...]

    @classmethod
    def of(cls, request, n: int | None = None) -> "RankQuery":
        """A models.requests.Request's first n candidates (cycled when it has fewer)."""
        cands = list(request.candidates)
        if not cands:
            raise ValueError(f"request {request.id} has no candidates")
        n = len(cands) if n is None else n
        chosen = [cands[i % len(cands)] for i in range(n)]
        return cls(request.context, tuple(c.text for c in chosen), tuple(c.id for c in chosen))


@dataclass
class Job:
    payload: object
    on_done: Callable[["Job"], None] | None
    arrived_ns: int = field(default_factory=now_ns)
    started_ns: int = 0  # when its batch started (0: never served)
    done_ns: int = 0
    batch_size: int = 0
    parts_ns: dict = field(default_factory=dict)  # the batch's parts, e.g. assemble / model / sort
    result: object = None
    error: str | None = None
    shed: bool = False

    @property
    def latency_ms(self) -> float:
        return (self.done_ns - self.arrived_ns) / 1e6

    @property
    def queue_ms(self) -> float:
        return ((self.started_ns or self.done_ns) - self.arrived_ns) / 1e6


class Batcher:
    def __init__(self, process: Callable[[list[Job]], None], max_batch: int = 1, max_wait_ms: float = 0.0,
                 workers: int = 1, max_queue: int = 0, shed_after_ms: float | None = None):
        if max_batch < 1 or workers < 1 or max_wait_ms < 0 or max_queue < 0:
            raise ValueError("need max_batch >= 1, workers >= 1, max_wait_ms >= 0, max_queue >= 0")
        self.process, self.max_batch, self.max_wait_ns = process, max_batch, int(max_wait_ms * 1e6)
        self.shed_after_ns = int(shed_after_ms * 1e6) if shed_after_ms else None
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)  # 0: unbounded
        self._closed = threading.Event()
        self._threads = [threading.Thread(target=self._work, name=f"rank-worker-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def submit(self, payload, on_done: Callable[[Job], None] | None = None) -> Job:
        if self._closed.is_set():
            raise Overloaded("the service is shutting down")
        job = Job(payload, on_done)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise Overloaded(f"queue full ({self._queue.maxsize} requests waiting)") from None
        return job

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop taking requests, serve what is queued (bounded by timeout), stop the workers."""
        self._closed.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        while True:  # whatever is left after the timeout is answered, never dropped silently
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            self._finish([job], error="the service shut down before serving it")

    # --- workers ----------------------------------------------------------------------------------
    def _take(self, timeout_s: float) -> Job | None:
        try:
            return self._queue.get(timeout=max(timeout_s, 0.0)) if timeout_s > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None

    def _work(self) -> None:
        while True:
            first = self._take(0.05)
            if first is None:
                if self._closed.is_set():
                    return
                continue
            batch = [first]
            while len(batch) < self.max_batch:
                job = self._take((first.arrived_ns + self.max_wait_ns - now_ns()) / 1e9)
                if job is None:
                    break
                batch.append(job)
            self._serve(batch)

    def _serve(self, batch: list[Job]) -> None:
        if self.shed_after_ns is not None:
            start = now_ns()
            late = [j for j in batch if start - j.arrived_ns > self.shed_after_ns]
            if late:
                for job in late:
                    job.shed = True
                self._finish(late, error=f"shed: waited over {self.shed_after_ns / 1e6:g} ms in the queue")
                batch = [j for j in batch if not j.shed]
                if not batch:
                    return
        start = now_ns()
        for job in batch:
            job.started_ns, job.batch_size = start, len(batch)
        try:
            self.process(batch)
            error = None
        except Exception as err:  # noqa: BLE001 - every job gets its answer; the worker lives on
            error = f"{type(err).__name__}: {str(err)[:300]}"
        self._finish(batch, error)

    @staticmethod
    def _finish(jobs: list[Job], error: str | None) -> None:
        done = now_ns()
        for job in jobs:
            job.done_ns, job.error = done, job.error or error
            if job.on_done is not None:
                try:
                    job.on_done(job)
                except Exception:  # noqa: BLE001 - a failing callback must not stop the worker
                    pass


class RankProcessor:
    """Runs a batch of RankQuery jobs: pair ids (catalog), one model call, each request sorted.
    Sets job.result = (scores, ranked ids) and job.parts_ns = the batch's assemble / model / sort."""

    def __init__(self, session, encoder):
        self.session, self.encoder = session, encoder

    def process(self, jobs: list[Job]) -> None:
        t0 = now_ns()
        batch = self.encoder.encode_requests([(j.payload.context, list(j.payload.texts)) for j in jobs])
        t1 = now_ns()
        scores = np.asarray(run_in_chunks(self.session, batch), dtype=np.float64).reshape(-1)
        self.session.synchronize()
        t2 = now_ns()
        start = 0
        for job in jobs:
            mine = scores[start:start + len(job.payload.texts)]
            start += len(job.payload.texts)
            order = np.argsort(-mine, kind="stable")
            job.result = (mine, [job.payload.ids[k] for k in order])
        parts = {"assemble": t1 - t0, "model": t2 - t1, "sort": now_ns() - t2}
        for job in jobs:
            job.parts_ns = parts

    def warm_merged_shapes(self, queries: list[RankQuery], max_batch: int) -> list:
        """Fixed-shape sessions (XLA, CUDA graphs, TensorRT profiles): compile every (rows, length) a
        merged batch of up to `max_batch` of these queries can take, before anything is timed."""
        if not getattr(self.session, "fixed_shapes", False):
            return []
        lengths = sorted({self.encoder.encode_requests([(q.context, list(q.texts))])["input_ids"].shape[1]
                          for q in queries})
        rows = sorted({len(q.texts) for q in queries})
        return warm_shapes(self.session, [(k * n, length) for k in range(1, max_batch + 1) for n in rows
                                          for length in lengths])

    def serve_now(self, queries: list[RankQuery]) -> float:
        """Run queries as one batch in this thread; returns its duration in seconds (warm-up)."""
        t0 = now_ns()
        self.process([Job(q, None) for q in queries])
        return (now_ns() - t0) / 1e9
