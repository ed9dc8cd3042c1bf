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


# --- accuracy over requests: paired bootstrap ----------------------------------------------------
# Requests are the unit of resampling: every statistic below draws the same request indices for
# both sides of a pair (a variant and its teacher, or a base and a new run), so what the requests
# have in common cancels and the interval is that of the difference or ratio itself.
BOOTSTRAP_DRAWS = 2000


def _draws(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _interval(values: np.ndarray, confidence: float) -> list[float]:
    alpha = (1 - confidence) / 2
    return [float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))]


def mean_ci(values, confidence: float = 0.95, n_boot: int = BOOTSTRAP_DRAWS, seed: int = 0) -> list[float]:
    """Percentile-bootstrap interval of the mean over requests."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("no values")
    return _interval(data[_draws(data.size, n_boot, seed)].mean(axis=1), confidence)


def paired_ratio_ci(numerator, denominator, confidence: float = 0.95, n_boot: int = BOOTSTRAP_DRAWS,
                    seed: int = 0) -> tuple[float, list[float]]:
    """(mean(numerator) / mean(denominator), its paired bootstrap interval): e.g. NDCG@10 retention
    of a variant against the teacher on the same requests."""
    num, den = np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    if num.shape != den.shape or num.size == 0:
        raise ValueError(f"paired values of shapes {num.shape} and {den.shape}")
    if den.mean() == 0:
        return float("nan"), [float("nan"), float("nan")]
    idx = _draws(num.size, n_boot, seed)
    means = den[idx].mean(axis=1)
    ratios = num[idx].mean(axis=1) / np.where(means == 0, np.nan, means)
    return float(num.mean() / den.mean()), _interval(ratios[np.isfinite(ratios)], confidence)


def paired_diff_ci(new, base, confidence: float = 0.95, n_boot: int = BOOTSTRAP_DRAWS,
                   seed: int = 0) -> tuple[float, list[float]]:
    """(mean(new - base), its paired bootstrap interval) over the same requests."""
    diff = np.asarray(new, np.float64) - np.asarray(base, np.float64)
    if diff.size == 0:
        raise ValueError("no paired values")
    return float(diff.mean()), _interval(diff[_draws(diff.size, n_boot, seed)].mean(axis=1), confidence)


def quantile_upper_bound(samples, q: float, confidence: float = 0.99) -> float | None:
    """A distribution-free upper confidence bound of the q-th percentile: the smallest order
    statistic that lies above the true percentile with at least `confidence` (binomial). None when
    there are too few samples: for p99 at 99% confidence that takes 459 samples, and the MLPerf rule
    of 662 gives a bound a little below the maximum."""
    from scipy.stats import binom

    data = np.sort(np.asarray(samples, dtype=np.float64))
    rank = int(binom.ppf(confidence, data.size, q / 100.0)) + 1  # 1-based order statistic
    return float(data[rank - 1]) if rank <= data.size else None
