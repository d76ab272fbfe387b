#!/usr/bin/env bash
# Weight variants at real width: the MatMulNBits/int8 layout check (node and wasm), the reduced
# real-width exports (transformer 1+1 blocks, Gemma-2 2 layers, CLIP-H 2 layers, random weights, in
# DIR: never committed), the error of each variant against fp32 on onnxruntime-node, and the bytes
# at real size. Results (JSON) go to bench/variants/results/. deno on PATH, or DENO=path.
#
#   bench/variants/run.sh [DIR=/tmp/editmgt-variants]
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:-/tmp/editmgt-variants}
DENO=${DENO:-deno}
OUT=bench/variants/results
mkdir -p "$OUT"
/usr/bin/python3 -m bench.variants.check_graph --out "$DIR/check"
"$DENO" run -A bench/variants/check_graph.ts --dir "$DIR/check" --json "$OUT/check_graph.json" > /dev/null
for component in transformer gemma clip; do
  [ -f "$DIR/$component/meta.json" ] || /usr/bin/python3 -m bench.variants.export "$component" --out "$DIR"
  "$DENO" run -A bench/variants/errors.ts --dir "$DIR/$component" --json "$OUT/$component.json" > /dev/null
done
/usr/bin/python3 -m bench.variants.sizes --dir "$DIR" --json "$OUT/sizes.json"
