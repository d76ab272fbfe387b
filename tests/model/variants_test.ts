import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import {
  chooseVariant,
  chooseVariants,
  dtypesOf,
  parseDtypeRequest,
} from "../../src/model/variants.ts";
import type { Manifest, ManifestComponent, ManifestFile } from "../../src/schema/manifest.ts";

const file = (path: string): ManifestFile => ({ path, sha256: "ab".repeat(32), bytes: 10 });
const gpu = { device: "webgpu", capabilities: { fp16: true } } as const;
const gpuWithoutF16 = { device: "webgpu", capabilities: { fp16: false } } as const;
const node = { device: "node", capabilities: { fp16: true } } as const;

/** A transformer with fp32 base files, an fp16 variant for WebGPU and an unlisted q4 variant. */
function transformer(): ManifestComponent {
  return {
    name: "transformer",
    kind: "transformer",
    dtype: "fp32",
    files: [file("transformer.onnx"), file("transformer.onnx.data")],
    peakBytes: 4000,
    variants: [
      {
        dtype: "fp16",
        files: [file("transformer.fp16.onnx")],
        devices: ["webgpu"],
        peakBytes: 2000,
      },
      { dtype: "q4", files: [file("transformer.q4.onnx")] },
    ],
  };
}

/** A manifest whose graphs are the given components plus plain fp32 text and VQ graphs. */
function manifestWith(...components: ManifestComponent[]): Manifest {
  const graph = (name: string, kind: ManifestComponent["kind"]): ManifestComponent => ({
    name,
    kind,
    dtype: "fp32",
    files: [file(`${name}.onnx`)],
  });
  return {
    id: "variants-test",
    components: [
      { name: "tokenizer", kind: "tokenizer", role: "context", files: [file("tokenizer.json")] },
      graph("text_encoder", "text-encoder"),
      graph("vq_encoder", "vq-encoder"),
      graph("vq_decoder", "vq-decoder"),
      ...components,
    ],
  } as Manifest;
}

Deno.test("auto picks the first variant listed for the device that the backend can run", () => {
  const choice = chooseVariant(transformer(), gpu);
  assert.equal(choice.dtype, "fp16");
  assert.equal(choice.variant, true);
  assert.deepEqual(choice.files.map((f) => f.path), ["transformer.fp16.onnx"]);
  assert.equal(choice.peakBytes, 2000);
  assert.equal(choice.requested, "auto");
});

Deno.test("auto keeps the base where no variant lists the device (node never gets fp16 by default)", () => {
  for (const options of [node, { device: "wasm", capabilities: { fp16: true } }] as const) {
    const choice = chooseVariant(transformer(), options);
    assert.equal(choice.dtype, "fp32", options.device);
    assert.equal(choice.variant, false);
    assert.deepEqual(choice.files.map((f) => f.path), [
      "transformer.onnx",
      "transformer.onnx.data",
    ]);
    assert.equal(choice.peakBytes, 4000);
  }
});

Deno.test("auto skips a listed fp16 variant on WebGPU without shader-f16", () => {
  assert.equal(chooseVariant(transformer(), gpuWithoutF16).dtype, "fp32");
});

Deno.test("auto falls back to a runnable variant when the base is fp16 and the backend cannot run it", () => {
  const component: ManifestComponent = {
    ...transformer(),
    dtype: "fp16",
    variants: [{ dtype: "int8", files: [file("transformer.int8.onnx")] }],
  };
  const choice = chooseVariant(component, gpuWithoutF16);
  assert.equal(choice.dtype, "int8");
  assert.match(choice.reason, /base needs shader-f16/);
  assert.equal(chooseVariant(component, gpu).dtype, "fp16");
});

Deno.test("a graph without a dtype is fp32", () => {
  const { dtype: _, ...component } = transformer();
  assert.equal(chooseVariant(component, node).dtype, "fp32");
  assert.equal(chooseVariant(component, { ...node, dtype: "fp32" }).variant, false);
});

Deno.test("an explicit dtype picks the base or the variant of that type, whatever the devices say", () => {
  assert.equal(
    chooseVariant(transformer(), { ...node, dtype: "q4" }).files[0].path,
    "transformer.q4.onnx",
  );
  assert.equal(chooseVariant(transformer(), { ...node, dtype: "fp16" }).dtype, "fp16");
  const base = chooseVariant(transformer(), { ...gpu, dtype: "fp32" });
  assert.equal(base.variant, false);
  assert.equal(base.dtype, "fp32");
});

Deno.test("an explicit dtype a component does not offer keeps its base and says so", () => {
  const choice = chooseVariant(transformer(), { ...node, dtype: "int8" });
  assert.equal(choice.dtype, "fp32");
  assert.equal(choice.requested, "int8");
  assert.match(choice.reason, /offers no int8 weights; keeps its fp32 base/);
});

Deno.test("one dtype for the model: components that offer it load it, the others keep their base", () => {
  const choices = chooseVariants(manifestWith(transformer()), { ...node, dtype: "q4" });
  assert.deepEqual(dtypesOf(choices), {
    text_encoder: "fp32",
    vq_encoder: "fp32",
    vq_decoder: "fp32",
    transformer: "q4",
  });
  assert.deepEqual(choices.map((choice) => choice.component), [
    "text_encoder",
    "vq_encoder",
    "vq_decoder",
    "transformer",
  ]);
});

Deno.test("a dtype no graph component offers is invalid_input listing what the model offers", () => {
  assert.throws(
    () => chooseVariants(manifestWith(transformer()), { ...node, dtype: "int8" }),
    (error) =>
      isEditMGTError(error, "invalid_input") &&
      /no component of model variants-test offers int8 weights/.test(error.message) &&
      /transformer: fp32, fp16, q4/.test(error.message),
  );
});

Deno.test("fp16 asked for on a backend without shader-f16 is backend_unavailable", () => {
  assert.throws(
    () => chooseVariants(manifestWith(transformer()), { ...gpuWithoutF16, dtype: "fp16" }),
    (error) =>
      isEditMGTError(error, "backend_unavailable") && /transformer/.test(error.message) &&
      /shader-f16/.test(error.message),
  );
  const fp16Base = { ...transformer(), dtype: "fp16" as const, variants: [] };
  assert.throws(
    () => chooseVariants(manifestWith(fp16Base), gpuWithoutF16),
    (error) => isEditMGTError(error, "backend_unavailable"),
  );
});

Deno.test("a record names components; the others are auto; a named component must offer its type", () => {
  const manifest = manifestWith(transformer());
  assert.deepEqual(
    dtypesOf(chooseVariants(manifest, { ...gpu, dtype: { vq_decoder: "fp32" } })).transformer,
    "fp16",
  );
  assert.equal(
    dtypesOf(chooseVariants(manifest, { ...gpu, dtype: { transformer: "q4" } })).transformer,
    "q4",
  );
  assert.throws(
    () => chooseVariants(manifest, { ...node, dtype: { text_encoder: "q4" } }),
    (error) =>
      isEditMGTError(error, "invalid_input") &&
      /text_encoder offers no q4 weights/.test(error.message),
  );
});

Deno.test("a malformed dtype request is invalid_option", () => {
  const manifest = manifestWith(transformer());
  const requests = ["q8", { tokenizer: "fp32" }, { nope: "fp32" }, { transformer: "fp64" }, 7];
  for (const dtype of requests) {
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => chooseVariants(manifest, { ...node, dtype: dtype as any }),
      (error) => isEditMGTError(error, "invalid_option"),
      JSON.stringify(dtype),
    );
  }
});

Deno.test("dtype text parses as auto, one type, or component=type pairs", () => {
  assert.equal(parseDtypeRequest("auto"), "auto");
  assert.equal(parseDtypeRequest(" q4 "), "q4");
  assert.deepEqual(parseDtypeRequest("transformer=q4, text_encoder=int8"), {
    transformer: "q4",
    text_encoder: "int8",
  });
  for (const bad of ["q8", "transformer=", "=q4", "transformer=q4=q4", "transformer=fp64", ""]) {
    assert.throws(() => parseDtypeRequest(bad), (e) => isEditMGTError(e, "invalid_option"), bad);
  }
});
