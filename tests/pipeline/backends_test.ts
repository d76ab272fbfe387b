import assert from "node:assert/strict";
import { encodeImage } from "../../src/image/codec.ts";
import type { DeviceName } from "../../src/model/backend.ts";
import { diskImage, ids, loadTinyRandom, ORT_SANITIZERS } from "./fixture.ts";

const DEVICES: readonly DeviceName[] = ["node", "wasm", "webgpu"];
const source = diskImage(61, 45);
const instruction = "make the red circle blue";

for (const device of DEVICES) {
  Deno.test({
    name: `end to end on ${device}: same seed, identical PNG bytes; every session released`,
    ...ORT_SANITIZERS,
    async fn() {
      const { pipeline, backend } = await loadTinyRandom(device);
      try {
        const request = { image: source, instruction, options: { seed: 1234, lambda: 0.3 } };
        const first = await pipeline.edit(request);
        const firstTokens = ids(backend.runs["vq-decode"].at(-1)!, "tokens");
        const second = await pipeline.edit(request);
        assert.equal(first.device, device);
        assert.deepEqual([first.image.width, first.image.height], [61, 45]);
        assert.deepEqual(await encodeImage(second.image), await encodeImage(first.image));
        assert.deepEqual(ids(backend.runs["vq-decode"].at(-1)!, "tokens"), firstTokens);
        assert.deepEqual(second.localization.data, first.localization.data);
        assert.ok(
          firstTokens.every((token) => token >= 0 && token < pipeline.manifest.vq.codebookSize),
        );
      } finally {
        await pipeline.dispose();
      }
      assert.equal(backend.released, backend.created);
    },
  });
}
