/**
 * Reading a `text/event-stream` body (server-sent events) from `fetch`, which, unlike
 * `EventSource`, can send headers (API keys) and be cancelled with an AbortSignal.
 *
 * @module
 */

/** One server-sent event. */
export interface ServerEvent {
  /** The `event:` field; "message" when absent. */
  event: string;
  /** The `data:` lines joined with newlines. */
  data: string;
  /** The `id:` field, when present. */
  id?: string;
}

/**
 * The events of an event-stream body, in order, following the HTML standard's parsing rules
 * (CR, LF or CRLF line ends; `:` comments; multi-line data; events without data are dropped).
 *
 * @example
 * ```ts
 * import { readServerEvents } from "@editmgt/editmgt/sdk";
 *
 * const body = new Response("event: step\ndata: {\"index\":1}\n\n").body!;
 * for await (const event of readServerEvents(body)) console.log(event.event, event.data);
 * ```
 */
export async function* readServerEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ServerEvent> {
  const decoder = new TextDecoderStream() as TransformStream<Uint8Array, string>;
  const lines = body.pipeThrough(decoder).pipeThrough(lineSplitter());
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  for await (const line of lines) {
    if (line === "") {
      if (data.length > 0) yield { event: event || "message", data: data.join("\n"), id };
      event = "";
      data = [];
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
}

/** Splits text into lines at CR, LF or CRLF, across chunk boundaries. */
function lineSplitter(): TransformStream<string, string> {
  const lineEnd = /\r\n|\r|\n/;
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += chunk;
      for (let end = lineEnd.exec(buffer); end !== null; end = lineEnd.exec(buffer)) {
        // A CR that ends the text so far may be the first half of a CRLF: wait for more.
        if (end[0] === "\r" && end.index === buffer.length - 1) break;
        controller.enqueue(buffer.slice(0, end.index));
        buffer = buffer.slice(end.index + end[0].length);
      }
    },
    flush(controller) {
      if (buffer !== "") controller.enqueue(buffer.endsWith("\r") ? buffer.slice(0, -1) : buffer);
    },
  });
}
