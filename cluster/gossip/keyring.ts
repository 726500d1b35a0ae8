/**
 * Cluster keys for AES-GCM (WebCrypto). The first key is the primary: it encrypts everything we
 * send. Every installed key is tried when decrypting, which is what makes a live rotation work:
 * install the new key everywhere → `use` it everywhere → `remove` the old one.
 *
 * @example
 * ```ts
 * const ring = await Keyring.create([parseClusterKey(process.env.KEY!)]);
 * await ring.install(parseClusterKey(newKey));
 * ring.use(parseClusterKey(newKey));
 * ring.remove(parseClusterKey(oldKey));
 * ```
 *
 * @module
 */

import { GossipConfigError, SecurityError } from "./errors.ts";

/** AES key sizes accepted (bytes): AES-128, AES-192, AES-256. */
export const CLUSTER_KEY_SIZES: readonly number[] = [16, 24, 32];

interface Entry {
  raw: Uint8Array;
  key: CryptoKey;
}

export class Keyring {
  #entries: Entry[] = [];

  private constructor() {}

  /** A keyring whose primary is `keys[0]`. Throws {@link SecurityError} on a bad key size. */
  static async create(keys: readonly Uint8Array[]): Promise<Keyring> {
    if (keys.length === 0) throw new SecurityError("key", "a keyring needs at least one key");
    const ring = new Keyring();
    for (const k of keys) await ring.install(k);
    return ring;
  }

  /** Adds a key for decryption (no-op if present). */
  async install(raw: Uint8Array): Promise<void> {
    checkKeySize(raw);
    if (this.#find(raw) >= 0) return;
    const key = await crypto.subtle.importKey("raw", raw.slice(), "AES-GCM", false, ["encrypt", "decrypt"]);
    this.#entries.push({ raw: raw.slice(), key });
  }

  /** Makes an installed key the primary (used for encryption). */
  use(raw: Uint8Array): void {
    const i = this.#find(raw);
    if (i < 0) throw new SecurityError("key", "cannot use a key that is not installed");
    const [e] = this.#entries.splice(i, 1);
    this.#entries.unshift(e);
  }

  /** Removes a key; the primary cannot be removed. */
  remove(raw: Uint8Array): void {
    const i = this.#find(raw);
    if (i === 0) throw new SecurityError("key", "cannot remove the primary key; use another key first");
    if (i > 0) this.#entries.splice(i, 1);
  }

  /** The key used to encrypt. */
  get primary(): CryptoKey {
    return this.#entries[0].key;
  }

  /** Keys to try when decrypting, primary first. */
  get decryptionKeys(): CryptoKey[] {
    return this.#entries.map((e) => e.key);
  }

  /** Installed keys (copies), primary first. */
  keys(): Uint8Array[] {
    return this.#entries.map((e) => e.raw.slice());
  }

  #find(raw: Uint8Array): number {
    return this.#entries.findIndex((e) => e.raw.length === raw.length && e.raw.every((b, i) => b === raw[i]));
  }
}

function checkKeySize(raw: Uint8Array): void {
  if (!CLUSTER_KEY_SIZES.includes(raw.length)) {
    throw new SecurityError("key", `cluster key must be 16, 24 or 32 bytes, got ${raw.length}`);
  }
}

/** Decodes a base64 cluster key. Throws {@link GossipConfigError} naming the problem. */
export function parseClusterKey(base64: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(base64.trim()), (c) => c.charCodeAt(0));
  } catch {
    throw new GossipConfigError("clusterKey", "(hidden)", "is not valid base64");
  }
  if (!CLUSTER_KEY_SIZES.includes(bytes.length)) {
    throw new GossipConfigError(
      "clusterKey",
      "(hidden)",
      `must decode to 16, 24 or 32 bytes, got ${bytes.length}`,
    );
  }
  return bytes;
}

/** A fresh random 32-byte key, base64-encoded. */
export function generateClusterKey(): string {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...raw));
}
