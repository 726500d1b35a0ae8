/**
 * Deterministic test data for the codec tests: a seeded PRNG and value generators that cover the shapes
 * quantisers meet (normal weights, outliers, tiny values, sparse rows, constants, exact zeros).
 */

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box–Muller) from `rand`. */
export function gaussian(rand: () => number): number {
  const u = 1 - rand(); // (0, 1]: log stays finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** `n` values from N(0, scale²). */
export function normalValues(n: number, seed: number, scale = 1): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = gaussian(rand) * scale;
  return out;
}

/**
 * `n` values (a multiple of 256) whose 256-value blocks cycle through distributions: normal, uniform,
 * all-positive, all-negative, outliers, tiny, sparse, small integers, constant, zero, large.
 */
export function mixedValues(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const kinds: Array<() => number> = [
    () => gaussian(rand),
    () => rand() * 2 - 1,
    () => rand() * 3 + 0.5,
    () => -rand() * 3 - 0.5,
    () => (rand() < 0.02 ? gaussian(rand) * 100 : gaussian(rand) * 0.01),
    () => gaussian(rand) * 1e-6,
    () => (rand() < 0.8 ? 0 : gaussian(rand)),
    () => Math.round(gaussian(rand) * 4),
    () => 0.75,
    () => 0,
    () => gaussian(rand) * 1000,
  ];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = kinds[Math.floor(i / 256) % kinds.length]();
  return out;
}

/** Hex SHA-256 of some bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
