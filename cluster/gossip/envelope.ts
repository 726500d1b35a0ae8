/**
 * The envelope around every datagram and stream frame on real sockets:
 *
 * ```
 * [version u8: 1 plain | 2 AES-GCM][label length u8][label UTF-8]
 *   plain:   [message bytes]
 *   AES-GCM: [nonce 12][ciphertext + tag 16]   (additional data = the header before the nonce)
 * ```
 *
 * The cluster label is bound into the authentication tag, so a packet from another ring fails
 * even with the same key. Nonces are random (96 bits): safe for far more messages than a key
 * lives for between rotations. Opening never throws anything but {@link SecurityError} or
 * {@link WireDecodeError}.
 *
 * @module
 */

import { SecurityError, WireDecodeError } from "./errors.ts";
import type { Keyring } from "./keyring.ts";

/** Envelope versions (append-only). */
export const ENVELOPE_PLAIN = 1;
/** @see ENVELOPE_PLAIN */
export const ENVELOPE_AES_GCM = 2;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Security settings of one node. */
export interface EnvelopeOptions {
  /** Cluster label ("" = none). */
  label: string;
  /** Keys; absent = an unencrypted (insecure) ring. */
  keyring?: Keyring;
}

const utf8 = new TextEncoder();

/** Our byte arrays are never backed by a SharedArrayBuffer, which WebCrypto's types exclude. */
function plain(u: Uint8Array): Uint8Array<ArrayBuffer> {
  return u as Uint8Array<ArrayBuffer>;
}

/** Bytes the envelope adds to a message. */
export function envelopeOverhead(opts: EnvelopeOptions): number {
  return 2 + utf8.encode(opts.label).length + (opts.keyring ? NONCE_BYTES + TAG_BYTES : 0);
}

function header(version: number, label: Uint8Array): Uint8Array {
  const h = new Uint8Array(2 + label.length);
  h[0] = version;
  h[1] = label.length;
  h.set(label, 2);
  return h;
}

/** Wraps `payload`, encrypting it with the primary key when there is a keyring. */
export async function seal(payload: Uint8Array, opts: EnvelopeOptions): Promise<Uint8Array> {
  const label = utf8.encode(opts.label);
  if (!opts.keyring) {
    const h = header(ENVELOPE_PLAIN, label);
    const out = new Uint8Array(h.length + payload.length);
    out.set(h);
    out.set(payload, h.length);
    return out;
  }
  const h = header(ENVELOPE_AES_GCM, label);
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: plain(h) },
      opts.keyring.primary,
      plain(payload),
    ),
  );
  const out = new Uint8Array(h.length + NONCE_BYTES + ct.length);
  out.set(h);
  out.set(nonce, h.length);
  out.set(ct, h.length + NONCE_BYTES);
  return out;
}

/** Checks label and version, decrypts if needed, and returns the message bytes. */
export async function open(bytes: Uint8Array, opts: EnvelopeOptions): Promise<Uint8Array> {
  if (bytes.length < 2) throw new WireDecodeError(`envelope of ${bytes.length} bytes is too short`);
  const version = bytes[0], labelLen = bytes[1];
  if (bytes.length < 2 + labelLen) throw new WireDecodeError("envelope label truncated");
  const label = utf8.encode(opts.label);
  const got = bytes.subarray(2, 2 + labelLen);
  if (got.length !== label.length || got.some((b, i) => b !== label[i])) {
    throw new SecurityError("label", "cluster label mismatch");
  }
  const body = bytes.subarray(2 + labelLen);
  if (version === ENVELOPE_PLAIN) {
    if (opts.keyring) throw new SecurityError("unencrypted", "unencrypted message in an encrypted ring");
    return body;
  }
  if (version !== ENVELOPE_AES_GCM) throw new WireDecodeError(`unknown envelope version ${version}`);
  if (!opts.keyring) throw new SecurityError("encrypted", "encrypted message but no cluster key configured");
  if (body.length < NONCE_BYTES + TAG_BYTES) throw new SecurityError("decrypt", "ciphertext too short");
  const aad = bytes.subarray(0, 2 + labelLen);
  const nonce = body.subarray(0, NONCE_BYTES), ct = body.subarray(NONCE_BYTES);
  for (const key of opts.keyring.decryptionKeys) {
    try {
      return new Uint8Array(
        await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: plain(nonce), additionalData: plain(aad) },
          key,
          plain(ct),
        ),
      );
    } catch {
      // wrong key: try the next one
    }
  }
  throw new SecurityError("decrypt", "no installed key decrypts the message");
}
