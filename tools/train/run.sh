#!/usr/bin/env bash
# Train the shipped tiny EditMGT model end to end: data -> vq -> tokens -> transformer -> bundle.
# Each stage is skipped when its output exists and resumes from its checkpoint when interrupted,
# so the same command continues an interrupted run.
#
#   nohup tools/train/run.sh > runs/run.log 2>&1 &
#
# Environment (defaults): RUNS=runs  DATA_PAIRS=40000  VQ_MINUTES=26
#   TRAIN_UNTIL=HH:MM (UTC end of the transformer stage, fixed at its first start) or TRAIN_MINUTES=90
#   EDITMGT_THREADS (torch threads; default 2 for the VQ, 1 for the transformer, whose matmuls use
#   OpenBLAS's own pool)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
RUNS=${RUNS:-runs}
DATA_PAIRS=${DATA_PAIRS:-40000}
VQ_MINUTES=${VQ_MINUTES:-26}
TRAIN_MINUTES=${TRAIN_MINUTES:-90}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}  # no spinning threads on a shared, oversubscribed CPU
mkdir -p "$RUNS"

stage() { echo "$(date -u +%H:%M:%S) $*"; }

if [ ! -f "$RUNS/data/done.json" ]; then
  stage "data: generating $DATA_PAIRS pairs"
  $PY -m tools.data.build_train "$RUNS/data" --count "$DATA_PAIRS"
fi

if [ ! -f "$RUNS/vq/final.pt" ]; then
  stage "vq: training ($VQ_MINUTES min budget)"
  $PY -m tools.train.train_vq --data "$RUNS/data" --out "$RUNS/vq" --minutes "$VQ_MINUTES"
fi
stage "vq: $(cat "$RUNS/vq/metrics.json" | tr -d '\n ')"

if [ ! -f "$RUNS/tokens/stats.json" ]; then
  stage "tokens: encoding pairs"
  $PY -m tools.train.encode_tokens --data "$RUNS/data" --vq "$RUNS/vq/final.pt" --out "$RUNS/tokens"
fi
stage "tokens: $(cat "$RUNS/tokens/stats.json" | tr -d '\n ')"

if [ ! -f "$RUNS/transformer/final.pt" ]; then
  if [ -n "${TRAIN_UNTIL:-}" ]; then budget=(--until "$TRAIN_UNTIL"); else budget=(--minutes "$TRAIN_MINUTES"); fi
  stage "transformer: training (${budget[*]})"
  $PY -m tools.train.train_transformer --tokens "$RUNS/tokens" --data "$RUNS/data" --out "$RUNS/transformer" \
    "${budget[@]}"
fi

stage "bundle: $RUNS/tiny"
$PY -m tools.train.bundle --runs "$RUNS" --out "$RUNS/tiny"
stage "done"
