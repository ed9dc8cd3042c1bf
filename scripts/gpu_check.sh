#!/usr/bin/env bash
# GPU check with the trained ranker, under 8 minutes on a GPU: parity, latency, throughput and accuracy
# per cell on all 943 MovieLens test users, for torch on CUDA (fp32 / tf32 / fp16 / bf16; dynamic shapes,
# padded without graphs, CUDA graphs), xla on the GPU (fp32 at HIGHEST, tf32, bf16), ONNX Runtime (CUDA
# provider where installed) and TensorRT where installed, on the teacher, a distilled student and an
# INT8 Q/DQ graph built there from the teacher.
#
#   .venv/bin/python scripts/make_gpu_bundle.py        # once, where the trained teacher is: runs/gpu-bundle/
#   scripts/gpu_check.sh                               # -> $OUT/gpu-check/ if $OUT is set, else results/reference/DATE-GPU/
#   scripts/gpu_check.sh [--bundle DIR] [DEST]         # GPU_BUNDLE=DIR works too
#   scripts/gpu_check.sh --cpu DIR                     # the same on the CPU, tiny settings: tests the script
#
# The bundle (<= 60 MiB: the teacher in fp16 safetensors, the tokenizer, the ml-100k files) fits a
# 64 MiB transfer; the teacher is restored to fp32 on arrival. Uses whatever torch / jax / transformers
# the machine has (no network); jax for the xla cells, tensorrt and onnxruntime where installed (else
# their rows say "unavailable" and why); jsonschema and tqdm optional. Each part runs in its own process
# under a time limit and keeps its finished cells.
set -uo pipefail
cd "$(dirname "$0")/.."
CPU_FLAG=""
BUNDLE="${GPU_BUNDLE:-runs/gpu-bundle}"
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) CPU_FLAG="--cpu"; shift ;;
    --bundle) BUNDLE="$2"; shift 2 ;;
    *) break ;;
  esac
done
PY="${PYTHON:-python3}"
if [ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
if [ ! -f "$BUNDLE/bundle.json" ]; then
  echo "no bundle at $BUNDLE (bundle.json missing): make one with scripts/make_gpu_bundle.py" >&2
  exit 2
fi

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
  echo "gpu check $(date -u +%FT%TZ) on $(hostname): GPU ${GPU}; python $PY; bundle $BUNDLE"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
  "$PY" - <<'PYEOF'
import importlib.metadata
for name in ("torch", "transformers", "jax", "jaxlib", "onnx", "onnxruntime", "onnxruntime-gpu", "tensorrt",
             "nvidia-modelopt", "numpy", "tqdm", "jsonschema"):
    try:
        print(f"  {name} {importlib.metadata.version(name)}")
    except importlib.metadata.PackageNotFoundError:
        print(f"  {name} missing")
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
run_part() {  # name, seconds, extra args
  local name="$1" limit="$2"; shift 2
  timeout "$limit" "$PY" scripts/gpu_check.py --part "$name" --out "$WORK" $CPU_FLAG "$@" 2>&1 | tee -a "$LOG"
  local status=${PIPESTATUS[0]}
  if [ "$status" -ne 0 ]; then
    echo "part $name stopped early (status $status): its finished cells are kept" | tee -a "$LOG"
  fi
  return 0
}
run_part prepare 140 --bundle "$BUNDLE"   # 470 s at most in all
run_part torch 160
run_part xla 90
run_part onnx 50
run_part all 30
if cp "$WORK/run/results.json" "$WORK/summary.md" "$WORK/accuracy_per_cell.json" "$DEST/" 2>>"$LOG"; then
  echo "wrote $DEST/results.json, summary.md, accuracy_per_cell.json in $(( $(date +%s) - start )) s" | tee -a "$LOG"
else
  echo "no results gathered (see $LOG)" | tee -a "$LOG"
  exit 1
fi
