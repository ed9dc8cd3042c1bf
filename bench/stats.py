"""Every latency statistic, computed from raw samples in one place.

    summary = summarize(samples_ms, pairs_per_sample=100)
    # {"n", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "mean_ms", "std_ms",
    #  "p50_ci_ms", "p99_ci_ms", "p99_reliable", "pairs_per_s", "requests_per_s"}

A p99 claim needs at least 662 samples to hold with 99% confidence (the MLPerf rule): with fewer,
`p99_reliable` is False and reports say so.
"""
from __future__ import annotations

import numpy as np

MLPERF_P99_MIN_SAMPLES = 662
PERCENTILES = {"p50_ms": 50, "p90_ms": 90, "p95_ms": 95, "p99_ms": 99, "p999_ms": 99.9}


def percentile(samples, q: float) -> float:
    return float(np.percentile(np.asarray(samples, dtype=np.float64), q))


def bootstrap_ci(samples, q: float, n_boot: int = 1000, confidence: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the q-th percentile."""
    data = np.asarray(samples, dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.choice(data, size=(n_boot, len(data)), replace=True)
    stats = np.percentile(draws, q, axis=1)
    alpha = (1 - confidence) / 2
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))


def bootstrap_ratio_ci(base, new, q: float = 99, n_boot: int = 1000, confidence: float = 0.95,
                       seed: int = 0) -> tuple[float, float, float]:
    """(ratio, low, high): new/base of the q-th percentile with a bootstrap interval."""
    a = np.asarray(base, dtype=np.float64)
    b = np.asarray(new, dtype=np.float64)
    rng = np.random.default_rng(seed)
    pa = np.percentile(rng.choice(a, size=(n_boot, len(a))), q, axis=1)
    pb = np.percentile(rng.choice(b, size=(n_boot, len(b))), q, axis=1)
    ratios = pb / pa
    alpha = (1 - confidence) / 2
    return (float(np.percentile(b, q) / np.percentile(a, q)),
            float(np.quantile(ratios, alpha)), float(np.quantile(ratios, 1 - alpha)))


def summarize(samples_ms, pairs_per_sample: int = 1, requests_per_sample: int = 1) -> dict:
    data = np.asarray(samples_ms, dtype=np.float64)
    if data.size == 0:
        raise ValueError("no samples to summarize")
    out = {"n": int(data.size)}
    out.update({name: percentile(data, q) for name, q in PERCENTILES.items()})
    out["mean_ms"] = float(data.mean())
    out["std_ms"] = float(data.std(ddof=1)) if data.size > 1 else 0.0
    out["p50_ci_ms"] = list(bootstrap_ci(data, 50))
    out["p99_ci_ms"] = list(bootstrap_ci(data, 99))
    out["p99_reliable"] = bool(data.size >= MLPERF_P99_MIN_SAMPLES)
    mean_s = out["mean_ms"] / 1000.0
    out["pairs_per_s"] = pairs_per_sample / mean_s if mean_s > 0 else None
    out["requests_per_s"] = requests_per_sample / mean_s if mean_s > 0 else None
    return out
