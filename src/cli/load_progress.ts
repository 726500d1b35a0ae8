/**
 * Weight-loading progress for people, in the style of the download reporter: a redrawn bar on a
 * terminal; otherwise plain log lines, at most one per {@link LOG_EVERY_MS} while loading plus one when
 * done, so a quick load prints a single line and a supervisor's log stays readable. Nothing is printed
 * for a load that fails before its first line is due: the error stays the one line on stderr.
 *
 * The callback is the `onProgress` of model loading (bytes of GGUF tensor data read and handed to the
 * backend: uploaded, on the WebGPU backend), so every backend reports the same way.
 */
import { BAR_REDRAW_MS, formatBytes, LOG_EVERY_MS } from "../model_store/mod.ts";
import type { LoadProgress } from "../model/model_weights.ts";

const BAR_WIDTH = 30;

/** A loading-progress callback plus `done()`, which ends the bar's line (call it on failure too). */
export interface LoadProgressReporter {
  readonly onProgress: LoadProgress;
  done(): void;
}

/** "12.0 MiB / 140.0 MiB (8.6 %)". Pure. */
export function describeLoad(loaded: number, total: number): string {
  const percent = total > 0 ? ((100 * loaded) / total).toFixed(1) : "100.0";
  return `${formatBytes(loaded)} / ${formatBytes(total)} (${percent} %)`;
}

/**
 * Creates a reporter writing to `write` (stderr): `terminal` picks the bar; `now` is the clock, ms.
 *
 * @example
 * ```ts
 * const progress = createLoadProgress("weights → webgpu", io.stderr, Deno.stderr.isTerminal());
 * try {
 *   await loadModel(path, backend, { onProgress: progress.onProgress });
 * } finally {
 *   progress.done();
 * }
 * ```
 */
export function createLoadProgress(
  label: string,
  write: (text: string) => void,
  terminal: boolean,
  now: () => number = () => performance.now(),
): LoadProgressReporter {
  const start = now();
  let lastAt = start;
  let drawn = false;
  return {
    onProgress(loaded, total) {
      const t = now();
      const complete = loaded >= total;
      if (terminal) {
        if (t - lastAt < BAR_REDRAW_MS && !complete) return;
        lastAt = t;
        const filled = Math.round((total > 0 ? Math.min(1, loaded / total) : 1) * BAR_WIDTH);
        const bar = "=".repeat(filled) + (filled < BAR_WIDTH ? ">" : "") +
          " ".repeat(Math.max(0, BAR_WIDTH - filled - 1));
        write(`\r\x1b[2K${label} [${bar}] ${describeLoad(loaded, total)}`);
        drawn = true;
        return;
      }
      if (complete) {
        write(`${label}: ${formatBytes(total)} loaded in ${((t - start) / 1000).toFixed(1)} s\n`);
      } else if (t - lastAt >= LOG_EVERY_MS) {
        lastAt = t;
        write(`${label}: ${describeLoad(loaded, total)}\n`);
      }
    },
    done() {
      if (drawn) write("\n");
      drawn = false;
    },
  };
}
