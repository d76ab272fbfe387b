/**
 * Measures the peak memory of every graph component's onnxruntime-node session, base weights and
 * each variant, one process each (bench/memory/session_peak.ts), and writes them into the
 * package's manifest as `peakBytes` (the SDK's device check and `memory: "auto"` read them).
 * Peak RSS includes the runtime itself (about 65 MB here before a session exists).
 *
 *   deno run -A bench/memory/write_peaks.ts PACKAGE_DIR [--threads 2]
 */

import { ManifestSchema } from "../../src/schema/mod.ts";

const [folder, ...rest] = Deno.args;
const threads = rest[0] === "--threads" ? rest[1] : "2";
const path = `${folder}/manifest.json`;
const document = JSON.parse(await Deno.readTextFile(path));
const manifest = ManifestSchema.parse(document);
const script = new URL("./session_peak.ts", import.meta.url).pathname;

async function measure(component: string, dtype: string): Promise<number> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, folder, component, "--threads", threads, "--dtype", dtype],
  }).output();
  if (code !== 0) throw new Error(`${component} ${dtype}: ${new TextDecoder().decode(stderr)}`);
  const line = JSON.parse(new TextDecoder().decode(stdout));
  console.log(JSON.stringify(line));
  return line.peakRss;
}

for (const [index, component] of manifest.components.entries()) {
  if (component.kind === "tokenizer") continue;
  const entry = document.components[index];
  entry.peakBytes = await measure(component.name, component.dtype ?? "fp32");
  for (const [at, variant] of (component.variants ?? []).entries()) {
    entry.variants[at].peakBytes = await measure(component.name, variant.dtype);
  }
}
ManifestSchema.parse(document);
await Deno.writeTextFile(path, JSON.stringify(document, null, 2) + "\n");
