"""The rich one-epoch teacher against make run's teacher and ALS, paired over the same requests.

    .venv/bin/python results/reference/2026-11-30-teacher-budget/paired.py   # from the repository root

make run's teacher's per-request values come from this repository's earlier runs of the same
teacher (validation: ../2026-11-30-teacher-data/; test: the PEFT sweep's full fine-tune), so it
was not scored again here.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, "scripts")
import quality_common as common  # noqa: E402

here = Path(__file__).parent
reference = here.parent
teachers = {"valid": (reference / "2026-11-30-teacher-data" / "teacher_ablation-valid.json", "make-run-teacher"),
            "test": (reference / "2026-11-29-peft-sweep" / "test943_prefix_peft_sweep.json", "full fine-tune")}


def row(path: Path, name: str) -> dict:
    return next(r for r in json.loads(path.read_text()) if r["name"] == name)


for split, (path, name) in teachers.items():
    mine = here / f"teacher_ablation-{split}.json"
    rich, als, teacher = row(mine, "rich-96-one-epoch"), row(mine, "cf-als"), row(path, name)
    assert rich["requests"] == teacher["requests"] == als["requests"], f"{split}: not the same requests"
    print(f"{split}, {len(rich['requests'])} users:")
    for metric in ("ndcg@10", "hr@10"):
        a, b, c = (r["per_request"][metric] for r in (rich, teacher, als))
        print(f"  {metric}: make run's teacher {common.fmt(*common.interval(b))}, rich-96-one-epoch "
              f"{common.fmt(*common.interval(a))}, cf-als {common.fmt(*common.interval(c))}; "
              f"rich - teacher {common.fmt(*common.interval(a, b))}, rich - cf-als {common.fmt(*common.interval(a, c))}")
