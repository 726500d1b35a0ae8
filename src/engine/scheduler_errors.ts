/** Typed errors of the scheduler; the HTTP layer turns each into one status code. */

/** The wait queue is full: the caller should retry later (HTTP 429 with Retry-After). */
export class QueueFullError extends Error {
  override name = "QueueFullError";
  constructor(readonly queued: number, readonly limit: number) {
    super(`the request queue is full (${queued} waiting, limit ${limit}); retry later`);
  }
}

/** The node is shutting down and accepts no new sequences (HTTP 503). */
export class DrainingError extends Error {
  override name = "DrainingError";
  constructor() {
    super("the node is shutting down and accepts no new requests");
  }
}

/** The engine failed while running a step (a backend fault, not the request's fault: HTTP 500). */
export class EngineError extends Error {
  override name = "EngineError";
}
