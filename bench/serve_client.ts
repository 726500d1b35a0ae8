/**
 * The serving benchmark's HTTP client, run in a worker of its own by bench/serve.ts.
 *
 * A client on the server's thread reads its streams only when that thread's event loop polls, and the
 * engine loop gives it one short turn per step: measured that way, the first bytes of a stream arrived
 * 30–200 ms after the server had sent them (curl saw 4–6 ms), which counted as server overhead and as
 * time to first token. A client process of its own avoids that but starts up (≈ 0.1 s of CPU) while the
 * engine runs, and on two cores that stalls the engine's threads. A worker has its own event loop, idle
 * like a real client's, and is started once, before any level.
 *
 * Message in: { url, streams, rounds, tokens }; message out: a {@link LevelResult} (tokens from each
 * stream's usage chunk), or { error } when a request failed.
 *
 * @module
 */

/** One level's figures: generated tokens over the wall time of the whole level, and every TTFT. */
export interface LevelResult {
  readonly streams: number;
  readonly tokens: number;
  readonly seconds: number;
  readonly ttftMs: number[];
  /** host readbacks and GPU submits per generated token (the scheduler's counters over the run) */
  readonly readbacksPerToken?: number;
  readonly submitsPerToken?: number;
}

/** The prompt of request `i`: short, and different per request so no two share a prefix by chance. */
export const promptText = (i: number): string => `Once upon a time, story ${i},`;

/** N clients, each sending `rounds` requests back to back; `one` runs one request, returns tokens and TTFT. */
export async function closedLoop(
  streams: number,
  rounds: number,
  one: (i: number) => Promise<{ tokens: number; ttftMs: number }>,
): Promise<LevelResult> {
  const ttftMs: number[] = [];
  let tokens = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: streams }, async (_, client) => {
    for (let round = 0; round < rounds; round++) {
      const r = await one(client * rounds + round);
      tokens += r.tokens;
      ttftMs.push(r.ttftMs);
    }
  }));
  return {
    streams,
    tokens,
    seconds: (performance.now() - start) / 1000,
    ttftMs: ttftMs.sort((a, b) => a - b),
  };
}

/** One streaming completion request of `tokens` greedy tokens; its generated tokens and TTFT, ms. */
async function streamOne(
  url: string,
  i: number,
  tokens: number,
): Promise<{ tokens: number; ttftMs: number }> {
  const decoder = new TextDecoder();
  const started = performance.now();
  const response = await fetch(`${url}/v1/completions`, {
    method: "POST",
    body: JSON.stringify({
      model: "bench",
      prompt: promptText(i),
      max_tokens: tokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!response.ok) throw new Error(`request ${i}: HTTP ${response.status}: ${await response.text()}`);
  let ttftMs = NaN;
  let tail = "";
  for await (const chunk of response.body!) {
    if (Number.isNaN(ttftMs)) ttftMs = performance.now() - started;
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-400); // only the usage chunk is parsed
  }
  const usage = tail.match(/"completion_tokens":(\d+)/);
  if (!usage) throw new Error(`no usage in the stream: ${tail}`);
  return { tokens: Number(usage[1]), ttftMs };
}

/** What bench/serve.ts asks of the worker. */
export interface ClientLevel {
  readonly url: string;
  readonly streams: number;
  readonly rounds: number;
  readonly tokens: number;
}

/** The worker side of `self` (this module is also imported by the main thread, typed as a window). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<ClientLevel>) => void) | null;
  postMessage(message: unknown): void;
}

// as a worker: run each level asked for and answer with its figures
if ("WorkerGlobalScope" in globalThis) {
  const scope = self as unknown as WorkerScope;
  scope.onmessage = async (event) => {
    const { url, streams, rounds, tokens } = event.data;
    try {
      scope.postMessage(await closedLoop(streams, rounds, (i) => streamOne(url, i, tokens)));
    } catch (error) {
      scope.postMessage({ error: String(error) });
    }
  };
}
