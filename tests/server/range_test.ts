import assert from "node:assert/strict";
import { parseRange } from "../../src/server/models/range.ts";

Deno.test("parseRange: a-b, a- and -n give inclusive byte ranges clipped to the size", () => {
  assert.deepEqual(parseRange("bytes=0-99", 1000), { kind: "range", start: 0, end: 99 });
  assert.deepEqual(parseRange("bytes=990-2000", 1000), { kind: "range", start: 990, end: 999 });
  assert.deepEqual(parseRange("bytes=500-", 1000), { kind: "range", start: 500, end: 999 });
  assert.deepEqual(parseRange("bytes=-10", 1000), { kind: "range", start: 990, end: 999 });
  assert.deepEqual(parseRange("bytes=-5000", 1000), { kind: "range", start: 0, end: 999 });
  assert.deepEqual(parseRange(" Bytes = 7-7 ", 1000), { kind: "range", start: 7, end: 7 });
});

Deno.test("parseRange: no header, another unit and several ranges serve everything", () => {
  assert.deepEqual(parseRange(null, 10), { kind: "all" });
  assert.deepEqual(parseRange(undefined, 10), { kind: "all" });
  assert.deepEqual(parseRange("items=0-1", 10), { kind: "all" });
  assert.deepEqual(parseRange("bytes=0-1, 4-5", 10), { kind: "all" });
});

Deno.test("parseRange: malformed and unsatisfiable byte ranges are refused", () => {
  for (
    const header of [
      "bytes=",
      "bytes=-",
      "bytes=abc",
      "bytes=5-2",
      "bytes=-0",
      "bytes=10-",
      "bytes=10-20",
      "bytes=1-2,x",
      "bytes=0x10-20",
      "bytes=1234567890123456-",
    ]
  ) {
    assert.deepEqual(parseRange(header, 10), { kind: "unsatisfiable" }, header);
  }
  assert.deepEqual(parseRange("bytes=0-0", 0), { kind: "unsatisfiable" });
  assert.deepEqual(parseRange("bytes=-1", 0), { kind: "unsatisfiable" });
});
