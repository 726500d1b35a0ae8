/**
 * Authentication and encryption of pipeline connections with the cluster key.
 *
 * Handshake: each side sends a HELLO whose `auth` is a fresh 16-byte nonce followed by an
 * HMAC-SHA256 proof over both nonces seen so far, the HELLO fields, its role and the cluster label,
 * keyed by a key derived (HKDF) from the cluster key:
 *
 * ```
 * client → server  HELLO auth = nc ‖ HMAC(kh, "client" ‖ label ‖ nc ‖ fields)
 * server → client  HELLO auth = ns ‖ HMAC(kh, "server" ‖ label ‖ ns ‖ nc ‖ fields)
 * ```
 *
 * The server checks the client's proof against every installed key (so a key rotation in progress
 * still connects) and refuses the connection when none matches: a node without the key cannot inject
 * activations. The client checks the server's proof, which covers its own fresh nonce, so a recorded
 * server HELLO cannot be replayed; a recorded client HELLO can, but the handshake ends with each side
 * sealing an empty record under the session keys (connection_handshake.ts), which a replayer cannot.
 *
 * Records: after the handshake every frame travels inside a RECORD sealed with AES-256-GCM under a
 * per-connection, per-direction key HKDF(cluster key, salt = nc ‖ ns), with the record's sequence
 * number as the nonce. Fresh keys per connection make counter nonces safe, and the implicit sequence
 * number rejects a replayed, dropped or reordered record (the connection is then closed), which the
 * gossip envelope's random nonces (cluster/gossip/envelope.ts) do not need for single datagrams but a
 * stream of activations does. Without the key a peer can neither forge nor read a record.
 *
 * A cluster without a key (no keyring) runs the same protocol with empty proofs and plain records;
 * the two kinds refuse each other.
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";
import type { Keyring } from "../gossip/keyring.ts";
import { PipelineError } from "./pipeline_errors.ts";

/** Fresh random bytes each side puts in front of its proof. */
export const HELLO_NONCE_BYTES = 16;
/** HMAC-SHA256 output. */
export const HELLO_PROOF_BYTES = 32;
/** AES-GCM tag appended to every sealed record. */
export const RECORD_TAG_BYTES = 16;
/**
 * Records up to this size are sealed and opened synchronously (node:crypto), larger ones by WebCrypto.
 * WebCrypto runs each call on a worker thread: about 100 µs of hand-off per call whatever the size,
 * which on a decode step's small record is most of a hop's cost; the synchronous path costs 10–120 µs
 * up to 8 KiB but streams large buffers more slowly (measured in Deno 2 on x86-64).
 */
export const SYNC_CRYPTO_MAX_BYTES = 8 * 1024;

const utf8 = new TextEncoder();

/** The HELLO fields the proof covers. */
export interface HelloFields {
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly planEpoch: number;
  readonly nodeId: string;
}

/** Our byte arrays are never backed by a SharedArrayBuffer, which WebCrypto's types exclude. */
function buf(u: Uint8Array): Uint8Array<ArrayBuffer> {
  return u as Uint8Array<ArrayBuffer>;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function proofMessage(
  role: "client" | "server",
  label: string,
  nonces: readonly Uint8Array[],
  f: HelloFields,
): Uint8Array {
  const fixed = new Uint8Array(8);
  const view = new DataView(fixed.buffer);
  view.setUint16(0, f.minVersion, true);
  view.setUint16(2, f.maxVersion, true);
  view.setUint32(4, f.planEpoch, true);
  return concat([
    utf8.encode(`edgering pipeline hello v1|${role}|${label}|`),
    ...nonces,
    fixed,
    utf8.encode(f.nodeId),
  ]);
}

/** 32 bytes of key material HKDF-SHA256(raw, salt, info). */
async function hkdf(raw: Uint8Array, salt: Uint8Array, info: string): Promise<Uint8Array> {
  const base = await crypto.subtle.importKey("raw", buf(raw), "HKDF", false, ["deriveBits"]);
  const params = { name: "HKDF", hash: "SHA-256", salt: buf(salt), info: utf8.encode(info) };
  return new Uint8Array(await crypto.subtle.deriveBits(params, base, 256));
}

async function proofKey(raw: Uint8Array, label: string): Promise<CryptoKey> {
  const bits = await hkdf(raw, new Uint8Array(0), `edgering pipeline proof v1|${label}`);
  return await crypto.subtle.importKey("raw", buf(bits), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

/** A fresh HELLO nonce. */
export function helloNonce(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(HELLO_NONCE_BYTES));
}

/**
 * The `auth` bytes of our HELLO: `ownNonce ‖ proof`. The client passes no peer nonce; the server
 * passes the client's. Empty when the cluster has no key.
 */
export async function helloAuth(
  keyRaw: Uint8Array | undefined,
  label: string,
  role: "client" | "server",
  ownNonce: Uint8Array,
  peerNonce: Uint8Array | undefined,
  fields: HelloFields,
): Promise<Uint8Array> {
  if (!keyRaw) return new Uint8Array(0);
  const nonces = peerNonce ? [ownNonce, peerNonce] : [ownNonce];
  const key = await proofKey(keyRaw, label);
  const proof = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, buf(proofMessage(role, label, nonces, fields))),
  );
  return concat([ownNonce, proof]);
}

/**
 * Checks a peer's HELLO `auth` against each candidate key; returns the key that proves it (and the
 * peer's nonce), or undefined when none does or the bytes have the wrong shape.
 */
export async function verifyHelloAuth(
  candidates: readonly Uint8Array[],
  label: string,
  role: "client" | "server",
  auth: Uint8Array,
  ownNonce: Uint8Array | undefined,
  fields: HelloFields,
): Promise<{ key: Uint8Array; nonce: Uint8Array } | undefined> {
  if (auth.length !== HELLO_NONCE_BYTES + HELLO_PROOF_BYTES) return undefined;
  const nonce = auth.slice(0, HELLO_NONCE_BYTES);
  const proof = auth.slice(HELLO_NONCE_BYTES);
  const message = proofMessage(role, label, ownNonce ? [nonce, ownNonce] : [nonce], fields);
  for (const raw of candidates) {
    // verify() compares in constant time
    if (await crypto.subtle.verify("HMAC", await proofKey(raw, label), buf(proof), buf(message))) {
      return { key: raw, nonce };
    }
  }
  return undefined;
}

/** Installed keys, primary first; empty for an unkeyed cluster. */
export function keyCandidates(keyring: Keyring | undefined): Uint8Array[] {
  return keyring ? keyring.keys() : [];
}

/** Seals and opens a connection's records, in order, one direction each. */
export interface RecordCipher {
  /** true when records are encrypted */
  readonly sealed: boolean;
  /** Seals the next outgoing record. Calls must be made in sending order. */
  seal(plain: Uint8Array): Promise<Uint8Array>;
  /** Opens the next incoming record; throws RecordAuthError when it fails authentication. */
  open(data: Uint8Array): Promise<Uint8Array>;
}

/** A record that fails authentication: forged, replayed, reordered or damaged. */
export class RecordAuthError extends PipelineError {
  override name = "RecordAuthError";
}

function counterNonce(n: number): Uint8Array<ArrayBuffer> {
  const iv = new Uint8Array(12);
  const view = new DataView(iv.buffer);
  view.setUint32(4, n % 0x1_0000_0000, true);
  view.setUint32(8, Math.floor(n / 0x1_0000_0000), true);
  return iv;
}

/** One direction's AES-256 key, usable by both crypto paths. */
interface DirectionKey {
  readonly raw: Uint8Array;
  readonly key: CryptoKey;
}

async function directionKey(raw: Uint8Array): Promise<DirectionKey> {
  const key = await crypto.subtle.importKey("raw", buf(raw), "AES-GCM", false, ["encrypt", "decrypt"]);
  return { raw, key };
}

class AesGcmRecords implements RecordCipher {
  readonly sealed = true;
  #sent = 0;
  #received = 0;
  constructor(private readonly send: DirectionKey, private readonly receive: DirectionKey) {}

  async seal(plain: Uint8Array): Promise<Uint8Array> {
    const iv = counterNonce(this.#sent++);
    if (plain.length <= SYNC_CRYPTO_MAX_BYTES) {
      const cipher = createCipheriv("aes-256-gcm", this.send.raw, iv);
      const head = cipher.update(plain);
      const tail = cipher.final();
      const tag = cipher.getAuthTag();
      const out = new Uint8Array(head.length + tail.length + tag.length);
      out.set(head);
      out.set(tail, head.length);
      out.set(tag, head.length + tail.length);
      return out;
    }
    return new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, this.send.key, buf(plain)));
  }

  async open(data: Uint8Array): Promise<Uint8Array> {
    const n = this.#received++;
    if (data.length < RECORD_TAG_BYTES) {
      throw new RecordAuthError(`record ${n} of ${data.length} bytes is too short`);
    }
    const iv = counterNonce(n);
    try {
      if (data.length - RECORD_TAG_BYTES <= SYNC_CRYPTO_MAX_BYTES) {
        const decipher = createDecipheriv("aes-256-gcm", this.receive.raw, iv);
        decipher.setAuthTag(data.subarray(data.length - RECORD_TAG_BYTES));
        const head = decipher.update(data.subarray(0, data.length - RECORD_TAG_BYTES));
        const tail = decipher.final(); // throws when the tag does not match
        if (tail.length === 0) return new Uint8Array(head.buffer, head.byteOffset, head.length);
        const out = new Uint8Array(head.length + tail.length);
        out.set(head);
        out.set(tail, head.length);
        return out;
      }
      return new Uint8Array(
        await crypto.subtle.decrypt({ name: "AES-GCM", iv }, this.receive.key, buf(data)),
      );
    } catch {
      throw new RecordAuthError(`record ${n} fails authentication`);
    }
  }
}

const PLAIN_RECORDS: RecordCipher = {
  sealed: false,
  seal: (plain) => Promise.resolve(plain),
  open: (data) => Promise.resolve(data),
};

/**
 * The record cipher of one side of a connection: keys derived from the cluster key and both nonces,
 * one per direction. Plain when `keyRaw` is undefined (unkeyed cluster).
 */
export async function recordCipher(
  keyRaw: Uint8Array | undefined,
  label: string,
  role: "client" | "server",
  clientNonce: Uint8Array,
  serverNonce: Uint8Array,
): Promise<RecordCipher> {
  if (!keyRaw) return PLAIN_RECORDS;
  const salt = concat([clientNonce, serverNonce]);
  const c2s = await directionKey(await hkdf(keyRaw, salt, `edgering pipeline records v1|${label}|c2s`));
  const s2c = await directionKey(await hkdf(keyRaw, salt, `edgering pipeline records v1|${label}|s2c`));
  return role === "client" ? new AesGcmRecords(c2s, s2c) : new AesGcmRecords(s2c, c2s);
}
