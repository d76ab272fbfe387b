/**
 * A model package with weight variants, built at test time from the random tiny package
 * (tests/fixtures/tiny-random): its graphs as the fp32 base, the fp16 export of its transformer
 * (tests/fixtures/goldens/fp16/transformer.onnx) as an fp16 variant listed for WebGPU, and a
 * copy of the fp32 transformer under `fake-int8-is-fp32/` declared as an "int8" variant. That
 * last one is NOT quantized: it exists only to test choosing, reading and verifying a variant's
 * files. Real int8 and q4 graphs come from tools/export.
 *
 * @module
 */

import { sha256Hex } from "../../src/model/verify.ts";
import type { ManifestFile, ManifestVariant } from "../../src/schema/manifest.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const TINY_RANDOM = new URL("tiny-random/", FIXTURES);
const FP16_TRANSFORMER = new URL("goldens/fp16/transformer.onnx", FIXTURES);

/** Folder of the fake int8 variant (a copy of the fp32 transformer, for the plumbing only). */
export const FAKE_INT8_FOLDER = "fake-int8-is-fp32";

/** A built variant package in a temporary folder; disposing deletes it. */
export interface VariantPackage extends AsyncDisposable {
  /** The package folder (a path). */
  folder: string;
  /** The folder's `manifest.json` as a `file:` URL. */
  manifest: URL;
}

async function fileEntry(folder: string, path: string): Promise<ManifestFile> {
  const data = await Deno.readFile(`${folder}/${path}`);
  return { path, sha256: await sha256Hex(data), bytes: data.byteLength };
}

/**
 * Builds the package: tiny-random's files, `fp16/transformer.onnx` and
 * `fake-int8-is-fp32/transformer.onnx{,.data}`, and a manifest whose transformer lists them as
 * variants (fp16 for WebGPU; "int8" for no device, so only an explicit request loads it).
 */
export async function buildVariantPackage(): Promise<VariantPackage> {
  const folder = await Deno.makeTempDir({ prefix: "editmgt-variants-" });
  for await (const entry of Deno.readDir(TINY_RANDOM)) {
    if (entry.isFile) {
      await Deno.copyFile(new URL(entry.name, TINY_RANDOM), `${folder}/${entry.name}`);
    }
  }
  await Deno.mkdir(`${folder}/fp16`);
  await Deno.copyFile(FP16_TRANSFORMER, `${folder}/fp16/transformer.onnx`);
  await Deno.mkdir(`${folder}/${FAKE_INT8_FOLDER}`);
  for (const name of ["transformer.onnx", "transformer.onnx.data"]) {
    await Deno.copyFile(new URL(name, TINY_RANDOM), `${folder}/${FAKE_INT8_FOLDER}/${name}`);
  }
  const manifestPath = `${folder}/manifest.json`;
  const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
  const transformer = manifest.components.find((c: { kind: string }) => c.kind === "transformer");
  const variants: ManifestVariant[] = [
    {
      dtype: "fp16",
      devices: ["webgpu"],
      files: [await fileEntry(folder, "fp16/transformer.onnx")],
    },
    {
      dtype: "int8",
      files: [
        await fileEntry(folder, `${FAKE_INT8_FOLDER}/transformer.onnx`),
        await fileEntry(folder, `${FAKE_INT8_FOLDER}/transformer.onnx.data`),
      ],
    },
  ];
  transformer.variants = variants;
  await Deno.writeTextFile(manifestPath, JSON.stringify(manifest, null, 2));
  return {
    folder,
    manifest: new URL(`file://${manifestPath}`),
    async [Symbol.asyncDispose]() {
      await Deno.remove(folder, { recursive: true });
    },
  };
}
