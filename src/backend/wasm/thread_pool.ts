/**
 * The wasm backend's worker pool: `threads − 1` workers plus the calling thread, all running the kernels
 * on one shared memory, synchronised with Atomics on a small control block in that memory.
 *
 * Protocol (words of the control block, see {@link Ctl}): the main thread writes the job descriptor's
 * offset and the thread count, sets Pending to the number of workers, then increments Gen and notifies.
 * Each worker, seeing Gen move, runs its share (`run(desc, tid, nth)`), and decrements Pending; the last
 * one notifies. The main thread runs share 0 itself, then waits for Pending to reach 0. A trap in any
 * thread is counted in Failed and turned into an error on the main thread, so nothing hangs.
 *
 * Workers spin for {@link SPIN_MS} before sleeping in Atomics.wait: on this kind of machine a sleeping
 * thread takes 0.15–0.5 ms to wake, longer than a whole decode matmul, while the gaps between the jobs of
 * one forward pass are microseconds. The caller spins less ({@link FINISH_SPIN_MS}) for the workers to
 * finish: threads claim work in small chunks (wasm/src/job.rs), so they finish together unless one lost
 * its core. Workers are node:worker_threads Workers because those can be
 * unref'd: an idle pool never keeps the process alive.
 *
 * @example
 * ```ts
 * const pool = await ThreadPool.create(2, mem, kernelsModule, relaxed, (d, t, n) => k.run(d, t, n));
 * pool.run(descPtr, 2); // blocks until both threads are done
 * pool.terminate();
 * ```
 */
import { Worker } from "node:worker_threads";
import { WasmBackendError } from "./errors.ts";
import type { LinearMemory } from "./linear_memory.ts";

/** Word indices of the control block (Int32Array). */
export const Ctl = {
  /** job generation, incremented per dispatch */
  Gen: 0,
  /** workers still running the current job */
  Pending: 1,
  /** non-zero: workers exit */
  Stop: 2,
  /** byte offset of the current job descriptor */
  Desc: 3,
  /** threads taking part in the current job */
  Nth: 4,
  /** workers whose share failed */
  Failed: 5,
  /** size of the block */
  Words: 16,
} as const;

/** A worker spins this long (ms) for the next job before sleeping in Atomics.wait. */
export const SPIN_MS = 3;
/**
 * The caller spins this long (ms) for the workers to finish before sleeping. Work is claimed in small
 * chunks, so healthy threads finish within microseconds of each other; a longer wait means a worker lost
 * its core to another process, and the caller then yields its own core rather than spin against it.
 */
export const FINISH_SPIN_MS = 0.2;
/** Shadow stack per worker instance, bytes (the kernels use a few KiB). */
export const WORKER_STACK_BYTES = 256 * 1024;
/** Atomics.load polls between clock reads while spinning. */
const SPIN_CHECK = 1024;

/** What a worker needs to start (posted once). */
export interface WorkerInit {
  readonly kernels: WebAssembly.Module;
  readonly relaxed: WebAssembly.Module | null;
  readonly memory: WebAssembly.Memory;
  readonly ctlPtr: number;
  readonly tid: number;
  readonly stackTop: number;
}

/** Runs share `tid` of `nth` of the job at `desc`; returns 0 on success. */
export type RunShare = (desc: number, tid: number, nth: number) => number;

/** Waits until `ctl[index]` differs from `value`, spinning `spinMs` first; returns the new value. */
function waitWhileEquals(ctl: Int32Array, index: number, value: number, spinMs: number): number {
  let now = Atomics.load(ctl, index);
  if (now !== value) return now;
  const deadline = performance.now() + spinMs;
  for (;;) {
    for (let k = 0; k < SPIN_CHECK; k++) {
      now = Atomics.load(ctl, index);
      if (now !== value) return now;
    }
    if (performance.now() > deadline) break;
  }
  for (;;) {
    Atomics.wait(ctl, index, value);
    now = Atomics.load(ctl, index);
    if (now !== value) return now;
  }
}

/** A worker's loop: never returns until the pool stops. */
export function workerLoop(ctl: Int32Array, tid: number, run: RunShare): void {
  // Gen is 0 until the first job. Reading it here instead could miss a job dispatched before this
  // worker got this far (the main thread only waits for "ready"), and then wait forever.
  let seen = 0;
  for (;;) {
    seen = waitWhileEquals(ctl, Ctl.Gen, seen, SPIN_MS);
    if (Atomics.load(ctl, Ctl.Stop) !== 0) return;
    const nth = Atomics.load(ctl, Ctl.Nth);
    if (tid < nth) {
      try {
        if (run(Atomics.load(ctl, Ctl.Desc), tid, nth) !== 0) Atomics.add(ctl, Ctl.Failed, 1);
      } catch {
        Atomics.add(ctl, Ctl.Failed, 1);
      }
    }
    if (Atomics.sub(ctl, Ctl.Pending, 1) === 1) Atomics.notify(ctl, Ctl.Pending);
  }
}

/** Worker threads plus the calling thread, sharing one memory. */
export class ThreadPool {
  readonly #ctl: Int32Array;
  readonly #workers: Worker[];
  readonly #runLocal: RunShare;
  #stopped = false;

  private constructor(ctl: Int32Array, workers: Worker[], runLocal: RunShare) {
    this.#ctl = ctl;
    this.#workers = workers;
    this.#runLocal = runLocal;
  }

  /** Starts `threads − 1` workers, each with its own kernel instance and stack on `mem`. */
  static async create(
    threads: number,
    mem: LinearMemory,
    kernels: WebAssembly.Module,
    relaxed: WebAssembly.Module | null,
    runLocal: RunShare,
  ): Promise<ThreadPool> {
    const ctlPtr = mem.alloc(Ctl.Words * 4);
    const ctl = new Int32Array(mem.memory.buffer, ctlPtr, Ctl.Words);
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const stackTop = mem.alloc(WORKER_STACK_BYTES) + WORKER_STACK_BYTES;
      let worker: Worker;
      try {
        worker = new Worker(new URL("./pool_worker.ts", import.meta.url));
      } catch (e) {
        for (const w of workers) w.terminate();
        // node:worker_threads reads the worker module like a file: Deno wants --allow-read for it
        throw new WasmBackendError(
          "unsupported",
          `cannot start wasm worker threads (${String(e)}); run with --allow-read, or use threads: 1`,
        );
      }
      workers.push(worker);
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.once("message", () => resolve());
          worker.once(
            "error",
            (e: unknown) =>
              reject(new WasmBackendError("unsupported", `wasm worker ${tid} failed to start: ${String(e)}`)),
          );
        }),
      );
      const init: WorkerInit = { kernels, relaxed, memory: mem.memory, ctlPtr, tid, stackTop };
      worker.postMessage(init);
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    for (const w of workers) w.unref();
    return new ThreadPool(ctl, workers, runLocal);
  }

  /** Threads available to a job (workers + the caller). */
  get threads(): number {
    return this.#workers.length + 1;
  }

  /** Runs the job at `desc` on `nth` (≤ threads) threads and returns when all are done. */
  run(desc: number, nth = this.threads): void {
    if (this.#stopped) throw new WasmBackendError("disposed", "thread pool used after terminate()");
    const ctl = this.#ctl;
    const n = Math.max(1, Math.min(nth, this.threads));
    if (n === 1) {
      this.#runShare(desc, 0, 1);
      return;
    }
    Atomics.store(ctl, Ctl.Desc, desc);
    Atomics.store(ctl, Ctl.Nth, n);
    Atomics.store(ctl, Ctl.Failed, 0);
    Atomics.store(ctl, Ctl.Pending, this.#workers.length);
    Atomics.add(ctl, Ctl.Gen, 1);
    Atomics.notify(ctl, Ctl.Gen);
    let local: unknown = null;
    try {
      this.#runShare(desc, 0, n);
    } catch (e) {
      local = e;
    }
    let pending = Atomics.load(ctl, Ctl.Pending);
    while (pending !== 0) pending = waitWhileEquals(ctl, Ctl.Pending, pending, FINISH_SPIN_MS);
    if (local !== null) throw local;
    const failed = Atomics.load(ctl, Ctl.Failed);
    if (failed !== 0) {
      throw new WasmBackendError("kernel_failed", `wasm job at ${desc} failed on ${failed} worker thread(s)`);
    }
  }

  /** Stops and terminates the workers. */
  terminate(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    Atomics.store(this.#ctl, Ctl.Stop, 1);
    Atomics.add(this.#ctl, Ctl.Gen, 1);
    Atomics.notify(this.#ctl, Ctl.Gen);
    for (const w of this.#workers) w.terminate();
  }

  #runShare(desc: number, tid: number, nth: number): void {
    let rc: number;
    try {
      rc = this.#runLocal(desc, tid, nth);
    } catch (e) {
      throw new WasmBackendError("kernel_failed", `wasm job at ${desc} trapped: ${String(e)}`);
    }
    if (rc !== 0) throw new WasmBackendError("kernel_failed", `wasm job at ${desc} returned ${rc}`);
  }
}
