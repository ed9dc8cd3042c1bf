"""Parity: does a (artifact, backend, options) cell compute what the artifact computes?

    reference = reference_scores(artifact, encoder, requests)       # PyTorch fp32 of the same artifact
    figures = check_parity(session, encoder, requests, reference, precision="fp16")
    figures["passed"]   # False -> the cell is recorded "invalid" with these figures, never measured

Figures: max abs difference of the logits, the mean over requests of the Spearman correlation of
the scores within each request, and the mean top-10 overlap. Thresholds depend on precision
(`THRESHOLDS`); for the reduced float types the max abs difference allowed also grows with the size of
the scores (`RELATIVE`): a bf16 score of 12 is only resolved to 0.06, whatever the backend. The
reference is PyTorch fp32 where the artifact has a torch loader; an artifact with none (an INT8 ONNX
file) is compared with ONNX Runtime on the CPU, its reference runtime.
"""
from __future__ import annotations

import numpy as np

from rankbench.models.metrics import request_agreement

# precision -> (max abs diff <=, mean spearman >=, mean top-10 overlap >=)
THRESHOLDS = {
    "fp32": {"max_abs_diff": 1e-3, "spearman": 0.999, "top10_overlap": 0.9},
    # TF32 products keep 10 mantissa bits, as fp16, with fp32's range and fp32 storage in between.
    "tf32": {"max_abs_diff": 1e-2, "spearman": 0.995, "top10_overlap": 0.8},
    "fp16": {"max_abs_diff": 5e-2, "spearman": 0.99, "top10_overlap": 0.8},
    "bf16": {"max_abs_diff": 1.5e-1, "spearman": 0.98, "top10_overlap": 0.7},
    "int8": {"max_abs_diff": 5e-1, "spearman": 0.95, "top10_overlap": 0.6},
}
# Reduced float types: the max abs difference allowed is at least this share of the largest
# reference score (8 units in the last place of the type's mantissa: 2^-8 x 8 for bf16, 2^-11 x 8
# for fp16 and tf32), so a model whose scores are large is not failed for the type's resolution.
RELATIVE = {"bf16": 2.0 ** -5, "fp16": 2.0 ** -8, "tf32": 2.0 ** -8}


def score_requests(run, encoder, requests, batch_size: int = 128, desc: str | None = None,
                   on_request=None) -> list[np.ndarray]:
    """Scores per request through a `run(batch) -> scores` function (a session's or the reference's);
    with `desc`, a progress bar (scoring hundreds of requests takes minutes on a CPU);
    `on_request(request, scores)` is called as each request is done (to keep them as they come)."""
    from tqdm.auto import tqdm

    out = []
    for request in tqdm(requests, desc=desc, unit="req", disable=desc is None, leave=False, dynamic_ncols=True):
        pairs = request.pairs()
        parts = [np.asarray(run(encoder.encode(pairs[i:i + batch_size])), dtype=np.float64).reshape(-1)
                 for i in range(0, len(pairs), batch_size)]
        out.append(np.concatenate(parts) if parts else np.zeros(0))
        if on_request is not None:
            on_request(request, out[-1])
    return out


def reference_scores(artifact, encoder, requests) -> tuple[list[np.ndarray], str]:
    """(scores per request, what computed them): PyTorch fp32 on the CPU, else ONNX Runtime CPU."""
    from pathlib import Path

    from rankbench.bench.backends import BackendOptions, get_backend, reference_backends
    from rankbench.compress.artifact import Artifact

    candidates = [artifact]
    if artifact.format not in ("hf", "onnx") and (Path(artifact.path) / "config.json").is_file():
        # a format that keeps the fp32 hf files it was made from: those are its reference
        candidates.append(Artifact(Path(artifact.path), artifact.name, "hf", {}))
    for candidate in candidates:
        for name in reference_backends():
            backend, options = get_backend(name), BackendOptions(device="cpu")
            if not (backend.available()[0] and backend.supports(candidate, options)[0]):
                continue
            session = backend.prepare(candidate, options)
            try:
                return score_requests(session.run, encoder, requests), f"{name} fp32 cpu"
            finally:
                session.close()
    raise RuntimeError(f"no reference runtime ({', '.join(reference_backends())}) can run artifact "
                       f"{artifact.name!r}")


def thresholds_for(precision: str, reference: list[np.ndarray]) -> dict:
    """THRESHOLDS[precision], its max abs difference widened to the scale of the reference scores
    for the reduced float types (RELATIVE)."""
    limits = dict(THRESHOLDS[precision])
    if precision in RELATIVE:
        scale = max((float(np.max(np.abs(r))) for r in reference if np.size(r)), default=0.0)
        limits["max_abs_diff"] = max(limits["max_abs_diff"], round(RELATIVE[precision] * scale, 6))
    return limits


def compare(scores: list[np.ndarray], reference: list[np.ndarray], precision: str = "fp32",
            thresholds: dict | None = None) -> dict:
    """Parity figures and the verdict, as the results schema's `parity` object."""
    limits = dict(thresholds or thresholds_for(precision, reference))
    if len(scores) != len(reference):
        raise ValueError(f"{len(scores)} score arrays for {len(reference)} reference arrays")
    finite = all(np.all(np.isfinite(np.asarray(s, np.float64))) for s in scores)
    pairs = [(np.asarray(g, np.float64), np.asarray(w, np.float64)) for g, w in zip(scores, reference)]
    pairs = [(g, w) for g, w in pairs if np.all(np.isfinite(g))]
    max_abs = max((float(np.max(np.abs(g - w))) for g, w in pairs if g.size), default=0.0)
    agreement = [request_agreement(g, w) for g, w in pairs if g.size]
    mean_rho = float(np.mean([a[0] for a in agreement])) if agreement else 1.0
    overlap = float(np.mean([a[1] for a in agreement])) if agreement else 1.0
    failures = []
    if not finite:
        failures.append("non-finite scores")
    if max_abs > limits["max_abs_diff"]:
        failures.append(f"max abs diff {max_abs:.3g} > {limits['max_abs_diff']:g}")
    if mean_rho < limits["spearman"]:
        failures.append(f"spearman {mean_rho:.4f} < {limits['spearman']:g}")
    if overlap < limits["top10_overlap"]:
        failures.append(f"top-10 overlap {overlap:.3f} < {limits['top10_overlap']:g}")
    return {"passed": not failures, "max_abs_diff": max_abs if finite else None, "spearman": mean_rho,
            "top10_overlap": overlap, "thresholds": limits, "requests": len(scores),
            "failures": failures, "precision": precision}


def check_parity(session, encoder, requests, reference: list[np.ndarray], precision: str = "fp32",
                 reference_name: str = "torch fp32 cpu") -> dict:
    from rankbench.bench.backends.base import run_in_chunks

    figures = compare(score_requests(lambda batch: run_in_chunks(session, batch), encoder, requests),
                      reference, precision)
    figures["reference"] = reference_name
    return figures


def failure_reason(figures: dict) -> str:
    return "parity failed: " + "; ".join(figures.get("failures") or ["below thresholds"])
