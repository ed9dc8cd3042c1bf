"""XLA precision labels: fp32 puts Precision.HIGHEST on every matrix product (true fp32 on GPUs, 6 bf16
passes on TPUs), tf32 leaves JAX's DEFAULT (the fast path), bf16 runs bf16 products; what each cell
computes in is recorded in its session info. Run here on JAX's CPU platform, the same code as on a TPU."""
from __future__ import annotations

import re

import numpy as np
import pytest

from rankbench.bench.backends import BackendOptions, get_backend
from rankbench.bench.parity import check_parity, reference_scores
from rankbench.models.encoder import PairEncoder


def lowered_dots(session, rows: int = 2, seq: int = 8) -> list[str]:
    """The precision config of every dot_general in the program the session runs."""
    ids = np.zeros((rows, seq), np.int32)
    text = session._fn.lower(session.params, ids, np.ones_like(ids), ids).as_text()
    found = []
    for line in text.splitlines():
        if "stablehlo.dot_general" in line:
            match = re.search(r"precision = \[(\w+), \w+\]", line)
            found.append(match.group(1) if match else "none")
    return found


@pytest.mark.parametrize("precision, expected", [("fp32", "HIGHEST"), ("tf32", "DEFAULT"), ("bf16", "DEFAULT")])
def test_every_product_takes_the_labelled_precision(tiny_artifact, precision, expected):
    with get_backend("xla").prepare(tiny_artifact, BackendOptions(precision=precision)) as session:
        dots = lowered_dots(session)
        info = session.info
    # 2 layers x (q, k, v, QK^T, PV, attention out, FFN in, FFN out) + pooler + classifier
    assert len(dots) == 2 * 8 + 2 and set(dots) == {expected}, dots
    assert info["matmul_precision"] == expected.lower() and info["platform"] == "cpu" and info["device_kind"]
    if precision == "tf32":
        assert "tf32 equals fp32 here" in info["arithmetic"]  # XLA:CPU has no TF32: said, not hidden


def test_fp32_parity_holds_on_xla_cpu(tiny_artifact, requests_):
    encoder = PairEncoder.from_folder(tiny_artifact.path)
    reference, name = reference_scores(tiny_artifact, encoder, requests_)
    with get_backend("xla").prepare(tiny_artifact, BackendOptions()) as session:
        figures = check_parity(session, encoder, requests_, reference, "fp32", name)
    assert figures["passed"] and figures["max_abs_diff"] <= 1e-4, figures


def test_tf32_is_refused_on_a_tpu_and_bf16_cells_get_bf16_thresholds(tiny_artifact, monkeypatch):
    import jax

    backend = get_backend("xla")
    monkeypatch.setattr(jax, "default_backend", lambda: "tpu")  # as with jax[tpu] installed
    ok, why = backend.supports(tiny_artifact, BackendOptions(precision="tf32"))
    assert not ok and "one bf16 pass" in why
    assert backend.supports(tiny_artifact, BackendOptions(precision="bf16")) == (True, "")
    assert backend.precision(tiny_artifact, BackendOptions(precision="bf16")) == "bf16"
    assert not backend.supports(tiny_artifact, BackendOptions(precision="fp16"))[0]
