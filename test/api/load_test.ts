import assert from "node:assert/strict";
import OpenAI from "openai";
import { startTestServer } from "./test_server.ts";

/** Growth of the process's resident memory allowed under load, bytes: KV slots are preallocated, and a
 * request holds at most its own tokens, so 32 streams of 48 tokens need next to nothing. */
const MEMORY_BOUND_BYTES = 96 << 20;
const CLIENTS = 32;
const TOKENS = 48;

Deno.test("32 concurrent streaming clients all complete, sharing 8 slots, within the memory bound", async () => {
  const server = await startTestServer({ slots: 8, queueSize: CLIENTS, prefillChunk: 16 });
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  try {
    // warm up once so lazily created buffers are not counted as growth
    await client.completions.create({ model: "tiny", prompt: "warm", max_tokens: 4 });
    const baseline = Deno.memoryUsage().rss;
    let peak = baseline;
    let peakQueued = 0;
    let peakActive = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, Deno.memoryUsage().rss);
      const stats = server.served.scheduler.stats();
      peakQueued = Math.max(peakQueued, stats.queued);
      peakActive = Math.max(peakActive, stats.active);
    }, 5);
    const results = await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
      const stream = await client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: `Story number ${i}` }],
        max_tokens: TOKENS,
        temperature: 0.8,
        seed: i,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let finish: string | null = null;
      let completionTokens = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
      }
      return { text, finish, completionTokens };
    }));
    clearInterval(sampler);
    for (const r of results) {
      assert.ok(r.finish === "length" || r.finish === "stop", `finish ${r.finish}`);
      assert.ok(r.completionTokens >= 1 && r.completionTokens <= TOKENS);
      if (r.finish === "length") assert.equal(r.completionTokens, TOKENS);
    }
    assert.ok(
      results.filter((r) => r.text.length > 0).length >= CLIENTS - 2,
      "nearly every stream produced text",
    );
    assert.equal(peakActive, 8, "all slots were used");
    assert.ok(peakQueued > 0, "requests waited in the queue");
    assert.ok(
      peak - baseline < MEMORY_BOUND_BYTES,
      `rss grew by ${((peak - baseline) / 2 ** 20).toFixed(1)} MiB`,
    );
    const stats = server.served.scheduler.stats();
    assert.equal(stats.active + stats.queued, 0);
    assert.equal(server.metrics.requests.get({ endpoint: "/v1/chat/completions", status: "200" }), CLIENTS);
  } finally {
    await server.close();
  }
});
