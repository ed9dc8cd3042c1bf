#!/usr/bin/env bash
# GPU check: parity + single-stream + offline for torch on CUDA (fp32, fp16, bf16, CUDA graphs) and
# xla on the GPU, on a random MiniLM-L6-shaped ranker; under 8 minutes; writes one results.json.
#
#   scripts/gpu_check.sh                 # -> $OUT/gpu-check/ if $OUT is set, else results/reference/DATE-GPU/
#   scripts/gpu_check.sh DIR             # -> DIR/
#   PYTHON=/path/to/python scripts/gpu_check.sh
#   scripts/gpu_check.sh --cpu DIR       # test the script itself on a machine without a GPU
#
# Uses whatever torch / jax / transformers the machine has (no network, no trained weights needed).
# numpy, torch, transformers are required; jax for the xla cells (else they are "unavailable" rows);
# tqdm and jsonschema are optional. Torch and JAX run in separate processes, each under a time limit;
# finished cells are cached, so a part that runs out of time still leaves its finished cells.
set -uo pipefail
cd "$(dirname "$0")/.."
CPU_FLAG=""
if [ "${1:-}" = "--cpu" ]; then CPU_FLAG="--cpu"; shift; fi
PY="${PYTHON:-python3}"
if [ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi

GPU="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr -c 'A-Za-z0-9.\n-' '_')"
GPU="${GPU:-no-gpu}"
STAMP="$(date -u +%Y-%m-%d)"
if [ -n "${1:-}" ]; then DEST="$1"
elif [ -n "${OUT:-}" ]; then DEST="$OUT/gpu-check"
else DEST="results/reference/${STAMP}-${GPU}"; fi
WORK="${GPU_CHECK_WORK:-${TMPDIR:-/tmp}/rankbench-gpu-check}"
mkdir -p "$DEST" "$WORK"
LOG="$DEST/gpu_check.log"

{
  echo "gpu check $(date -u +%FT%TZ) on $(hostname): GPU ${GPU}; python $PY"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
  "$PY" - <<'PYEOF'
import importlib
for name in ("torch", "transformers", "jax", "jaxlib", "numpy", "tqdm", "jsonschema", "scipy"):
    try:
        module = importlib.import_module(name)
        print(f"  {name} {getattr(module, '__version__', '?')}")
    except Exception as err:
        print(f"  {name} missing ({type(err).__name__})")
try:
    import torch
    print("  torch.cuda:", torch.cuda.is_available(), torch.version.cuda,
          torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
except Exception as err:
    print("  torch.cuda: error", err)
try:
    import jax
    print("  jax devices:", jax.devices())
except Exception as err:
    print("  jax devices: error", err)
PYEOF
} 2>&1 | tee "$LOG"

start=$(date +%s)
timeout 200 "$PY" scripts/gpu_check.py --part torch --out "$WORK" $CPU_FLAG 2>&1 | tee -a "$LOG" \
  || echo "torch part stopped early (status $?): its finished cells are kept" | tee -a "$LOG"
timeout 240 "$PY" scripts/gpu_check.py --part xla --out "$WORK" $CPU_FLAG 2>&1 | tee -a "$LOG" \
  || echo "xla part stopped early (status $?): its finished cells are kept" | tee -a "$LOG"
timeout 30 "$PY" scripts/gpu_check.py --part all --out "$WORK" $CPU_FLAG 2>&1 | tee -a "$LOG"
cp "$WORK/results.json" "$DEST/results.json" && echo "wrote $DEST/results.json in $(( $(date +%s) - start )) s" | tee -a "$LOG"
