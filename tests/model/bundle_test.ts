import assert from "node:assert/strict";

Deno.test("a browser bundle of src/model splits out the web adapters and leaves onnxruntime-node out", async () => {
  const outdir = await Deno.makeTempDir({ prefix: "editmgt-model-bundle-" });
  try {
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--platform",
        "browser",
        "--code-splitting",
        "--outdir",
        outdir,
        new URL("../../src/model/mod.ts", import.meta.url).pathname,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(success, new TextDecoder().decode(stderr));
    const files = [];
    for await (const entry of Deno.readDir(outdir)) files.push(entry.name);
    const sources = await Promise.all(files.map((name) => Deno.readTextFile(`${outdir}/${name}`)));
    assert.ok(files.some((name) => name.startsWith("wasm-")), files.join());
    assert.ok(files.some((name) => name.startsWith("webgpu-")), files.join());
    assert.ok(sources.every((source) => !source.includes("onnxruntime_binding")));
    const entry = sources[files.indexOf("mod.js")];
    assert.ok(!entry.includes("InferenceSession.create"), "onnxruntime is in the entry chunk");
  } finally {
    await Deno.remove(outdir, { recursive: true });
  }
});
