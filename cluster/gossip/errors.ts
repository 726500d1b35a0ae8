/**
 * Typed errors of the gossip layer. Network input never throws past the packet handler: these are
 * caught there, counted in {@link GossipStats}-style counters and dropped. Messages say what was
 * attempted and the offending value.
 *
 * @module
 */

/** Base class of every error raised by `cluster/gossip`. */
export class GossipError extends Error {
  override name = "GossipError";
}

/** A configuration field is out of range; `field` names it. */
export class GossipConfigError extends GossipError {
  override name = "GossipConfigError";
  constructor(readonly field: string, readonly value: unknown, reason: string) {
    super(`gossip config ${field}=${JSON.stringify(value)}: ${reason}`);
  }
}

/** Bytes from the network do not decode into a well-formed message. */
export class WireDecodeError extends GossipError {
  override name = "WireDecodeError";
}

/** A well-formed frame of a message type this version does not know (sent by a newer peer). */
export class UnknownMessageTypeError extends WireDecodeError {
  override name = "UnknownMessageTypeError";
  constructor(readonly messageType: number) {
    super(`unknown gossip message type ${messageType}`);
  }
}

/** A message would not fit the wire limits (datagram size, compound part count, field sizes). */
export class WireEncodeError extends GossipError {
  override name = "WireEncodeError";
}

/** A packet or stream failed authentication: wrong key, wrong cluster label, or missing encryption. */
export class SecurityError extends GossipError {
  override name = "SecurityError";
  constructor(readonly reason: "decrypt" | "label" | "unencrypted" | "encrypted" | "key", message: string) {
    super(message);
  }
}

/** The peer speaks a protocol version range that does not overlap ours. */
export class ProtocolVersionError extends GossipError {
  override name = "ProtocolVersionError";
}

/** A stream request (push-pull, fallback ping, join) failed: timeout, refused, or remote error. */
export class GossipRequestError extends GossipError {
  override name = "GossipRequestError";
  constructor(readonly address: string, message: string, options?: ErrorOptions) {
    super(`request to ${address} failed: ${message}`, options);
  }
}

/** `join` could not reach any of the given seeds. */
export class JoinError extends GossipError {
  override name = "JoinError";
  constructor(readonly failures: readonly { seed: string; error: string }[]) {
    super(`could not join through any seed: ${failures.map((f) => `${f.seed} (${f.error})`).join(", ")}`);
  }
}

/** The gossip port could not be bound (already in use, or not permitted). */
export class GossipBindError extends GossipError {
  override name = "GossipBindError";
  constructor(readonly hostname: string, readonly port: number, reason: string, options?: ErrorOptions) {
    super(`cannot bind gossip port ${hostname}:${port} (UDP and TCP): ${reason}`, options);
  }
}
