/**
 * A synthetic snapshot in the released EditMGT layout (CLIP and Gemma-2 text encoders with their
 * tokenizers, transformer, VQ), converted with one command, edits through every entry point:
 * `EditPipeline` on onnxruntime-node and on WASM, the CLI and the edge server. The browser (WASM)
 * edit is in tests/browser/converted_package_test.ts.
 */

import assert from "node:assert/strict";
import { decodeImage, encodeImage } from "../../src/image/codec.ts";
import { denoSource } from "../../src/model/deno.ts";
import { createBackend } from "../../src/model/deno.ts";
import { EditPipeline } from "../../src/pipeline/pipeline.ts";
import { ManifestSchema } from "../../src/schema/mod.ts";
import { createApp } from "../../src/server/mod.ts";
import { syntheticPackage } from "../_shared/synthetic_package.ts";
import { diskImage, ids, ORT_SANITIZERS, recordingBackend } from "../pipeline/fixture.ts";

const PACKAGE = await syntheticPackage();
const manifest = ManifestSchema.parse(
  JSON.parse(await Deno.readTextFile(`${PACKAGE}/manifest.json`)),
);
const instruction = "make the red circle blue";
const source = diskImage(40, 30);

Deno.test("the converted package has both text encoders, their tokenizers and the text layout", () => {
  const byName = Object.fromEntries(manifest.components.map((c) => [c.name, c]));
  assert.equal(byName.gemma.kind, "text-encoder");
  assert.equal(byName.gemma.role, "context");
  assert.equal(byName.clip.kind, "text-encoder");
  assert.equal(byName.clip.role, "pooled");
  assert.equal(byName.gemma_tokenizer.role, "context");
  assert.equal(byName.clip_tokenizer.role, "pooled");
  assert.equal(manifest.text.length, 256);
  assert.equal(manifest.text.padSide, "left");
  assert.equal(manifest.text.pooledLength, 77);
  assert.equal(manifest.text.pooledPadSide ?? "right", "right");
  assert.equal(manifest.transformer.timestep, "step-index");
  assert.deepEqual(manifest.resolution, { width: 64, height: 64 });
});

for (const device of ["node", "wasm"] as const) {
  Deno.test({
    name: `the converted package edits through EditPipeline on ${device}`,
    ...ORT_SANITIZERS,
    async fn() {
      const backend = recordingBackend(await createBackend(device, { threads: 1 }));
      const pipeline = await EditPipeline.load(new URL(`file://${PACKAGE}/manifest.json`), {
        backend,
        source: denoSource,
      });
      try {
        const result = await pipeline.edit({
          image: source,
          instruction,
          options: { seed: 3, steps: 4 },
        });
        assert.equal(result.device, device);
        assert.deepEqual([result.image.width, result.image.height], [40, 30]);
        const { localization, mask } = result;
        assert.deepEqual(
          [localization.width, localization.height],
          [mask.width, mask.height],
          "the default (change) map lies on the VQ token grid",
        );

        const texts = backend.runs.text.map((feeds) => ids(feeds, "input_ids"));
        const gemma = texts.filter((row) => row.length === 256);
        const clip = texts.filter((row) => row.length === 77);
        assert.ok(gemma.length >= 1 && clip.length >= 1, "both encoders ran");
        const instructionIds = gemma.at(-1)!;
        const bos = instructionIds.indexOf(2);
        assert.ok(bos > 0 && instructionIds.slice(0, bos).every((id) => id === 0), "left-padded");
        assert.ok(instructionIds.slice(bos + 1).every((id) => id !== 0), "content after <bos>");
        const pooledIds = clip.at(-1)!;
        assert.ok(pooledIds[0] !== pooledIds[1], "CLIP ids start with content, not padding");
      } finally {
        await pipeline.dispose();
      }
    },
  });
}

for (const dtype of ["int8", "q4", "fp16"] as const) {
  Deno.test({
    name: `the converted package's ${dtype} variants edit on node`,
    ...ORT_SANITIZERS,
    async fn() {
      const pipeline = await EditPipeline.load(new URL(`file://${PACKAGE}/manifest.json`), {
        backend: await createBackend("node", { threads: 1 }),
        source: denoSource,
        dtype,
      });
      try {
        assert.equal(pipeline.dtypes.transformer, dtype);
        assert.equal(pipeline.dtypes.gemma, dtype);
        assert.equal(pipeline.dtypes.clip, dtype);
        const result = await pipeline.edit({
          image: source,
          instruction,
          options: { seed: 3, steps: 3 },
        });
        assert.deepEqual([result.image.width, result.image.height], [40, 30]);
      } finally {
        await pipeline.dispose();
      }
    },
  });
}

/**
 * Runs the CLI on `source` with the instruction and `--model model` in a temporary folder, and
 * checks that it exits 0 and writes the edit at the input's size.
 */
async function cliEdits(model: string, ...flags: string[]): Promise<void> {
  const folder = await Deno.makeTempDir({ prefix: "editmgt-converted-cli-" });
  try {
    await Deno.writeFile(`${folder}/in.png`, await encodeImage(source));
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../examples/cli/edit.ts", import.meta.url).pathname,
        `${folder}/in.png`,
        instruction,
        "-o",
        `${folder}/out.png`,
        "--model",
        model,
        ...flags,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const edited = await decodeImage(await Deno.readFile(`${folder}/out.png`));
    assert.deepEqual([edited.width, edited.height], [40, 30]);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

Deno.test("the CLI edits with the converted package (--model)", async () => {
  await cliEdits(PACKAGE, "--seed", "9", "--steps", "3");
});

Deno.test({
  name: "the CLI edits with a package hosted elsewhere, given by its manifest's URL",
  ...ORT_SANITIZERS,
  async fn() {
    const files = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => {
        const name = new URL(request.url).pathname.slice(1);
        if (name.includes("/") || name.includes("..")) return new Response(null, { status: 404 });
        try {
          return new Response(await Deno.readFile(`${PACKAGE}/${name}`));
        } catch {
          return new Response(null, { status: 404 });
        }
      },
    );
    try {
      await cliEdits(`http://127.0.0.1:${files.addr.port}/manifest.json`, "--steps", "2");
    } finally {
      await files.shutdown();
    }
  },
});

Deno.test({
  name: "the edge server edits with the converted package",
  ...ORT_SANITIZERS,
  async fn() {
    const app = createApp({ models: [PACKAGE], kv: ":memory:", logger: () => {} });
    try {
      await app.ready;
      const form = new FormData();
      form.set(
        "image",
        new File([await encodeImage(source) as Uint8Array<ArrayBuffer>], "in.png", {
          type: "image/png",
        }),
      );
      form.set("instruction", instruction);
      form.set("options", JSON.stringify({ seed: 5, steps: 3 }));
      const response = await app.request("/v1/edits", {
        method: "POST",
        body: form,
        headers: { prefer: "wait", accept: "image/png" },
      });
      assert.equal(response.status, 200, await response.clone().text());
      assert.equal(response.headers.get("x-edit-seed"), "5");
      const image = await decodeImage(new Uint8Array(await response.arrayBuffer()));
      assert.deepEqual([image.width, image.height], [40, 30]);
    } finally {
      await app.close();
    }
  },
});
