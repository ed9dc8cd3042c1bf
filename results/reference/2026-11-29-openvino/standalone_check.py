"""The teacher alone in a fresh process: torch, ORT or OV, one (100, L) batch of random ids (model
time only, no tokenization), p50 of 15 runs after 3 warm-ups. Run by standalone_check.sh."""
import sys, time
import numpy as np
which, folder, L = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = 100
rng = np.random.default_rng(0)
ids = rng.integers(1000, 20000, size=(n, L)).astype(np.int64); ids[:, 0] = 101
feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
if which == "torch":
    import torch
    from transformers import AutoModelForSequenceClassification
    m = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    t = {k: torch.from_numpy(v) for k, v in feed.items()}
    def run():
        with torch.inference_mode():
            m(**t)
    info = torch.get_num_threads()
elif which == "ort":
    import onnxruntime as ort
    so = ort.SessionOptions(); so.intra_op_num_threads = 2
    s = ort.InferenceSession(folder, so, providers=["CPUExecutionProvider"])
    names = [i.name for i in s.get_inputs()]
    run = lambda: s.run(None, {k: feed[k] for k in names})
    info = names
else:
    import openvino as ov
    core = ov.Core()
    prec = which.split(":")[1]
    c = core.compile_model(folder, "CPU", {"INFERENCE_PRECISION_HINT": prec, "PERFORMANCE_HINT": "LATENCY"})
    names = [i.get_any_name() for i in c.inputs]
    req = c.create_infer_request()
    run = lambda: req.infer({k: feed[k] for k in names})
    info = names
for _ in range(3): run()
ts = []
for _ in range(15):
    t0 = time.perf_counter(); run(); ts.append((time.perf_counter() - t0) * 1000)
print(which, L, "p50 %.1f ms min %.1f" % (np.median(ts), min(ts)), info, flush=True)
