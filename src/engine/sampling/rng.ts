/**
 * A small seeded PRNG for sampling: xoshiro128** (32-bit state words, period 2^128 − 1), seeded through
 * splitmix32 so that nearby seeds give unrelated streams. Same seed, same sequence, on every platform.
 *
 * @example
 * ```ts
 * const rng = createRng(42);
 * rng.nextFloat(); // in [0, 1), identical for every run seeded with 42
 * ```
 */

/** A source of uniform random numbers; the sampler draws from it and nothing else. */
export interface Rng {
  /** uniform integer in [0, 2^32) */
  nextUint32(): number;
  /** uniform float in [0, 1) with 53 bits of randomness */
  nextFloat(): number;
}

/** splitmix32 step: returns the next state and its mixed output. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [next, (z ^ (z >>> 16)) >>> 0];
}

class Xoshiro128StarStar implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    // Both 32-bit halves of the (up to 53-bit) integer seed feed the state, so Date.now() seeds differ.
    let state = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x100000000) >>> 0, 0x27d4eb2f);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(state);
      state = next;
      words.push(out);
    }
    [this.s0, this.s1, this.s2, this.s3] = words;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992; // (hi·2^26 + lo) / 2^53
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * A seeded generator. `seed` is any finite number; its integer part is used (negative seeds work).
 *
 * @throws RangeError when the seed is not a finite number
 */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`RNG seed must be a finite number, got ${seed}`);
  return new Xoshiro128StarStar(Math.trunc(seed));
}
