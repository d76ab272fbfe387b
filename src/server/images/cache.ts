/**
 * `EncodedCache`: images already encoded (a result in another format or size), kept by key up
 * to a total of bytes, least recently used first out. Asking for a key whose encoding is under
 * way waits for that encoding instead of starting another.
 *
 * @module
 */

/** A byte-bounded LRU of encoded images with shared in-flight work (see the module doc). */
export class EncodedCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Uint8Array>();
  readonly #making = new Map<string, Promise<Uint8Array>>();
  #bytes = 0;

  /** A cache holding at most `maxBytes` (0 keeps nothing, but still shares in-flight work). */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The bytes under `key`: cached, being made, or made now by `make`.
   *
   * @example
   * ```ts
   * import { EncodedCache } from "./cache.ts";
   *
   * const cache = new EncodedCache(1 << 20);
   * let made = 0;
   * const make = () => Promise.resolve(new Uint8Array(++made));
   * await Promise.all([cache.get("a", make), cache.get("a", make)]);
   * await cache.get("a", make);
   * console.log(made); // 1
   * ```
   */
  get(key: string, make: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, cached);
      return Promise.resolve(cached);
    }
    let making = this.#making.get(key);
    if (making === undefined) {
      making = make().then((bytes) => {
        this.#keep(key, bytes);
        return bytes;
      }).finally(() => this.#making.delete(key));
      this.#making.set(key, making);
    }
    return making;
  }

  #keep(key: string, bytes: Uint8Array): void {
    if (bytes.byteLength > this.#maxBytes) return;
    this.#entries.set(key, bytes);
    this.#bytes += bytes.byteLength;
    for (const [oldest, value] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= value.byteLength;
    }
  }
}
