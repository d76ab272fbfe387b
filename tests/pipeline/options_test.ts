/** The pipeline resolves `previewEvery` from the shared edit options, with no previews by default. */

import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { parseManifest } from "../../src/model/manifest.ts";
import { resolveEditOptions } from "../../src/pipeline/options.ts";
import { MAX_PREVIEW_EVERY } from "../../src/schema/options.ts";
import { TINY_RANDOM } from "./fixture.ts";

const manifest = parseManifest(JSON.parse(await Deno.readTextFile(TINY_RANDOM)));

Deno.test("an edit without previewEvery decodes no previews", () => {
  assert.equal(resolveEditOptions(manifest, { seed: 1 }).previewEvery, 0);
  assert.equal(resolveEditOptions(manifest).previewEvery, 0);
});

Deno.test("an edit's previewEvery is kept as given", () => {
  assert.equal(resolveEditOptions(manifest, { previewEvery: 3 }).previewEvery, 3);
});

Deno.test("previewEvery over the shared limit is an invalid_option, as on the server", () => {
  assert.throws(
    () => resolveEditOptions(manifest, { previewEvery: MAX_PREVIEW_EVERY + 1 }),
    (error) => isEditMGTError(error, "invalid_option") && error.message.startsWith("previewEvery:"),
  );
});
