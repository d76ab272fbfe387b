/**
 * Reading request bodies as they arrive: at most `maxBytes` (a declared `Content-Length` over it
 * is refused before a byte is read, and nothing is reserved from it), within `timeoutMs` for the
 * whole body and `idleMs` between two chunks, and at most `maxUploads` bodies in flight over the
 * process. A client that goes away mid-body gets `400 invalid_input` (if it still listens).
 * A refusal also ends the connection: the error is sent, then the connection is closed, or
 * dropped when the rest of the body does not come at once (Deno's server would otherwise keep
 * it open for as long as the client holds it, however slowly it sends).
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { EditMGTError } from "../../errors/mod.ts";
import { concatBytes } from "../../model/source.ts";
import type { ServerEnv } from "../context.ts";
import { errorResponse } from "../errors.ts";

/** Limits of {@linkcode readBody}. */
export interface BodyLimits {
  /** Largest body in bytes. */
  maxBytes: number;
  /** Longest the whole body may take to arrive, in milliseconds. */
  timeoutMs: number;
  /** Longest pause between two chunks of the body, in milliseconds. */
  idleMs: number;
}

/** Why a read stopped waiting: the whole body took too long, or one chunk did. */
class ReadTimeout {
  constructor(readonly what: "body" | "pause") {}
}

/** What `read` gives, or a {@linkcode ReadTimeout} when it gives nothing in `ms`. */
function within<T>(
  read: Promise<T>,
  ms: number,
  what: ReadTimeout["what"],
): Promise<T | ReadTimeout> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<ReadTimeout>((resolve) => {
    timer = setTimeout(() => resolve(new ReadTimeout(what)), ms);
  });
  return Promise.race([read, timeout]).finally(() => clearTimeout(timer));
}

function tooLarge(maxBytes: number): EditMGTError {
  return new EditMGTError(
    "payload_too_large",
    `the request body is over the limit of ${maxBytes} bytes: send a smaller image`,
    { details: { maxBytes } },
  );
}

/** Whether `promise` settles (either way) within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = promise.then(() => true, () => true);
  const result = await Promise.race([settled, timeout]);
  clearTimeout(timer);
  return result;
}

/** Longest a refused body is read on (and thrown away) so that its answer ends cleanly. */
const MAX_LINGER_MS = 1_000;

/**
 * The whole body of `request`, read chunk by chunk within `limits`, as one of the uploads that
 * `gate` lets in. Throws `busy` (the gate is full), `payload_too_large` (declared or sent over
 * `maxBytes`), `request_timeout` (too slow) and `invalid_input` (the client closed the body
 * before its end).
 *
 * After a refusal, `onEnd` gets a promise of whether the rest of the body was read to its end:
 * a refused body is read on and thrown away for up to a second, so that a client that sends it
 * all can read the error. Deno's server cannot drop a connection while a read of its body is
 * waiting; so a body that stalls keeps its place in `gate` until the client sends more or goes
 * away (then its connection closes), for at most `timeoutMs` more. The gate is what bounds the
 * uploads that stalled clients hold; past it, uploads are refused at once and their
 * connections closed.
 *
 * @example
 * ```ts
 * import { readBody, UploadGate } from "./body.ts";
 *
 * const request = new Request("http://x/", { method: "POST", body: "hello" });
 * const limits = { maxBytes: 1024, timeoutMs: 5_000, idleMs: 1_000 };
 * const bytes = await readBody(request, limits, new UploadGate(16));
 * console.log(bytes.length); // 5
 * ```
 */
export async function readBody(
  request: Request,
  limits: BodyLimits,
  gate: UploadGate,
  onEnd: (readToEnd: Promise<boolean>) => void = () => {},
): Promise<Uint8Array> {
  const leave = gate.enter();
  const reader = request.body?.getReader();
  /** A read that a timeout left waiting. */
  let pending: Promise<unknown> | undefined;
  const next = async (until: number) => {
    const left = until - performance.now();
    const read = reader!.read();
    const result = await within(
      read,
      Math.max(0, Math.min(left, limits.idleMs)),
      left <= limits.idleMs ? "body" : "pause",
    );
    if (result instanceof ReadTimeout) pending = read;
    return result;
  };
  /** Ends the read: closing the body lets Deno drop the connection after the answer. */
  const close = async () => {
    await reader?.cancel().catch(() => {});
    leave();
  };
  const letGo = async (linger: boolean): Promise<boolean> => {
    const lingerMs = Math.min(limits.idleMs, MAX_LINGER_MS);
    const until = performance.now() + lingerMs;
    let readToEnd = reader === undefined;
    while (linger && reader !== undefined && performance.now() < until) {
      const result = await next(until).catch(() => null);
      if (result === null || result instanceof ReadTimeout) break;
      if (result.done) {
        readToEnd = true;
        break;
      }
    }
    if (pending === undefined || await settlesWithin(pending, lingerMs)) {
      await close();
    } else {
      // Still stalled: the place in the gate is kept until the client sends or leaves, for
      // at most `timeoutMs` more.
      settlesWithin(pending, limits.timeoutMs).then(close);
    }
    return readToEnd;
  };

  const chunks: Uint8Array[] = [];
  let received = 0;
  const deadline = performance.now() + limits.timeoutMs;
  try {
    const declared = Number(request.headers.get("content-length") ?? NaN);
    if (declared > limits.maxBytes) throw tooLarge(limits.maxBytes);
    while (reader !== undefined) {
      const result = await next(deadline);
      if (result instanceof ReadTimeout) {
        throw new EditMGTError(
          "request_timeout",
          result.what === "body"
            ? `the request body did not arrive within ${limits.timeoutMs} ms`
            : `the request body paused for over ${limits.idleMs} ms`,
        );
      }
      if (result.done) break;
      received += result.value.byteLength;
      if (received > limits.maxBytes) throw tooLarge(limits.maxBytes);
      chunks.push(result.value);
    }
  } catch (error) {
    const refused = error instanceof EditMGTError;
    onEnd(letGo(refused && pending === undefined));
    if (refused) throw error;
    throw new EditMGTError(
      "invalid_input",
      "the request body ended early: the client closed it before the end",
      { cause: error },
    );
  }
  leave();
  return concatBytes(chunks, received);
}

/**
 * Counts bodies being read (and stalled bodies still waited on); {@linkcode UploadGate.enter}
 * refuses past the limit.
 */
export class UploadGate {
  readonly #max: number;
  #inFlight = 0;

  /** A gate letting `max` uploads in at once. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Uploads being read now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Lets one upload in and returns the function that lets it out; throws `busy` (with
   * `details.retryAfter`) when `max` are in already.
   *
   * @example
   * ```ts
   * import { UploadGate } from "./body.ts";
   *
   * const gate = new UploadGate(1);
   * const leave = gate.enter();
   * try {
   *   gate.enter();
   * } catch (error) {
   *   console.log((error as { code: string }).code); // busy
   * }
   * leave();
   * ```
   */
  enter(): () => void {
    if (this.#inFlight >= this.#max) {
      throw new EditMGTError(
        "busy",
        `the server is reading ${this.#max} uploads already; retry in 1 s`,
        { details: { retryAfter: 1 } },
      );
    }
    this.#inFlight++;
    let left = false;
    return () => {
      if (!left) this.#inFlight--;
      left = true;
    };
  }
}

/**
 * `response` answered on a connection that then closes: cleanly when the request body was
 * read to its end (`readToEnd` resolves true), else dropped. To drop it, the body is streamed
 * and the stream fails after its last byte, which makes Deno's server close the connection
 * instead of waiting for the rest of the request body; Deno prints the failure's reason
 * (`note`, one line) on standard error.
 */
export function closeConnectionAfter(
  response: Response,
  note: string,
  readToEnd: Promise<boolean>,
): Response {
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  headers.set("connection", "close");
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent) return await readToEnd ? controller.close() : controller.error(note);
      sent = true;
      controller.enqueue(new Uint8Array(await response.arrayBuffer()));
    },
  });
  return new Response(body, { status: response.status, headers });
}

/**
 * Middleware that reads the body (see {@linkcode readBody}) through `gate` before the handler
 * runs, and sets it as `body`. A refusal answers its error and closes the connection
 * ({@linkcode closeConnectionAfter}).
 */
export function bufferBody(limits: BodyLimits, gate: UploadGate): MiddlewareHandler<ServerEnv> {
  return async function bufferBody(c, next) {
    let readToEnd = Promise.resolve(false);
    try {
      c.set("body", await readBody(c.req.raw, limits, gate, (end) => (readToEnd = end)));
    } catch (error) {
      if (!(error instanceof EditMGTError)) throw error;
      const note = JSON.stringify({
        level: "info",
        msg: "connection dropped after a refused upload",
        requestId: c.get("requestId"),
        code: error.code,
      });
      return closeConnectionAfter(errorResponse(c, error), note, readToEnd);
    }
    await next();
  };
}
