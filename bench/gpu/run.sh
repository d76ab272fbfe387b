#!/usr/bin/env bash
# The GPU check, for a machine with Python, torch (CUDA) and onnxruntime-gpu, and no npm: one real-size
# transformer step timed in torch and onnxruntime's CUDA provider, fp32 and fp16, with a whole-edit
# estimate at upstream's 36 steps. Full depth (14 + 28 blocks) when the budget allows; pass a smaller
# depth as DOUBLE SINGLE otherwise. Fits in 8 minutes (the ONNX phases stop at a 7-minute budget).
#
#   bench/gpu/run.sh [DOUBLE=14] [SINGLE=28]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
mkdir -p bench/gpu/results
timeout 470 "$PYTHON" -m bench.gpu.step_gpu --double "${1:-14}" --single "${2:-28}" --budget-seconds 300 \
  --json bench/gpu/results/step.json
