#!/usr/bin/env bash
# The tiny model's strict success per transformer variant (fp32, int8, q4) and device (node, wasm),
# default setting only, through the product pipeline (examples/eval/eval.ts, as `deno task eval`).
# About 1 min per run on node and 3 min on wasm on this machine. Summary: results/tiny.json.
#
#   bench/variants/tiny_eval.sh [OUT=/tmp/tiny-variants]     (deno on PATH, or DENO=path)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-/tmp/tiny-variants}
for dtype in int8 q4; do
  /usr/bin/python3 -m bench.variants.tiny copy "$dtype" --out "$OUT"
done
for dtype in fp32 int8 q4; do
  model="$OUT/$dtype"
  [ "$dtype" = fp32 ] && model=models/editmgt-tiny
  for device in node wasm; do
    "${DENO:-deno}" run -A examples/eval/eval.ts --model "$model" --set models/editmgt-tiny/eval \
      --out "$OUT/eval-$dtype-$device" --only "upstream (lambda 0)" --device "$device"
  done
done
/usr/bin/python3 -m bench.variants.tiny summary --out "$OUT" --json bench/variants/results/tiny.json
