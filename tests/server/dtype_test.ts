import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { ResultJsonSchema } from "../../src/server/mod.ts";
import { dtypeOption } from "../../examples/server/main.ts";
import { buildVariantPackage } from "../_shared/variant_package.ts";
import { editForm, sourcePng, startServer } from "./helpers.ts";

Deno.test("the server's engines load the dtype it was given, and job results say so", async () => {
  await using pkg = await buildVariantPackage();
  const server = await startServer({ models: [pkg.folder], dtype: { transformer: "fp16" } });
  try {
    const response = await server.app.request("/v1/edits", {
      method: "POST",
      body: editForm(await sourcePng(), { options: JSON.stringify({ seed: 1, steps: 2 }) }),
      headers: { prefer: "wait" },
    });
    assert.equal(response.status, 200);
    const body = ResultJsonSchema.parse(await response.json());
    assert.deepEqual(body.result?.dtypes, {
      text_encoder: "fp32",
      vq_encoder: "fp32",
      vq_decoder: "fp32",
      transformer: "fp16",
    });
    // Every variant's files are served, for clients that choose other weights.
    const variant = await server.app.request("/models/editmgt-tiny-random/fp16/transformer.onnx");
    assert.equal(variant.status, 200);
    assert.deepEqual(
      new Uint8Array(await variant.arrayBuffer()),
      await Deno.readFile(`${pkg.folder}/fp16/transformer.onnx`),
    );
  } finally {
    await server.close();
  }
});

Deno.test("the server entry takes --dtype over DTYPE, auto by default", () => {
  assert.equal(dtypeOption([], undefined), "auto");
  assert.equal(dtypeOption([], "int8"), "int8");
  assert.deepEqual(dtypeOption(["--dtype", "transformer=q4"], "int8"), { transformer: "q4" });
  assert.deepEqual(dtypeOption(["--dtype=fp16"], undefined), "fp16");
  assert.throws(
    () => dtypeOption(["--dtype", "q3"], undefined),
    (e) => isEditMGTError(e, "invalid_option"),
  );
});
