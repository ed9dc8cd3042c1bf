"""What scripts/gpu_check.py measures, and the accuracy of each cell.

    specs = part_specs("torch", cpu=False)       # [(variant names, backend, options)] of one part
    metrics = cell_accuracy(artifact, "xla", {"precision": "bf16"}, requests, encoder)
    write_summary(results, accuracy, out)         # summary.md: the table for a README

Per-cell accuracy is computed here, through the cell's own backend session, on every evaluation
request (all 943 MovieLens test users on a GPU): the harness records accuracy per variant (on its
reference backend) only, so what fp16, bf16, TF32 or INT8 arithmetic costs in NDCG@10 is measured here.
"""
from __future__ import annotations

import json
from pathlib import Path

TEACHER, DISTILLED, INT8, FP16 = "teacher", "distilled", "teacher+int8-qdq", "teacher+fp16-onnx"
HF = (TEACHER, DISTILLED)


def part_specs(part: str, cpu: bool) -> list[tuple[tuple[str, ...], str, dict]]:
    """(variants, backend, options) of a part, most telling first (a part cut short by its time limit
    keeps the cells it finished). Torch: fp32 / fp16 / bf16 each on dynamic shapes (SDPA), padded
    without graphs and with CUDA graphs (the same attention and padding), and tf32; xla: fp32 at
    Precision.HIGHEST, tf32 (DEFAULT) and bf16; onnx: ONNX Runtime (CUDA provider where installed)
    and TensorRT in fp16 and INT8 (Q/DQ)."""
    dev = "cpu" if cpu else "cuda"
    if part == "torch":
        one, specs = (TEACHER,), [(HF, "torch", {"device": dev})]
        for precision in ("fp16", "tf32", "bf16", "fp32"):  # fp16 first: the graphs comparison that matters most
            base = {"device": dev} if precision == "fp32" else {"device": dev, "precision": precision}
            if precision != "fp32":
                specs.append((one, "torch", base))
            if precision != "tf32":
                specs.append((one, "torch", {**base, "fixed_shapes": True}))
                specs.append((HF if precision == "fp16" else one, "torch", {**base, "cuda_graphs": True}))
        return specs
    if part == "xla":
        dev = "cpu" if cpu else "gpu"
        return [(HF, "xla", {"device": dev}), ((TEACHER,), "xla", {"device": dev, "precision": "bf16"}),
                ((TEACHER,), "xla", {"device": dev, "precision": "tf32"})]
    if part == "onnx":
        # Without the CUDA provider, ONNX Runtime runs the INT8 graph on the CPU with default options:
        # the very computation of the variant's accuracy, which is then reused, not repeated.
        cuda = not cpu and _ort_cuda()
        ort = [((INT8, FP16, TEACHER), "onnxruntime", {"provider": "cuda"}) if cuda else ((INT8,), "onnxruntime", {})]
        return ort + [((TEACHER, DISTILLED, FP16), "tensorrt", {"precision": "fp16"}),
                      ((INT8,), "tensorrt", {"precision": "int8"}), ((TEACHER,), "tensorrt", {})]
    raise ValueError(f"unknown part {part!r}")


def _ort_cuda() -> bool:
    try:
        import onnxruntime
    except ImportError:
        return False
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def gpu_extras_present() -> bool:
    """Whether anything here can run an FP16 ONNX graph on a GPU (TensorRT or ONNX Runtime CUDA)."""
    try:
        import tensorrt  # noqa: F401
        return True
    except ImportError:
        return _ort_cuda()


class CachedEncoder:
    """An encoder that tokenizes each list of pairs once: every cell of a variant scores the same
    943 x 100 pairs, and tokenizing them takes longer than a GPU takes to score them."""

    def __init__(self, encoder):
        self.encoder, self.max_length, self.cache = encoder, encoder.max_length, {}

    def encode(self, pairs, pad_to=None):
        key = (tuple(pairs), pad_to)
        if key not in self.cache:
            self.cache[key] = self.encoder.encode(pairs, pad_to)
        return self.cache[key]


def cell_accuracy(artifact, backend_name: str, options: dict, requests, encoder) -> dict:
    """Ranking accuracy of the variant as this backend and these options compute it."""
    import time

    from rankbench.bench.backends import BackendOptions, get_backend
    from rankbench.bench.backends.base import run_in_chunks
    from rankbench.bench.parity import score_requests
    from rankbench.models.metrics import evaluate

    start = time.perf_counter()
    session = get_backend(backend_name).prepare(artifact, BackendOptions.from_dict(options))
    try:
        scores = score_requests(lambda batch: run_in_chunks(session, batch), encoder, requests)
        session.synchronize()
    finally:
        session.close()
    metrics = evaluate(scores, requests)
    return {**{k: round(float(v), 5) for k, v in metrics.items() if isinstance(v, (int, float))},
            "users": len(requests), "seconds": round(time.perf_counter() - start, 2)}


def accuracy_file(folder: Path, variant: str, backend: str, options: dict) -> Path:
    from rankbench.bench.backends import BackendOptions

    label = BackendOptions.from_dict(options).label() or "default"
    return Path(folder) / f"{variant}__{backend}__{label}.json".replace("/", "_")


def _fmt(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def write_summary(results: dict, accuracy_dir: Path, out: Path) -> list[dict]:
    """summary.md (a Markdown table: one row per cell, accuracy from the cell's own backend) and the
    rows as a list (also written to accuracy_per_cell.json)."""
    teacher = ((results["artifacts"].get(TEACHER) or {}).get("accuracy") or {}).get("ndcg@10")
    rows, lines = [], ["| cell | status | device | p50 ms | p99 ms | pairs/s | NDCG@10 | retention | note |",
                       "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for cell in results["cells"]:
        found = accuracy_file(accuracy_dir, cell["variant"], cell["backend"], cell["backend_options"])
        acc = json.loads(found.read_text()) if found.is_file() else {}
        stats = cell.get("stats") or {}
        ndcg = acc.get("ndcg@10")
        retention = ndcg / teacher if ndcg is not None and teacher else None
        info = cell.get("backend_info") or {}
        note = cell.get("reason") or info.get("arithmetic") or info.get("attention_mask") or ""
        rows.append({"id": cell["id"], "status": cell["status"], "accuracy": acc or None, "retention": retention})
        lines.append(f"| {cell['id']} | {cell['status']} | {cell.get('device') or '-'} | {_fmt(stats.get('p50_ms'))} | "
                     f"{_fmt(stats.get('p99_ms'))} | {_fmt(stats.get('pairs_per_s'), 0)} | {_fmt(ndcg, 4)} | "
                     f"{_fmt(retention, 3)} | {str(note)[:120]} |")
    users = {r["accuracy"]["users"] for r in rows if r["accuracy"]}
    head = (f"Accuracy per cell on {', '.join(map(str, sorted(users))) or 'no'} test users, scored by the cell's "
            f"own backend; retention = NDCG@10 / the teacher's ({_fmt(teacher, 4)}, torch fp32).\n\n")
    (Path(out) / "summary.md").write_text(head + "\n".join(lines) + "\n")
    (Path(out) / "accuracy_per_cell.json").write_text(json.dumps(rows, indent=1))
    return rows
