import assert from "node:assert/strict";
import { type Manifest, manifestJsonSchema, ManifestSchema } from "../../src/schema/mod.ts";
import { manifestJsonSchemaText } from "../../src/schema/write_json_schema.ts";

const HEX = "ab".repeat(32);

function validManifest(): Manifest {
  const file = (path: string) => ({ path, sha256: HEX, bytes: 10 });
  return {
    format: "editmgt-manifest/1",
    id: "editmgt-tiny",
    version: "0.1.0",
    license: "MIT",
    source: "trained by tools/train",
    resolution: { width: 64, height: 64 },
    vq: { grid: { height: 16, width: 16 }, codebookSize: 256, maskTokenId: 256 },
    transformer: {
      grid: { height: 8, width: 8 },
      timestep: "mask-ratio",
      microConds: [64, 64, 0, 0, 6],
      localizationBlocks: [3, 4],
    },
    text: { length: 16, contextDim: 64, pooledDim: 64, padTokenId: 0 },
    defaults: {
      steps: 12,
      guidance: 2,
      gamma: 1.1,
      lambda: "auto",
      temperature: [2, 0],
      schedule: "cosine",
      negativePrompt: "",
    },
    components: [
      { name: "tokenizer", kind: "tokenizer", role: "context", files: [file("tokenizer.json")] },
      {
        name: "text_encoder",
        kind: "text-encoder",
        role: "both",
        dtype: "fp32",
        files: [file("text_encoder.onnx")],
      },
      { name: "vq_encoder", kind: "vq-encoder", dtype: "fp32", files: [file("vq_encoder.onnx")] },
      { name: "vq_decoder", kind: "vq-decoder", dtype: "fp32", files: [file("vq_decoder.onnx")] },
      {
        name: "transformer",
        kind: "transformer",
        dtype: "fp16",
        files: [file("transformer.onnx"), file("transformer.onnx.data")],
      },
    ],
  };
}

function issuesOf(value: unknown): string[] {
  const result = ManifestSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => issue.path.join("."));
}

Deno.test("the committed manifest.schema.json is the one generated from the zod schema", async () => {
  const committed = await Deno.readTextFile(
    new URL("../../src/schema/manifest.schema.json", import.meta.url),
  );
  assert.equal(
    committed,
    manifestJsonSchemaText(),
    "src/schema/manifest.schema.json is out of date: run `deno task schema`",
  );
  assert.equal(manifestJsonSchema().$schema, "https://json-schema.org/draft/2020-12/schema");
});

Deno.test("a manifest in the contract's shape is valid", () => {
  assert.deepEqual(issuesOf(validManifest()), []);
});

Deno.test("the real model's two tokenizers and text encoders (context + pooled) are allowed", () => {
  const manifest = validManifest();
  const file = { path: "clip.onnx", sha256: HEX, bytes: 1 };
  manifest.components[1].role = "context";
  manifest.components.push(
    { name: "clip_tokenizer", kind: "tokenizer", role: "pooled", files: [file] },
    { name: "clip_text_encoder", kind: "text-encoder", role: "pooled", files: [file] },
  );
  manifest.text = { ...manifest.text, padSide: "left", pooledLength: 77, pooledPadTokenId: 49407 };
  assert.deepEqual(issuesOf(manifest), []);
});

Deno.test("every manifest in the repository is valid", async () => {
  const found: string[] = [];
  async function walk(dir: URL) {
    const exists = await Deno.stat(dir).then(() => true, () => false);
    if (!exists) return;
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory && entry.name !== "node_modules") await walk(url);
      if (entry.isFile && entry.name === "manifest.json") found.push(url.pathname);
    }
  }
  await walk(new URL("../../models/", import.meta.url));
  await walk(new URL("../fixtures/", import.meta.url));
  for (const path of found) {
    const issues = ManifestSchema.safeParse(JSON.parse(await Deno.readTextFile(path)));
    assert.ok(issues.success, `${path}: ${issues.error?.message}`);
  }
});

const broken: [string, (m: Manifest) => void, string][] = [
  ["wrong format", (m) => Object.assign(m, { format: "editmgt-manifest/2" }), "format"],
  ["bad sha256", (m) => (m.components[0].files[0].sha256 = "ABC"), "components.0.files.0.sha256"],
  [
    "absolute path",
    (m) => (m.components[0].files[0].path = "/etc/passwd"),
    "components.0.files.0.path",
  ],
  [
    "path escaping the folder",
    (m) => (m.components[0].files[0].path = "a/../../x"),
    "components.0.files.0.path",
  ],
  ["negative bytes", (m) => (m.components[0].files[0].bytes = -1), "components.0.files.0.bytes"],
  ["no files", (m) => (m.components[0].files = []), "components.0.files"],
  ["mask id inside the codebook", (m) => (m.vq.maskTokenId = 12), "vq.maskTokenId"],
  [
    "unknown timestep",
    (m) => Object.assign(m.transformer, { timestep: "seconds" }),
    "transformer.timestep",
  ],
  ["lambda above 1", (m) => (m.defaults.lambda = 2), "defaults.lambda"],
  ["zero steps", (m) => (m.defaults.steps = 0), "defaults.steps"],
  ["unknown key", (m) => Object.assign(m, { extra: true }), ""],
  ["duplicate component", (m) => (m.components[3].name = "vq_encoder"), "components.3.name"],
  ["no transformer", (m) => m.components.pop(), "components"],
  ["no pooled text encoder", (m) => (m.components[1].role = "context"), "components"],
  ["bad id", (m) => (m.id = "Tiny Model"), "id"],
];

for (const [name, breakIt, path] of broken) {
  Deno.test(`an invalid manifest is rejected: ${name}`, () => {
    const manifest = validManifest();
    breakIt(manifest);
    assert.ok(issuesOf(manifest).includes(path), `${JSON.stringify(issuesOf(manifest))}`);
  });
}
