"""MLPerf LoadGen (the `mlcommons-loadgen` package, module mlperf_loadgen) as the load generator.

    settings = LoadgenSettings("server", target_qps=8.0, latency_ms=1000, min_duration_ms=5000)
    figures = run_loadgen(issue, total=len(queries), settings=settings)
    # issue(samples): samples are (query id, sample index); call complete(query_id) when each is done,
    # from any thread. `figures` is LoadGen's own verdict, parsed from mlperf_log_detail.txt:
    # validity (VALID/INVALID and why), percentiles, scheduled vs completed QPS, early stopping.

LoadGen is one test at a time per process (a lock here makes sure). Its log files go to a temporary
folder unless `outdir` is given. The figures are what results.json keeps per server point and per
single-stream / offline cell under "loadgen" (see `figures_from_log` for the fields).
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

SCENARIOS = {"single-stream": "SingleStream", "offline": "Offline", "server": "Server"}
_LOCK = threading.Lock()  # LoadGen keeps global state: one test at a time in a process


def loadgen_available() -> tuple[bool, str]:
    try:
        import mlperf_loadgen  # noqa: F401
    except ImportError as err:
        return False, f"MLPerf LoadGen is not installed (pip install mlcommons-loadgen): {err}"
    return True, ""


@dataclass(frozen=True)
class LoadgenSettings:
    scenario: str  # single-stream | offline | server
    target_qps: float | None = None  # server: the Poisson rate; offline: the expected rate
    latency_ms: float | None = None  # server: the target latency at `percentile` (the SLA)
    percentile: float = 0.99
    min_duration_ms: int = 5000
    max_duration_ms: int = 0  # 0: none
    min_query_count: int = 1
    max_query_count: int = 0  # 0: none
    expected_latency_ms: float | None = None  # single-stream: sizes the schedule
    seed: int = 0

    def __post_init__(self):
        if self.scenario not in SCENARIOS:
            raise ValueError(f"LoadGen scenario must be one of {sorted(SCENARIOS)}, got {self.scenario!r}")
        if self.scenario == "server" and not (self.target_qps and self.latency_ms):
            raise ValueError("a LoadGen server run needs target_qps and latency_ms")
        if not 0 < self.percentile < 1 or self.min_duration_ms < 0 or self.min_query_count < 1:
            raise ValueError("need 0 < percentile < 1, min_duration_ms >= 0, min_query_count >= 1")

    def test_settings(self):
        import mlperf_loadgen as lg

        s = lg.TestSettings()
        s.scenario = getattr(lg.TestScenario, SCENARIOS[self.scenario])
        s.mode = lg.TestMode.PerformanceOnly
        s.min_duration_ms, s.max_duration_ms = int(self.min_duration_ms), int(self.max_duration_ms)
        s.min_query_count, s.max_query_count = int(self.min_query_count), int(self.max_query_count)
        s.qsl_rng_seed = s.sample_index_rng_seed = s.schedule_rng_seed = int(self.seed)
        if self.scenario == "server":
            s.server_target_qps = float(self.target_qps)
            s.server_target_latency_ns = int(self.latency_ms * 1e6)
            s.server_target_latency_percentile = float(self.percentile)
        elif self.scenario == "offline":
            s.offline_expected_qps = float(self.target_qps or 1.0)
        else:
            s.single_stream_expected_latency_ns = int((self.expected_latency_ms or 1.0) * 1e6)
            s.single_stream_target_latency_percentile = float(self.percentile)
        return s


def complete(query_id: int) -> None:
    """Tell LoadGen one query is done (no response payload: performance mode)."""
    import mlperf_loadgen as lg

    lg.QuerySamplesComplete([lg.QuerySampleResponse(query_id, 0, 0)])


def run_loadgen(issue: Callable[[list[tuple[int, int]]], None], total: int, settings: LoadgenSettings,
                flush: Callable[[], None] | None = None, outdir: str | Path | None = None) -> dict:
    """One LoadGen test against `issue`; returns its parsed figures. Blocks until LoadGen ends (all
    issued queries completed)."""
    import mlperf_loadgen as lg

    if total < 1:
        raise ValueError("LoadGen needs at least one sample")
    folder = Path(outdir) if outdir else Path(tempfile.mkdtemp(prefix="rankbench-loadgen-"))
    folder.mkdir(parents=True, exist_ok=True)
    log = lg.LogSettings()
    log.log_output.outdir = str(folder)
    log.log_output.copy_summary_to_stdout = False
    with _LOCK:
        sut = lg.ConstructSUT(lambda samples: issue([(s.id, s.index) for s in samples]), flush or (lambda: None))
        qsl = lg.ConstructQSL(total, total, lambda _indices: None, lambda _indices: None)
        try:
            lg.StartTestWithLogSettings(sut, qsl, settings.test_settings(), log)
        finally:
            lg.DestroyQSL(qsl)
            lg.DestroySUT(sut)
    try:
        figures = figures_from_log(read_detail(folder / "mlperf_log_detail.txt"), settings)
        if outdir:  # the logs stay: say where, with the human summary's own verdict
            figures["summary"] = read_summary(folder / "mlperf_log_summary.txt")
            figures["log_dir"] = str(folder)
        return figures
    finally:
        if not outdir:
            shutil.rmtree(folder, ignore_errors=True)


def read_detail(path: str | Path) -> dict:
    """key -> value of every `:::MLLOG {json}` line of mlperf_log_detail.txt (the last one wins)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no LoadGen log at {path}")
    out = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(":::MLLOG "):
            try:
                entry = json.loads(line[len(":::MLLOG "):])
            except json.JSONDecodeError:
                continue
            out[entry.get("key")] = entry.get("value")
    return out


def read_summary(path: str | Path) -> dict:
    """The "name : value" lines of mlperf_log_summary.txt (numbers as numbers), e.g. "Result is",
    "Completed samples per second", "99.00 percentile latency (ns)"."""
    out = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or name.startswith((" *", "*")):
            continue
        value = value.strip()
        try:
            out[name.strip()] = float(value) if "." in value or "e" in value.lower() else int(value)
        except ValueError:
            out[name.strip()] = value
    return out


_PERCENTILE_KEY = re.compile(r"^result_(\d+\.\d+)_percentile_latency_ns$")


def _ms(value) -> float | None:
    return round(float(value) / 1e6, 6) if isinstance(value, (int, float)) else None


def early_stopping(detail: dict) -> dict:
    """LoadGen's early-stopping verdict: met, queries processed, more needed, percentile estimates."""
    text = " ".join(str(detail.get("early_stopping_result") or "").split())
    processed = re.search(r"Processed (?:at least \d+ queries \()?(\d+)", text)
    more = re.search(r"at least (\d+) more queries", text)
    estimates = {f"p{float(q):g}": round(int(ns) / 1e6, 6)
                 for q, ns in re.findall(r"Early stopping (\d+(?:\.\d+)?)th percentile estimate: (\d+)", text)}
    return {"met": detail.get("early_stopping_met"), "processed": int(processed.group(1)) if processed else None,
            "more_needed": int(more.group(1)) if more else None, "estimates_ms": estimates, "text": text}


def _reasons(detail: dict) -> list[str]:
    checks = {"result_min_duration_met": "min duration not met", "result_min_queries_met": "min queries not met",
              "result_perf_constraints_met": "latency constraint not met",
              "early_stopping_met": "early stopping not met (too few queries for the percentile)"}
    reasons = [why for key, why in checks.items() if detail.get(key) is False]
    extra = str(detail.get("result_invalid_reason") or "").strip()
    return reasons + ([f"LoadGen: {extra}"] if extra else [])


def figures_from_log(detail: dict, settings: LoadgenSettings) -> dict:
    """The "loadgen" object of results.json (all latencies in ms)."""
    latency = {"min": _ms(detail.get("result_min_latency_ns")), "mean": _ms(detail.get("result_mean_latency_ns")),
               "max": _ms(detail.get("result_max_latency_ns"))}
    for key, value in detail.items():
        match = _PERCENTILE_KEY.match(str(key))
        if match:
            latency[f"p{float(match.group(1)):g}"] = _ms(value)
    completed = detail.get("result_completed_samples_per_sec", detail.get(
        "result_samples_per_second", detail.get("result_qps_with_loadgen_overhead")))
    validity = detail.get("result_validity")
    return {"scenario": settings.scenario, "validity": validity,
            "invalid_reasons": _reasons(detail) if validity != "VALID" else [],
            "target_qps": settings.target_qps, "scheduled_qps": detail.get("result_scheduled_samples_per_sec"),
            "completed_qps": completed, "query_count": detail.get("result_query_count"),
            "overlatency_query_count": detail.get("result_overlatency_query_count"),
            "latency_ms": {k: v for k, v in latency.items() if v is not None},
            "early_stopping": early_stopping(detail),
            "min_duration_met": detail.get("result_min_duration_met"),
            "min_queries_met": detail.get("result_min_queries_met"),
            "perf_constraints_met": detail.get("result_perf_constraints_met"),
            "settings": asdict(settings), "version": detail.get("loadgen_version")}
