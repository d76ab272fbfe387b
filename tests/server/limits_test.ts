import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { decodeBase64Image } from "../../src/server/edits/images.ts";
import { preferredWaitMs } from "../../src/server/edits/prefer.ts";
import { parseSize } from "../../src/server/edits/size.ts";
import { Slot } from "../../src/server/jobs/slot.ts";
import { RateLimiter } from "../../src/server/limits/rate_limit.ts";
import { isContentHashedName } from "../../src/server/models/registry.ts";
import { safeRelativePath } from "../../src/server/static/index.ts";
import { maskFromAlpha } from "../../src/server/openai/routes.ts";

Deno.test("RateLimiter: a bucket of n per window refills evenly and reports the wait", () => {
  let now = 0;
  const limiter = new RateLimiter({ requests: 3, windowMs: 3_000 }, () => now);
  assert.deepEqual([limiter.take("a"), limiter.take("a"), limiter.take("a")], [0, 0, 0]);
  assert.equal(limiter.take("a"), 1);
  assert.equal(limiter.take("b"), 0, "clients have their own buckets");
  now = 999;
  assert.equal(limiter.take("a"), 1);
  now = 1_000;
  assert.equal(limiter.take("a"), 0, "one token back after windowMs / requests");
  assert.equal(limiter.take("a"), 1);
});

Deno.test("preferredWaitMs: wait, wait=N (capped) and other preferences", () => {
  assert.equal(preferredWaitMs("wait", 60_000), 60_000);
  assert.equal(preferredWaitMs("respond-async, wait=5", 60_000), 5_000);
  assert.equal(preferredWaitMs("wait=600", 60_000), 60_000);
  assert.equal(preferredWaitMs("WAIT=0", 60_000), 0);
  assert.equal(preferredWaitMs("respond-async", 60_000), null);
  assert.equal(preferredWaitMs("wait=soon", 60_000), null);
  assert.equal(preferredWaitMs(undefined, 60_000), null);
});

Deno.test("parseSize: WIDTHxHEIGHT within the limit, auto, and refusals", () => {
  assert.deepEqual(parseSize("256x128", 4096), { width: 256, height: 128 });
  assert.equal(parseSize("auto", 4096), undefined);
  assert.equal(parseSize(undefined, 4096), undefined);
  for (const bad of ["0x10", "10x0", "5000x10", "10", "axb", "10x10x10", "-1x5"]) {
    assert.throws(() => parseSize(bad, 4096), (error) => isEditMGTError(error, "invalid_option"));
  }
});

Deno.test("decodeBase64Image: base64 and data URLs; anything else is invalid_input", () => {
  assert.deepEqual(decodeBase64Image("AQID", "image"), new Uint8Array([1, 2, 3]));
  assert.deepEqual(
    decodeBase64Image("data:image/png;base64,AQI=", "image"),
    new Uint8Array([1, 2]),
  );
  assert.deepEqual(decodeBase64Image("AQ", "image"), new Uint8Array([1]), "padding optional");
  for (const bad of ["", "A", "!!!!", "AQ==AQ==", 12, null, { a: 1 }]) {
    assert.throws(
      () => decodeBase64Image(bad, "image"),
      (error) => isEditMGTError(error, "invalid_input"),
    );
  }
});

Deno.test("isContentHashedName: only names that embed a prefix of their own hash", () => {
  const sha = "3fa2b1c4d5e6f7081928374655647382910abcdef0123456789abcdef0123456";
  assert.equal(isContentHashedName("transformer.3fa2b1c4.onnx", sha), true);
  assert.equal(isContentHashedName("dir/w-3fa2b1c4d5e6.bin", sha), true);
  assert.equal(isContentHashedName("transformer.onnx", sha), false);
  assert.equal(isContentHashedName("transformer.deadbeef.onnx", sha), false);
  assert.equal(isContentHashedName("x.3fa2b1c.onnx", sha), false, "7 digits are too few");
  assert.equal(isContentHashedName("3fa2b1c4/model.onnx", sha), false, "folder names do not count");
});

Deno.test("safeRelativePath: hidden segments, dot segments and odd characters are refused", () => {
  assert.equal(safeRelativePath("/app.js"), "app.js");
  assert.equal(safeRelativePath("/samples//a%20b.png"), "samples/a b.png");
  for (
    const bad of [
      "/../x",
      "/a/../../x",
      "/%2e%2e/x",
      "/.git/config",
      "/a%2F..%2F..%2Fx",
      "/a\\b",
      "/%00",
      "/C:/x",
      "/%E0%A4%A",
    ]
  ) {
    assert.equal(safeRelativePath(bad), null, bad);
  }
});

Deno.test("maskFromAlpha: transparent pixels become the white region to edit", () => {
  const mask = maskFromAlpha({
    width: 2,
    height: 1,
    data: new Uint8ClampedArray([9, 9, 9, 0, 9, 9, 9, 255]),
  });
  assert.deepEqual([...mask.data], [255, 255, 255, 255, 0, 0, 0, 255]);
});

Deno.test("Slot: one holder at a time, FIFO, and a waiter can leave on abort", async () => {
  const slot = new Slot();
  const order: string[] = [];
  await slot.acquire();
  const controller = new AbortController();
  const first = slot.acquire().then(() => order.push("first"));
  const leaving = slot.acquire(controller.signal).catch(() => order.push("left"));
  const second = slot.acquire().then(() => order.push("second"));
  controller.abort(new Error("gone"));
  await leaving;
  slot.release();
  await first;
  slot.release();
  await second;
  assert.deepEqual(order, ["left", "first", "second"]);
});
