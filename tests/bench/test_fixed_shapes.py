"""Fixed-shape backends under merged batches: batches split at the session's maximum rows, every padded
shape a scenario uses compiled before timing (nothing compiles inside a timed service), and the torch
padded path without graphs (what CUDA graphs are compared with) computing what the model computes."""
from __future__ import annotations

import numpy as np
import pytest

from rankbench.bench.backends import BackendOptions, get_backend
from rankbench.bench.backends.base import run_in_chunks, warm_shapes
from rankbench.bench.parity import check_parity, reference_scores
from rankbench.bench.scenarios import ScenarioContext, run_scenario
from rankbench.bench.timing import TimingConfig
from rankbench.models.encoder import PairEncoder

FAST = TimingConfig(min_samples=2, min_seconds=0.0, warmup_min=1, warmup_max=2)


class FixedShapes:
    """A session that compiles a program per padded shape and takes at most 4 rows a call."""

    device = "fake"
    fixed_shapes = True
    max_batch_rows = 4

    def __init__(self):
        self.compiled = []

    def padded_shape(self, rows, seq):
        return (2 if rows <= 2 else 4), (8 if seq <= 8 else 16)

    def run(self, batch):
        rows, seq = batch["input_ids"].shape
        if rows > self.max_batch_rows:
            raise ValueError(f"{rows} rows > {self.max_batch_rows}")
        if self.padded_shape(rows, seq) not in self.compiled:
            self.compiled.append(self.padded_shape(rows, seq))
        return batch["input_ids"][:, 0].astype(np.float32) + np.arange(rows, dtype=np.float32)

    def synchronize(self):
        pass


class Encoder:
    max_length = 16

    template = None  # no catalog: every pair is tokenized

    def encode(self, pairs, pad_to=None):  # each request has its own length: 5 + its number % 3 * 4
        length = pad_to or max(5 + int(c.split("-")[0].lstrip("u")) % 3 * 4 for c, _ in pairs)
        return {"input_ids": np.full((len(pairs), length), 3, np.int64)}

    def encode_requests(self, requests, pad_to=None):
        return self.encode([(c, t) for c, texts in requests for t in texts], pad_to)


def test_run_in_chunks_splits_at_the_maximum_and_keeps_the_order():
    session = FixedShapes()
    batch = {"input_ids": np.arange(10 * 3).reshape(10, 3)}
    out = run_in_chunks(session, batch)
    assert out.tolist() == [0, 4, 8, 12, 12, 16, 20, 24, 24, 28]  # chunks of 4, 4, 2
    assert warm_shapes(session, [(10, 3), (3, 12)]) == [(4, 8), (2, 8), (4, 16)]
    assert warm_shapes(object(), [(10, 3)]) == []  # dynamic-shape sessions: nothing to warm


def test_nothing_compiles_inside_a_timed_server_service(requests_, monkeypatch):
    from rankbench.models.requests import Request

    session = FixedShapes()
    reqs = [Request(f"u{i}-r", f"u{i}-ctx", r.candidates) for i, r in enumerate(requests_)]
    reqs = [Request(r.id, r.id, r.candidates) for r in reqs]  # context = id: the encoder reads the length
    from rankbench.bench import server_sim

    seen = []
    real = server_sim.measure_services

    def timed(*args, **kwargs):  # the services the simulation draws from are timed here
        before = list(session.compiled)
        result = real(*args, **kwargs)
        seen.append((before, list(session.compiled)))
        return result

    monkeypatch.setattr(server_sim, "measure_services", timed)
    ctx = ScenarioContext(session, Encoder(), reqs, FAST)
    out = run_scenario("server-sim", ctx, {"candidates": 3, "sla_p99_ms": 60_000.0, "requests_per_rate": 12,
                                       "max_levels": 2, "max_batch_requests": 3, "max_wait_ms": 50.0})
    assert out["points"] and seen
    assert all(before == after for before, after in seen), seen  # every service timed on warmed shapes
    assert (4, 16) in session.compiled and (2, 8) in session.compiled


def test_torch_fixed_shapes_pads_and_masks_as_graphs_do(tiny_artifact, requests_):
    backend = get_backend("torch")
    options = BackendOptions(threads=1, fixed_shapes=True, batch_buckets=(1, 4, 8), seq_buckets=(16, 32, 64))
    assert backend.supports(tiny_artifact, options) == (True, "")
    encoder = PairEncoder.from_folder(tiny_artifact.path)
    reference, name = reference_scores(tiny_artifact, encoder, requests_[:3])
    with backend.prepare(tiny_artifact, options) as session:
        assert session.fixed_shapes and session.max_batch_rows == 8
        assert session.info["padding"] == "buckets" and session.info["attention_mask"].startswith("4D")
        assert session.padded_shape(5, 20) == (8, 32)
        figures = check_parity(session, encoder, requests_[:3], reference, "fp32", name)
    assert figures["passed"] and figures["max_abs_diff"] <= 1e-4, figures  # padding changes nothing
    with backend.prepare(tiny_artifact, BackendOptions(threads=1)) as plain:
        assert plain.info["padding"] == "dynamic" and not plain.fixed_shapes and plain.max_batch_rows is None
        assert plain.info["attention_mask"] == "the model's own"
    ok, why = backend.supports(tiny_artifact, BackendOptions(precision="tf32", device="cpu"))
    assert not ok and "tensor cores" in why


def test_xla_splits_and_compiles_shapes_up_front(tiny_artifact, requests_):
    options = BackendOptions(batch_buckets=(1, 4, 8), seq_buckets=(16, 32, 64))
    encoder = PairEncoder.from_folder(tiny_artifact.path)
    batch = encoder.encode(requests_[0].pairs())  # 12 rows
    with get_backend("xla").prepare(tiny_artifact, options) as session:
        warmed = warm_shapes(session, [(12, batch["input_ids"].shape[1])])
        compiled = [tuple(s) for s in session.info["compiled_shapes"]]
        scores = run_in_chunks(session, batch)
        assert warmed == compiled and [tuple(s) for s in session.info["compiled_shapes"]] == compiled
    reference = np.concatenate(reference_scores(tiny_artifact, encoder, requests_[:1])[0])
    assert scores.shape == (12,) and np.abs(scores - reference).max() <= 1e-4
    assert [s[0] for s in warmed] == [8, 4]
