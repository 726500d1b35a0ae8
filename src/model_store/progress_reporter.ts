/**
 * Download progress for people: a redrawn bar on a terminal (bytes, rate, ETA), plain log lines
 * otherwise (every {@link LOG_EVERY_MS} or 10 % of the file, whichever comes first), so logs collected
 * by a supervisor stay readable.
 */
import type { DownloadProgress } from "./download.ts";

/** Redraw interval of the terminal bar, ms: smooth enough without flooding the terminal. */
export const BAR_REDRAW_MS = 100;
/** Interval of log lines when not on a terminal, ms. */
export const LOG_EVERY_MS = 5_000;
const BAR_WIDTH = 30;

/** Formats a byte count with a binary unit: 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** Formats seconds as "42 s", "3 min 05 s" or "2 h 07 min". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** One line describing progress: "12.0 MiB / 140.0 MiB (8.6 %)  3.1 MiB/s  ETA 41 s". */
export function describeProgress(p: DownloadProgress): string {
  const rate = `${formatBytes(p.bytesPerSecond)}/s`;
  if (p.total === undefined || p.total === 0) return `${formatBytes(p.received)}  ${rate}`;
  const percent = ((100 * p.received) / p.total).toFixed(1);
  const eta = p.bytesPerSecond > 0 ? formatDuration((p.total - p.received) / p.bytesPerSecond) : "?";
  return `${formatBytes(p.received)} / ${formatBytes(p.total)} (${percent} %)  ${rate}  ETA ${eta}`;
}

/** A progress callback plus `done()` to end the bar's line. */
export interface ProgressReporter {
  readonly onProgress: (p: DownloadProgress) => void;
  done(): void;
}

/**
 * Creates a reporter writing to `write` (stderr). `terminal` picks the bar; `now` is the clock in ms.
 *
 * @example
 * ```ts
 * const reporter = createProgressReporter("model.gguf", (t) => Deno.stderr.writeSync(enc.encode(t)), true);
 * await downloadFile(url, dest, { onProgress: reporter.onProgress });
 * reporter.done();
 * ```
 */
export function createProgressReporter(
  label: string,
  write: (text: string) => void,
  terminal: boolean,
  now: () => number = () => performance.now(),
): ProgressReporter {
  let lastAt = -Infinity;
  let lastTenth = -1;
  let drawn = false;
  return {
    onProgress(p) {
      const t = now();
      if (terminal) {
        const complete = p.total !== undefined && p.received >= p.total;
        if (t - lastAt < BAR_REDRAW_MS && !complete) return;
        lastAt = t;
        const fraction = p.total ? Math.min(1, p.received / p.total) : 0;
        const filled = Math.round(fraction * BAR_WIDTH);
        const bar = "=".repeat(filled) + (filled < BAR_WIDTH ? ">" : "") +
          " ".repeat(Math.max(0, BAR_WIDTH - filled - 1));
        write(`\r\x1b[2K${label} [${bar}] ${describeProgress(p)}`);
        drawn = true;
        return;
      }
      const tenth = p.total ? Math.floor((10 * p.received) / p.total) : -1;
      if (t - lastAt < LOG_EVERY_MS && tenth === lastTenth) return;
      lastAt = t;
      lastTenth = tenth;
      write(`download ${label}: ${describeProgress(p)}\n`);
    },
    done() {
      if (drawn) write("\n");
      drawn = false;
    },
  };
}
