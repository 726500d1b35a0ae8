/**
 * The scheduler's per-step sampling on the host: after a step's forward pass, each emitting sequence's
 * next token comes either from greedy picks made on the backend (wasm: `greedyRows`, one id per row read
 * back) or from its logits row read back and sampled by its own CPU sampler.
 *
 * Separate from the scheduler's loop because it owns the two buffers this path reuses every step (a fresh
 * MB-sized logits array per step costs page faults) and the choice between the two reads; the GPU-resident
 * sampling of the WebGPU backend is `gpu_chunk_decode.ts`.
 */
import type { Backend, Tensor } from "../backend/backend.ts";
import { isPlainGreedy } from "./sampler.ts";
import type { IoCounters } from "./scheduler_stats.ts";
import { EngineError } from "./scheduler_errors.ts";
import type { Sequence } from "./sequence.ts";

/**
 * Emits a step's tokens on the host, reusing its buffers from step to step.
 *
 * @example
 * ```ts
 * const cpu = new CpuStepSampler(forward.backend, cfg.vocab);
 * const logits = computeLogits(forward, rows); // [emitting.length, vocab]
 * if (!cpu.greedy(logits, emitting, now, io)) cpu.accept(await cpu.read(logits, emitting.length), emitting, now(), io);
 * ```
 */
export class CpuStepSampler {
  /** the per-step path's logits, reused every step (a fresh MB-sized array per step costs page faults) */
  private logitsBuffer = new Float32Array(0);
  /** the greedy picks of the per-step path (see greedy), reused every step */
  private greedyIds = new Int32Array(0);

  constructor(private readonly backend: Backend, private readonly vocab: number) {}

  /**
   * Emits the step's tokens from greedy picks made on the backend (wasm: `greedyRows`), so the host reads
   * back one id per sequence instead of a vocabulary of logits (scanning 32000 logits in JS takes ~25 µs
   * per sequence, a 5 % share of an 8-sequence step). False, having done nothing, when the backend has no
   * such op, a sequence samples otherwise, or a row has nothing to pick (the sampler then reports it).
   * Counts the readback and the tokens into `io`; `now` is the clock in ms.
   */
  greedy(logits: Tensor, emitting: Sequence[], now: () => number, io: IoCounters): boolean {
    const backend = this.backend;
    if (!backend.greedyRows || !emitting.every((s) => isPlainGreedy(s.params))) return false;
    if (this.greedyIds.length < emitting.length) this.greedyIds = new Int32Array(emitting.length);
    const ids = backend.greedyRows(logits, emitting.length, this.vocab, this.greedyIds);
    for (let i = 0; i < emitting.length; i++) if (ids[i] < 0) return false;
    io.readbacks++;
    const at = now();
    emitting.forEach((s, i) => {
      if (s.cancelled || s.finished) return;
      io.generatedTokens++;
      s.acceptToken(ids[i], at);
    });
    return true;
  }

  /** Reads back the logits of `rows` emitting sequences, [rows, vocab] f32, into the reused buffer. */
  read(logits: Tensor, rows: number): Promise<Float32Array> {
    const length = rows * this.vocab;
    if (this.logitsBuffer.length < length) this.logitsBuffer = new Float32Array(length);
    return this.backend.read(logits, length, this.logitsBuffer);
  }

  /**
   * Samples each emitting sequence's next token from its row of `logits` ([emitting.length, vocab]) and
   * emits it; a sampler failure ends that sequence with an EngineError. `now` is the clock in ms.
   */
  accept(logits: Float32Array, emitting: Sequence[], now: number, io: IoCounters): void {
    const vocab = this.vocab;
    emitting.forEach((s, i) => {
      if (s.cancelled || s.finished) return;
      io.generatedTokens++;
      try {
        s.accept(logits.subarray(i * vocab, (i + 1) * vocab), now);
      } catch (error) {
        s.finish(
          "error",
          now,
          new EngineError(`sampling failed: ${(error as Error)?.message ?? error}`, { cause: error }),
        );
      }
    });
  }
}
