#!/usr/bin/env bash
# The real-size step graph (editmgt-1024 dims, 1 double + 1 single block, random weights): export to
# DIR (default /tmp/editmgt-real-size, never committed), then one step in torch and on
# onnxruntime-node. Results (JSON) go to bench/real_size/results/; print them as Markdown with
# bench/latency/summary.ts.
#
#   bench/real_size/run.sh [DIR] [RUNS=5] [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:-/tmp/editmgt-real-size}
RUNS=${2:-5}
THREADS=${3:-2}
OUT=bench/real_size/results
mkdir -p "$OUT"
if [ ! -f "$DIR/meta.json" ]; then
  /usr/bin/python3 -m bench.real_size.export_step --out "$DIR" 2> "$DIR.export.log" || { cat "$DIR.export.log"; exit 1; }
fi
cp "$DIR/meta.json" "$OUT/meta.json"
uptime > "$OUT/uptime-t$THREADS.txt"
/usr/bin/python3 -m bench.real_size.torch_step --dir "$DIR" --threads "$THREADS" --runs "$RUNS" \
  --json "$OUT/torch-t$THREADS.json" > /dev/null
node_modules/.bin/deno run -A bench/real_size/step.ts --dir "$DIR" --threads "$THREADS" --runs "$RUNS" \
  --json "$OUT/node-t$THREADS.json" > /dev/null
uptime >> "$OUT/uptime-t$THREADS.txt"
