"""Parity thresholds per precision: tf32 has its own; the reduced float types allow a max abs
difference that grows with the size of the scores (their resolution is relative), fp32 does not."""
from __future__ import annotations

import numpy as np

from rankbench.bench.backends.options import PRECISIONS
from rankbench.bench.parity import THRESHOLDS, compare, thresholds_for


def test_every_precision_has_thresholds():
    assert set(PRECISIONS) == set(THRESHOLDS)
    assert THRESHOLDS["fp32"]["max_abs_diff"] < THRESHOLDS["tf32"]["max_abs_diff"] <= THRESHOLDS["fp16"]["max_abs_diff"]


def test_bf16_limit_follows_the_scale_of_the_scores():
    small, large = [np.array([0.1, -0.2])], [np.array([12.0, -3.0]), np.array([1.0])]
    assert thresholds_for("bf16", small)["max_abs_diff"] == THRESHOLDS["bf16"]["max_abs_diff"]
    assert thresholds_for("bf16", large)["max_abs_diff"] == 12.0 * 2 ** -5  # 8 bf16 ulps at 12
    assert thresholds_for("fp32", large) == THRESHOLDS["fp32"]
    ref = [np.array([12.0, 9.0, 3.0, -1.0])]
    off = [ref[0] + np.array([0.3, -0.3, 0.3, 0.0])]  # within bf16's resolution at 12, not at 0.1
    assert compare(off, ref, "bf16")["passed"] and not compare(off, ref, "fp16")["passed"]
