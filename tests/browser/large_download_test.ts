/// <reference lib="dom" />
/**
 * Multi-hundred-MB model files in Chromium, through the SDK bundle: a package whose manifest is
 * on one loopback origin and whose files are absolute URLs on a second one (CORS), stored in the
 * Origin Private File System in parts. The download is killed mid-file (the page is closed),
 * resumes in a new page of the same profile with Range, fetches no verified byte twice, and
 * fetches again the one part that was served corrupted. The tiny model then loads and edits
 * from the same storage.
 */

import assert from "node:assert/strict";
import { buildSdk } from "../../sdk/build.ts";
import { serveFiles } from "../sdk/file_server.ts";
import { MODEL_DIR, openProfile, skipReason } from "./harness.ts";

const SDK = "/sdk/mod.js";
const MIB = 1024 * 1024;
/** The synthetic weights: 192 MiB of random bytes in 16 MiB parts. */
const BIG_BYTES = 192 * MIB;
const PART_BYTES = 16 * MIB;
const BIG_DATA = "big/transformer.onnx.data";

const ROOT = new URL("../../", import.meta.url);
const path = (relative: string) => decodeURIComponent(new URL(relative, ROOT).pathname);

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Writes the package under `folder`: `files/` (the tiny model's files and a q4 transformer
 * variant of random bytes whose data file has per-part hashes) and `manifest/manifest.json`,
 * whose every file is an absolute URL under `filesUrl`.
 */
async function writePackage(folder: string, filesUrl: URL) {
  await Deno.mkdir(`${folder}/files/big`, { recursive: true });
  await Deno.mkdir(`${folder}/manifest`);
  await Deno.mkdir(`${folder}/page`);
  await Deno.writeTextFile(`${folder}/page/index.html`, "<!doctype html><title>blank</title>");
  const manifest = JSON.parse(await Deno.readTextFile(path(`${MODEL_DIR}/manifest.json`)));
  for (const component of manifest.components) {
    for (const file of component.files) {
      await Deno.copyFile(path(`${MODEL_DIR}/${file.path}`), `${folder}/files/${file.path}`);
      file.url = new URL(file.path, filesUrl).href;
    }
  }
  const big = new Uint8Array(BIG_BYTES);
  for (let offset = 0; offset < BIG_BYTES; offset += 65536) {
    crypto.getRandomValues(big.subarray(offset, offset + 65536));
  }
  const parts: string[] = [];
  for (let offset = 0; offset < BIG_BYTES; offset += PART_BYTES) {
    parts.push(await sha256(big.subarray(offset, offset + PART_BYTES)));
  }
  await Deno.writeFile(`${folder}/files/${BIG_DATA}`, big);
  const graph = big.slice(0, 4 * MIB).reverse();
  await Deno.writeFile(`${folder}/files/big/transformer.onnx`, graph);
  const transformer = manifest.components.find((c: { name: string }) => c.name === "transformer");
  transformer.variants = [{
    dtype: "q4",
    files: [
      {
        path: "big/transformer.onnx",
        url: new URL("big/transformer.onnx", filesUrl).href,
        sha256: await sha256(graph),
        bytes: graph.byteLength,
      },
      {
        path: BIG_DATA,
        url: new URL(BIG_DATA, filesUrl).href,
        sha256: await sha256(big),
        bytes: BIG_BYTES,
        parts: { bytes: PART_BYTES, sha256: parts },
      },
    ],
  }];
  await Deno.writeTextFile(`${folder}/manifest/manifest.json`, JSON.stringify(manifest));
  return { manifest, bigSha256: await sha256(big) };
}

Deno.test({
  name:
    "multi-hundred-MB downloads in Chromium: OPFS parts, resume after a closed page, corrupt part refetched, files on another origin",
  ignore: skipReason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const folder = await Deno.makeTempDir({ prefix: "editmgt-large-" });
    const files = serveFiles({ "/files/": `${folder}/files` }, { cors: true });
    const setUpStarted = performance.now();
    const [{ bigSha256 }] = await Promise.all([
      writePackage(folder, new URL("/files/", files.url)),
      buildSdk(),
    ]);
    console.log(
      `package written and SDK built in ${Math.round(performance.now() - setUpStarted)} ms`,
    );
    const app = serveFiles({
      "/sdk/": path("dist/sdk"),
      "/pkg/": `${folder}/manifest`,
      "/": `${folder}/page`,
    });
    const manifest = new URL("/pkg/manifest.json", app.url).href;
    const profile = await openProfile();
    const bigRequests = () => files.requests.filter((r) => r.path === `/files/${BIG_DATA}`);
    try {
      let page = profile.page;
      await page.goto(app.url.href);

      let storedParts = 0;
      await t.step("a download closed mid-file keeps its verified parts in the OPFS", async () => {
        await page.evaluate(([sdk, manifest, big]) => {
          const state = { loaded: 0, error: "" };
          (globalThis as unknown as { state: typeof state }).state = state;
          import(sdk).then(({ modelCache }) =>
            modelCache().download(manifest, {
              dtype: { transformer: "q4" },
              onProgress: (event: { type: string; file: string; fileLoaded: number }) => {
                if (event.type === "download" && event.file === big) {
                  state.loaded = event.fileLoaded;
                }
              },
            })
          ).catch((error: Error) => (state.error = String(error)));
        }, [SDK, manifest, BIG_DATA]);
        await page.waitForFunction(
          (least) => {
            const { state } = globalThis as unknown as { state: { loaded: number; error: string } };
            return state.loaded >= least || state.error !== "";
          },
          0.4 * BIG_BYTES,
          { timeout: 60_000, polling: 20 },
        );
        await page.close();
        page = await profile.context.newPage();
        await page.goto(app.url.href);
        const record = await page.evaluate(async (sha) => {
          const root = await navigator.storage.getDirectory();
          const folder = await (await root.getDirectoryHandle("editmgt-models"))
            .getDirectoryHandle(sha);
          return JSON.parse(
            await (await (await folder.getFileHandle("record.json")).getFile()).text(),
          );
        }, bigSha256);
        storedParts = record.parts.filter((hash: string | null) => hash !== null).length;
        assert.equal(record.complete, false);
        assert.ok(storedParts >= 1 && storedParts < BIG_BYTES / PART_BYTES, `${storedParts} parts`);
        // Stored parts are a prefix (parts arrive in order), each served once so far.
        assert.deepEqual(
          record.parts.map((hash: string | null) => hash !== null),
          record.parts.map((_: unknown, index: number) => index < storedParts),
        );
        assert.ok(bigRequests()[0].sent >= storedParts * PART_BYTES);
      });

      await t.step(
        "a new page resumes with Range, fetches no stored byte again, and refetches a corrupt part",
        async () => {
          const before = bigRequests().length;
          // The last part is served corrupted once.
          files.faults.set(`/files/${BIG_DATA}`, { kind: "flip-byte-once", at: BIG_BYTES - 100 });
          const outcome = await page.evaluate(async ([sdk, manifest, big]) => {
            const { modelCache } = await import(sdk);
            const events: { type: string; file: string; stored?: number }[] = [];
            const started = performance.now();
            const report = await modelCache().download(manifest, {
              dtype: { transformer: "q4" },
              onProgress: (event: { type: string; file: string; stored?: number }) => {
                if (event.file === big && event.type !== "download") events.push(event);
              },
            });
            const has = await modelCache().has(manifest);
            return { report, events, has, ms: performance.now() - started };
          }, [SDK, manifest, BIG_DATA]);
          const resumedAt = storedParts * PART_BYTES;
          assert.equal(outcome.events[0].type, "initiate");
          assert.equal(outcome.events[0].stored, resumedAt);
          assert.equal(outcome.events.at(-1)!.type, "done");
          const lastPart = BIG_BYTES - PART_BYTES;
          const resumed = bigRequests().slice(before);
          assert.deepEqual(resumed.map(({ range, status }) => [range, status]), [
            [`bytes=${resumedAt}-`, 206],
            [`bytes=${lastPart}-`, 206],
          ]);
          // Served after the reload: the rest of the file once, plus the one corrupt part.
          const served = resumed.reduce((sum, request) => sum + request.sent, 0);
          assert.equal(served, BIG_BYTES - resumedAt + PART_BYTES);
          assert.equal(outcome.report.fetchedBytes, served);
          assert.equal(outcome.has, true);
          console.log(
            `resumed ${(BIG_BYTES - resumedAt) / MIB} MiB + 1 corrupt part of ${
              PART_BYTES / MIB
            } MiB in ${Math.round(outcome.ms)} ms`,
          );
        },
      );

      await t.step("the tiny model loads from the same storage and edits", async () => {
        const before = files.requests.length;
        const outcome = await page.evaluate(async ([sdk, manifest]) => {
          const { createEditor } = await import(sdk);
          const events: string[] = [];
          const started = performance.now();
          const editor = await createEditor({
            manifest,
            device: "wasm",
            onProgress: (event: { type: string }) => events.push(event.type),
          });
          const readyMs = performance.now() - started;
          const result = await editor.edit({
            image: new ImageData(64, 64),
            instruction: "make it red",
            options: { steps: 2, seed: 1 },
          });
          await editor.dispose();
          const root = await navigator.storage.getDirectory();
          const names: string[] = [];
          for await (const name of (await root.getDirectoryHandle("editmgt-models")).keys()) {
            names.push(name);
          }
          return {
            size: [result.imageData.width, result.imageData.height],
            events: [...new Set(events)],
            stored: names.length,
            readyMs,
            editMs: performance.now() - started - readyMs,
          };
        }, [SDK, manifest]);
        console.log(
          `tiny model ready in ${Math.round(outcome.readyMs)} ms, edit ${
            Math.round(outcome.editMs)
          } ms`,
        );
        assert.deepEqual(outcome.size, [64, 64]);
        assert.deepEqual(outcome.events, ["initiate", "download", "done", "ready"]);
        // Six files of the tiny model, two of the q4 variant, the manifests folder.
        assert.equal(outcome.stored, 9);
        // Tokenizer, text encoder and VQ graphs came with the q4 download; only the fp32
        // transformer was missing.
        const fetched = files.requests.slice(before).map((request) => request.path);
        assert.deepEqual(fetched, ["/files/transformer.onnx", "/files/transformer.onnx.data"]);
      });
    } finally {
      await profile.close();
      await app.close();
      await files.close();
      await Deno.remove(folder, { recursive: true });
    }
  },
});
