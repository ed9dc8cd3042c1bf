"""Time two artifacts alternately in one process, so that machine drift (other jobs, thermal state,
frequency) falls on both alike: what pyperf and asv recommend for comparisons on noisy CI machines.

    base_ms, new_ms = interleaved_samples(base_artifact, new_artifact, "onnxruntime", options,
                                          requests, candidates=100, samples=40)

Each round serves one request on both sessions (tokenize, run, sort, as single-stream does), in
the order A B then B A, so neither side always runs first.
"""
from __future__ import annotations

import gc

from rankbench.bench.backends import BackendOptions, get_backend
from rankbench.bench.scenarios import ScenarioContext, prepare_queries, serve_one
from rankbench.bench.timing import now_ns
from rankbench.models.encoder import PairEncoder


def interleaved_samples(artifact_a, artifact_b, backend: str, options: BackendOptions, requests: list,
                        candidates: int = 100, samples: int = 40, warmup: int = 3) -> tuple[list, list]:
    """(samples of A, samples of B) in ms, one request per round on each, alternating the order."""
    if samples < 1 or not requests:
        raise ValueError("interleaving needs samples >= 1 and at least one request")
    runner = get_backend(backend)
    sessions = [runner.prepare(artifact_a, options), runner.prepare(artifact_b, options)]
    try:
        contexts = [ScenarioContext(session, PairEncoder.from_folder(art.path), requests)
                    for session, art in zip(sessions, (artifact_a, artifact_b))]
        prepared = [prepare_queries(ctx, candidates, True) for ctx in contexts]  # (queries, catalog)
        for i in range(warmup):
            for ctx, (queries, catalog) in zip(contexts, prepared):
                serve_one(ctx, queries[i % len(queries)], catalog)
        return _alternate(contexts, prepared, samples)
    finally:
        for session in sessions:
            session.close()


def _alternate(contexts, prepared, samples: int) -> tuple[list, list]:
    out = ([], [])
    gc.collect()
    gc.disable()  # no collection inside a timed call (see bench.timing)
    try:
        for i in range(samples):
            order = (0, 1) if i % 2 == 0 else (1, 0)
            for side in order:
                queries, catalog = prepared[side]
                start = now_ns()
                serve_one(contexts[side], queries[i % len(queries)], catalog)
                out[side].append((now_ns() - start) / 1e6)
    finally:
        gc.enable()
    return out
