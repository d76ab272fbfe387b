#!/usr/bin/env bash
# Edit latency of a tiny package: torch reference pipeline vs the TS pipeline per backend, with
# all cores and with one thread, and the step graph's operator profile. Results (JSON) go to
# bench/latency/results/<name>/; print them as Markdown with bench/latency/summary.ts.
#
#   bench/latency/run.sh [PACKAGE=tests/fixtures/tiny-random] [CHECKPOINT (trained packages)] [RUNS=10]
# TORCH_THREADS="1" skips the two-thread torch run (very slow when other jobs hold the cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
PACKAGE=${1:-tests/fixtures/tiny-random}
CHECKPOINT=${2:-}
RUNS=${3:-10}
DENO=node_modules/.bin/deno
OUT=bench/latency/results/$(basename "$PACKAGE")
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
mkdir -p "$OUT"
checkpoint=()
if [ -n "$CHECKPOINT" ]; then checkpoint=(--checkpoint "$CHECKPOINT"); fi
uptime > "$OUT/uptime.txt"
for threads in ${TORCH_THREADS:-2 1}; do
  /usr/bin/python3 -m bench.latency.torch_reference --model "$PACKAGE" "${checkpoint[@]}" --threads "$threads" \
    --runs "$RUNS" --json "$OUT/torch-t$threads.json" > /dev/null
done
$DENO run -A bench/latency/pipeline.ts --model "$PACKAGE" --runs "$RUNS" --json "$OUT/pipeline.json" > /dev/null
$DENO run -A bench/latency/pipeline.ts --model "$PACKAGE" --devices node --threads 1 --runs "$RUNS" \
  --json "$OUT/pipeline-t1.json" > /dev/null
$DENO run -A bench/latency/profile_step.ts --model "$PACKAGE" --json "$OUT/profile.json" > /dev/null
uptime >> "$OUT/uptime.txt"
