"""A backend or scenario table with `variants = [...]` measures only those variants."""
from rankbench.bench.runner import run_benchmark
from rankbench.bench.timing import TimingConfig
from rankbench.compress.artifact import Artifact

FAST = TimingConfig(min_samples=2, min_seconds=0, warmup_min=1, warmup_max=2)


def test_variant_filters_limit_cells(tmp_path, tiny_ranker, tiny_data):
    a = Artifact.from_ranker(tiny_ranker, tmp_path / "a", name="a")
    b = Artifact.from_ranker(tiny_ranker, tmp_path / "b", name="b")
    results = run_benchmark(
        {"a": a, "b": b}, tmp_path / "out",
        backends=[{"name": "torch", "threads": 1}, {"name": "onnxruntime", "threads": 1, "variants": ["b"]}],
        scenarios=["single-stream", {"name": "offline", "batch_sizes": [2], "variants": ["a"]}],
        data=tiny_data, users=2, timing=FAST, latency_requests=2, parity_requests=2, progress=False)
    ids = sorted(c["id"] for c in results["cells"])
    assert ids == ["a/torch:threads=1/offline[batch_sizes=2]", "a/torch:threads=1/single-stream",
                   "b/onnxruntime:threads=1/single-stream", "b/torch:threads=1/single-stream"]
