import assert from "node:assert/strict";
import { readServerEvents, type ServerEvent } from "../../sdk/sse.ts";

/** A body that delivers `text` in the given chunk sizes (bytes), to cut lines anywhere. */
function body(text: string, chunk: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

async function events(text: string, chunk = 1024): Promise<ServerEvent[]> {
  const out: ServerEvent[] = [];
  for await (const event of readServerEvents(body(text, chunk))) out.push(event);
  return out;
}

const STREAM = [
  ": a comment, then a named event with two data lines",
  "event: step",
  'data: {"index":1,',
  'data: "total":8}',
  "",
  "id: 7",
  "data:no space after the colon",
  "",
  "event: empty",
  "",
  "event: completed",
  "data: {}",
  "",
  "",
].join("\n");

const EXPECTED: ServerEvent[] = [
  { event: "step", data: '{"index":1,\n"total":8}', id: undefined },
  { event: "message", data: "no space after the colon", id: "7" },
  { event: "completed", data: "{}", id: "7" },
];

Deno.test("server-sent events: names, multi-line data, ids, comments; events without data dropped", async () => {
  assert.deepEqual(await events(STREAM), EXPECTED);
});

Deno.test("server-sent events: CRLF and CR line ends, split anywhere across chunks", async () => {
  for (const end of ["\r\n", "\r"]) {
    for (const chunk of [1, 2, 3, 7]) {
      assert.deepEqual(
        await events(STREAM.replaceAll("\n", end), chunk),
        EXPECTED,
        `${JSON.stringify(end)} ${chunk}`,
      );
    }
  }
});

Deno.test("server-sent events: an event cut off by the end of the stream is not delivered", async () => {
  assert.deepEqual(await events("event: step\ndata: 1\n\nevent: step\ndata: 2"), [
    { event: "step", data: "1", id: undefined },
  ]);
});
