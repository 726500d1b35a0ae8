/**
 * Letting readers catch up after the engine hands out tokens in bursts.
 *
 * A GPU decode chunk gives each stream many tokens at once, and some readers take one item per
 * event-loop turn (an SSE body pulls one piece, writes it, and only then pulls the next). One turn
 * after a burst would leave the rest in the channel until the next chunk's readback, which on a
 * software adapter (its submit runs the work before returning) is a whole chunk later.
 */
import { eventLoopTurn } from "./event_loop_turn.ts";
import type { SequenceOutput } from "./sequence.ts";

/** Longest the engine waits for readers after a burst, ms: bounds what a stalled reader costs the batch. */
export const STREAM_DRAIN_MS = 5;
/**
 * Shortest wait, ms, before work that will block the event loop (a software adapter's submit): a token
 * taken from its channel still needs a few turns to reach the socket (the HTTP body's write, then the
 * connection's flush), and an empty channel cannot tell.
 */
export const BLOCKING_DRAIN_MS = 1;

/**
 * Gives the event loop one turn, then more for at least `minMs` and while any of `sequences` has tokens
 * its reader has not taken, until `budgetMs` has passed on `now` (ms).
 *
 * @example
 * ```ts
 * for (const s of batch) s.acceptToken(ids[i], now);
 * await drainStreams(batch, () => performance.now());
 * ```
 */
export async function drainStreams(
  sequences: readonly SequenceOutput[],
  now: () => number,
  minMs = 0,
  budgetMs = STREAM_DRAIN_MS,
): Promise<void> {
  const start = now();
  for (;;) {
    await eventLoopTurn();
    const elapsed = now() - start;
    if (elapsed >= budgetMs) return;
    if (elapsed >= minMs && !sequences.some((s) => s.channel.pending > 0)) return;
  }
}
