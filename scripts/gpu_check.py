"""The GPU check (run by scripts/gpu_check.sh) with the trained ranker: from a bundle (the teacher in
fp16 safetensors + the MovieLens files, rankbench.models.bundle), it restores the teacher in fp32,
rebuilds the data, builds a distilled student and INT8 / FP16 ONNX graphs from the teacher, and measures
parity, latency, throughput and accuracy per cell (on every test user) for torch, xla, ONNX Runtime and
TensorRT, through the same runner as `rankbench bench`.

    python scripts/gpu_check.py --part prepare --bundle B --out W   # restore + variants -> W/variants.json
    python scripts/gpu_check.py --part torch --out W                # torch cells (one process)
    python scripts/gpu_check.py --part xla --out W                  # xla cells (no CUDA context shared with torch)
    python scripts/gpu_check.py --part onnx --out W                 # ONNX Runtime and TensorRT cells
    python scripts/gpu_check.py --part all --out W                  # gathers: results.json, summary.md
    --cpu: the same on the CPU with tiny settings (a handful of users), to test the script itself

Made for a machine we do not control: whatever torch / jax / transformers it has, no network, maybe
no jsonschema. Each part keeps its finished cells, so one stopped by its time limit loses only the rest.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import source_tree  # noqa: E402 - rankbench from this checkout, installed or not

source_tree.use()

from gpu_check_cells import (DISTILLED, FP16, INT8, TEACHER, CachedEncoder, accuracy_file,  # noqa: E402
                             cell_accuracy, gpu_extras_present, part_specs, write_summary)

# Tiny on the CPU (the test of this script), the real thing on a GPU.
SETTINGS = {True: {"users": 4, "distill_steps": 2, "calibration": ("minmax", 4), "latency_requests": 3,
                   "parity_requests": 2, "batch_sizes": [1, 8]},
            False: {"users": None, "distill_steps": 200, "calibration": ("entropy", 16), "latency_requests": 16,
                    "parity_requests": 8, "batch_sizes": [1, 8, 32, 128, 512]}}


def prepare(bundle: Path, work: Path, cpu: bool) -> dict:
    """Restore the teacher, load the data and build the variants; write work/variants.json."""
    from rankbench.compress.api import CompressContext, compress, model_meta
    from rankbench.compress.artifact import Artifact, content_hash
    from rankbench.models.bundle import check_bundle, restore_bundle
    from rankbench.models.ranker import BertRanker

    manifest = check_bundle(bundle)
    folder, data_dir = restore_bundle(bundle, work)
    if not (folder / "artifact.json").is_file():
        rounding = manifest["teacher"]["max_abs_weight_rounding"]
        meta = {**model_meta(BertRanker.load(folder).model), "recipe": [], "content_hash": content_hash(folder),
                "notes": [f"restored to fp32 from the fp16 bundle (largest weight rounding {rounding:.2g})"]}
        Artifact(folder, TEACHER, "hf", meta).save()
    teacher = Artifact.load(folder)
    data = load_data(work, data_dir)
    settings = SETTINGS[cpu]
    ctx = CompressContext(out_dir=work / "variants", data=data, teacher=teacher, seed=0, progress=not cpu)
    method, count = settings["calibration"]
    layers = max(1, json.loads((folder / "config.json").read_text())["num_hidden_layers"] // 2)  # MiniLM-L6: 3
    steps = {DISTILLED: {"method": "distill", "layers": layers, "max_steps": settings["distill_steps"]},
             INT8: {"method": "quantize-tensorrt-int8", "calibration_requests": count, "calibration": method}}
    if gpu_extras_present():  # an FP16 graph only where TensorRT or ONNX Runtime CUDA can run it
        steps[FP16] = {"method": "onnx-fp16"}
    variants, failed = {TEACHER: str(teacher.path)}, {}
    for name, step in steps.items():  # variants.json after each: a part stopped by its limit keeps them
        (work / "variants.json").write_text(json.dumps(variants, indent=1))
        start = time.time()
        try:
            variants[name] = str(compress(teacher, step, ctx).path)
            print(f"built {name} in {time.time() - start:.0f} s", flush=True)
        except Exception as err:  # noqa: BLE001 - e.g. a package this machine lacks: the rest goes on
            failed[name] = f"{type(err).__name__}: {str(err)[:300]}"
            print(f"could not build {name}: {failed[name]}", flush=True)
    (work / "variants.json").write_text(json.dumps(variants, indent=1))
    (work / "variants_failed.json").write_text(json.dumps(failed, indent=1))
    return variants


def load_data(work: Path, data_dir: Path | None = None):
    """The MovieLens requests the teacher was trained on (its data settings, the bundle's files)."""
    from rankbench.models.data import DataConfig, load_data as load

    data_dir = data_dir or Path(json.loads((work / "data.json").read_text())["data_dir"])
    report = work / "teacher-fp32" / "train_report.json"
    settings = json.loads(report.read_text()).get("data", {}) if report.is_file() else {}
    settings = {k: v for k, v in settings.items() if k in DataConfig.__dataclass_fields__}
    (work / "data.json").write_text(json.dumps({"data_dir": str(data_dir)}))
    return load(DataConfig(**{**settings, "dataset": "movielens-100k", "data_dir": str(data_dir)}))


def benchmark(work: Path, variants: dict, specs, data, cpu: bool, only_cached: bool = False) -> dict:
    from rankbench.bench.runner import run_benchmark
    from rankbench.bench.timing import TimingConfig

    settings = SETTINGS[cpu]
    scenarios = [("single-stream", {"candidates": 100}),
                 ("offline", {"batch_sizes": settings["batch_sizes"], "min_samples": 5, "min_seconds": 0.3})]
    timing = (TimingConfig(min_samples=3, min_seconds=0.0, max_seconds=5, warmup_max=3) if cpu
              else TimingConfig(min_samples=100, min_seconds=1.0, max_seconds=10))
    backends = [{"name": b, **o, "variants": list(v)} for v, b, o in specs]
    return run_benchmark(variants, work / "run", backends, scenarios, data=data, users=settings["users"],
                         teacher=TEACHER, timing=timing, latency_requests=settings["latency_requests"],
                         parity_requests=settings["parity_requests"], run_name="gpu-check",
                         only_cached=only_cached, progress=not cpu, notes=_notes(work),
                         experiment={"script": "scripts/gpu_check.py", "cpu": cpu})


def _notes(work: Path) -> list[str]:
    notes = ["the trained teacher restored from its fp16 bundle; accuracy per cell: summary.md "
             "(scored by each cell's own backend)"]
    failed = work / "variants_failed.json"
    for name, why in (json.loads(failed.read_text()) if failed.is_file() else {}).items():
        notes.append(f"variant {name} could not be built here: {why}")
    try:
        import jsonschema  # noqa: F401
    except ImportError:  # a foreign machine may lack it: written unvalidated, validated back home
        from rankbench.bench import results as results_module

        results_module.validate = lambda results, source="results": None
        notes.append("written without schema validation (jsonschema missing); check with bench.results.read_results")
    return notes


def measure_part(part: str, work: Path, cpu: bool) -> None:
    """Each spec in turn: its cells, then the accuracy of each of its cells that ran."""
    from rankbench.compress.artifact import Artifact
    from rankbench.models.encoder import PairEncoder

    variants = {k: Artifact.load(v) for k, v in json.loads((work / "variants.json").read_text()).items()}
    data = load_data(work)
    requests = data.test[:SETTINGS[cpu]["users"]] if SETTINGS[cpu]["users"] else data.test
    encoders = {}
    for names, backend, options in part_specs(part, cpu):
        present = {n: variants[n] for n in names if n in variants}
        if not present:
            continue
        # The teacher is always a variant of the run (the reference of retention); cells are only `present`'s.
        results = benchmark(work, {TEACHER: variants[TEACHER], **present}, [(tuple(present), backend, options)],
                            data, cpu)
        for name in sorted({c["variant"] for c in results["cells"] if c["status"] in ("ok", "invalid")}):
            out = accuracy_file(work / "cell-accuracy", name, backend, options)
            if out.is_file():
                continue
            known = results["artifacts"][name].get("accuracy") or {}
            if not options and known.get("backend") == backend:  # what the variant's accuracy was scored with
                metrics = {k: v for k, v in known.items() if k not in ("backend", "retention")}
                metrics.update(users=len(requests), seconds=0)
            else:
                encoder = encoders.setdefault(name, CachedEncoder(PairEncoder.from_folder(variants[name].path)))
                metrics = cell_accuracy(variants[name], backend, options, requests, encoder)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({"variant": name, "backend": backend, "options": options, **metrics}))
            print(f"accuracy {name} {backend} {options}: NDCG@10 {metrics['ndcg@10']:.4f} "
                  f"({metrics['users']} users, {metrics['seconds']:.0f} s)", flush=True)


def gather(work: Path, cpu: bool) -> None:
    from rankbench.compress.artifact import Artifact

    variants = {k: Artifact.load(v) for k, v in json.loads((work / "variants.json").read_text()).items()}
    specs = [s for part in ("torch", "xla", "onnx") for s in part_specs(part, cpu)]
    specs = [(tuple(n for n in names if n in variants), b, o) for names, b, o in specs]
    results = benchmark(work, variants, [s for s in specs if s[0]], load_data(work), cpu, only_cached=True)
    rows = write_summary(results, work / "cell-accuracy", work)
    print((work / "summary.md").read_text())
    print(f"{len(results['cells'])} cells, {sum(r['accuracy'] is not None for r in rows)} with accuracy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["prepare", "torch", "xla", "onnx", "all"], required=True)
    parser.add_argument("--out", required=True, help="the work folder every part shares")
    parser.add_argument("--bundle", help="the bundle folder (part prepare)")
    parser.add_argument("--cpu", action="store_true", help="run on the CPU with tiny settings")
    args = parser.parse_args()
    work = Path(args.out)
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # leave GPU memory to torch too
    # Cells and their accuracy prepare separate sessions: XLA compiles each shape once, from disk after.
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(work / "jax-cache"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    work.mkdir(parents=True, exist_ok=True)
    start = time.time()
    if args.part == "prepare":
        if not args.bundle:
            parser.error("--part prepare needs --bundle")
        prepare(Path(args.bundle), work, args.cpu)
    elif args.part == "all":
        gather(work, args.cpu)
    else:
        measure_part(args.part, work, args.cpu)
    print(f"part {args.part}: {time.time() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
