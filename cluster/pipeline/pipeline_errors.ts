/**
 * Typed errors of the pipeline runtime. Inside a stage, network input never throws past the
 * connection handler (it is counted and dropped); these errors reach callers of the library API: the
 * serve command (startup), and the entry's token streams (HTTP status codes).
 *
 * @module
 */

/** Base class of the pipeline runtime's errors. */
export class PipelineError extends Error {
  override name = "PipelineError";
}

/** Why a connection handshake failed. */
export type HandshakeFailure = "unauthorized" | "version" | "timeout" | "protocol" | "closed";

/** A pipeline connection could not be established or was refused by the peer. */
export class HandshakeError extends PipelineError {
  override name = "HandshakeError";
  constructor(readonly reason: HandshakeFailure, readonly address: string, message: string) {
    super(`pipeline handshake with ${address} failed (${reason}): ${message}`);
  }
}

/** A connection closed (reset, peer gone, or closed locally) while it was needed. */
export class ConnectionClosedError extends PipelineError {
  override name = "ConnectionClosedError";
  constructor(readonly address: string, message: string) {
    super(`pipeline connection to ${address} closed: ${message}`);
  }
}

/** No route can serve the model right now (no plan covers it): the API answers 503. */
export class NoPipelineError extends PipelineError {
  override name = "NoPipelineError";
}

/**
 * A sequence could not be completed by the pipeline: it failed over too often, stalled past its
 * timeout, or a stage refused it for a reason a replay cannot fix. `code` is a WireErrorCode when a
 * stage reported it.
 */
export class PipelineSequenceError extends PipelineError {
  override name = "PipelineSequenceError";
  constructor(
    readonly kind: "failover-limit" | "stalled" | "refused" | "closed",
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

/** Invalid options given to a StageServer or PipelineEngine (a startup failure, with a one-line hint). */
export class PipelineConfigError extends PipelineError {
  override name = "PipelineConfigError";
}
