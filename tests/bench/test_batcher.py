"""The queue + dynamic batcher + workers: merging, bounded waits, shedding, overload, shutdown, errors.
Every wait here is bounded; nothing asserts on how fast anything ran."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from rankbench.bench.batcher import Batcher, Overloaded, RankProcessor, RankQuery
from tests.bench.conftest import make_requests


def _wait_all(jobs, events, timeout_s=10.0):
    for event in events:
        assert event.wait(timeout_s), "a job was never answered"
    assert all(j.done_ns for j in jobs)


def _submit(batcher, payloads):
    events, jobs = [], []
    for p in payloads:
        done = threading.Event()
        jobs.append(batcher.submit(p, on_done=lambda _j, e=done: e.set()))
        events.append(done)
    return jobs, events


def test_queued_requests_are_merged_up_to_max_batch():
    gate, sizes = threading.Event(), []

    def process(jobs):
        gate.wait(5)  # the first batch holds the worker while the rest queue up
        sizes.append(len(jobs))
        for j in jobs:
            j.result = j.payload * 2

    batcher = Batcher(process, max_batch=3, max_wait_ms=0, workers=1)
    jobs, events = _submit(batcher, range(7))
    gate.set()
    _wait_all(jobs, events)
    batcher.close()
    assert [j.result for j in jobs] == [2 * i for i in range(7)]
    assert sum(sizes) == 7 and max(sizes) == 3 and len(sizes) >= 3
    assert all(j.batch_size in (1, 2, 3) and j.started_ns >= j.arrived_ns for j in jobs)


def test_a_lone_request_waits_at_most_max_wait_then_runs_alone():
    batcher = Batcher(lambda jobs: None, max_batch=8, max_wait_ms=30, workers=1)
    jobs, events = _submit(batcher, ["only"])
    _wait_all(jobs, events)
    batcher.close()
    assert jobs[0].batch_size == 1 and jobs[0].error is None
    assert jobs[0].queue_ms >= 25  # it waited for company, bounded by max_wait


def test_full_queue_refuses_and_late_jobs_are_shed():
    gate, started = threading.Event(), threading.Event()
    batcher = Batcher(lambda jobs: (started.set(), gate.wait(5)), max_batch=1, workers=1, max_queue=2,
                      shed_after_ms=20)
    first, events = _submit(batcher, ["a"])
    assert started.wait(5)  # the worker holds "a": the queue is empty again
    queued, more = _submit(batcher, ["b", "c"])
    with pytest.raises(Overloaded, match="queue full"):
        batcher.submit("d")
    time.sleep(0.05)  # b and c are now older than shed_after_ms
    gate.set()
    _wait_all(first + queued, events + more)
    batcher.close()
    assert not first[0].shed and first[0].error is None
    assert all(j.shed and "shed" in j.error and j.started_ns == 0 for j in queued)


def test_errors_reach_every_job_of_the_batch_and_the_worker_lives_on():
    def process(jobs):
        if any(j.payload == "bad" for j in jobs):
            raise ValueError("broken input")

    batcher = Batcher(process, max_batch=1, workers=1)
    jobs, events = _submit(batcher, ["bad", "good"])
    _wait_all(jobs, events)
    batcher.close()
    assert "broken input" in jobs[0].error and jobs[1].error is None
    with pytest.raises(Overloaded, match="shutting down"):
        batcher.submit("after close")


def test_close_answers_what_is_still_queued():
    gate = threading.Event()
    batcher = Batcher(lambda jobs: gate.wait(2), max_batch=1, workers=1)
    jobs, events = _submit(batcher, ["a", "b", "c"])
    batcher.close(timeout_s=0.2)  # the worker is stuck on "a": "b" and "c" get an answer anyway
    gate.set()
    assert all(e.wait(5) for e in events[1:])
    assert any(j.error and "shut down" in j.error for j in jobs[1:])


class _Scores:
    device = "cpu"

    def run(self, batch):  # a score per row that depends on the ids, so rows can be told apart
        return batch["input_ids"].sum(axis=1).astype(np.float32)

    def synchronize(self):
        pass


def test_rank_processor_merges_requests_and_ranks_each_its_own(tiny_artifact):
    from rankbench.models.encoder import PairEncoder

    encoder = PairEncoder.from_folder(tiny_artifact.path)
    queries = [RankQuery.of(r, 5) for r in make_requests(3, 5)]
    ranker = RankProcessor(_Scores(), encoder)
    batcher = Batcher(ranker.process, max_batch=3, max_wait_ms=50)
    jobs, events = _submit(batcher, queries)
    _wait_all(jobs, events)
    batcher.close()
    for job, query in zip(jobs, queries):
        expected = _Scores().run(encoder.encode([(query.context, t) for t in query.texts]))
        np.testing.assert_allclose(job.result[0], expected)
        assert job.result[1] == [query.ids[k] for k in np.argsort(-expected, kind="stable")]
        assert set(job.parts_ns) == {"assemble", "model", "sort"}
