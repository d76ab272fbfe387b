import assert from "node:assert/strict";
import {
  type ComponentDtype,
  type Manifest,
  manifestJsonSchema,
  ManifestSchema,
} from "../../src/schema/mod.ts";
import { manifestJsonSchemaText } from "../../src/schema/write_json_schema.ts";

const HEX = "ab".repeat(32);

const file = (path: string) => ({ path, sha256: HEX, bytes: 10 });

function validManifest(): Manifest {
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

Deno.test("weight variants with devices and peak bytes, q4 and pooledPadSide are allowed", () => {
  const manifest = validManifest();
  const transformer = manifest.components[4];
  transformer.peakBytes = 3_000_000_000;
  transformer.variants = [
    { dtype: "fp32", files: [file("transformer.fp32.onnx")], devices: ["node", "wasm"] },
    { dtype: "int8", files: [file("transformer.int8.onnx")], peakBytes: 900_000_000 },
    { dtype: "q4", files: [file("transformer.q4.onnx")], devices: ["webgpu"] },
  ];
  manifest.components[1].variants = [{ dtype: "q4", files: [file("text_encoder.q4.onnx")] }];
  manifest.text.pooledPadSide = "right";
  assert.deepEqual(issuesOf(manifest), []);
});

Deno.test("a base and a variant may share a file that is the same bytes", () => {
  const manifest = validManifest();
  manifest.components[4].variants = [
    { dtype: "int8", files: [file("transformer.int8.onnx"), file("transformer.onnx.data")] },
  ];
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

const variant = (dtype: ComponentDtype) => ({ dtype, files: [file(`transformer.${dtype}.onnx`)] });

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
  [
    "part hashes that do not cover the file",
    (
      m,
    ) => (m.components[0].files[0].parts = {
      bytes: 64,
      sha256: ["ab".repeat(32), "cd".repeat(32)],
    }),
    "components.0.files.0.parts.sha256",
  ],
  [
    "a part size that is not a multiple of 64",
    (m) => (m.components[0].files[0].parts = { bytes: 100, sha256: ["ab".repeat(32)] }),
    "components.0.files.0.parts.bytes",
  ],
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
  [
    "duplicate variant dtype",
    (m) => (m.components[4].variants = [variant("q4"), variant("q4")]),
    "components.4.variants.1.dtype",
  ],
  [
    "variant dtype equal to the base's",
    (m) => (m.components[4].variants = [variant("fp16")]),
    "components.4.variants.0.dtype",
  ],
  [
    "variant dtype equal to an implicit fp32 base",
    (m) => {
      delete m.components[2].dtype;
      m.components[2].variants = [variant("fp32")];
    },
    "components.2.variants.0.dtype",
  ],
  [
    "variants on a tokenizer",
    (m) => (m.components[0].variants = [variant("int8")]),
    "components.0.variants",
  ],
  [
    "unknown variant dtype",
    (m) => (m.components[4].variants = [variant("q8" as ComponentDtype)]),
    "components.4.variants.0.dtype",
  ],
  [
    "unknown variant device",
    (m) => (m.components[4].variants = [{ ...variant("q4"), devices: ["cuda" as "node"] }]),
    "components.4.variants.0.devices.0",
  ],
  [
    "zero peak bytes",
    (m) => (m.components[4].variants = [{ ...variant("q4"), peakBytes: 0 }]),
    "components.4.variants.0.peakBytes",
  ],
  [
    "a fractional maxTensorBytes",
    (m) => (m.components[4].variants = [{ ...variant("q4"), maxTensorBytes: 1.5 }]),
    "components.4.variants.0.maxTensorBytes",
  ],
  [
    "a shared path with other bytes",
    (m) => (m.components[4].variants = [{
      dtype: "q4",
      files: [{ path: "transformer.onnx.data", sha256: "cd".repeat(32), bytes: 10 }],
    }]),
    "components.4.variants.0.files.0.path",
  ],
  [
    "unknown pooledPadSide",
    (m) => Object.assign(m.text, { pooledPadSide: "middle" }),
    "text.pooledPadSide",
  ],
];

for (const [name, breakIt, path] of broken) {
  Deno.test(`an invalid manifest is rejected: ${name}`, () => {
    const manifest = validManifest();
    breakIt(manifest);
    assert.ok(issuesOf(manifest).includes(path), `${JSON.stringify(issuesOf(manifest))}`);
  });
}
