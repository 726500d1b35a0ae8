/**
 * The main thread's copy of the gossip worker's key ring. The worker never hands keys back (they
 * stay where they are used), so the node keeps this mirror — to list fingerprints, resolve a key named
 * by fingerprint, enforce the rotation rules before asking the worker, and save the ring.
 *
 * @example
 * ```ts
 * const ring = new KeyRingMirror([oldKey]);
 * const raw = await ring.resolve("install", newKeyBase64); // checks, does not change anything yet
 * await worker.installKey(raw);
 * ring.apply("install", raw); // after the worker accepted it
 * ```
 *
 * @module
 */
import type { KeyListing, KeyOperation } from "./cluster_control.ts";
import { ClusterKeyError } from "./cluster_errors.ts";
import { decodeKey, isFingerprint, keyFingerprint, sameKey } from "./key_fingerprint.ts";

const FINGERPRINT_PREFIX = "sha256:";

export class KeyRingMirror {
  #keys: Uint8Array[] | undefined;

  /** `keys`: primary first; undefined for an insecure ring. */
  constructor(keys: readonly Uint8Array[] | undefined) {
    this.#keys = keys ? [...keys] : undefined;
  }

  get encrypted(): boolean {
    return this.#keys !== undefined;
  }

  /** Installed keys, primary first (empty on an insecure ring). */
  get keys(): readonly Uint8Array[] {
    return this.#keys ?? [];
  }

  /**
   * The raw key `op` acts on, after checking that `op` may run: install takes a base64 key; use and
   * remove take an installed key or its fingerprint (prefix of ≥ 8 hex digits); the primary cannot be
   * removed. Throws {@link ClusterKeyError}; changes nothing.
   */
  async resolve(op: KeyOperation, text: string): Promise<Uint8Array> {
    if (!this.#keys) {
      throw new ClusterKeyError(
        "this node runs an insecure ring (--insecure): it has no key ring. " +
          "Restart its nodes with --cluster-key to encrypt it",
      );
    }
    if (op === "install") {
      try {
        return decodeKey(text);
      } catch (error) {
        throw new ClusterKeyError((error as Error).message);
      }
    }
    const raw = await this.#find(text);
    if (op === "remove" && sameKey(this.#keys[0], raw)) {
      throw new ClusterKeyError("cannot remove the primary key: 'edgering keys use' another key first");
    }
    return raw;
  }

  /** Records a change the worker accepted. */
  apply(op: KeyOperation, raw: Uint8Array): void {
    const keys = this.#keys;
    if (!keys) return;
    const at = keys.findIndex((k) => sameKey(k, raw));
    if (op === "install") {
      if (at < 0) keys.push(raw);
    } else if (at >= 0) {
      keys.splice(at, 1);
      if (op === "use") keys.unshift(raw);
    }
  }

  /** Fingerprints of the installed keys, for `node`. */
  async listing(node: string): Promise<KeyListing> {
    const keys = this.#keys ?? [];
    return {
      node,
      encrypted: this.encrypted,
      keys: await Promise.all(keys.map(async (k, i) => ({
        fingerprint: await keyFingerprint(k),
        bytes: k.length,
        primary: i === 0,
      }))),
    };
  }

  async #find(text: string): Promise<Uint8Array> {
    const keys = this.keys;
    let raw: Uint8Array | undefined;
    try {
      raw = decodeKey(text);
    } catch { /* not a key: maybe a fingerprint */ }
    if (raw) {
      const found = keys.find((k) => sameKey(k, raw));
      if (found) return found;
      if (!isFingerprint(text)) throw new ClusterKeyError("that key is not installed on this node");
    }
    if (!isFingerprint(text)) {
      throw new ClusterKeyError(
        `name a key by its base64 value or its fingerprint (${FINGERPRINT_PREFIX}… as 'keys list' shows)`,
      );
    }
    const wanted = text.trim().toLowerCase().replace(/^sha256:/, "");
    const prints = await Promise.all(keys.map(keyFingerprint));
    const matches = keys.filter((_, i) => prints[i].slice(FINGERPRINT_PREFIX.length).startsWith(wanted));
    if (matches.length === 1) return matches[0];
    throw new ClusterKeyError(
      matches.length === 0
        ? `no installed key has fingerprint ${text.trim()}`
        : `fingerprint ${text.trim()} matches ${matches.length} keys; give more digits`,
    );
  }
}
