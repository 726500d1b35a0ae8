/**
 * Keeps the pipeline's key ring equal to the gossip ring's. Pipeline connections authenticate with the
 * cluster keys, and the stage server and the entry engine read their `Keyring` at every handshake, so
 * changing that one object in place is enough: a stage accepts a client proving any installed key,
 * new connections prove the primary, and a removed key stops working for the next handshake.
 * Connections already open keep their session keys (derived at their handshake) until they close.
 *
 * @example
 * ```ts
 * cluster.watchKeys((keys) => keys && void followKeys(keyring, keys));
 * ```
 *
 * @module
 */
import type { Keyring } from "../../cluster/gossip/keyring.ts";

/** Whether the ring holds exactly `keys`, with the same primary. */
export function sameKeys(ring: Keyring, keys: readonly Uint8Array[]): boolean {
  const have = ring.keys();
  if (have.length !== keys.length || keys.length === 0) return false;
  const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
  return equal(have[0], keys[0]) && keys.every((k) => have.some((h) => equal(h, k)));
}

/**
 * Makes `ring` hold `keys` (primary first): installs the new ones, makes `keys[0]` the primary, then
 * removes the rest — in that order, so the ring is never without the key a peer may use next. Throws
 * the Keyring's SecurityError for a key of a bad size; an empty list changes nothing.
 */
export async function followKeys(ring: Keyring, keys: readonly Uint8Array[]): Promise<void> {
  if (keys.length === 0 || sameKeys(ring, keys)) return;
  for (const key of keys) await ring.install(key);
  ring.use(keys[0]);
  for (const old of ring.keys()) {
    if (!keys.some((k) => k.length === old.length && k.every((x, i) => x === old[i]))) ring.remove(old);
  }
}
