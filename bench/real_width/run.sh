#!/usr/bin/env bash
# A 1024 px edit at real widths on node, through the three entry points: EditPipeline in-process
# (phase times, peak RSS, composite check: bench/real_width/edit.ts), `deno task edit` and the edge
# server (peak RSS of the whole process, from /usr/bin/time and /proc). Needs the package that
# bench/memory/run.sh converts (default /tmp/editmgt-real-widths/package). Takes several minutes.
#
#   bench/real_width/run.sh [PACKAGE] [STEPS=2]
set -euo pipefail
cd "$(dirname "$0")/../.."
PACKAGE=${1:-/tmp/editmgt-real-widths/package}
STEPS=${2:-2}
OUT=bench/real_width/results
DENO=${DENO:-$(command -v deno || echo node_modules/.bin/deno)}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
uptime > "$OUT/uptime.txt"
"$DENO" run -A bench/real_width/edit.ts "$PACKAGE" --steps "$STEPS" --image "$WORK/in-process.png" \
  --json "$OUT/pipeline.json" > /dev/null
# The same photo-like input as a file, for the CLI and the server.
"$DENO" eval --quiet "
  const { encodeImage } = await import('./src/image/codec.ts');
  const { photoLike } = await import('./bench/real_width/photo.ts');
  await Deno.writeFile('$WORK/in.png', await encodeImage(photoLike(1024, 768)));"
/usr/bin/time -f '%e %M' -o "$WORK/cli.time" "$DENO" task edit -- "$WORK/in.png" "make the sun blue" \
  -o "$WORK/cli.png" --model "$PACKAGE" --device node --steps "$STEPS" --seed 1 -q > /dev/null
read -r cli_seconds cli_kib < "$WORK/cli.time"

PORT=8765
MODEL="$PACKAGE" PORT=$PORT HOSTNAME=127.0.0.1 EDITMGT_KV="$WORK/jobs.sqlite3" JOB_TIMEOUT_MS=3600000 \
  "$DENO" run --unstable-kv -A examples/server/main.ts > "$WORK/server.log" 2>&1 &
server=$!
until curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null; do sleep 1; done
started=$(date +%s%N)
# Submitted without waiting (a real-width CPU edit outlasts Prefer: wait), polled, then fetched.
id=$(curl -sf -F image=@"$WORK/in.png" -F instruction='make the sun blue' \
  -F options="{\"seed\": 1, \"steps\": $STEPS}" "http://127.0.0.1:$PORT/v1/edits" \
  | "$DENO" eval --quiet 'console.log(JSON.parse(await new Response(Deno.stdin.readable).text()).id)')
until curl -sf "http://127.0.0.1:$PORT/v1/edits/$id" | grep -qE '"status":"(completed|failed|cancelled)"'; do
  sleep 5
done
curl -sf -H 'Accept: image/png' "http://127.0.0.1:$PORT/v1/edits/$id/result" -o "$WORK/server.png"
server_ms=$((($(date +%s%N) - started) / 1000000))
server_kib=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
kill "$server"; wait "$server" || true
"$DENO" eval --quiet "
  const { decodeImage } = await import('./src/image/codec.ts');
  for (const name of ['cli', 'server']) {
    const image = await decodeImage(await Deno.readFile('$WORK/' + name + '.png'));
    if (image.width !== 1024 || image.height !== 768) throw new Error(name + ': wrong size');
  }"
cat > "$OUT/entry-points.json" <<JSON
{"steps": $STEPS, "cli": {"seconds": $cli_seconds, "peakRssBytes": $((cli_kib * 1024))},
 "server": {"milliseconds": $server_ms, "peakRssBytes": $((server_kib * 1024))}}
JSON
uptime >> "$OUT/uptime.txt"
"$DENO" fmt --quiet "$OUT"
cat "$OUT/pipeline.json" "$OUT/entry-points.json"
