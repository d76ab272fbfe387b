import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { parseManifest } from "../../src/model/manifest.ts";
import type { ComponentDtype, Manifest, ManifestComponent } from "../../src/schema/manifest.ts";
import {
  chooseDevice,
  fitVariants,
  memoryProblems,
  modelNeeds,
  probe,
  type ProbeReport,
  suggestVariants,
  WASM32_MEMORY_BYTES,
} from "../../sdk/probe.ts";
import { buildVariantPackage } from "../_shared/variant_package.ts";

function report(overrides: {
  webgpu?: Partial<ProbeReport["webgpu"]>;
  wasm?: Partial<ProbeReport["wasm"]>;
  deviceMemory?: number;
}): ProbeReport {
  return {
    webgpu: {
      available: true,
      adapter: { vendor: "nvidia", architecture: "ampere", description: "" },
      fallback: false,
      shaderF16: true,
      limits: { maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 30 },
      ...overrides.webgpu,
    },
    wasm: {
      available: true,
      threads: true,
      cores: 8,
      maxMemoryBytes: WASM32_MEMORY_BYTES,
      ...overrides.wasm,
    },
    ...(overrides.deviceMemory === undefined ? {} : { deviceMemory: overrides.deviceMemory }),
    crossOriginIsolated: true,
    storage: { cacheStorage: true, quota: 1e10, usage: 0 },
  };
}

Deno.test("auto picks WebGPU on a hardware adapter and names it", () => {
  assert.deepEqual(chooseDevice(report({}), { fp16: true }), {
    device: "webgpu",
    reason: "WebGPU adapter nvidia ampere",
  });
});

Deno.test("auto falls back to WASM without an adapter, without shader-f16 for fp16, on a software adapter", () => {
  const cases: [ReturnType<typeof report>, boolean, RegExp][] = [
    [
      report({ webgpu: { available: false, reason: "no navigator.gpu" } }),
      false,
      /no navigator\.gpu/,
    ],
    [report({ webgpu: { shaderF16: false } }), true, /lacks shader-f16/],
    [report({ webgpu: { fallback: true } }), false, /software fallback/],
  ];
  for (const [probed, fp16, why] of cases) {
    const choice = chooseDevice(probed, { fp16 });
    assert.equal(choice.device, "wasm");
    assert.match(choice.reason, why);
    assert.match(choice.reason, /WASM with 4 threads/);
  }
  const fp32 = chooseDevice(report({ webgpu: { shaderF16: false } }), { fp16: false });
  assert.equal(fp32.device, "webgpu");
});

Deno.test("auto says why WASM runs on one thread, and uses the remote API without WASM SIMD", () => {
  const single = chooseDevice(
    report({ webgpu: { available: false, reason: "none" }, wasm: { threads: false } }),
    { fp16: false },
  );
  assert.match(single.reason, /1 thread \(the page is not cross-origin isolated\)/);
  const remote = chooseDevice(
    report({ webgpu: { available: false, reason: "none" }, wasm: { available: false } }),
    { fp16: false },
  );
  assert.equal(remote.device, "remote");
});

Deno.test("probe in Deno finds WebAssembly SIMD and Cache Storage", async () => {
  const probed = await probe();
  assert.equal(probed.wasm.available, true);
  assert.equal(probed.storage.cacheStorage, true);
  assert.equal(probed.crossOriginIsolated, false);
  assert.equal(probed.wasm.threads, false);
});

/** The variant package's manifest: an fp32 transformer with an fp16 variant for WebGPU. */
async function variantManifest(): Promise<Manifest> {
  await using pkg = await buildVariantPackage();
  return parseManifest(JSON.parse(await Deno.readTextFile(pkg.manifest)));
}

Deno.test("suggested variants follow the probe: fp16 on WebGPU only with shader-f16", async () => {
  const manifest = await variantManifest();
  const transformer = (probed: ProbeReport, device: "webgpu" | "wasm") =>
    suggestVariants(probed, manifest, { device }).find((c) => c.component === "transformer")!;
  assert.equal(transformer(report({}), "webgpu").dtype, "fp16");
  assert.equal(transformer(report({ webgpu: { shaderF16: false } }), "webgpu").dtype, "fp32");
  assert.equal(transformer(report({}), "wasm").dtype, "fp32");
  assert.equal(
    suggestVariants(report({}), manifest, { device: "wasm", dtype: "fp16" })
      .find((c) => c.component === "transformer")!.dtype,
    "fp16",
  );
});

Deno.test("a model needs shader-f16 only when fp16 is asked for or has no alternative", async () => {
  const manifest = await variantManifest();
  assert.deepEqual(modelNeeds(manifest), { fp16: false });
  assert.deepEqual(modelNeeds(manifest, "fp16"), { fp16: true });
  const transformer = manifest.components.find((c) => c.kind === "transformer")!;
  transformer.dtype = "fp16";
  transformer.variants = [];
  assert.deepEqual(modelNeeds(manifest), { fp16: true });
  assert.throws(
    () => modelNeeds(manifest, "q4"),
    (error) => isEditMGTError(error, "invalid_input"),
  );
});

const GiB = 1024 ** 3;
/** An adapter that binds 4 GiB buffers. */
const roomyGpu = report({
  webgpu: { limits: { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 4 * GiB } },
});

/** One file of `bytes` bytes (the hash is never checked here). */
function files(name: string, bytes: number) {
  return [{ path: `${name}.onnx`, sha256: "ab".repeat(32), bytes: Math.round(bytes) }];
}

/** A graph component with base weights and variants, sizes in GiB. */
function graph(
  name: string,
  kind: ManifestComponent["kind"],
  base: { dtype: ComponentDtype; gib: number; peak?: number; tensor?: number },
  variants: { dtype: ComponentDtype; gib: number; peak?: number; tensor?: number }[] = [],
): ManifestComponent {
  const sizes = (set: { gib: number; peak?: number; tensor?: number }) => ({
    ...(set.peak === undefined ? {} : { peakBytes: Math.round(set.peak * GiB) }),
    ...(set.tensor === undefined ? {} : { maxTensorBytes: Math.round(set.tensor * GiB) }),
  });
  return {
    name,
    kind,
    dtype: base.dtype,
    files: files(name, base.gib * GiB),
    ...sizes(base),
    variants: variants.map((variant) => ({
      dtype: variant.dtype,
      files: files(`${name}.${variant.dtype}`, variant.gib * GiB),
      ...sizes(variant),
    })),
  };
}

/**
 * A manifest shaped like the real EditMGT: a Gemma-2 context encoder with a 2.2 GiB embedding
 * table, CLIP, a transformer whose fp32 session peaks at 4.4 GiB (3.8 GiB of files), the VQ.
 */
async function realSized(): Promise<Manifest> {
  const manifest = await variantManifest();
  manifest.components = [
    { name: "tokenizer", kind: "tokenizer", role: "context", files: files("tokenizer", 1e6) },
    graph("gemma", "text-encoder", { dtype: "fp32", gib: 3.9, tensor: 2.2 }, [
      { dtype: "q4", gib: 1.4, tensor: 0.3 },
    ]),
    { ...graph("clip", "text-encoder", { dtype: "fp32", gib: 1.3, tensor: 0.2 }), role: "pooled" },
    graph("transformer", "transformer", { dtype: "fp32", gib: 3.8, peak: 4.4, tensor: 0.1 }, [
      { dtype: "int8", gib: 1.1, peak: 1.6 },
      { dtype: "q4", gib: 0.7, peak: 1.1 },
    ]),
    graph("vq_encoder", "vq-encoder", { dtype: "fp32", gib: 0.3 }),
    graph("vq_decoder", "vq-decoder", { dtype: "fp32", gib: 0.3 }),
  ];
  manifest.components[1].role = "context";
  return manifest;
}

const dtypesOf = (plan: { variants: { component: string; dtype: string }[] }) =>
  Object.fromEntries(plan.variants.map((choice) => [choice.component, choice.dtype]));

Deno.test("a small model fits anywhere: nothing to report, nothing swapped, sessions kept", async () => {
  const manifest = await variantManifest();
  for (const device of ["webgpu", "wasm"] as const) {
    const plan = fitVariants(report({ deviceMemory: 0.5 }), manifest, { device });
    assert.equal(plan.note, "");
    assert.equal(plan.memory, "keep");
  }
});

Deno.test("WASM: a transformer over the 4 GiB heap steps down to int8 under auto", async () => {
  const manifest = await realSized();
  const plan = fitVariants(report({}), manifest, { device: "wasm" });
  assert.equal(plan.memory, "release", "a 10 GiB model is loaded one graph at a time");
  assert.equal(dtypesOf(plan).transformer, "int8");
  assert.equal(dtypesOf(plan).gemma, "fp32", "3.9 GiB fits one heap on its own");
  assert.match(
    plan.note,
    /transformer \(fp32\) needs 4\.4 GiB in one WASM heap.*using transformer int8/,
  );
});

Deno.test("WASM: fp32 asked for is refused before download, saying what is missing and what helps", async () => {
  const manifest = await realSized();
  assert.throws(
    () => fitVariants(report({}), manifest, { device: "wasm", dtype: "fp32" }),
    (error) =>
      isEditMGTError(error, "backend_unavailable") && /; use dtype q4$/.test(error.message),
    "the adapter cannot bind Gemma's embedding table in fp32 either",
  );
  assert.throws(
    () => fitVariants(roomyGpu, manifest, { device: "wasm", dtype: "fp32" }),
    (error) =>
      isEditMGTError(error, "backend_unavailable") &&
      error.message ===
        "the transformer (fp32) needs 4.4 GiB in one WASM heap; WASM can address 4.0 GiB; " +
          "use device webgpu or dtype q4",
  );
});

Deno.test("WebGPU: a tensor over maxStorageBufferBindingSize is refused or stepped down", async () => {
  const manifest = await realSized();
  const probed = report({});
  const problems = memoryProblems(
    probed,
    "webgpu",
    suggestVariants(probed, manifest, { device: "webgpu" }),
    "release",
  );
  assert.deepEqual(problems.map((problem) => problem.component), ["gemma"]);
  assert.match(
    problems[0].message,
    /2\.2 GiB tensor; .* at most 1\.0 GiB in one buffer \(maxStorageBufferBindingSize\)/,
  );

  const plan = fitVariants(probed, manifest, { device: "webgpu" });
  assert.deepEqual(dtypesOf(plan), {
    gemma: "q4",
    clip: "fp32",
    transformer: "fp32",
    vq_encoder: "fp32",
    vq_decoder: "fp32",
  });
  assert.equal(dtypesOf(fitVariants(roomyGpu, manifest, { device: "webgpu" })).gemma, "fp32");
  assert.throws(
    () => fitVariants(probed, manifest, { device: "webgpu", dtype: { gemma: "fp32" } }),
    (error) =>
      isEditMGTError(error, "backend_unavailable") &&
      /maxStorageBufferBindingSize/.test(error.message),
  );
});

Deno.test('keeping every graph must fit one heap; "release" is named as the remedy', async () => {
  const manifest = await realSized();
  assert.throws(
    () => fitVariants(report({}), manifest, { device: "wasm", dtype: "q4", memory: "keep" }),
    (error) =>
      isEditMGTError(error, "backend_unavailable") &&
      /all kept loaded \(memory "keep"\), need [\d.]+ GiB in one WASM heap/.test(error.message) &&
      /memory "release"/.test(error.message),
  );
  const released = fitVariants(report({}), manifest, {
    device: "wasm",
    dtype: "q4",
    memory: "release",
  });
  assert.equal(released.memory, "release");
});

Deno.test("navigator.deviceMemory below the model's need refuses; the capped 8 GiB does not", async () => {
  const manifest = await realSized();
  const small = report({ deviceMemory: 2 });
  assert.throws(
    () => fitVariants(small, manifest, { device: "webgpu", dtype: "fp32" }),
    (error) =>
      isEditMGTError(error, "backend_unavailable") &&
      /reports 2 GiB \(navigator\.deviceMemory\)/.test(error.message),
  );
  const plan = fitVariants(small, manifest, { device: "wasm" });
  assert.equal(dtypesOf(plan).gemma, "q4", "stepped down until the largest graph fits 2 GiB");
  assert.equal(dtypesOf(plan).transformer, "int8");
  assert.doesNotThrow(() =>
    fitVariants(report({ deviceMemory: 8 }), manifest, { device: "webgpu", dtype: { gemma: "q4" } })
  );
});
