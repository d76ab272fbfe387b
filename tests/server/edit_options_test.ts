/**
 * The server reads edit options, `previewEvery` included, with the shared schema alone, and its
 * OpenAPI document describes them with that schema's JSON Schema.
 */

import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { parseEditOptions } from "../../src/server/edits/request.ts";
import { componentSchemas } from "../../src/server/openapi/document.ts";
import { editOptionsJsonSchema } from "../../src/schema/options.ts";

Deno.test("edit options: absent is none, previewEvery passes with the shared options", () => {
  assert.deepEqual(parseEditOptions(undefined), {});
  assert.deepEqual(parseEditOptions({ steps: 6, previewEvery: 2 }), { steps: 6, previewEvery: 2 });
});

Deno.test("edit options: a bad previewEvery and a bad step count are reported together", () => {
  assert.throws(() => parseEditOptions({ steps: 0, previewEvery: -1 }), (error) => {
    assert.ok(isEditMGTError(error, "invalid_option"));
    assert.equal(error.status, 400);
    const paths = (error.details?.issues as { path: string }[]).map((issue) => issue.path);
    assert.deepEqual(paths.sort(), ["previewEvery", "steps"]);
    assert.match(error.message, /previewEvery: must be an integer in \[0, 1000\].*got -1/);
    return true;
  });
});

Deno.test("the OpenAPI EditOptions component is the shared schema's JSON Schema", () => {
  const { $schema: _, ...shared } = editOptionsJsonSchema();
  assert.deepEqual(componentSchemas().EditOptions, shared);
});
