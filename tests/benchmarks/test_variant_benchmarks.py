"""pytest-benchmark benchmarks of the key variants: base, distilled (1 layer), INT8 (ORT dynamic).

Run by `make bench-ci` (pytest --benchmark-only, JSON in runs/bench-ci.json) and skipped by `make test`
(addopts has --benchmark-skip). Teams already gating on pytest-benchmark can use --benchmark-compare;
rankbench's own gate is `rankbench compare`. Each benchmark scores one fixed, pre-tokenized request
through a backend session (tokenizing is not timed) and records p50/p99 from the raw rounds in
extra_info, computed by bench.stats like every other latency figure.
"""
from __future__ import annotations

import copy

import pytest

CANDIDATES = 20      # pairs per request: small enough for a 2-core CI box
ROUNDS = {"tiny": 200, "real": 15}


def request_pairs(n: int = CANDIDATES) -> list[tuple[str, str]]:
    context = "user liked: Toy Story (1995) | Fargo (1996) | Star Wars (1977) | Heat (1995)"
    return [(context, f"candidate movie number {i} (199{i % 10}) | genres: comedy, drama") for i in range(n)]


def one_layer_copy(ranker):
    """A hand-made 'distilled' student: the teacher's embeddings, first layer and head (untrained)."""
    from rankbench.models.ranker import BertRanker

    model = copy.deepcopy(ranker.model)
    model.bert.encoder.layer = model.bert.encoder.layer[:1]
    model.config.num_hidden_layers = 1
    return BertRanker(model, ranker.tokenizer, ranker.max_length)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """name -> (artifact, backend) for the tiny random ranker and its variants."""
    from rankbench.compress.artifact import Artifact
    from rankbench.models.presets import load_ranker

    root = tmp_path_factory.mktemp("bench-artifacts")
    base_ranker = load_ranker("tiny-random", seed=0, max_length=64)
    base = Artifact.from_ranker(base_ranker, root / "base", name="base")
    distilled = Artifact.from_ranker(one_layer_copy(base_ranker), root / "distilled", name="distilled-1l")
    out = {"base-torch": (base, "torch"), "distilled-torch": (distilled, "torch"), "base-ort": (base, "onnxruntime")}
    try:
        from rankbench.compress.api import CompressContext, compress

        int8 = compress(base, {"method": "quantize-ort-dynamic"}, CompressContext(root / "variants"))
        out["int8-ort"] = (int8, "onnxruntime")
    except (ImportError, ValueError, RuntimeError) as err:  # compression not available: say so, skip that one
        out["int8-ort"] = (None, f"INT8 artifact could not be built: {err}")
    return out


def run_benchmark(benchmark, artifact, backend_name: str, rounds: int) -> None:
    from rankbench.bench.backends import BackendOptions, get_backend
    from rankbench.models.encoder import PairEncoder
    from rankbench.bench.stats import summarize

    backend = get_backend(backend_name)
    ok, why = backend.available()
    if ok:
        ok, why = backend.supports(artifact, BackendOptions(threads=2))
    if not ok:
        pytest.skip(f"{backend_name}: {why}")
    batch = PairEncoder.from_folder(artifact.path).encode(request_pairs())
    session = backend.prepare(artifact, BackendOptions(threads=2))
    try:
        def score():
            scores = session.run(batch)
            session.synchronize()
            return scores

        scores = benchmark.pedantic(score, rounds=rounds, warmup_rounds=3, iterations=1)
    finally:
        session.close()
    assert len(scores) == CANDIDATES
    summary = summarize([s * 1000 for s in benchmark.stats.stats.data], pairs_per_sample=CANDIDATES)
    benchmark.extra_info.update({k: summary[k] for k in ("n", "p50_ms", "p99_ms", "p99_reliable", "pairs_per_s")})
    benchmark.extra_info.update(variant=artifact.name, backend=backend_name, pairs=CANDIDATES)


@pytest.mark.parametrize("name", ["base-torch", "distilled-torch", "base-ort", "int8-ort"])
def test_tiny_variant(benchmark, artifacts, name):
    artifact, backend = artifacts[name]
    if artifact is None:
        pytest.skip(backend)
    run_benchmark(benchmark, artifact, backend, ROUNDS["tiny"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["base-torch", "distilled-torch"])
def test_real_model_variant(benchmark, tmp_path, name):
    """MiniLM-L6 (untrained head: latency does not depend on the weights' values)."""
    from rankbench.compress.artifact import Artifact
    from rankbench.models.presets import load_ranker

    ranker = load_ranker("minilm-l6-random", seed=0, max_length=64)
    if name.startswith("distilled"):
        ranker = one_layer_copy(ranker)
    artifact = Artifact.from_ranker(ranker, tmp_path / name, name=f"minilm-{name}")
    run_benchmark(benchmark, artifact, "torch", ROUNDS["real"])
