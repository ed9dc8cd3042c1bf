"""Score the sweep's already-trained artifacts on every test user, without rebuilding them.

    XDG_CACHE_HOME=<the sweep's cache> .venv/bin/python results/reference/2026-11-29-peft-sweep/score_trained.py \\
        <sweep out folder> lora-all-norms,adapter-64-norms

Run from the repository root. The artifact paths come from this folder's part3/part4 JSON. Kept
because the source changed after part 3 was built, which changes build keys, so `peft_sweep.py
--split test` would train the configs again (same seed and settings) before scoring them. It uses
the sweep's own evaluation cache and table code."""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, "scripts")
import peft_sweep  # noqa: E402
import quality_common as common  # noqa: E402
from rankbench.compress.artifact import Artifact  # noqa: E402

here = Path(__file__).resolve().parent
out, names = Path(sys.argv[1]), sys.argv[2].split(",")
started = time.perf_counter()
trained = {row["name"]: row for part in ("part3", "part4")
           for row in json.loads((here / f"{part}_peft_sweep.json").read_text())}
data, teacher, report, ctx = peft_sweep.setup("experiments/default.toml", out)
requests = data.test
rows = [peft_sweep.teacher_row(teacher, report, requests, out, "test")]
for name in names:
    artifact = Artifact.load(trained[name]["path"])
    per = common.cached_eval(out, f"peft-{artifact.hash}-test", requests,
                             lambda: artifact.torch_ranker().score(requests, progress=True))
    rows.append({**trained[name], "per_request": per, "requests": [r.id for r in requests]})
headers, lines = peft_sweep.table(rows)
text = (f"PEFT on {len(requests)} test users (95% bootstrap intervals over users; retention paired "
        f"with the full fine-tune on the same users). {common.provenance(started)}\n\n"
        + common.markdown(headers, lines))
common.write_table(out, "test943_norms_peft_sweep", text, rows)
