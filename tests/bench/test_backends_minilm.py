"""(slow) The CPU backends agree with PyTorch fp32 on the real MiniLM-L6 within the fp32 thresholds."""
from __future__ import annotations

import pytest


@pytest.mark.slow
def test_cpu_backends_match_torch_on_minilm(tmp_path):
    from rankbench.bench.backends import BackendOptions, get_backend
    from rankbench.models.encoder import PairEncoder
    from rankbench.bench.parity import check_parity, reference_scores
    from rankbench.compress.artifact import Artifact
    from rankbench.models.data import DataConfig, load_data
    from rankbench.models.presets import load_ranker

    artifact = Artifact.from_ranker(load_ranker("minilm-l6"), tmp_path / "minilm", name="minilm")
    requests = load_data(DataConfig()).test[:2]
    encoder = PairEncoder.from_folder(artifact.path)
    reference, name = reference_scores(artifact, encoder, requests)
    for backend in ("onnxruntime", "xla"):
        with get_backend(backend).prepare(artifact, BackendOptions()) as session:
            figures = check_parity(session, encoder, requests, reference, "fp32", name)
        assert figures["passed"], (backend, figures)
