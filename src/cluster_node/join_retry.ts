/**
 * Joining with retries: how long to wait before the next attempt, and what a failure means.
 *
 * A seed that is not up yet refuses the TCP connection or times out: retry soon, doubling the delay.
 * A seed that answers but cannot authenticate us (another cluster key, an encrypted ring joined
 * without encryption or the reverse) hangs up without a reply; retrying fast cannot fix that, so the
 * node says why in its log and retries only at the longest delay (an operator may be rotating keys).
 *
 * @example
 * ```ts
 * joinRetryDelayMs(3, 100, 2_000, Math.random()); // ≈ 800 ms ± 20%
 * classifyJoinFailure("request to 10.0.0.2:7946 failed: no reply (…); does it use another cluster key or label?"); // "key"
 * ```
 *
 * @module
 */

/** Why a join failed: "unreachable" (retry soon), "key" (the seed cannot authenticate us), or
 * "refused" (the seed answered with an error, e.g. incompatible protocol versions). */
export type JoinFailureKind = "unreachable" | "key" | "refused";

/** Fraction by which a retry delay is randomly stretched or shrunk, so nodes restarted together do not
 * retry in lockstep. */
const JITTER = 0.2;

/**
 * Delay before attempt `attempt + 1` after `attempt` failures (attempt ≥ 1): start·2^(attempt−1),
 * capped at `maxMs`, ±20% from `random01` ∈ [0, 1).
 */
export function joinRetryDelayMs(attempt: number, startMs: number, maxMs: number, random01: number): number {
  const base = Math.min(maxMs, startMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(base * (1 - JITTER + 2 * JITTER * random01));
}

/**
 * Classifies the message of a failed join (as the gossip worker reports it: `JoinError` text listing
 * each seed's failure). Any seed failing authentication makes it "key": that is what the operator
 * must hear about.
 */
export function classifyJoinFailure(message: string): JoinFailureKind {
  // NetTransport's wording when a peer hangs up on our request or its reply does not authenticate
  if (/another cluster key or label/.test(message)) return "key";
  // a reply carrying the peer's refusal (push_pull.ts), or a protocol version mismatch
  if (/remote error:|speaks protocol/.test(message)) return "refused";
  return "unreachable";
}

/** A one-line explanation of a refused join, for the log. */
export function explainJoinFailure(kind: JoinFailureKind, seeds: readonly string[], message: string): string {
  const where = seeds.join(", ");
  switch (kind) {
    case "key":
      return `join refused by ${where}: the seed could not authenticate this node — it uses another ` +
        `cluster key (or is insecure while this node is not, or the reverse). Use the ring's key: ` +
        `--cluster-key, as printed in the first node's join command`;
    case "refused":
      return `join refused by ${where}: ${message}`;
    case "unreachable":
      return `cannot reach ${where} yet (${message}); retrying`;
  }
}
