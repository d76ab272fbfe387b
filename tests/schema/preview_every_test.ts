/**
 * `previewEvery` is one of the shared edit options: the pipeline, the server and the OpenAPI
 * document all read it from `EditOptionsSchema`.
 */

import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import {
  editOptionsJsonSchema,
  EditOptionsSchema,
  MAX_PREVIEW_EVERY,
  MAX_REQUEST_STEPS,
  parseWith,
} from "../../src/schema/mod.ts";

Deno.test("previewEvery: 0 (no previews) up to the most steps an edit has are valid", () => {
  assert.equal(MAX_PREVIEW_EVERY, MAX_REQUEST_STEPS);
  for (const previewEvery of [0, 1, 7, MAX_PREVIEW_EVERY]) {
    assert.deepEqual(parseWith(EditOptionsSchema, { previewEvery }), { previewEvery });
  }
});

for (const previewEvery of [-1, 2.5, "4", null, MAX_PREVIEW_EVERY + 1]) {
  Deno.test(`previewEvery: ${JSON.stringify(previewEvery)} is an invalid_option saying why`, () => {
    assert.throws(
      () => parseWith(EditOptionsSchema, { steps: 8, previewEvery }, "invalid_option"),
      (error) => {
        assert.ok(isEditMGTError(error, "invalid_option"));
        assert.equal(
          error.message,
          `previewEvery: must be an integer in [0, ${MAX_PREVIEW_EVERY}] (0 = no previews), ` +
            `got ${JSON.stringify(previewEvery)}`,
        );
        assert.deepEqual(
          (error.details?.issues as { path: string }[]).map((issue) => issue.path),
          ["previewEvery"],
        );
        return true;
      },
    );
  });
}

Deno.test("previewEvery: the JSON Schema of the edit options bounds it like the parser", () => {
  const schema = editOptionsJsonSchema() as { properties: Record<string, unknown> };
  assert.deepEqual(schema.properties.previewEvery, {
    type: "integer",
    minimum: 0,
    maximum: MAX_PREVIEW_EVERY,
    description: "decode a preview image every k steps (with the step events); 0 = none",
  });
});
