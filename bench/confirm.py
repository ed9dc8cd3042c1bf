"""The confirmation stage: the chosen cell and the runner-up measured again with enough samples for
their p99 to hold at 99% confidence (MLPerf: at least 662 samples), so the deployed choice carries
a p99 with an interval rather than an estimate from 20 samples.

    confirmations = confirm_cells(cells, variants, requests, out_dir / "cells", sla_p99_ms=1000)

Each confirmation is cached next to the cells (`<key>.confirm.json`): a rerun reuses it.
"""
from __future__ import annotations

from pathlib import Path

from rankbench.bench.backends import BackendOptions, get_backend
from rankbench.bench.scenarios import ScenarioContext, run_scenario
from rankbench.bench.stats import MLPERF_P99_MIN_SAMPLES, quantile_upper_bound, summarize
from rankbench.bench.timing import TimingConfig
from rankbench.common.files import atomic_write_json, read_json_or_none
from rankbench.models.encoder import PairEncoder

CONFIRM_CONFIDENCE = 0.99


def confirmation_timing(samples: int = MLPERF_P99_MIN_SAMPLES) -> TimingConfig:
    return TimingConfig(min_samples=samples, max_samples=samples, min_seconds=0.0, max_seconds=3600.0,
                        warmup_max=10)


def confirm_cells(cells: list[tuple[str, dict]], variants: dict, requests: list, cache: Path,
                  sla_p99_ms: float | None = None, samples: int = MLPERF_P99_MIN_SAMPLES, log=None) -> list[dict]:
    """[(role, cell)] -> one confirmation each: samples, stats, the p99's upper bound at 99% confidence,
    and whether the SLA holds at that confidence. A cell that cannot be measured again says why."""
    out = []
    for role, cell in cells:
        path = Path(cache) / f"{cell['key']}.confirm.json"
        cached = read_json_or_none(path)
        if cached and cached.get("samples_requested") == samples:
            out.append({**cached, "role": role})
            continue
        if log:
            log(f"confirming {role} {cell['id']} with {samples} samples ...")
        entry = _measure(cell, variants[cell["variant"]], requests, samples, sla_p99_ms)
        entry["samples_requested"] = samples
        if entry["status"] == "ok":
            atomic_write_json(path, entry)
        out.append({**entry, "role": role})
    return out


def _measure(cell: dict, artifact, requests: list, samples: int, sla_p99_ms: float | None) -> dict:
    entry = {"cell_id": cell["id"], "samples_ms": [], "stats": None, "p99_upper_99": None, "p99_holds": None,
             "status": "ok", "reason": None}
    try:
        options = BackendOptions.from_dict(cell.get("backend_options") or {})
        with get_backend(cell["backend"]).prepare(artifact, options) as session:
            ctx = ScenarioContext(session, PairEncoder.from_folder(artifact.path), requests,
                                  confirmation_timing(samples))
            measured = run_scenario(cell["scenario"], ctx, cell.get("scenario_params") or {})
    except Exception as err:  # noqa: BLE001 - the decision stands; its confirmation says why it is missing
        return {**entry, "status": "failed", "reason": f"{type(err).__name__}: {err}"}
    entry["samples_ms"] = measured["samples_ms"]
    entry["stats"] = summarize(measured["samples_ms"], int((cell.get("scenario_params") or {}).get("candidates", 1)))
    entry["p99_upper_99"] = quantile_upper_bound(measured["samples_ms"], 99, CONFIRM_CONFIDENCE)
    if sla_p99_ms is not None and entry["p99_upper_99"] is not None:
        entry["p99_holds"] = entry["p99_upper_99"] <= sla_p99_ms
    return entry
