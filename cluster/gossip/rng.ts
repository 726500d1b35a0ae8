/**
 * The randomness seam: every random choice of the protocol (probe order, gossip targets, stagger)
 * goes through an {@link Rng}, so a simulation with a fixed seed replays exactly.
 *
 * The generator is xoshiro128** (Blackman & Vigna), seeded through splitmix32.
 *
 * @module
 */

/** Uniform random numbers. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A deterministic generator: the same seed gives the same sequence.
 *
 * @example
 * ```ts
 * const a = seededRng(7), b = seededRng(7);
 * a.next() === b.next(); // true
 * ```
 */
export function seededRng(seed: number): Rng {
  const st = { s: seed | 0 };
  let a = splitmix32(st), b = splitmix32(st), c = splitmix32(st), d = splitmix32(st);
  return {
    next() {
      const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = rotl(d, 11);
      return result / 4294967296;
    },
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A generator seeded from the operating system's entropy (for real nodes). */
export function systemRng(): Rng {
  const seed = crypto.getRandomValues(new Uint32Array(1))[0];
  return seededRng(seed);
}

/** An integer in [0, n); 0 when n ≤ 0. */
export function randomInt(rng: Rng, n: number): number {
  return n <= 0 ? 0 : Math.floor(rng.next() * n);
}

/** Fisher–Yates shuffle in place. */
export function shuffle<T>(rng: Rng, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
}
