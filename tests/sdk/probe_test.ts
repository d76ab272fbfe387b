import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { parseManifest } from "../../src/model/manifest.ts";
import type { Manifest } from "../../src/schema/manifest.ts";
import {
  chooseDevice,
  modelNeeds,
  probe,
  type ProbeReport,
  suggestVariants,
} from "../../sdk/probe.ts";
import { buildVariantPackage } from "../_shared/variant_package.ts";

function report(overrides: {
  webgpu?: Partial<ProbeReport["webgpu"]>;
  wasm?: Partial<ProbeReport["wasm"]>;
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
    wasm: { available: true, threads: true, cores: 8, ...overrides.wasm },
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
