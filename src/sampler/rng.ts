/**
 * The sampler's seeded random numbers: **xoshiro128\*\*** (Blackman and Vigna, 2018), a 32-bit
 * generator that needs nothing but 32-bit integer arithmetic, so every JavaScript runtime (and a
 * few lines of Python) draws the very same numbers. Its 128-bit state is seeded with
 * **SplitMix64**, as the xoshiro authors recommend.
 *
 * One seed gives independent streams, one per purpose: SplitMix64 started at `seed` yields the
 * 64-bit words w0, w1, w2, ...; stream k takes w(2k) and w(2k+1), and its state is
 * `[lo32(w2k), hi32(w2k), lo32(w2k+1), hi32(w2k+1)]`. Stream 0 feeds the graph's categorical
 * draw, stream 1 the Gumbel noise of the re-mask confidence.
 *
 * A uniform float is the top 24 bits of a 32-bit output times 2^-24: exact in float32, in [0, 1).
 *
 * @module
 */

const MASK64 = (1n << 64n) - 1n;

/** The streams that one seed provides to the sampler. */
export const STREAM = {
  /** Uniforms for the step graph's inverse-CDF categorical draw. */
  categorical: 0,
  /** Uniforms turned into Gumbel noise for the re-mask confidence. */
  gumbel: 1,
} as const;

/** SplitMix64 words `first .. first + count - 1` after seeding with `seed`. */
function splitMix64(seed: bigint, first: number, count: number): bigint[] {
  let state = seed & MASK64;
  const words: bigint[] = [];
  for (let i = 0; i < first + count; i++) {
    state = (state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    if (i >= first) words.push(z ^ (z >> 31n));
  }
  return words;
}

/**
 * A xoshiro128** generator. A class because it is state with a lifetime: one per stream per run.
 *
 * @example
 * ```ts
 * import { Xoshiro128 } from "@editmgt/editmgt/sampler";
 *
 * const rng = Xoshiro128.fromState([1, 2, 3, 4]);
 * console.log(rng.nextUint32(), rng.nextUint32()); // 11520 0
 * ```
 */
export class Xoshiro128 {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  private constructor(state: readonly [number, number, number, number]) {
    [this.#s0, this.#s1, this.#s2, this.#s3] = state.map((word) => word >>> 0);
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) {
      throw new RangeError("xoshiro128** state must not be all zero");
    }
  }

  /** A generator with an explicit 128-bit state (four 32-bit words, not all zero). */
  static fromState(state: readonly [number, number, number, number]): Xoshiro128 {
    return new Xoshiro128(state);
  }

  /** Stream `stream` of `seed` (a non-negative safe integer), seeded by SplitMix64 as above. */
  static fromSeed(seed: number, stream: number): Xoshiro128 {
    const [a, b] = splitMix64(BigInt(seed), 2 * stream, 2);
    const low = (word: bigint) => Number(word & 0xffffffffn);
    const high = (word: bigint) => Number(word >> 32n);
    return new Xoshiro128([low(a), high(a), low(b), high(b)]);
  }

  /** Next 32-bit output as an unsigned integer. */
  nextUint32(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const shifted = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= shifted;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** Next uniform in [0, 1): the top 24 bits of {@linkcode Xoshiro128.nextUint32} times 2^-24. */
  nextUniform(): number {
    return (this.nextUint32() >>> 8) * 2 ** -24;
  }

  /** Fills `out` with uniforms in [0, 1) and returns it. */
  fillUniform(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.nextUniform();
    return out;
  }
}

/** Rotates a 32-bit word left by `bits`. */
function rotl(word: number, bits: number): number {
  return (word << bits) | (word >>> (32 - bits));
}

/** A fresh random seed (a uniform 32-bit integer) from the platform's crypto source. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
