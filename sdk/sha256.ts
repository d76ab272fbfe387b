/**
 * An incremental SHA-256 (FIPS 180-4) whose state can be saved and restored, so a download that
 * is interrupted (a closed tab) goes on hashing where it stopped instead of reading gigabytes back.
 * WebCrypto has no incremental digest; this is the plain algorithm over 64-byte blocks.
 *
 * @module
 */

/** The state of a hash between blocks: eight 32-bit words and the bytes hashed so far. */
export interface Sha256State {
  /** The eight working words H0..H7. */
  words: number[];
  /** Bytes hashed so far (a multiple of 64). */
  length: number;
}

const INITIAL = [
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
];

/** Round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

/**
 * An incremental SHA-256. Feed bytes with {@linkcode Sha256.update}, read the digest with
 * {@linkcode Sha256.hex}; {@linkcode Sha256.state} saves the state at a 64-byte boundary.
 *
 * @example
 * ```ts
 * import { Sha256 } from "./sha256.ts";
 *
 * const hash = new Sha256();
 * hash.update(new TextEncoder().encode("a"));
 * hash.update(new TextEncoder().encode("bc"));
 * console.log(hash.hex()); // ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
 * ```
 */
export class Sha256 {
  readonly #words = new Int32Array(8);
  readonly #schedule = new Int32Array(64);
  /** Bytes of an unfinished block. */
  readonly #block = new Uint8Array(64);
  #blockBytes = 0;
  #length = 0;

  /** A hash from the start, or resumed from a saved `state`. */
  constructor(state?: Sha256State) {
    this.#words.set(state?.words ?? INITIAL);
    this.#length = state?.length ?? 0;
  }

  /** Bytes hashed so far. */
  get length(): number {
    return this.#length + this.#blockBytes;
  }

  /** Hashes `bytes` after what came before. */
  update(bytes: Uint8Array): this {
    let offset = 0;
    if (this.#blockBytes > 0) {
      const take = Math.min(64 - this.#blockBytes, bytes.byteLength);
      this.#block.set(bytes.subarray(0, take), this.#blockBytes);
      this.#blockBytes += take;
      offset = take;
      if (this.#blockBytes < 64) return this;
      this.#compress(this.#block, 0, 64);
      this.#blockBytes = 0;
    }
    const whole = offset + Math.floor((bytes.byteLength - offset) / 64) * 64;
    this.#compress(bytes, offset, whole);
    this.#block.set(bytes.subarray(whole));
    this.#blockBytes = bytes.byteLength - whole;
    return this;
  }

  /**
   * The state to resume from, or null when the bytes so far do not end on a 64-byte boundary
   * (a state is saved only between blocks).
   */
  state(): Sha256State | null {
    if (this.#blockBytes !== 0) return null;
    return { words: Array.from(this.#words, (word) => word >>> 0), length: this.#length };
  }

  /** The digest of everything hashed so far, as lowercase hex; the hash itself is unchanged. */
  hex(): string {
    const copy = new Sha256({ words: Array.from(this.#words), length: this.#length });
    const bits = this.length * 8;
    // Padding: 0x80, zeros up to 56 mod 64, then the length in bits as a 64-bit big-endian number.
    const tailBytes = this.#blockBytes < 56 ? 64 : 128;
    const tail = new Uint8Array(tailBytes);
    tail.set(this.#block.subarray(0, this.#blockBytes));
    tail[this.#blockBytes] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tailBytes - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(tailBytes - 4, bits >>> 0);
    copy.#compress(tail, 0, tailBytes);
    return Array.from(copy.#words, (word) => (word >>> 0).toString(16).padStart(8, "0")).join("");
  }

  /** Runs the compression function over the 64-byte blocks of `bytes[start, end)`. */
  #compress(bytes: Uint8Array, start: number, end: number): void {
    const w = this.#schedule;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const h = this.#words;
    let h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5], h6 = h[6], h7 = h[7];
    for (let offset = start; offset < end; offset += 64) {
      for (let i = 0; i < 16; i++) w[i] = view.getInt32(offset + i * 4);
      for (let i = 16; i < 64; i++) {
        const x = w[i - 15], y = w[i - 2];
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, hh = h7;
      for (let i = 0; i < 64; i++) {
        const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const choose = (e & f) ^ (~e & g);
        const t1 = (hh + s1 + choose + K[i] + w[i]) | 0;
        const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const majority = (a & b) ^ (a & c) ^ (b & c);
        const t2 = (s0 + majority) | 0;
        hh = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0;
      h1 = (h1 + b) | 0;
      h2 = (h2 + c) | 0;
      h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0;
      h5 = (h5 + f) | 0;
      h6 = (h6 + g) | 0;
      h7 = (h7 + hh) | 0;
    }
    h[0] = h0, h[1] = h1, h[2] = h2, h[3] = h3, h[4] = h4, h[5] = h5, h[6] = h6, h[7] = h7;
    this.#length += end - start;
  }
}
