import assert from "node:assert/strict";
import { createReferenceBackend } from "../../src/backend/reference/reference_backend.ts";
import { ContextOverflowError, generate } from "../../src/engine/generate.ts";
import { type LoadedModel, loadModel } from "../../src/engine/loaded_model.ts";
import { defaultSamplingParams, type SamplingParams } from "../../src/engine/sampler.ts";
import { Scheduler, type SequenceStream } from "../../src/engine/scheduler.ts";
import { DrainingError, QueueFullError } from "../../src/engine/scheduler_errors.ts";
import { STORIES_MODEL, tinyModelPath } from "../api/test_model.ts";

async function withModel(
  options: { slots: number; maxBatch?: number; ctx?: number; path?: string },
  body: (model: LoadedModel) => Promise<void>,
): Promise<void> {
  const model = await loadModel(options.path ?? await tinyModelPath(), createReferenceBackend(), {
    slots: options.slots,
    maxBatch: options.maxBatch ?? 64,
    ctx: options.ctx ?? 256,
  });
  try {
    await body(model);
  } finally {
    model.close();
  }
}

async function collect(stream: SequenceStream): Promise<{ text: string; tokens: number[] }> {
  let text = "";
  const tokens: number[] = [];
  for await (const piece of stream) {
    text += piece.text;
    tokens.push(piece.token);
  }
  return { text: text + (await stream.done).tail, tokens };
}

const sampling = (seed: number, temperature: number): SamplingParams => ({
  ...defaultSamplingParams(),
  temperature,
  seed,
});

async function alone(
  model: LoadedModel,
  prompt: number[],
  params: SamplingParams,
  maxTokens: number,
): Promise<string> {
  const run = generate(model, prompt, { maxTokens, sampling: params });
  let text = "";
  let step = await run.next();
  while (!step.done) {
    text += step.value.text;
    step = await run.next();
  }
  return text + step.value.tail;
}

Deno.test("same seed and request give the same text alone and in a batch of six", async () => {
  await withModel({ slots: 6, path: STORIES_MODEL }, async (model) => {
    const prompts = ["Once upon a time", "The cat", "Lily saw a big", "One day", "Tom and", "The sun was"];
    const params = prompts.map((_, i) => sampling(100 + i, i % 2 === 0 ? 0 : 0.9));
    const expected: string[] = [];
    for (let i = 0; i < prompts.length; i++) {
      expected.push(await alone(model, model.tokenizer.encode(prompts[i]), params[i], 24));
    }
    const scheduler = new Scheduler(model, { queueSize: 8, prefillChunk: 4 });
    try {
      const streams = prompts.map((p, i) =>
        scheduler.submit({ prompt: model.tokenizer.encode(p), maxTokens: 24, sampling: params[i] })
      );
      const texts = await Promise.all(streams.map(collect));
      assert.deepEqual(texts.map((t) => t.text), expected);
      assert.ok(expected.every((t) => t.length > 0));
      assert.ok(scheduler.stats().steps <= 60, `sequences shared steps (${scheduler.stats().steps} steps)`);
    } finally {
      await scheduler.close();
    }
  });
});

Deno.test("running streams keep getting a token every step while a long prompt is prefilled", async () => {
  await withModel({ slots: 2, maxBatch: 64 }, async (model) => {
    const scheduler = new Scheduler(model, { queueSize: 4, prefillChunk: 8, yieldEveryMs: 0 });
    try {
      const runner = scheduler.submit({ prompt: [1, 2, 3], maxTokens: 200, sampling: sampling(1, 0) });
      const it = runner[Symbol.asyncIterator]();
      await it.next(); // the runner is decoding
      const stepsBefore = scheduler.stats().steps;
      const longPrompt = Array.from({ length: 160 }, (_, i) => 5 + (i % 300));
      const newcomer = scheduler.submit({ prompt: longPrompt, maxTokens: 1, sampling: sampling(2, 0) });
      const first = (async () => {
        for await (const _ of newcomer) break;
        return scheduler.stats();
      })();
      let runnerTokens = 0;
      const counting = (async () => {
        while (!(await it.next()).done) runnerTokens++;
      })();
      const atFirst = await first;
      const tokensAtFirst = runnerTokens;
      const prefillSteps = Math.ceil(160 / 8);
      assert.ok(
        atFirst.steps - stepsBefore >= prefillSteps,
        `prefill took ${atFirst.steps - stepsBefore} steps`,
      );
      // the runner advanced in (almost) every one of those steps: at most a couple lost to timing of reads
      assert.ok(
        tokensAtFirst >= prefillSteps - 2,
        `runner got ${tokensAtFirst} tokens during ${prefillSteps} steps`,
      );
      runner.cancel();
      await counting;
    } finally {
      await scheduler.close();
    }
  });
});

Deno.test("cancelling a running sequence frees its slot at once for the next request", async () => {
  await withModel({ slots: 1 }, async (model) => {
    const scheduler = new Scheduler(model, { queueSize: 4, prefillChunk: 32 });
    try {
      const controller = new AbortController();
      const first = scheduler.submit({
        prompt: [1, 5, 9],
        maxTokens: 10_000,
        sampling: sampling(3, 0.8),
        signal: controller.signal,
      });
      for await (const _ of first) break; // running
      assert.equal(scheduler.stats().active, 1);
      const stepsAtAbort = scheduler.stats().steps;
      controller.abort();
      assert.equal((await first.done).finishReason, "cancelled");
      // freed at the end of the step in flight, if any: at most one more step ran
      assert.equal(scheduler.stats().active, 0);
      assert.ok(scheduler.stats().steps - stepsAtAbort <= 1);
      const second = scheduler.submit({ prompt: [1, 7], maxTokens: 5, sampling: sampling(4, 0) });
      const result = await collect(second);
      assert.equal(result.tokens.length > 0, true);
      assert.equal(
        (await second.done).finishReason === "length" || (await second.done).finishReason === "stop",
        true,
      );
    } finally {
      await scheduler.close();
    }
  });
});

Deno.test("a cancelled queued request leaves the queue without taking a slot", async () => {
  await withModel({ slots: 1 }, async (model) => {
    const scheduler = new Scheduler(model, { queueSize: 4, prefillChunk: 32 });
    try {
      const running = scheduler.submit({ prompt: [1, 5], maxTokens: 10_000, sampling: sampling(3, 0.8) });
      for await (const _ of running) break;
      const controller = new AbortController();
      const waiting = scheduler.submit({
        prompt: [1, 6],
        maxTokens: 5,
        sampling: sampling(3, 0),
        signal: controller.signal,
      });
      assert.equal(scheduler.stats().queued, 1);
      controller.abort();
      assert.equal(scheduler.stats().queued, 0);
      assert.equal((await waiting.done).generatedTokens, 0);
      assert.equal((await waiting.done).finishReason, "cancelled");
    } finally {
      await scheduler.close();
    }
  });
});

Deno.test("the queue is bounded: beyond free slots plus queueSize, submit throws QueueFullError", async () => {
  await withModel({ slots: 2 }, async (model) => {
    const scheduler = new Scheduler(model, { queueSize: 3, prefillChunk: 32 });
    try {
      const request = { prompt: [1, 5], maxTokens: 10_000, sampling: sampling(3, 0.8) };
      const accepted = Array.from({ length: 5 }, () => scheduler.submit(request));
      assert.throws(() => scheduler.submit(request), QueueFullError);
      accepted[4].cancel();
      accepted.push(scheduler.submit(request)); // room again
      for (const s of accepted) s.cancel();
    } finally {
      await scheduler.close();
    }
  });
});

Deno.test("prompts that do not fit the context are refused with both counts", async () => {
  await withModel({ slots: 1, ctx: 32 }, async (model) => {
    const scheduler = new Scheduler(model, { queueSize: 1, prefillChunk: 32 });
    try {
      assert.throws(
        () => scheduler.submit({ prompt: Array(32).fill(5), maxTokens: 1, sampling: sampling(1, 0) }),
        (error: unknown) =>
          error instanceof ContextOverflowError && error.promptTokens === 32 && error.ctx === 32,
      );
      // 31 tokens fit; the budget is capped to the one position left
      const s = scheduler.submit({ prompt: Array(31).fill(5), maxTokens: 100, sampling: sampling(1, 0) });
      await collect(s);
      const summary = await s.done;
      assert.equal(summary.generatedTokens, 1);
    } finally {
      await scheduler.close();
    }
  });
});

Deno.test("drain refuses new work and lets running and queued streams finish within the grace", async () => {
  await withModel({ slots: 1 }, async (model) => {
    const scheduler = new Scheduler(model, { queueSize: 2, prefillChunk: 32 });
    const running = scheduler.submit({ prompt: [1, 5], maxTokens: 40, sampling: sampling(3, 0) });
    const queued = scheduler.submit({ prompt: [1, 6], maxTokens: 40, sampling: sampling(3, 0.8) });
    const collecting = [collect(running), collect(queued)];
    const started = performance.now();
    const draining = scheduler.drain(30_000);
    assert.throws(
      () => scheduler.submit({ prompt: [1], maxTokens: 1, sampling: sampling(1, 0) }),
      DrainingError,
    );
    await draining;
    assert.ok(performance.now() - started < 10_000, "drain returned as soon as the work was done");
    await Promise.all(collecting);
    for (const s of [running, queued]) assert.notEqual((await s.done).finishReason, "cancelled");
    assert.equal(scheduler.stats().draining, true);
  });
});

Deno.test("drain cancels streams still running when the grace period ends", async () => {
  await withModel({ slots: 1 }, async (model) => {
    const scheduler = new Scheduler(model, { queueSize: 2, prefillChunk: 32 });
    const long = scheduler.submit({ prompt: [1, 5], maxTokens: 100_000, sampling: sampling(3, 0.8) });
    const waiting = scheduler.submit({ prompt: [1, 6], maxTokens: 100_000, sampling: sampling(3, 0.8) });
    const collecting = [collect(long), collect(waiting)];
    await scheduler.drain(0);
    await Promise.all(collecting);
    assert.equal((await long.done).finishReason, "cancelled");
    assert.equal((await waiting.done).finishReason, "cancelled");
    assert.equal(scheduler.stats().active + scheduler.stats().queued, 0);
  });
});

Deno.test("a client arriving after another's burst is admitted second, not behind the whole burst", async () => {
  await withModel({ slots: 1 }, async (model) => {
    const admissionOrder = async (clientB: string | undefined): Promise<string[]> => {
      const scheduler = new Scheduler(model, { queueSize: 8, prefillChunk: 32 });
      try {
        const order: string[] = [];
        const submit = (label: string, client: string | undefined) => {
          const stream = scheduler.submit({ prompt: [1, 5], maxTokens: 2, sampling: sampling(1, 0), client });
          // one slot: sequences run one after another, so finishing order is admission order
          return stream.done.then(() => order.push(label));
        };
        const pending = Array.from({ length: 6 }, (_, i) => submit(`A${i + 1}`, clientB && "A"));
        pending.push(submit("B1", clientB));
        await Promise.all(pending);
        return order;
      } finally {
        await scheduler.close();
      }
    };
    assert.deepEqual(await admissionOrder("B"), ["A1", "B1", "A2", "A3", "A4", "A5", "A6"]);
    // without client keys everyone is one anonymous client: plain FIFO, B waits behind the burst
    assert.deepEqual(await admissionOrder(undefined), ["A1", "A2", "A3", "A4", "A5", "A6", "B1"]);
  });
});
