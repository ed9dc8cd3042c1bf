"""`compare --remeasure`: both runs' artifacts timed again, alternately in one process, and judged."""
from __future__ import annotations

import time

from rankbench.bench.backends import BACKENDS, Backend, BackendOptions, Session, register_backend
from rankbench.bench.interleave import interleaved_samples
from rankbench.reports.gate import Thresholds
from rankbench.reports.remeasure import compare_interleaved
from tests.bench.conftest import make_requests


class _Slow(Session):
    """The torch session, 20 ms slower per call when its artifact's folder is named "slow"."""

    def __init__(self, inner, slow: bool):
        self.inner, self.slow, self.device, self.info = inner, slow, "cpu", {}

    def run(self, batch):
        if self.slow:
            time.sleep(0.02)
        return self.inner.run(batch)

    def close(self):
        self.inner.close()


def _register():
    @register_backend("slowable-test")
    class Slowable(Backend):
        def supports(self, artifact, options):
            return True, ""

        def prepare(self, artifact, options):
            from rankbench.bench.backends.torch_backend import TorchBackend

            inner = TorchBackend().prepare(artifact, BackendOptions(device="cpu", threads=1))
            return _Slow(inner, artifact.path.name == "slow")


def test_alternating_samples_see_a_real_slowdown(tiny_artifact, tmp_path):
    import shutil

    from rankbench.compress.artifact import Artifact

    shutil.copytree(tiny_artifact.path, tmp_path / "slow")
    slow = Artifact.load(tmp_path / "slow")
    _register()
    try:
        a, b = interleaved_samples(tiny_artifact, slow, "slowable-test", BackendOptions(), make_requests(), 12, 12)
        differences = sorted(y - x for x, y in zip(a, b))
        assert len(a) == len(b) == 12 and differences[6] > 10.0  # each slow call sleeps 20 ms more
        base = _results(tiny_artifact, tmp_path)
        new = _results(slow, tmp_path)
        result = compare_interleaved(base, new, Thresholds(), samples=12)
        assert {(r.key, r.what) for r in result.regressions} >= {("tiny/slowable-test/single-stream", "p50 ms")}
        assert all("interleaved" in r.detail for r in result.rows if r.what.endswith("ms"))
        same = compare_interleaved(base, _results(tiny_artifact, tmp_path), Thresholds(), samples=12)
        assert not [r for r in same.regressions if r.what.endswith("ms")]
    finally:
        del BACKENDS["slowable-test"]


def _results(artifact, tmp_path) -> dict:
    cell = {"id": "tiny/slowable-test/single-stream", "variant": "tiny", "backend": "slowable-test",
            "backend_options": {}, "scenario": "single-stream", "scenario_params": {"candidates": 12},
            "status": "ok", "accuracy": None, "samples_ms": [1.0, 1.0, 1.0]}
    data = {"dataset": "synthetic", "synthetic_users": 20, "synthetic_items": 150, "n_candidates": 12}
    return {"run": {"experiment": {"data": data}, "eval_requests": None},
            "artifacts": {"tiny": {"path": str(artifact.path)}}, "cells": [cell]}
