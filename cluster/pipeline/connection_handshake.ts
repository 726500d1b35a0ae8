/**
 * The two sides of a pipeline connection's handshake (the protocol is in connection_crypto.ts): HELLOs
 * with proofs of the cluster key, version negotiation, the record cipher both sides derive, and a key
 * confirmation: each side's first record is empty, client first, and the handshake completes only
 * once both have opened. A replayed client HELLO therefore never becomes a connection (the replayer
 * cannot seal the confirmation), so it cannot take an entry's place at a stage. A server refuses a
 * peer with an ERROR frame (Unauthorized, VersionMismatch, BadFrame) before closing.
 *
 * @module
 */

import type { Keyring } from "../gossip/keyring.ts";
import {
  helloAuth,
  type HelloFields,
  helloNonce,
  keyCandidates,
  type RecordCipher,
  recordCipher,
  verifyHelloAuth,
} from "./connection_crypto.ts";
import { encodeFrame } from "./frames_encode.ts";
import type { FrameReader } from "./frames_reader.ts";
import {
  type Frame,
  FrameError,
  FrameType,
  type HelloFrame,
  negotiateVersion,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  RUNTIME_PROTOCOL_VERSION,
  WireErrorCode,
} from "./frames.ts";
import { HandshakeError } from "./pipeline_errors.ts";

/** Longest wait for the peer's HELLO, ms: a live peer answers in well under a millisecond on a LAN. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
/** Longest wait for a TCP connect, ms. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** Who we are and how we prove it. */
export interface ConnectionOptions {
  /** our node id in HELLO (the entry's reply id: unique per entry engine) */
  readonly nodeId: string;
  /** cluster keys; absent = an unkeyed cluster (plain records; refused by keyed peers) */
  readonly keyring?: Keyring;
  /** cluster label bound into every proof and key ("" by default) */
  readonly label?: string;
  /** plan epoch we follow, informational in HELLO */
  readonly planEpoch?: number;
  readonly handshakeTimeoutMs?: number;
}

/** What a successful handshake yields. */
export interface Handshake {
  readonly cipher: RecordCipher;
  /** the peer's node id from its HELLO */
  readonly peerId: string;
  /** negotiated protocol version */
  readonly version: number;
}

function helloFields(h: HelloFrame | HelloFields): HelloFields {
  return { minVersion: h.minVersion, maxVersion: h.maxVersion, planEpoch: h.planEpoch, nodeId: h.nodeId };
}

/** Writes all of `bytes` (a socket write may take only part). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
}

/** Resolves `p` or rejects after `ms`, running `onTimeout` (which should close the resource). */
export function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  onTimeout: () => void,
  error: () => Error,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(error());
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Closes a connection that may already be closed. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** Client side: sends our HELLO with its proof, checks the server's. Throws HandshakeError. */
export async function clientHandshake(
  conn: Deno.Conn,
  reader: FrameReader,
  address: string,
  options: ConnectionOptions,
): Promise<Handshake> {
  const label = options.label ?? "";
  const key = keyCandidates(options.keyring)[0];
  const nonce = helloNonce();
  const fields: HelloFields = {
    minVersion: PROTOCOL_VERSION_MIN,
    maxVersion: PROTOCOL_VERSION_MAX,
    planEpoch: options.planEpoch ?? 0,
    nodeId: options.nodeId,
  };
  const auth = await helloAuth(key, label, "client", nonce, undefined, fields);
  await writeAll(conn, encodeFrame({ type: FrameType.Hello, ...fields, auth }));
  const reply = await readFirst(conn, reader, address, options.handshakeTimeoutMs);
  if (reply.type === FrameType.Error) {
    const reason = reply.code === WireErrorCode.Unauthorized
      ? "unauthorized"
      : reply.code === WireErrorCode.VersionMismatch
      ? "version"
      : "protocol";
    throw new HandshakeError(reason, address, `refused by the peer: ${reply.message}`);
  }
  if (reply.type !== FrameType.Hello) {
    throw new HandshakeError("protocol", address, `expected HELLO, got frame type ${reply.type}`);
  }
  const version = negotiateVersion(fields, reply);
  if (version === undefined || version < RUNTIME_PROTOCOL_VERSION) {
    throw new HandshakeError("version", address, `peer speaks ${reply.minVersion}..${reply.maxVersion}`);
  }
  let serverNonce: Uint8Array;
  if (key) {
    const proven = await verifyHelloAuth([key], label, "server", reply.auth, nonce, helloFields(reply));
    if (!proven) throw new HandshakeError("unauthorized", address, "the peer cannot prove the cluster key");
    serverNonce = proven.nonce;
  } else {
    if (reply.auth.length !== 0) {
      throw new HandshakeError("unauthorized", address, "the peer expects a cluster key");
    }
    serverNonce = new Uint8Array(0);
  }
  const cipher = await recordCipher(key, label, "client", nonce, serverNonce);
  await writeAll(conn, encodeFrame({ type: FrameType.Record, data: await cipher.seal(new Uint8Array(0)) }));
  await readConfirmation(conn, reader, address, cipher, options.handshakeTimeoutMs);
  return { cipher, peerId: reply.nodeId, version };
}

/** Server side: checks the client's HELLO against every installed key, answers with ours. Throws HandshakeError. */
export async function serverHandshake(
  conn: Deno.Conn,
  reader: FrameReader,
  remote: string,
  options: ConnectionOptions,
): Promise<Handshake> {
  const label = options.label ?? "";
  const refuse = async (
    code: WireErrorCode,
    reason: "unauthorized" | "version" | "protocol",
    message: string,
  ) => {
    try {
      await writeAll(conn, encodeFrame({ type: FrameType.Error, code, seqId: 0, message }));
    } catch { /* the peer may be gone already */ }
    return new HandshakeError(reason, remote, message);
  };
  const hello = await readFirst(conn, reader, remote, options.handshakeTimeoutMs);
  if (hello.type !== FrameType.Hello) {
    throw await refuse(WireErrorCode.BadFrame, "protocol", `expected HELLO, got frame type ${hello.type}`);
  }
  const ours: HelloFields = {
    minVersion: PROTOCOL_VERSION_MIN,
    maxVersion: PROTOCOL_VERSION_MAX,
    planEpoch: options.planEpoch ?? 0,
    nodeId: options.nodeId,
  };
  const version = negotiateVersion(ours, hello);
  if (version === undefined || version < RUNTIME_PROTOCOL_VERSION) {
    throw await refuse(
      WireErrorCode.VersionMismatch,
      "version",
      `versions ${hello.minVersion}..${hello.maxVersion} do not include ${RUNTIME_PROTOCOL_VERSION}..${PROTOCOL_VERSION_MAX}`,
    );
  }
  const candidates = keyCandidates(options.keyring);
  let key: Uint8Array | undefined;
  let clientNonce: Uint8Array = new Uint8Array(0);
  if (candidates.length > 0) {
    const proven = await verifyHelloAuth(
      candidates,
      label,
      "client",
      hello.auth,
      undefined,
      helloFields(hello),
    );
    if (!proven) {
      throw await refuse(
        WireErrorCode.Unauthorized,
        "unauthorized",
        `node ${hello.nodeId} cannot prove the cluster key`,
      );
    }
    key = proven.key;
    clientNonce = proven.nonce;
  } else if (hello.auth.length !== 0) {
    throw await refuse(WireErrorCode.Unauthorized, "unauthorized", "this node has no cluster key");
  }
  const nonce = key ? helloNonce() : new Uint8Array(0);
  const auth = await helloAuth(key, label, "server", nonce, clientNonce, ours);
  await writeAll(conn, encodeFrame({ type: FrameType.Hello, ...ours, auth }));
  const cipher = await recordCipher(key, label, "server", clientNonce, nonce);
  try {
    await readConfirmation(conn, reader, remote, cipher, options.handshakeTimeoutMs);
  } catch (error) {
    if (!(error instanceof HandshakeError) || error.reason === "timeout" || error.reason === "closed") {
      throw error;
    }
    throw await refuse(WireErrorCode.Unauthorized, "unauthorized", `node ${hello.nodeId}: ${error.message}`);
  }
  await writeAll(conn, encodeFrame({ type: FrameType.Record, data: await cipher.seal(new Uint8Array(0)) }));
  return { cipher, peerId: hello.nodeId, version };
}

/** The peer's first record, which must open (with the session key) to nothing. */
async function readConfirmation(
  conn: Deno.Conn,
  reader: FrameReader,
  address: string,
  cipher: RecordCipher,
  timeoutMs?: number,
): Promise<void> {
  const frame = await readFirst(conn, reader, address, timeoutMs);
  if (frame.type !== FrameType.Record) {
    throw new HandshakeError(
      "protocol",
      address,
      `expected the key confirmation, got frame type ${frame.type}`,
    );
  }
  let plain: Uint8Array;
  try {
    plain = await cipher.open(frame.data);
  } catch {
    throw new HandshakeError(
      "unauthorized",
      address,
      "the key confirmation does not open with the session key",
    );
  }
  if (plain.length !== 0) throw new HandshakeError("protocol", address, "the key confirmation is not empty");
}

/** The first frame of a connection (or the next one, during the handshake), within the timeout. */
async function readFirst(
  conn: Deno.Conn,
  reader: FrameReader,
  address: string,
  timeoutMs = HANDSHAKE_TIMEOUT_MS,
): Promise<Frame> {
  let frame: Frame | null;
  try {
    frame = await withTimeout(
      reader.read(),
      timeoutMs,
      () => closeQuietly(conn),
      () => new HandshakeError("timeout", address, `no HELLO within ${timeoutMs} ms`),
    );
  } catch (error) {
    if (error instanceof HandshakeError) throw error;
    if (error instanceof FrameError) throw new HandshakeError("protocol", address, error.message);
    throw new HandshakeError("closed", address, (error as Error).message);
  }
  if (!frame) throw new HandshakeError("closed", address, "connection closed before HELLO");
  return frame;
}
