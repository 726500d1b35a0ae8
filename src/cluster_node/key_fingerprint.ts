/**
 * Naming cluster keys without showing them: a key is shown as `sha256:` and the first 16 hex digits
 * of its SHA-256 digest (64 bits: enough to tell a ring's few keys apart, useless for guessing a
 * 128-bit or larger key). `edgering keys` and the status page only ever show fingerprints.
 *
 * @example
 * ```ts
 * const raw = decodeKey("AAAAAAAAAAAAAAAAAAAAAA==");
 * await keyFingerprint(raw); // "sha256:374708fff7719dd5"
 * ```
 *
 * @module
 */
import { ClusterConfigError } from "./cluster_errors.ts";

/** AES key sizes accepted, in bytes. */
export const KEY_SIZES: readonly number[] = [16, 24, 32];
/** Hex digits of the digest shown in a fingerprint. */
const FINGERPRINT_HEX_DIGITS = 16;

/** Decodes a base64 key of 16, 24 or 32 bytes; throws {@link ClusterConfigError} (never echoing it). */
export function decodeKey(base64: string): Uint8Array {
  const text = base64.trim();
  let raw: Uint8Array;
  try {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new Error("not base64");
    raw = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new ClusterConfigError("the cluster key is not valid base64");
  }
  if (!KEY_SIZES.includes(raw.length)) {
    throw new ClusterConfigError(`the cluster key must decode to 16, 24 or 32 bytes, got ${raw.length}`);
  }
  return raw;
}

/** Base64 of a raw key. */
export function encodeKey(raw: Uint8Array): string {
  return btoa(String.fromCharCode(...raw));
}

/** A fresh random 32-byte (AES-256) key, base64. */
export function generateClusterKeyText(): string {
  return encodeKey(crypto.getRandomValues(new Uint8Array(32)));
}

/** `sha256:` + the first 16 hex digits of the key's SHA-256. */
export async function keyFingerprint(raw: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw.slice()));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return `sha256:${hex.slice(0, FINGERPRINT_HEX_DIGITS)}`;
}

/** True when `text` looks like a fingerprint (with or without the `sha256:` prefix). */
export function isFingerprint(text: string): boolean {
  return /^(sha256:)?[0-9a-f]{8,64}$/i.test(text.trim());
}

/** True when `a` and `b` hold the same bytes. */
export function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
