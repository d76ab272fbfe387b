import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import {
  editOptionsJsonSchema,
  EditOptionsSchema,
  editRequestJsonSchema,
  EditRequestSchema,
  parseWith,
} from "../../src/schema/mod.ts";

Deno.test("edit options: every field is optional and sensible values pass", () => {
  assert.deepEqual(parseWith(EditOptionsSchema, {}), {});
  const options = {
    steps: 36,
    guidance: 6,
    gamma: 1.1,
    lambda: "auto",
    temperature: [2, 0],
    schedule: "cosine",
    seed: 2 ** 40,
    negativePrompt: "blurry",
    rows: "keywords",
    focus: "the cat",
    composite: false,
    fit: "pad",
  };
  assert.deepEqual(parseWith(EditOptionsSchema, options), options);
});

const badOptions: [string, Record<string, unknown>][] = [
  ["steps", { steps: 0 }],
  ["steps", { steps: 1.5 }],
  ["guidance", { guidance: -1 }],
  ["gamma", { gamma: 0 }],
  ["lambda", { lambda: 1.2 }],
  ["lambda", { lambda: "sometimes" }],
  ["temperature", { temperature: [1, 2, 3] }],
  ["seed", { seed: -3 }],
  ["schedule", { schedule: "square" }],
  ["rows", { rows: "some" }],
  ["fit", { fit: "stretch" }],
  ["", { colour: "red" }],
];

for (const [field, value] of badOptions) {
  Deno.test(`edit options: ${JSON.stringify(value)} is an invalid_option naming "${field}"`, () => {
    assert.throws(() => parseWith(EditOptionsSchema, value, "invalid_option"), (error) => {
      assert.ok(isEditMGTError(error, "invalid_option"));
      const issues = error.details?.issues as { path: string }[];
      assert.ok(issues.some((issue) => issue.path === field), JSON.stringify(issues));
      return true;
    });
  });
}

Deno.test("edit requests need a non-empty instruction and trim it", () => {
  assert.deepEqual(parseWith(EditRequestSchema, { instruction: "  make it blue " }), {
    instruction: "make it blue",
  });
  assert.throws(() => parseWith(EditRequestSchema, { instruction: "   " }), {
    code: "invalid_input",
  });
  assert.throws(() => parseWith(EditRequestSchema, {}), { code: "invalid_input", status: 400 });
});

Deno.test("the edit request's JSON Schema (for OpenAPI) lists the fields and their limits", () => {
  const schema = editRequestJsonSchema() as {
    required: string[];
    properties: { options: { properties: Record<string, { maximum?: number }> } };
  };
  assert.deepEqual(schema.required, ["instruction"]);
  assert.equal(schema.properties.options.properties.steps.maximum, 1000);
  const options = editOptionsJsonSchema() as { additionalProperties: boolean };
  assert.equal(options.additionalProperties, false);
});
