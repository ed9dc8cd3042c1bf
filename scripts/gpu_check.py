"""The GPU check (run by scripts/gpu_check.sh): parity + single-stream + offline for torch on CUDA
(fp32, fp16, bf16, CUDA graphs) and xla on the GPU, on a randomly initialized MiniLM-L6-shaped
ranker, through the same runner as `rankbench bench`.

Made for a machine we do not control: whatever torch / jax / transformers it has, no network, no
trained weights and maybe no tokenizer. So the model is random (it times like the real one), the
tokenizer is a WordPiece vocabulary generated here, and the requests are synthetic with realistic
token lengths (pairs ~50-75 tokens, median ~62, per-request maximum ~75-85, as MovieLens-100K
requests with the MiniLM tokenizer).

    python scripts/gpu_check.py --part torch --out DIR     # torch cells (one process)
    python scripts/gpu_check.py --part xla --out DIR       # xla cells (a separate process: no CUDA
                                                           #  context shared between torch and JAX)
    python scripts/gpu_check.py --part all --out DIR       # gathers the finished cells -> DIR/results.json
    --cpu: run the same script on the CPU (to test the script itself on a machine without a GPU)
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import source_tree  # noqa: E402 - rankbench from this checkout, installed or not

source_tree.use()

N_VOCAB = 30522
SPECIAL = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_ranker_folder(folder: Path):
    """A random MiniLM-L6-shaped ranker with a generated vocabulary, saved as an "hf" artifact."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from rankbench.compress.artifact import Artifact
    from rankbench.models.ranker import RANKER_FILE

    if (folder / "artifact.json").is_file():
        return Artifact.load(folder)
    folder.mkdir(parents=True, exist_ok=True)
    words = [f"w{i}" for i in range(N_VOCAB - len(SPECIAL))]
    (folder / "vocab.txt").write_text("\n".join(SPECIAL + words) + "\n")
    config = BertConfig(vocab_size=N_VOCAB, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                        intermediate_size=1536, max_position_embeddings=512, num_labels=1)
    torch.manual_seed(0)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)  # model_type bert + vocab.txt: a WordPiece tokenizer
    tokenizer.save_pretrained(folder)
    (folder / RANKER_FILE).write_text(json.dumps({"max_length": 128}))
    params = sum(p.numel() for p in model.parameters())
    return Artifact(folder, "minilm-l6-random", "hf", {"params": params, "recipe": []}).save()


def make_data(n_requests: int, n_candidates: int):
    from rankbench.models.requests import Candidate, RankingData, Request

    rng = random.Random(0)
    vocab = N_VOCAB - len(SPECIAL)

    def title(low=3, high=8):
        return " ".join(f"w{rng.randrange(vocab)}" for _ in range(rng.randint(low, high)))

    requests = []
    for r in range(n_requests):
        context = "w1 : " + " ; ".join(title() for _ in range(7))
        cands = tuple(Candidate(f"i{r}-{c}", f"{title(3, 10)} ( w{rng.randrange(99)} ) | w{rng.randrange(5)}",
                                int(c == 0))
                      for c in range(n_candidates))
        requests.append(Request(f"u{r}:test", context, cands))
    counts = {c.id: rng.randrange(50) for r in requests for c in r.candidates}
    return RankingData("synthetic-gpu-check", [], [], requests, counts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["torch", "xla", "all"], default="all")
    parser.add_argument("--out", required=True)
    parser.add_argument("--cpu", action="store_true", help="test the script without a GPU")
    args = parser.parse_args()
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # leave GPU memory to torch too

    from rankbench.bench import results as results_module
    from rankbench.bench.runner import run_benchmark
    from rankbench.bench.timing import TimingConfig

    try:
        import jsonschema  # noqa: F401
        notes = []
    except ImportError:  # a foreign machine may lack it: write unvalidated, validate back home
        results_module.validate = lambda results, source="results": None
        notes = ["written without schema validation (jsonschema missing on this machine); "
                 "check with bench.results.read_results"]

    out = Path(args.out)
    artifact = make_ranker_folder(out / "artifact")
    dev = "cpu" if args.cpu else "cuda"
    torch_specs = [("torch", {"device": dev})]
    if not args.cpu:
        torch_specs += [("torch", {"device": dev, "precision": "fp16"}),
                        ("torch", {"device": dev, "precision": "bf16"}),
                        ("torch", {"device": dev, "cuda_graphs": True}),
                        ("torch", {"device": dev, "precision": "fp16", "cuda_graphs": True})]
    xla_specs = [("xla", {"device": "cpu" if args.cpu else "gpu"})]
    if not args.cpu:
        xla_specs.append(("xla", {"device": "gpu", "precision": "bf16"}))
    specs = {"torch": torch_specs, "xla": xla_specs, "all": torch_specs + xla_specs}[args.part]
    batch_sizes = [1, 8, 32] if args.cpu else [1, 8, 32, 128, 512]
    scenarios = [("single-stream", {"candidates": 100}),
                 ("offline", {"batch_sizes": batch_sizes, "min_samples": 5, "min_seconds": 0.3})]
    timing = (TimingConfig(min_samples=3, min_seconds=0.2, max_seconds=10) if args.cpu
              else TimingConfig(min_samples=200, min_seconds=2.0, max_seconds=15))
    start = time.time()
    results = run_benchmark({artifact.name: artifact}, out, specs, scenarios,
                            data=make_data(24, 100), users=2 if args.cpu else 8, teacher=artifact.name,
                            timing=timing, latency_requests=16, parity_requests=2 if args.cpu else 8,
                            run_name="gpu-check", only_cached=args.part == "all",
                            experiment={"script": "scripts/gpu_check.py", "part": args.part, "cpu": args.cpu},
                            notes=notes + ["random MiniLM-L6-shaped model, generated vocabulary, synthetic "
                                           "requests: latency only, accuracy figures are meaningless"])
    print(f"part {args.part}: {len(results['cells'])} cells in {time.time() - start:.0f} s")
    if args.part == "all":
        print(f"{'cell':<58} {'status':<11} {'p50 ms':>9} {'p99 ms':>9} {'pairs/s':>10}  device")
        for cell in results["cells"]:
            s = cell.get("stats") or {}
            print(f"{cell['id']:<58} {cell['status']:<11} {s.get('p50_ms', float('nan')):>9.2f} "
                  f"{s.get('p99_ms', float('nan')):>9.2f} {s.get('pairs_per_s') or float('nan'):>10.0f}  "
                  f"{cell.get('device')}  {cell.get('reason') or ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
