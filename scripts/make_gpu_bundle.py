"""Make the GPU bundle: the trained teacher (weights in fp16 safetensors, restored to fp32 on arrival),
its tokenizer and ranker.json, and the three MovieLens-100K files, at most 60 MiB, so that it can be
copied to a GPU machine whose transfer limit is 64 MiB and run there with scripts/gpu_check.sh.

    .venv/bin/python scripts/make_gpu_bundle.py                   # the default teacher -> runs/gpu-bundle/
    .venv/bin/python scripts/make_gpu_bundle.py --teacher DIR --data-dir DIR --out DIR
    .venv/bin/python scripts/make_gpu_bundle.py --train           # train the default teacher first if missing

The default teacher is the one `rankbench train` / `make run` trains (experiments/default.toml's
settings): its cached folder is found by the same key. Nothing is written unless the whole bundle fits.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import source_tree  # noqa: E402 - rankbench from this checkout, installed or not

source_tree.use()


def default_teacher(train: bool) -> Path:
    from rankbench.models.data import DataConfig
    from rankbench.models.teacher import REPORT_FILE, TeacherConfig, get_teacher, teacher_dir

    folder = teacher_dir(TeacherConfig(), DataConfig()) / "model"
    if (folder / REPORT_FILE).is_file():
        return folder
    if not train:
        raise SystemExit(f"no trained teacher at {folder}: run `rankbench train` (or this script with --train), "
                         "or pass --teacher DIR")
    return get_teacher(TeacherConfig(), DataConfig())[1]


def main() -> int:
    from rankbench.models.bundle import BUNDLE_LIMIT, BundleError, make_bundle
    from rankbench.models.data import DataConfig, load_data
    from rankbench.models.movielens import ensure_files

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", help="a trained ranker folder (default: the cached default teacher)")
    parser.add_argument("--data-dir", help="a folder with ml-100k.inter/.item/.user (default: the cache)")
    parser.add_argument("--out", default="runs/gpu-bundle")
    parser.add_argument("--train", action="store_true", help="train the default teacher when it is missing")
    parser.add_argument("--limit-mib", type=float, default=BUNDLE_LIMIT / 2**20)
    args = parser.parse_args()
    teacher = Path(args.teacher) if args.teacher else default_teacher(args.train)
    data_dir = Path(args.data_dir) if args.data_dir else ensure_files()
    probe = load_data(DataConfig(data_dir=str(data_dir))).valid[:2]  # the rounding's effect on real scores
    try:
        manifest = make_bundle(teacher, data_dir, args.out, int(args.limit_mib * 2**20),
                               pairs=[p for r in probe for p in r.pairs()])
    except BundleError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    facts = manifest["teacher"]
    print(f"wrote {args.out}: {manifest['total_bytes'] / 2**20:.1f} MiB of {args.limit_mib:g} MiB "
          f"({len(manifest['files'])} files); teacher from {teacher}, max weight rounding "
          f"{facts['max_abs_weight_rounding']:.2g}, max score change {facts['max_abs_score_change']:.2g} "
          f"on {sum(len(r.candidates) for r in probe)} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
