"""Side by side, in one process: the fine-tuned MiniLM-L6 teacher on torch fp32, ONNX Runtime fp32,
OpenVINO f32, OpenVINO bf16 and OpenVINO INT8 (NNCF, the `quantize-openvino-int8` method as
experiments/default.toml builds it), with the INT8 model's other ops in f32 and in bf16; with
--chain also distill-l3 + OpenVINO INT8. Single-stream latency of 100-candidate requests including
tokenization, the configurations interleaved sample by sample (so a change of machine load hits all
alike), and NDCG@10 on the first test users; speed-ups and retention are ratios to torch fp32 in the
same run.

    python scripts/openvino_side_by_side.py --out results/openvino-side-by-side [--chain]
        [--rounds 40] [--users 100] [--threads N] [--gap-ms 30]
        [--artifacts runs/default/artifacts]     # reuse the variants `make run` built
        [--teacher DIR]                          # another ranker folder (default: default.toml's teacher)

Writes <out>/side_by_side.json (every sample, the command, date, load average before and after,
the CPU's ISA flags, library versions) and prints a table. The first call fine-tunes the teacher
(~5 min, cached in ~/.cache/rankbench) and builds the INT8 variants (cached under <out>/artifacts).
Run it on a quiet machine: its figures are only as good as the load was low.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import source_tree  # noqa: E402 - rankbench from this checkout, installed or not

source_tree.use()

ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")
OV_INT8 = {"method": "quantize-openvino-int8"}  # as experiments/default.toml's ov-int8
CHAIN = [{"method": "distill", "layers": 3, "max_steps": 300}, OV_INT8]  # as its distill-l3+ov-int8


def cpu_isa() -> dict:
    """The CPU's model name and which of the ISA extensions that matter here it has (Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {"model": platform.processor(), "flags": None}
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "")
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    return {"model": model, "flags": [f for f in ISA_FLAGS if f in flags]}


def lineup(teacher, data, work: Path, threads: int | None, chain: list | None) -> list[tuple]:
    """(label, backend name, BackendOptions, artifact) of every configuration measured."""
    from rankbench.bench.backends import BackendOptions
    from rankbench.compress.api import CompressContext
    from rankbench.compress.recipe import build_recipe

    ctx = CompressContext(out_dir=work, data=data, teacher=teacher, progress=True)
    int8 = build_recipe(teacher, [OV_INT8], ctx)
    f32, bf16 = BackendOptions(threads=threads), BackendOptions(threads=threads, precision="bf16")
    rows = [("torch fp32", "torch", f32, teacher), ("onnxruntime fp32", "onnxruntime", f32, teacher),
            ("openvino f32", "openvino", f32, teacher), ("openvino bf16", "openvino", bf16, teacher),
            ("openvino int8 (rest f32)", "openvino", f32, int8), ("openvino int8 (rest bf16)", "openvino", bf16, int8)]
    if chain:
        student = build_recipe(teacher, chain, ctx)
        rows += [("distill-l3 + openvino int8 (rest f32)", "openvino", f32, student),
                 ("distill-l3 + openvino int8 (rest bf16)", "openvino", bf16, student)]
    return rows


def open_sessions(rows: list[tuple]) -> list[tuple]:
    """(label, session, encoder) per configuration; one the machine cannot run is left out, said why."""
    from rankbench.bench.backends import get_backend
    from rankbench.models.encoder import PairEncoder

    sessions = []
    for label, name, options, artifact in rows:
        backend = get_backend(name)
        ok, why = backend.available()
        ok, why = backend.supports(artifact, options) if ok else (ok, why)
        if not ok:
            print(f"{label}: skipped ({why})")
            continue
        sessions.append((label, backend.prepare(artifact, options), PairEncoder.from_folder(artifact.path)))
    return sessions


def one_request(session, encoder, request) -> float:
    """Milliseconds to tokenize, score and rank one request (as the single-stream scenario counts)."""
    start = time.perf_counter()
    scores = session.run(encoder.encode(request.pairs()))
    session.synchronize()
    np.argsort(-scores, kind="stable")
    return (time.perf_counter() - start) * 1e3


def interleaved_latency(sessions, requests, rounds: int, gap_s: float, warmup: int = 3) -> dict[str, list]:
    """Samples per configuration, taking turns each round. The pause lets the last runtime's
    spinning worker threads go idle before the next one starts (they would steal its cores)."""
    for _, session, encoder in sessions:
        for request in requests[:warmup]:
            one_request(session, encoder, request)
    samples: dict[str, list] = {label: [] for label, _, _ in sessions}
    for index in range(rounds):
        request = requests[index % len(requests)]
        for label, session, encoder in sessions:
            time.sleep(gap_s)
            samples[label].append(one_request(session, encoder, request))
    return samples


def accuracy(sessions, requests) -> dict[str, dict]:
    from rankbench.bench.parity import score_requests
    from rankbench.models.metrics import evaluate

    return {label: evaluate(score_requests(session.run, encoder, requests, desc=f"NDCG of {label}"), requests)
            for label, session, encoder in sessions}


def summarize(samples: dict, metrics: dict, reference: str = "torch fp32") -> list[dict]:
    base_p50 = float(np.median(samples[reference])) if reference in samples else None
    base_ndcg = metrics.get(reference, {}).get("ndcg@10")
    rows = []
    for label, values in samples.items():
        p50 = float(np.median(values))
        ndcg = metrics[label]["ndcg@10"]
        rows.append({"config": label, "p50_ms": round(p50, 2), "p90_ms": round(float(np.percentile(values, 90)), 2),
                     "samples_ms": [round(v, 3) for v in values], "ndcg@10": round(ndcg, 4),
                     "speedup": round(base_p50 / p50, 2) if base_p50 else None,
                     "retention": round(ndcg / base_ndcg, 4) if base_ndcg else None})
    return rows


def goals(rows: list[dict]) -> dict[str, list[str]]:
    """The issue's goals (ratios to torch fp32 in this run) -> the configurations that meet them."""
    met = {"openvino int8 of the teacher: >= 5x at retention >= 0.99": [],
           "distilled + openvino int8: >= 10x at retention >= 0.99": []}
    for row in rows:
        fast = {5: (row["speedup"] or 0) >= 5, 10: (row["speedup"] or 0) >= 10}
        if (row["retention"] or 0) < 0.99:
            continue
        if row["config"].startswith("openvino int8") and fast[5]:
            met["openvino int8 of the teacher: >= 5x at retention >= 0.99"].append(row["config"])
        if row["config"].startswith("distill") and fast[10]:
            met["distilled + openvino int8: >= 10x at retention >= 0.99"].append(row["config"])
    return met


def environment(threads: int | None) -> dict:
    from importlib import metadata

    versions = {}
    for name in ("torch", "onnxruntime", "openvino", "nncf", "transformers", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpu": cpu_isa(), "cores": os.cpu_count(), "threads": threads or "library default",
            "python": platform.python_version(), "versions": versions}


def side_by_side(teacher, data, out: Path, rounds: int = 40, users: int = 100, latency_requests: int = 20,
                 threads: int | None = None, chain: list | None = None, gap_s: float = 0.03,
                 artifacts: Path | None = None) -> dict:
    """Build, open, measure, score; writes <out>/side_by_side.json and returns what it wrote."""
    from rankbench.common.files import atomic_write_json

    load_before = os.getloadavg()
    sessions = open_sessions(lineup(teacher, data, artifacts or out / "artifacts", threads, chain))
    try:
        samples = interleaved_latency(sessions, data.test[:latency_requests], rounds, gap_s)
        metrics = accuracy(sessions, data.test[:users])
    finally:
        for _, session, _ in sessions:
            session.close()
    result = {"command": " ".join(sys.argv), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "load_average_before": load_before, "load_average_after": os.getloadavg(),
              "environment": environment(threads), "rounds": rounds, "users": min(users, len(data.test)),
              "candidates_per_request": len(data.test[0].candidates), "rows": summarize(samples, metrics)}
    result["goals_met_by"] = goals(result["rows"])
    atomic_write_json(out / "side_by_side.json", result)
    return result


def print_table(result: dict) -> None:
    env = result["environment"]
    print(f"{env['cpu']['model']}, {env['cores']} cores, ISA: {', '.join(env['cpu']['flags'] or ['?'])}; "
          f"load average before {result['load_average_before'][0]:.2f}, after {result['load_average_after'][0]:.2f}")
    print(f"{'configuration':<42} {'p50 ms':>9} {'p90 ms':>9} {'speed-up':>9} {'NDCG@10':>8} {'retention':>9}")
    for row in result["rows"]:
        print(f"{row['config']:<42} {row['p50_ms']:>9.1f} {row['p90_ms']:>9.1f} {row['speedup'] or float('nan'):>8.2f}x "
              f"{row['ndcg@10']:>8.4f} {row['retention'] or float('nan'):>9.4f}")
    for goal, configs in result["goals_met_by"].items():
        print(f"goal {goal}: {'met by ' + ', '.join(configs) if configs else 'not met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for side_by_side.json and the built variants")
    parser.add_argument("--rounds", type=int, default=40, help="latency samples per configuration")
    parser.add_argument("--users", type=int, default=100, help="test users scored for NDCG@10")
    parser.add_argument("--threads", type=int, default=None, help="threads of every runtime (default: theirs)")
    parser.add_argument("--gap-ms", type=float, default=30.0, help="pause before each sample")
    parser.add_argument("--chain", action="store_true", help="also distill-l3 + OpenVINO INT8 (trains ~5 min once)")
    parser.add_argument("--artifacts", default=None, help="where variants are built / found (default <out>/artifacts)")
    parser.add_argument("--teacher", default=None, help="a ranker folder (default: experiments/default.toml's teacher)")
    args = parser.parse_args()

    from rankbench.compress.artifact import Artifact
    from rankbench.experiment.run import teacher_artifact
    from rankbench.models.data import DataConfig, load_data
    from rankbench.models.teacher import TeacherConfig, get_teacher

    data_config, teacher_config = DataConfig(), TeacherConfig()
    data = load_data(data_config)
    if args.teacher:
        teacher = Artifact.load(args.teacher)
    else:
        ranker, folder, report = get_teacher(teacher_config, data_config, data)
        teacher = teacher_artifact(ranker, folder, report, teacher_config.base)
    result = side_by_side(teacher, data, Path(args.out), args.rounds, args.users, threads=args.threads,
                          chain=CHAIN if args.chain else None, gap_s=args.gap_ms / 1e3,
                          artifacts=Path(args.artifacts) if args.artifacts else None)
    print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
