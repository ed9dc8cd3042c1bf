"""No dropout against make run's teacher on every test user, paired over the same 943 requests.

    .venv/bin/python results/reference/2026-11-30-teacher-data/paired_test.py   # from the repository root

Both score files are this repository's: make run's teacher on test from the PEFT sweep (the full
fine-tune, the same teacher) and the no-dropout teacher from this folder's test run.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, "scripts")
import quality_common as common  # noqa: E402

here = Path(__file__).parent
no_dropout = json.loads((here / "teacher_ablation-test943.json").read_text())[0]
sweep = here.parent / "2026-11-29-peft-sweep" / "test943_prefix_peft_sweep.json"
teacher = json.loads(sweep.read_text())[0]
assert teacher["name"] == "full fine-tune" and no_dropout["name"] == "no-dropout"
assert teacher["requests"] == no_dropout["requests"], "not the same requests"
for metric in ("ndcg@10", "hr@10"):
    a, b = no_dropout["per_request"][metric], teacher["per_request"][metric]
    print(f"{metric}: make run's teacher {common.fmt(*common.interval(b))}, no dropout "
          f"{common.fmt(*common.interval(a))}, difference {common.fmt(*common.interval(a, b))}")
