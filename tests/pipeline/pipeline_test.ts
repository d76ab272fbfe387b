import assert from "node:assert/strict";
import { EditMGTError, isEditMGTError } from "../../src/errors/mod.ts";
import { encodeImage } from "../../src/image/codec.ts";
import type { EditProgress } from "../../src/pipeline/types.ts";
import { diskImage, ids, loadTinyRandom, ORT_SANITIZERS } from "./fixture.ts";

const { pipeline, backend } = await loadTinyRandom("node");
const { manifest } = pipeline;
const vqTokens = manifest.vq.grid.width * manifest.vq.grid.height;
const instruction = "make the red circle blue";
const source = diskImage(50, 37);

Deno.test({
  name: "an edit returns the image at the source's size, the maps on their grids and the seed",
  ...ORT_SANITIZERS,
  async fn() {
    const result = await pipeline.edit({ image: source, instruction, options: { seed: 11 } });
    assert.equal(result.seed, 11);
    assert.equal(result.device, "node");
    assert.deepEqual([result.image.width, result.image.height], [50, 37]);
    assert.equal(result.image.data.length, 50 * 37 * 4);
    assert.deepEqual([result.mask.width, result.mask.height], [16, 16]);
    assert.ok(result.mask.data.every((flag) => flag === 0 || flag === 1));
    // The default map is the change map, on the VQ token grid.
    assert.deepEqual([result.localization.width, result.localization.height], [16, 16]);
    assert.ok(result.localization.data.every((value) => value >= 0 && value <= 1));
    assert.ok(result.localization.lambda >= 0 && result.localization.lambda <= 1);
    const { textMs, encodeMs, stepsMs, decodeMs, compositeMs, totalMs } = result.timings;
    assert.ok([textMs, encodeMs, stepsMs, decodeMs, compositeMs].every((ms) => ms >= 0));
    assert.ok(totalMs >= stepsMs + decodeMs + compositeMs);
  },
});

Deno.test({
  name: "without a seed a random one is drawn and returned; it reproduces the edit",
  ...ORT_SANITIZERS,
  async fn() {
    const first = await pipeline.edit({ image: source, instruction });
    assert.ok(Number.isSafeInteger(first.seed) && first.seed >= 0);
    const again = await pipeline.edit({
      image: source,
      instruction,
      options: { seed: first.seed },
    });
    assert.deepEqual(await encodeImage(again.image), await encodeImage(first.image));
  },
});

Deno.test({
  name: "different seeds draw different tokens",
  ...ORT_SANITIZERS,
  async fn() {
    const decoded = async (seed: number) => {
      await pipeline.edit({ image: source, instruction, options: { seed, composite: false } });
      return ids(backend.runs["vq-decode"].at(-1)!, "tokens");
    };
    assert.notDeepEqual(await decoded(1), await decoded(2));
  },
});

Deno.test({
  name: "lambda 1 holds every token: the composite returns the input pixels exactly",
  ...ORT_SANITIZERS,
  async fn() {
    const held = await pipeline.edit({
      image: source,
      instruction,
      options: { seed: 3, lambda: 1 },
    });
    assert.ok(held.mask.data.every((flag) => flag === 0), "no token was edited");
    assert.deepEqual(held.image.data, source.data);

    const raw = await pipeline.edit({
      image: source,
      instruction,
      options: { seed: 3, lambda: 1, composite: false },
    });
    assert.notDeepEqual(raw.image.data, source.data, "the raw decode is a VQ reconstruction");
    assert.deepEqual([raw.image.width, raw.image.height], [50, 37]);
  },
});

Deno.test({
  name: "a token mask confines the edit: tokens outside it keep the source",
  ...ORT_SANITIZERS,
  async fn() {
    const region = new Uint8Array(vqTokens);
    for (let row = 4; row < 10; row++) region.fill(1, row * 16 + 3, row * 16 + 9);
    const result = await pipeline.edit({
      image: source,
      instruction,
      mask: { width: 16, height: 16, data: region },
      options: { seed: 5, lambda: 0 },
    });
    const decodedTokens = ids(backend.runs["vq-decode"].at(-1)!, "tokens");
    const refTokens = ids(stepFeeds().at(-1)!, "ref_tokens");
    for (let j = 0; j < vqTokens; j++) {
      if (!region[j]) {
        assert.equal(decodedTokens[j], refTokens[j], `token ${j} outside the mask changed`);
        assert.equal(result.mask.data[j], 0);
      }
    }
    assert.ok(result.mask.data.some((flag) => flag === 1), "the masked region was edited");
  },
});

Deno.test({
  name: "a mask image of the source's size selects the same tokens as its token mask",
  ...ORT_SANITIZERS,
  async fn() {
    const maskImage = diskImage(50, 37);
    for (let p = 0; p < 50 * 37; p++) {
      const x = p % 50;
      maskImage.data.set(x < 25 ? [255, 255, 255, 255] : [0, 0, 0, 255], p * 4);
    }
    const result = await pipeline.edit({
      image: source,
      instruction,
      mask: maskImage,
      options: { seed: 5 },
    });
    const firstStep = stepFeeds().at(-manifest.defaults.steps)!;
    const startTokens = ids(firstStep, "tokens");
    for (let j = 0; j < vqTokens; j++) {
      const left = j % 16 < 8;
      assert.equal(startTokens[j] === manifest.vq.maskTokenId, left, `token ${j}`);
      if (!left) assert.equal(result.mask.data[j], 0);
    }
  },
});

Deno.test({
  name: "progress: a step event per step in order, previews every k steps, then done",
  ...ORT_SANITIZERS,
  async fn() {
    const events: EditProgress[] = [];
    const firstStep = stepFeeds().length;
    const firstDecode = backend.runs["vq-decode"].length;
    await pipeline.edit(
      { image: source, instruction, options: { seed: 2, steps: 6, previewEvery: 2 } },
      { onProgress: (event) => events.push(event) },
    );
    assert.deepEqual(
      events.map((event) => event.type === "step" ? `${event.index}/${event.total}` : event.type),
      ["1/6", "2/6", "3/6", "4/6", "5/6", "6/6", "done"],
    );
    const previews = events.flatMap((event) =>
      event.type === "step" && event.preview ? [event.index] : []
    );
    assert.deepEqual(previews, [2, 4]);
    const preview = events.find((event) => event.type === "step" && event.preview);
    assert.ok(preview?.type === "step" && preview.preview);
    assert.deepEqual([preview.preview.width, preview.preview.height], [64, 64]);

    // The step-2 preview shows the tokens step 3 is fed, with the source where still masked.
    const shown = ids(backend.runs["vq-decode"][firstDecode], "tokens");
    const fed = ids(stepFeeds()[firstStep + 2], "tokens");
    const refTokens = ids(stepFeeds()[firstStep + 2], "ref_tokens");
    assert.ok(
      fed.includes(manifest.vq.maskTokenId) && fed.some((t) => t !== manifest.vq.maskTokenId),
    );
    assert.deepEqual(shown, fed.map((t, j) => t === manifest.vq.maskTokenId ? refTokens[j] : t));
  },
});

Deno.test({
  name: "prompt features are cached per text: words seen before run no text encoder",
  ...ORT_SANITIZERS,
  async fn() {
    const options = { seed: 1, steps: 2, negativePrompt: "blue square" };
    const runs = async (text: string) => {
      const before = backend.runs.text.length;
      await pipeline.edit({ image: source, instruction: text, options });
      return backend.runs.text.length - before;
    };
    assert.equal(await runs("turn the circle green"), 2, "instruction and negative prompt");
    assert.equal(await runs("remove the red circle"), 1, "the negative prompt was cached");
    assert.equal(await runs("turn the circle green"), 0, "both were cached");
  },
});

Deno.test({
  name: "the instruction reaches the text encoder as the tokenizer's ids, padded to the length",
  ...ORT_SANITIZERS,
  async fn() {
    await pipeline.edit({
      image: source,
      instruction: "Make the RED circle blue",
      options: { steps: 1 },
    });
    const fed = ids(backend.runs.text.at(-1)!, "input_ids");
    assert.deepEqual(fed, [2, 3, 4, 7, 6, 0, 0, 0]);
  },
});

Deno.test({
  name: "previewRegion runs one transformer step and returns the map with its lambda",
  ...ORT_SANITIZERS,
  async fn() {
    const before = stepFeeds().length;
    const region = await pipeline.previewRegion({ image: source, instruction });
    assert.equal(stepFeeds().length - before, 1);
    assert.deepEqual([region.width, region.height], [16, 16]);
    assert.equal(region.data.length, vqTokens);
    assert.ok(region.data.every((value) => value >= 0 && value <= 1));
    assert.ok(region.lambda >= 0 && region.lambda <= 1);
    const fixed = await pipeline.previewRegion({
      image: source,
      instruction,
      options: { lambda: 0.3 },
    });
    assert.equal(fixed.lambda, 0.3);
  },
});

Deno.test({
  name: 'mapSource "attention" returns the attention map on the transformer grid',
  ...ORT_SANITIZERS,
  async fn() {
    const options = { seed: 11, mapSource: "attention" } as const;
    const result = await pipeline.edit({ image: source, instruction, options });
    assert.deepEqual([result.localization.width, result.localization.height], [8, 8]);
    assert.ok(result.localization.data.every((value) => value >= 0 && value <= 1));
    const region = await pipeline.previewRegion({ image: source, instruction, options });
    assert.deepEqual([region.width, region.height], [8, 8]);
    assert.equal(region.data.length, 64);
  },
});

Deno.test({
  name: "aborting mid-edit rejects with aborted; the pipeline keeps working",
  ...ORT_SANITIZERS,
  async fn() {
    const controller = new AbortController();
    const before = stepFeeds().length;
    await assert.rejects(
      pipeline.edit({ image: source, instruction, options: { steps: 20 } }, {
        signal: controller.signal,
        onProgress: (event) => event.type === "step" && event.index === 2 && controller.abort(),
      }),
      (error) => isEditMGTError(error, "aborted"),
    );
    assert.ok(stepFeeds().length - before <= 3, "the sampler stopped after the abort");
    const result = await pipeline.edit({ image: source, instruction, options: { seed: 4 } });
    assert.equal(result.seed, 4);
  },
});

Deno.test({
  name: "an already aborted signal rejects before any model work",
  ...ORT_SANITIZERS,
  async fn() {
    const before = totalRuns();
    await assert.rejects(
      pipeline.edit({ image: source, instruction }, { signal: AbortSignal.abort() }),
      (error) => isEditMGTError(error, "aborted"),
    );
    assert.equal(totalRuns(), before);
  },
});

const validPng = await Deno.readFile(
  new URL("../fixtures/images/pattern-7x5.png", import.meta.url),
);
const gif = await Deno.readFile(new URL("../fixtures/images/pattern-7x5.gif", import.meta.url));
const corruptPng = validPng.slice();
corruptPng.fill(0x5a, 41);
/** A real PNG whose header was edited to claim 100000x100000 pixels. */
const hugePng = validPng.slice();
new DataView(hugePng.buffer).setUint32(16, 100_000);
new DataView(hugePng.buffer).setUint32(20, 100_000);

const BAD_INPUTS: [string, () => Parameters<typeof pipeline.edit>[0], string[]][] = [
  ["a zero-byte file", () => ({ image: new Uint8Array(0), instruction }), [
    "invalid_input",
    "corrupt_image",
  ]],
  ["a corrupt PNG", () => ({ image: corruptPng, instruction }), ["invalid_input", "corrupt_image"]],
  ["a header claiming 100000x100000", () => ({ image: hugePng, instruction }), [
    "payload_too_large",
    "image_too_large",
  ]],
  ["an unsupported format (GIF)", () => ({ image: gif, instruction }), ["unsupported_format"]],
  ["an empty instruction", () => ({ image: source, instruction: "  " }), ["invalid_input"]],
  ["a 10 kB instruction", () => ({ image: source, instruction: "red ".repeat(2500) }), [
    "invalid_input",
  ]],
  [
    "a mask image of the wrong size",
    () => ({ image: source, instruction, mask: diskImage(49, 37) }),
    [
      "invalid_input",
    ],
  ],
  [
    "a token mask of the wrong grid",
    () => ({ image: source, instruction, mask: { width: 8, height: 8, data: new Uint8Array(64) } }),
    ["invalid_input"],
  ],
  ["a malformed pixel buffer", () => ({
    image: { width: 4, height: 4, data: new Uint8ClampedArray(10) },
    instruction,
  }), ["invalid_input"]],
  ["an out-of-range option", () => ({ image: source, instruction, options: { steps: 0 } }), [
    "invalid_option",
  ]],
];

for (const [what, input, codes] of BAD_INPUTS) {
  Deno.test({
    name: `bad input: ${what} is a typed error, before any model work`,
    ...ORT_SANITIZERS,
    async fn() {
      const before = totalRuns();
      const error = await pipeline.edit(input()).then(
        () => assert.fail("the edit succeeded"),
        (error: unknown) => error,
      );
      assert.ok(error instanceof EditMGTError, `not an EditMGTError: ${error}`);
      assert.ok(codes.includes(error.code), `code ${error.code}, expected one of ${codes}`);
      assert.equal(totalRuns(), before, "no graph ran");
    },
  });
}

Deno.test({
  name: "bad input leaves the pipeline usable; dispose releases every session",
  ...ORT_SANITIZERS,
  async fn() {
    await assert.rejects(pipeline.edit({ image: new Uint8Array(0), instruction }));
    const result = await pipeline.edit({ image: validPng, instruction, options: { seed: 9 } });
    assert.deepEqual([result.image.width, result.image.height], [7, 5]);
    assert.equal(backend.created, 4);
    await pipeline.dispose();
    assert.equal(backend.released, backend.created);
    await assert.rejects(
      pipeline.edit({ image: source, instruction }),
      (error) => isEditMGTError(error, "internal"),
    );
  },
});

function stepFeeds() {
  return backend.runs.step;
}

function totalRuns(): number {
  return Object.values(backend.runs).reduce((sum, runs) => sum + runs.length, 0);
}
