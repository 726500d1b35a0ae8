/**
 * The signals that stop `edgering serve`: the first SIGINT/SIGTERM starts a graceful shutdown
 * (drain), any later one asks to stop at once. The listeners are removed when the node stops, so a
 * signal after that gets Deno's default handling again.
 */

/** Signals that start a graceful shutdown. */
const SHUTDOWN_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];

/**
 * Resolves when the first of SIGINT/SIGTERM arrives; `second` fires on any later one.
 *
 * @example
 * ```ts
 * const signals = shutdownSignals(() => console.log("stopping at once"));
 * try {
 *   console.log(`${await signals.received}: draining`);
 * } finally {
 *   signals.remove();
 * }
 * ```
 */
export function shutdownSignals(second: () => void): { received: Promise<Deno.Signal>; remove: () => void } {
  const installed: Array<[Deno.Signal, () => void]> = [];
  let first = true;
  const received = new Promise<Deno.Signal>((resolve) => {
    for (const signal of SHUTDOWN_SIGNALS) {
      const handler = () => {
        if (first) resolve(signal);
        else second();
        first = false;
      };
      try {
        Deno.addSignalListener(signal, handler);
        installed.push([signal, handler]);
      } catch { /* a signal this platform lacks (SIGTERM on Windows) */ }
    }
  });
  return { received, remove: () => installed.forEach(([s, h]) => Deno.removeSignalListener(s, h)) };
}
