import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { decodeBase64Image } from "../../src/server/edits/images.ts";
import { preferredWaitMs } from "../../src/server/edits/prefer.ts";
import { parseSize } from "../../src/server/edits/size.ts";
import { Slot } from "../../src/server/jobs/slot.ts";
import { RateLimiter } from "../../src/server/limits/rate_limit.ts";
import { isContentHashedName } from "../../src/server/models/registry.ts";
import { safeRelativePath } from "../../src/server/static/folder.ts";
import { maskFromAlpha } from "../../src/server/images/tasks.ts";
import { PixelBudget } from "../../src/server/images/budget.ts";
import { EncodedCache } from "../../src/server/images/cache.ts";
import { readBody, UploadGate } from "../../src/server/limits/body.ts";
import { allowedMethods } from "../../src/server/methods/index.ts";
import { clip } from "../../src/server/errors.ts";
import { isBlankPrompt, promptLength } from "../../src/schema/mod.ts";

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

Deno.test("readBody: reads as the body arrives; refuses declared or sent sizes over the limit", async () => {
  const limits = { maxBytes: 8, timeoutMs: 5_000, idleMs: 1_000 };
  const gate = new UploadGate(4);
  const chunked = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array([1, 2]));
      controller.enqueue(new Uint8Array([3]));
      controller.close();
    },
  });
  const request = new Request("http://x/", { method: "POST", body: chunked });
  assert.deepEqual([...await readBody(request, limits, gate)], [1, 2, 3]);
  const declared = new Request("http://x/", {
    method: "POST",
    body: "0123456789",
    headers: { "content-length": "20000000" },
  });
  await assert.rejects(
    readBody(declared, limits, gate),
    (error) => isEditMGTError(error, "payload_too_large"),
  );
  const sent = new Request("http://x/", { method: "POST", body: "0123456789" });
  await assert.rejects(
    readBody(sent, limits, gate),
    (error) => isEditMGTError(error, "payload_too_large"),
  );
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(gate.inFlight, 0, "every upload left the gate");
});

Deno.test("readBody: a body that stops coming times out; one cut short is invalid_input", async () => {
  const gate = new UploadGate(4);
  const stalled = new Request("http://x/", {
    method: "POST",
    body: new ReadableStream({ start: (controller) => controller.enqueue(new Uint8Array(1)) }),
  });
  await assert.rejects(
    readBody(stalled, { maxBytes: 100, timeoutMs: 5_000, idleMs: 50 }, gate),
    (error) => isEditMGTError(error, "request_timeout"),
  );
  const cut = new Request("http://x/", {
    method: "POST",
    body: new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array(1));
        controller.error(new TypeError("connection reset"));
      },
    }),
  });
  await assert.rejects(
    readBody(cut, { maxBytes: 100, timeoutMs: 5_000, idleMs: 1_000 }, gate),
    (error) => isEditMGTError(error, "invalid_input"),
  );
});

Deno.test("UploadGate: past its size, busy with a retry delay", () => {
  const gate = new UploadGate(1);
  const leave = gate.enter();
  assert.throws(() => gate.enter(), (error) => isEditMGTError(error, "busy"));
  leave();
  leave();
  assert.equal(gate.inFlight, 0, "leaving twice counts once");
  gate.enter()();
});

Deno.test("PixelBudget: holders wait in line; a full line or a long wait is busy", async () => {
  const budget = new PixelBudget({ pixels: 100, maxWaiting: 1, maxWaitMs: 50 });
  const first = await budget.acquire(60);
  const order: string[] = [];
  const second = budget.acquire(60).then((release) => {
    order.push("second");
    return release;
  });
  await assert.rejects(budget.acquire(10), (error) => isEditMGTError(error, "busy"));
  first();
  (await second)();
  assert.deepEqual(order, ["second"]);
  const held = await budget.acquire(100);
  await assert.rejects(budget.acquire(1), (error) => isEditMGTError(error, "busy"), "waited 50 ms");
  const patient = budget.acquire(1, undefined, true);
  held();
  (await patient)();
  assert.equal(budget.held, 0);
});

Deno.test("EncodedCache: made once per key, shared while in flight, bounded in bytes", async () => {
  const cache = new EncodedCache(10);
  let made = 0;
  const make = (size: number) => () => Promise.resolve(new Uint8Array(size).fill(++made));
  const [a, b] = await Promise.all([cache.get("a", make(6)), cache.get("a", make(6))]);
  assert.equal(a, b);
  assert.equal(made, 1);
  await cache.get("b", make(6));
  assert.equal(cache.bytes, 6, "the oldest went out to stay within 10 bytes");
  await cache.get("a", make(6));
  assert.equal(made, 3, "a was made again");
});

Deno.test("allowedMethods: from the route table, the catch-all only where nothing else matches", () => {
  const routes = [
    { method: "ALL", path: "/v1/*" },
    { method: "POST", path: "/v1/edits" },
    { method: "GET", path: "/v1/edits/:id" },
    { method: "GET", path: "/*" },
  ];
  assert.deepEqual(allowedMethods(routes, "/v1/edits"), ["POST"]);
  assert.deepEqual(allowedMethods(routes, "/v1/edits/abc"), ["GET", "HEAD"]);
  assert.deepEqual(allowedMethods(routes, "/index.html"), ["GET", "HEAD"]);
});

Deno.test("prompts: blank when only NUL, white space or zero-width; length as typed", () => {
  for (const blank of ["", "\0\0", " \u200b\u200c\u200d\ufeff\n"]) assert.ok(isBlankPrompt(blank));
  assert.ok(!isBlankPrompt("\u200bblue"));
  assert.equal(promptLength("🔵".repeat(2000)), 2000);
  assert.equal(promptLength("👍🏽 ok"), 4);
});

Deno.test("clip: client text is cut short in errors and logs", () => {
  assert.equal(clip("short"), "short");
  const long = clip("x".repeat(10_000));
  assert.ok(long.length < 100);
  assert.match(long, /10000 characters/);
});
