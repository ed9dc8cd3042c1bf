"""Hand-made, schema-valid results files for the report, select and compare tests.

    results = sample_results(seed=0)          # 6 variants x 3 backends (+ an unavailable one), 3 scenarios
    results = many_variants_results()         # 20 variants x 2 backends, canonical ids with params
    results = hand_results(artifacts, cells)  # exact figures for Pareto / rejection tests
    c = cell("int8", "onnxruntime", p99=12.0) # a cell with given statistics (no samples needed)

Latency samples are drawn from a seeded RNG (lognormal around a median), so two seeds are two
independent runs of the same cells.
"""
from __future__ import annotations

import numpy as np

from rankbench.bench.stats import mean_ci, paired_ratio_ci, summarize

ENV = {"cpu": "AMD EPYC (test)", "cores": 2, "memory_gb": 24.0, "gpu": None, "gpu_driver": None,
       "python": "3.11.2", "platform": "Linux-test", "hostname": "ci", "threads": {"torch_intra_op": 2},
       "libraries": {"torch": "2.13.0", "onnxruntime": "1.32.0", "jax": "0.10.2", "tensorrt": None},
       "git_commit": "0123abc"}

# variant -> (ndcg@10, params, bytes, latency factor vs the teacher, recipe)
VARIANTS = {
    "teacher": (0.4100, 22_700_000, 90_900_000, 1.00, []),
    "distill-l3": (0.4070, 17_400_000, 69_600_000, 0.52, [{"method": "distill", "layers": 3}]),
    "prune-heads-30": (0.4085, 20_800_000, 83_200_000, 0.81, [{"method": "prune-heads", "fraction": 0.3}]),
    "int8-dynamic": (0.4098, 22_700_000, 23_100_000, 0.72, [{"method": "quantize", "mode": "dynamic-int8"}]),
    "distill-l3+int8": (0.4061, 17_400_000, 17_800_000, 0.40,
                        [{"method": "distill", "layers": 3}, {"method": "quantize", "mode": "dynamic-int8"}]),
    "lora-merged": (0.4102, 22_700_000, 90_900_000, 1.00, [{"method": "lora", "rank": 8, "merge": True}]),
}
BACKENDS = {"torch": 1.0, "onnxruntime": 0.85, "xla": 1.15}
BASE_P50_MS = 30.0
BATCH_SIZES = (1, 8, 32)
RATES_RPS = (5.0, 10.0, 20.0)
PAIRS_PER_REQUEST = 100


EVAL_REQUESTS = 60
# One shared per-request pattern (what the requests have in common): every variant's per-request
# NDCG@10 is it plus the variant's level, so retention intervals are paired as in a real run.
_PATTERN = np.clip(np.random.default_rng(7).normal(0.0, 0.25, EVAL_REQUESTS), -0.3, 0.5)
_PATTERN -= _PATTERN.mean()


def accuracy_block(ndcg: float, teacher_ndcg: float | None, fidelity: float = 0.97, noise_seed: int = 0) -> dict:
    """A schema-valid accuracy object with per-request values whose mean is `ndcg`."""
    jitter = np.random.default_rng(noise_seed).normal(0.0, 0.02, EVAL_REQUESTS) if noise_seed else 0.0
    per = np.clip(ndcg + _PATTERN + jitter, 0.0, 1.0)
    per += ndcg - per.mean()
    out = {"ndcg@10": float(per.mean()), "hr@10": min(1.0, ndcg * 1.8), "mrr": ndcg * 0.9, "auc": 0.85,
           "users": EVAL_REQUESTS, "ci": {"ndcg@10": mean_ci(per)}, "retention": None, "retention_ci": None,
           "fidelity": {"spearman": fidelity, "top10_overlap": fidelity - 0.1,
                        "ci": {"spearman": [fidelity - 0.01, min(1.0, fidelity + 0.01)]}},
           "per_request": {"ndcg@10": [float(v) for v in per], "spearman": [fidelity] * EVAL_REQUESTS},
           "scores_from": "this cell's own session"}
    if teacher_ndcg:
        teacher_per = np.clip(teacher_ndcg + _PATTERN, 0.0, 1.0)
        teacher_per += teacher_ndcg - teacher_per.mean()
        out["retention"], out["retention_ci"] = paired_ratio_ci(per, teacher_per)
    return out


def draw(rng: np.random.Generator, median_ms: float, n: int, sigma: float = 0.12) -> list[float]:
    return [round(float(x), 4) for x in median_ms * rng.lognormal(0.0, sigma, size=n)]


def artifact(name: str, ndcg: float | None, params: int | None = 1_000_000, bytes_on_disk: int | None = 4_000_000,
             recipe: list | None = None, **extra) -> dict:
    out = {"name": name, "format": "onnx" if "int8" in name else "hf-torch", "path": f"runs/x/artifacts/{name}",
           "hash": f"h-{name}", "recipe": recipe or [], "params": params, "bytes_on_disk": bytes_on_disk,
           "notes": [], "accuracy": None if ndcg is None else accuracy_block(ndcg, None, fidelity=1.0)}
    out.update(extra)
    return out


def cell(variant: str, backend: str, p99: float | None = None, p50: float | None = None,
         scenario: str = "single-stream", status: str = "ok", samples: list | None = None,
         pairs_per_s: float | None = None, **extra) -> dict:
    """A cell; its stats come from `samples` when given, else from the figures given."""
    out = {"id": f"{variant}/{backend}/{scenario}", "variant": variant, "backend": backend, "scenario": scenario,
           "backend_options": {},
           "status": status, "reason": None, "parity": {"passed": True, "max_abs_diff": 1e-6, "spearman": 1.0,
                                                         "top10_overlap": 1.0, "requests": 20}}
    if samples is not None:
        out["samples_ms"] = samples
        out["stats"] = summarize(samples, pairs_per_sample=PAIRS_PER_REQUEST)
    elif p99 is not None:
        p50 = p50 if p50 is not None else p99 / 2
        out["stats"] = {"n": 1000, "p50_ms": p50, "p99_ms": p99, "mean_ms": p50, "p99_reliable": True,
                        "pairs_per_s": pairs_per_s if pairs_per_s is not None else PAIRS_PER_REQUEST * 1000 / p50}
    else:
        out["stats"] = None
    out.update(extra)
    return out


def with_cell_accuracy(artifacts: dict, cells: list, teacher: str | None) -> None:
    """Give every ok cell without one an accuracy of its own: its artifact's level, paired with the
    teacher's (retention) as a run computes it; the teacher's artifact gets retention 1."""
    teacher_ndcg = ((artifacts.get(teacher) or {}).get("accuracy") or {}).get("ndcg@10") if teacher else None
    for name, art in artifacts.items():
        if art.get("accuracy") and teacher_ndcg:
            art["accuracy"] = accuracy_block(art["accuracy"]["ndcg@10"], teacher_ndcg,
                                             fidelity=1.0 if name == teacher else 0.97)
    for c in cells:
        if c["status"] == "ok" and "accuracy" not in c:
            art = artifacts.get(c["variant"]) or {}
            ndcg = (art.get("accuracy") or {}).get("ndcg@10")
            c["accuracy"] = None if ndcg is None else accuracy_block(
                ndcg, teacher_ndcg, fidelity=1.0 if c["variant"] == teacher else 0.97)
        c.setdefault("accuracy", None)


def run_section(name: str, teacher: str | None, constraints: dict | None, **extra) -> dict:
    return {"name": name, "created": "2026-01-01T00:00:00Z", "teacher": teacher, "constraints": constraints,
            "eval_users": EVAL_REQUESTS, "eval_requests": [f"u{i}:test#k" for i in range(EVAL_REQUESTS)],
            "confidence": 0.95, "threads": 2, "notes": [], **extra}


def hand_results(artifacts: dict, cells: list, teacher: str | None = "teacher", constraints: dict | None = None,
                 env: dict | None = None) -> dict:
    with_cell_accuracy(artifacts, cells, teacher)
    return {"schema_version": 2, "run": run_section("hand-made", teacher, constraints),
            "environment": dict(env or ENV), "artifacts": artifacts, "cells": cells}


def sample_results(seed: int = 0, n: int = 700, slowdown: dict | None = None, constraints: dict | None = None) -> dict:
    """A full run: every variant x backend in single-stream, offline and server; one parity failure,
    one failed cell, an unavailable backend. `slowdown` maps a cell id to a latency factor."""
    rng = np.random.default_rng(seed)
    slowdown = slowdown or {}
    artifacts = {name: artifact(name, ndcg, params, size, recipe, train_seconds=None if name == "int8-dynamic"
                                else 120.0 * factor, build_seconds=5.0 + 10 * factor,
                                flops_per_pair=2.9e9 * factor,
                                notes=["teacher: fine-tuned MiniLM-L6"] if name == "teacher" else [])
                 for name, (ndcg, params, size, factor, recipe) in VARIANTS.items()}
    cells = []
    for variant, (_, _, _, factor, _) in VARIANTS.items():
        for backend, backend_factor in BACKENDS.items():
            median = BASE_P50_MS * factor * backend_factor
            ss_id = f"{variant}/{backend}/single-stream"
            ss = cell(variant, backend, samples=draw(rng, median * slowdown.get(ss_id, 1.0), n),
                      device="cpu", seconds=n * median / 1000)
            if variant == "int8-dynamic" and backend == "xla":
                ss.update(status="invalid", reason="parity failed: top-10 overlap 0.62 < 0.9",
                          parity={"passed": False, "max_abs_diff": 0.41, "spearman": 0.71, "top10_overlap": 0.62,
                                  "thresholds": {"top10_overlap": 0.9, "spearman": 0.95}, "requests": 20})
            if variant == "distill-l3+int8" and backend == "xla":
                ss.update(status="failed", reason="RuntimeError: XLA compile ran out of memory", samples_ms=[],
                          stats=None)
            cells.append(ss)
            if ss["status"] != "ok":
                continue
            points = []
            for batch in BATCH_SIZES:
                samples = draw(rng, median * (0.4 + 0.6 * batch), 40)
                points.append({"batch_size": batch, "samples_ms": samples,
                               "stats": summarize(samples, pairs_per_sample=batch * PAIRS_PER_REQUEST)})
            cells.append(cell(variant, backend, scenario="offline", samples=points[-1]["samples_ms"],
                              points=points, scenario_params={"batch_sizes": list(BATCH_SIZES)}))
            if backend == "xla":
                continue  # server cells on two backends only, as a real run might
            points = []
            for rate in RATES_RPS:
                load = min(0.95, rate * median / 1000)
                samples = draw(rng, median / (1 - load) ** 0.5, 60, sigma=0.25)
                points.append({"rate_rps": rate, "samples_ms": samples, "achieved_rps": rate * 0.99,
                               "stats": summarize(samples, pairs_per_sample=PAIRS_PER_REQUEST)})
            cells.append(cell(variant, backend, scenario="server", points=points, sla_p99_ms=50.0,
                              max_rate_under_sla_rps=RATES_RPS[1]))
    for variant in VARIANTS:
        cells.append(cell(variant, "tensorrt", scenario="single-stream", status="unavailable", parity=None,
                          reason="backend unavailable: tensorrt needs an NVIDIA GPU (none found)"))
    with_cell_accuracy(artifacts, cells, "teacher")
    run = run_section("sample", "teacher", constraints, experiment={"name": "sample", "dataset": "ml-100k"},
                      notes=["synthetic results for tests"])
    return {"schema_version": 2, "run": run, "environment": dict(ENV), "artifacts": artifacts,
            "baselines": {"popularity": accuracy_block(0.234, VARIANTS["teacher"][0], fidelity=0.3)},
            "cells": cells}


def subset(results: dict, variants: set[str], scenarios: set[str] = frozenset({"single-stream"})) -> dict:
    """The same run cut down to some variants and scenarios (for tests that compare whole files)."""
    out = dict(results, artifacts={k: v for k, v in results["artifacts"].items() if k in variants})
    out["cells"] = [c for c in results["cells"] if c["variant"] in variants and c["scenario"] in scenarios]
    return out


# 20 variants as a compression run names them; (ndcg@10, latency factor vs the teacher). Several share
# an NDCG@10 or sit close together: what makes labels and lines collide.
MANY = {"teacher": (0.314, 1.00), "distill-l3": (0.316, 0.52), "distill-l3+int8": (0.317, 0.20),
        "distill-l2": (0.272, 0.36), "distill-l2+int8": (0.274, 0.16), "distill-l3+heads-25+int8": (0.299, 0.17),
        "ort-int8-dynamic": (0.307, 0.38), "ort-int8-static": (0.307, 0.70), "torch-int8-dynamic": (0.321, 0.55),
        "prune-heads-30": (0.314, 0.85), "prune-heads-50": (0.314, 0.78), "prune-ffn-50": (0.308, 0.75),
        "prune-layers-33": (0.098, 0.66), "prune-layers-33+recovery": (0.253, 0.62), "sparse-50": (0.256, 0.93),
        "lora": (0.223, 1.02), "prefix": (0.221, 1.10), "adapter": (0.216, 1.05),
        "distill-l4+prune-heads-25+int8-static": (0.305, 0.26), "teacher-fp16-export": (0.314, 0.95)}
SERVED = {"torch": 1.0, "onnxruntime": 0.85}
RUNS_ON = {"onnx": {"onnxruntime"}, "torch-int8": {"torch"}}  # artifact formats that one backend only loads


def many_variants_results(n: int = 20, seed: int = 0, samples: int = 200) -> dict:
    """A compression-sized run: `n` variants (of MANY) on PyTorch and ONNX Runtime, single-stream cells
    with canonical ids carrying their params, offline cells for all of them, server cells for three
    variants; ONNX-only artifacts are unavailable on PyTorch (said once, not measured)."""
    rng = np.random.default_rng(seed)
    names = list(MANY)[:n]
    artifacts = {name: artifact(name, MANY[name][0], 22_700_000, int(90_900_000 * MANY[name][1]) + 1)
                 for name in names}
    for name in names:
        if name.startswith("torch-int8"):
            artifacts[name]["format"] = "torch-int8"  # PyTorch's own INT8: runs on PyTorch, not exported
    cells = []
    for name in names:
        for backend, backend_factor in SERVED.items():
            fmt = artifacts[name]["format"]
            if backend not in RUNS_ON.get(fmt, SERVED):
                cells.append(cell(name, backend, status="unavailable", parity=None,
                                  reason=f"artifact format '{fmt}' does not run on {backend}",
                                  id=f"{name}/{backend}/single-stream[candidates=50]"))
                continue
            median = 300.0 * MANY[name][1] * backend_factor
            ss = cell(name, backend, samples=draw(rng, median, samples), scenario_params={"candidates": 50})
            cells.append(dict(ss, id=f"{name}/{backend}/single-stream[candidates=50]"))
            points = [{"batch_size": b, "samples_ms": (s := draw(rng, median * (0.4 + 0.6 * b) / 3, 20)),
                       "stats": summarize(s, pairs_per_sample=b * PAIRS_PER_REQUEST)} for b in BATCH_SIZES]
            cells.append(cell(name, backend, scenario="offline", samples=points[-1]["samples_ms"], points=points,
                              id=f"{name}/{backend}/offline[batch_sizes=1,8,32]"))
            if name in names[:3] and backend == "onnxruntime":
                points = [{"rate_rps": r, "samples_ms": (s := draw(rng, median * (1 + r / 40), 30)),
                           "achieved_rps": r, "stats": summarize(s, pairs_per_sample=PAIRS_PER_REQUEST)}
                          for r in RATES_RPS]
                cells.append(cell(name, backend, scenario="server", points=points, sla_p99_ms=500.0))
    with_cell_accuracy(artifacts, cells, "teacher")
    run = run_section("compression", "teacher", {"p99_ms": 500.0, "min_retention": 0.99},
                      experiment={"name": "compression", "dataset": "ml-100k"})
    return {"schema_version": 2, "run": run, "environment": dict(ENV), "artifacts": artifacts, "cells": cells}
