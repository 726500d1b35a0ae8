/**
 * The handle a caller gets for a submitted request: the sequence's pieces as an AsyncIterable, its
 * summary when it ends, and a cancel that the request's AbortSignal also triggers.
 *
 * Separate from the scheduler because both engines that take requests — the local Scheduler and the
 * pipeline's entry engine (cluster/pipeline/pipeline_engine.ts) — hand out the same handle over their
 * own sequences (both a {@link SequenceOutput}), and the HTTP layer streams either.
 */
import type { GeneratedPiece } from "./generate.ts";
import type { SequenceOutput, SequenceSummary } from "./sequence.ts";

/** A submitted request: its pieces as they are generated, and its summary at the end. */
export interface SequenceStream extends AsyncIterable<GeneratedPiece> {
  readonly id: number;
  readonly promptTokens: number;
  /** resolves when the sequence ends, however it ends (never rejects) */
  readonly done: Promise<SequenceSummary>;
  /** Cancels the sequence (same as aborting the request's signal). */
  cancel(): void;
}

/**
 * The handle of a queued `sequence`: aborting `signal` calls `cancel`, and the listener is removed when
 * the sequence ends (however it ends), so a long-lived signal does not keep finished sequences alive.
 *
 * @example
 * ```ts
 * queue.push(client, sequence, limits);
 * const stream = sequenceStream(sequence, request.signal, () => cancel(sequence));
 * for await (const piece of stream) console.log(piece.text);
 * ```
 */
export function sequenceStream(
  sequence: SequenceOutput,
  signal: AbortSignal | undefined,
  cancel: () => void,
): SequenceStream {
  signal?.addEventListener("abort", cancel, { once: true });
  sequence.done.then(() => signal?.removeEventListener("abort", cancel));
  const channel = sequence.channel;
  return {
    id: sequence.id,
    promptTokens: sequence.prompt.length,
    done: sequence.done,
    cancel,
    [Symbol.asyncIterator]: () => channel[Symbol.asyncIterator](),
  };
}
