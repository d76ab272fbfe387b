/**
 * The built SDK's first load (what a page fetches when it imports `/sdk/mod.js`) holds neither
 * zod (nor its locales) nor onnxruntime: they load when a model opens.
 */

import assert from "node:assert/strict";
import { buildSdk } from "../../sdk/build.ts";
import { firstLoad } from "../../sdk/first_load.ts";

Deno.test("the SDK's first load leaves out zod, its locales and onnxruntime", async () => {
  const outdir = await Deno.makeTempDir({ prefix: "editmgt-sdk-first-load-" });
  try {
    const { files } = await buildSdk({ outdir });
    const first = await firstLoad(outdir);
    assert.equal(first.files[0].name, "mod.js");
    const all = files.filter((file) => file.name.endsWith(".js"));
    assert.ok(first.files.length < all.length, "some chunks load later");
    const code = (await Promise.all(
      first.files.map((file) => Deno.readTextFile(`${outdir}/${file.name}`)),
    )).join("\n");
    const bundle = (await Promise.all(
      all.map((file) => Deno.readTextFile(`${outdir}/${file.name}`)),
    )).join("\n");
    // zod, one of its locales (Polish), onnxruntime-web: each in the bundle, none in the first load.
    for (const marker of ["ZodError", "Nieprawid", "InferenceSession"]) {
      assert.ok(bundle.includes(marker), `${marker} is in the bundle (the marker still works)`);
      assert.ok(!code.includes(marker), `${marker} is in the first load`);
    }
    console.log(`first load: ${first.files.length} files, ${first.bytes} bytes`);
  } finally {
    await Deno.remove(outdir, { recursive: true });
  }
});
