/**
 * `dtype` end to end on node: a package with weight variants (tests/_shared/variant_package.ts)
 * loads only the chosen files, verified against their sha256, and edits with them.
 */
import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { encodeImage } from "../../src/image/codec.ts";
import type { Backend } from "../../src/model/backend.ts";
import { denoSource } from "../../src/model/deno.ts";
import { createBackend } from "../../src/model/deno.ts";
import type { FileSource } from "../../src/model/source.ts";
import type { DtypeRequest } from "../../src/model/variants.ts";
import { EditPipeline } from "../../src/pipeline/pipeline.ts";
import type { EditProgress } from "../../src/pipeline/types.ts";
import { buildVariantPackage, FAKE_INT8_FOLDER } from "../_shared/variant_package.ts";
import { diskImage, ORT_SANITIZERS } from "./fixture.ts";

const node = await createBackend("node");
const input = { image: diskImage(40, 30), instruction: "make the red circle blue" };
const FP32_TRANSFORMER = ["transformer.onnx", "transformer.onnx.data"];
const FAKE_INT8 = FP32_TRANSFORMER.map((name) => `${FAKE_INT8_FOLDER}/${name}`);

/** Loads the variant package with `dtype`, recording the package paths read and the events. */
async function load(folder: string, dtype?: DtypeRequest, backend: Backend = node) {
  const reads: string[] = [];
  const events: EditProgress[] = [];
  const source: FileSource = (request) => {
    reads.push(decodeURIComponent(request.url.pathname).slice(folder.length + 1));
    return denoSource(request);
  };
  const pipeline = await EditPipeline.load(`file://${folder}/`, {
    backend,
    dtype,
    source,
    onProgress: (event) => events.push(event),
  });
  return { pipeline, reads, events };
}

const transformerReads = (reads: string[]) => reads.filter((path) => path.includes("transformer"));

Deno.test({
  name: "auto on node loads the fp32 base transformer: the fp16 variant is listed for WebGPU only",
  ...ORT_SANITIZERS,
  async fn() {
    await using pkg = await buildVariantPackage();
    const { pipeline, reads } = await load(pkg.folder);
    try {
      assert.deepEqual(transformerReads(reads), FP32_TRANSFORMER);
      assert.equal(pipeline.dtypes.transformer, "fp32");
      const result = await pipeline.edit({ ...input, options: { seed: 3 } });
      assert.deepEqual(result.dtypes, {
        text_encoder: "fp32",
        vq_encoder: "fp32",
        vq_decoder: "fp32",
        transformer: "fp32",
      });
    } finally {
      await pipeline.dispose();
    }
  },
});

Deno.test({
  name: "dtype fp16 reads only the fp16 transformer, counts only the chosen files and edits",
  ...ORT_SANITIZERS,
  async fn() {
    await using pkg = await buildVariantPackage();
    const { pipeline, reads, events } = await load(pkg.folder, "fp16");
    try {
      assert.deepEqual(transformerReads(reads), ["fp16/transformer.onnx"]);
      const chosenBytes = (await Promise.all(
        reads.filter((path) => path !== "manifest.json").map((path) =>
          Deno.stat(`${pkg.folder}/${path}`)
        ),
      )).reduce((sum, stat) => sum + stat.size, 0);
      const downloads = events.filter((event) => event.type === "download");
      assert.ok(downloads.every((event) => event.total === chosenBytes));
      assert.equal(downloads.at(-1)!.loaded, chosenBytes);
      assert.deepEqual(events.at(-1), {
        type: "ready",
        device: "node",
        dtypes: {
          text_encoder: "fp32",
          vq_encoder: "fp32",
          vq_decoder: "fp32",
          transformer: "fp16",
        },
      });
      const result = await pipeline.edit({ ...input, options: { seed: 3 } });
      assert.equal(result.dtypes.transformer, "fp16");
      assert.deepEqual([result.image.width, result.image.height], [40, 30]);
    } finally {
      await pipeline.dispose();
    }
  },
});

Deno.test({
  name: "a per-component int8 request reads that variant's files, checked against their sha256",
  ...ORT_SANITIZERS,
  async fn() {
    await using pkg = await buildVariantPackage();
    const { pipeline, reads } = await load(pkg.folder, { transformer: "int8" });
    const base = await load(pkg.folder, "fp32");
    try {
      assert.deepEqual(transformerReads(reads), FAKE_INT8);
      assert.equal(pipeline.dtypes.transformer, "int8");
      // The fake int8 variant is the fp32 graph: the same seed gives the same image.
      const [variant, fp32] = await Promise.all(
        [pipeline, base.pipeline].map((p) => p.edit({ ...input, options: { seed: 5 } })),
      );
      assert.deepEqual(await encodeImage(variant.image), await encodeImage(fp32.image));
    } finally {
      await pipeline.dispose();
      await base.pipeline.dispose();
    }

    const data = `${pkg.folder}/${FAKE_INT8_FOLDER}/transformer.onnx.data`;
    const bytes = await Deno.readFile(data);
    bytes[0] ^= 1;
    await Deno.writeFile(data, bytes);
    await assert.rejects(
      load(pkg.folder, { transformer: "int8" }),
      (error) =>
        isEditMGTError(error, "hash_mismatch") &&
        String(error.details?.url).endsWith(`${FAKE_INT8_FOLDER}/transformer.onnx.data`),
    );
    const intact = await load(pkg.folder); // the base files are untouched
    await intact.pipeline.dispose();
  },
});

Deno.test({
  name: "a dtype no component offers is invalid_input before any model file is read",
  ...ORT_SANITIZERS,
  async fn() {
    await using pkg = await buildVariantPackage();
    const reads: string[] = [];
    await assert.rejects(
      EditPipeline.load(`file://${pkg.folder}/`, {
        backend: node,
        dtype: "q4",
        source: (request) => {
          reads.push(request.url.pathname);
          return denoSource(request);
        },
      }),
      (error) =>
        isEditMGTError(error, "invalid_input") && /offers q4/.test(error.message) &&
        /transformer: fp32, fp16, int8/.test(error.message),
    );
    assert.deepEqual(reads, [`${pkg.folder}/manifest.json`]);
  },
});

Deno.test({
  name: "auto on WebGPU picks the fp16 variant with shader-f16 and the fp32 base without it",
  ...ORT_SANITIZERS,
  async fn() {
    await using pkg = await buildVariantPackage();
    // onnxruntime-node sessions behind a backend that says it is WebGPU: the choice is the
    // device's and the capabilities', whatever runs the graphs.
    for (const [fp16, expected] of [[true, "fp16"], [false, "fp32"]] as const) {
      const backend: Backend = { ...node, device: "webgpu", capabilities: { fp16 } };
      const { pipeline } = await load(pkg.folder, "auto", backend);
      try {
        assert.equal(pipeline.dtypes.transformer, expected);
        assert.equal((await pipeline.edit(input)).dtypes.transformer, expected);
      } finally {
        await pipeline.dispose();
      }
    }
  },
});

Deno.test({
  name: "on a real WebGPU adapter with shader-f16, auto loads the fp16 variant and edits with it",
  ...ORT_SANITIZERS,
  async fn() {
    await using pkg = await buildVariantPackage();
    const webgpu = await createBackend("webgpu");
    assert.ok(webgpu.capabilities.fp16, "this adapter has no shader-f16 (lavapipe has it)");
    const { pipeline, reads } = await load(pkg.folder, "auto", webgpu);
    try {
      assert.deepEqual(transformerReads(reads), ["fp16/transformer.onnx"]);
      const result = await pipeline.edit({ ...input, options: { seed: 9, steps: 4 } });
      assert.equal(result.device, "webgpu");
      assert.equal(result.dtypes.transformer, "fp16");
      assert.ok(result.localization.data.every((value) => value >= 0 && value <= 1));
    } finally {
      await pipeline.dispose();
    }
  },
});
