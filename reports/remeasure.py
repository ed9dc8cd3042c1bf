"""`rankbench compare BASE NEW --remeasure`: judge single-stream cells on fresh samples of both
runs' artifacts, timed alternately in this process (rankbench.bench.interleave).

The artifacts are read from the paths the two results files record; the requests from the base
run's data config (its experiment's [data] table), else MovieLens-100K's test split.
"""
from __future__ import annotations

from rankbench.reports.compare import compare_cell_accuracy
from rankbench.reports.gate import Comparison, Row, Thresholds, judge_latency


def _requests(base: dict, count: int = 20) -> list:
    from rankbench.common.typed import from_dict
    from rankbench.models.data import DataConfig, load_data

    raw = ((base.get("run") or {}).get("experiment") or {}).get("data") or {}
    config = from_dict(DataConfig, raw, "base run's [data]") if isinstance(raw, dict) else DataConfig()
    return load_data(config).test[:count]


def compare_interleaved(base: dict, new: dict, thresholds: Thresholds, only: str | None = None,
                        samples: int = 40) -> Comparison:
    from rankbench.bench.backends import BackendOptions
    from rankbench.bench.interleave import interleaved_samples
    from rankbench.compress.artifact import Artifact

    result = Comparison(warnings=["latency judged on samples timed now, alternately in one process "
                                  f"({samples} per side); accuracy from the results files"])
    new_cells = {c["id"]: c for c in new.get("cells", [])}
    chosen = [c for c in base.get("cells", []) if c["scenario"] == "single-stream" and c["status"] == "ok"
              and (only is None or only in c["id"]) and (new_cells.get(c["id"]) or {}).get("status") == "ok"]
    if not chosen:
        raise ValueError("no single-stream cell is ok in both runs" + (f" and matches {only!r}" if only else ""))
    requests = _requests(base)
    for old in chosen:
        cur = new_cells[old["id"]]
        artifacts = [Artifact.load(run["artifacts"][old["variant"]]["path"]) for run in (base, new)]
        options = BackendOptions.from_dict(old.get("backend_options") or {})
        candidates = int((old.get("scenario_params") or {}).get("candidates", 100))
        a, b = interleaved_samples(artifacts[0], artifacts[1], old["backend"], options, requests, candidates,
                                   samples)
        for what, q, limit in (("p50 ms", 50, thresholds.max_p50_regression),
                               ("p99 ms", 99, thresholds.max_p99_regression)):
            row = judge_latency(old["id"], what, a, b, q, limit, thresholds)
            result.rows.append(Row(**{**row.__dict__, "detail": "interleaved; " + row.detail}))
        result.rows += compare_cell_accuracy(old["id"], base, new, old, cur, thresholds)
    return result
