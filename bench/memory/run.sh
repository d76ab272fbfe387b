#!/usr/bin/env bash
# Peak memory of each component's onnxruntime-node session at real widths: writes the real-width,
# layer-reduced synthetic snapshot (Gemma-2 width 2304 / 2 layers, CLIP width 1024 / 2 layers,
# transformer 1 double + 1 single block at width 1024, the real VQ; real vocabularies) into DIR
# (default /tmp/editmgt-real-widths, never committed), converts it with the product's converter,
# then measures every graph in its own process. Results: bench/memory/results/real-widths.jsonl;
# bench/memory/extrapolate.py turns them into the full-depth estimates of the README.
#
#   bench/memory/run.sh [DIR] [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:-/tmp/editmgt-real-widths}
THREADS=${2:-2}
OUT=bench/memory/results
mkdir -p "$OUT"
export OPENBLAS_NUM_THREADS=$THREADS
if [ ! -f "$DIR/package/manifest.json" ]; then
  [ -d "$DIR/snapshot" ] || /usr/bin/python3 -m tools.convert.synthetic "$DIR/snapshot" --real-widths
  /usr/bin/python3 -m tools.convert "$DIR/snapshot" "$DIR/package" --replace
fi
DENO=${DENO:-$(command -v deno || echo node_modules/.bin/deno)}
: > "$OUT/real-widths.jsonl"
for component in $("$DENO" eval --quiet 'const m = JSON.parse(Deno.readTextFileSync(Deno.args[0]));
  console.log(m.components.filter((c) => c.kind !== "tokenizer").map((c) => c.name).join(" "))' \
  "$DIR/package/manifest.json"); do
  "$DENO" run -A bench/memory/session_peak.ts "$DIR/package" "$component" --threads "$THREADS" \
    | tee -a "$OUT/real-widths.jsonl"
done
