/**
 * How many decode steps the GPU-resident loop runs per readback.
 *
 * A readback costs at least ~10 ms in Deno 2.9.6 (its poll loop sleeps 10 ms), however fast the GPU.
 * The chunk is sized so that this floor is at most a tenth of the chunk's GPU time:
 *
 *   chunk = ⌈floor / (share · step)⌉, bounded to [MIN_STEADY_CHUNK, cap]
 *
 * and to MAX_CHUNK_MS of steps (slow steps: a big model on a small GPU, where the floor is negligible),
 * where `step` is the measured time per decode step. The first chunk is short (the first tokens
 * stream out early) and so is the second (launched before any measurement). Near the token budget
 * the chunk shrinks to what is left; when the caller may stop early on text the GPU cannot see (stop
 * strings), the cap drops to {@link STOP_LIKELY_CHUNK}, bounding the steps discarded after a stop, and
 * while requests wait for a KV slot (serving) to {@link WAITING_CHUNK}, so a finished sequence's slot
 * is seen free sooner.
 *
 * @example
 * ```ts
 * chooseChunkSize({ stepMs: 2, remaining: 500, maxChunk: 64, mayStopEarly: false }); // 50
 * chooseChunkSize({ stepMs: 0.1, remaining: 500, maxChunk: 64, mayStopEarly: true }); // 16
 * chooseChunkSize({ stepMs: 2, remaining: 7, maxChunk: 64, mayStopEarly: false }); // 7
 * ```
 */

/** Deno's readback floor, ms: mapAsync never resolves sooner. */
export const READBACK_FLOOR_MS = 10;
/** Target share of a chunk's time spent on its readback. */
export const READBACK_SHARE = 0.1;
/** Steps of the first chunk: a quick first token to stream. */
export const FIRST_CHUNK = 4;
/** Fewest steps of later chunks: at most 1/16 readback per token at steady state (the budget is 1/8). */
export const MIN_STEADY_CHUNK = 16;
/** Default largest chunk: bounds the steps discarded after a stop token (up to two chunks in flight). */
export const DEFAULT_MAX_CHUNK = 64;
/** Largest chunk when stop strings may end the run on the host. */
export const STOP_LIKELY_CHUNK = 16;
/**
 * Largest chunk while requests wait for a KV slot (serving): a sequence's end is seen only at a
 * readback, so shorter chunks hand its slot over sooner, at up to 1/8 readback per token meanwhile.
 */
export const WAITING_CHUNK = 8;
/**
 * Longest a chunk should take, ms, when steps are slow (a big model on a small GPU): a request that
 * arrives mid-chunk waits for the chunk in flight and the next, already submitted, before its prefill.
 * It lowers the chunk below {@link MIN_STEADY_CHUNK} only for steps over 60 ms, where a readback
 * costs under a sixth of a step anyway, and never below {@link WAITING_CHUNK} steps (the 1/8 budget).
 */
export const MAX_CHUNK_MS = 1000;

/** What the chunk size is chosen from. */
export interface ChunkInput {
  /** measured time per decode step, ms; undefined before the first readback */
  readonly stepMs: number | undefined;
  /** tokens still allowed by the budget (≥ 0) */
  readonly remaining: number;
  /** largest chunk the caller allows (≥ 1) */
  readonly maxChunk: number;
  /** the host may stop on text (stop strings) the GPU cannot check */
  readonly mayStopEarly: boolean;
  /** the readback floor, ms (default {@link READBACK_FLOOR_MS}) */
  readonly floorMs?: number;
  /** this is the first chunk of the run */
  readonly first?: boolean;
  /** requests wait for a slot that a sequence of this batch may free: cap at {@link WAITING_CHUNK} */
  readonly waiting?: boolean;
}

/** Steps of the next chunk: 0 only when nothing remains. Pure. */
export function chooseChunkSize(input: ChunkInput): number {
  const remaining = Math.max(0, Math.floor(input.remaining));
  const cap = Math.max(
    1,
    Math.min(
      input.maxChunk,
      input.mayStopEarly ? STOP_LIKELY_CHUNK : Infinity,
      input.waiting ? WAITING_CHUNK : Infinity,
      // never below WAITING_CHUNK, so steady state stays within the 1/8-readback-per-token budget
      input.stepMs !== undefined && input.stepMs > 0
        ? Math.max(WAITING_CHUNK, Math.floor(MAX_CHUNK_MS / input.stepMs))
        : Infinity,
    ),
  );
  const floor = Math.min(MIN_STEADY_CHUNK, cap);
  let size: number;
  if (input.first) size = Math.min(FIRST_CHUNK, cap);
  else if (input.stepMs === undefined || !(input.stepMs > 0)) size = floor;
  else {
    const ideal = Math.ceil((input.floorMs ?? READBACK_FLOOR_MS) / (READBACK_SHARE * input.stepMs));
    size = Math.min(cap, Math.max(floor, ideal));
  }
  return Math.min(size, remaining);
}
