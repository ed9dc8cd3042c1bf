"""Prefix tuning on every test user against the baselines, paired over the same 943 requests.

    .venv/bin/python results/reference/2026-11-29-peft-sweep/prefix_vs_baselines.py   # from the repository root
"""
import sys, json
sys.path.insert(0, "scripts")
import quality_common as c
from rankbench.models.data import DataConfig, load_data
from rankbench.models.baselines import baseline_scores
from rankbench.models.metrics import per_request
d = load_data(DataConfig(item_details=True, demographics=True))
reqs = d.test[:943]
rows = json.load(open("results/reference/2026-11-29-peft-sweep/test943_prefix_peft_sweep.json"))
assert rows[1]["requests"] == [r.id for r in reqs]
pre = rows[1]["per_request"]["ndcg@10"]
for name, (scores, _n) in baseline_scores(d, reqs).items():
    pop = per_request(scores, reqs)["ndcg@10"].tolist()
    print(name, c.fmt(*c.interval(pop)), "prefix - it:", c.fmt(*c.interval(pre, pop)))
