import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./test_server.ts";
import { TINY_SPEC, tinyModelPath } from "./test_model.ts";

/** A long context, so an uncancelled request would run for seconds. */
const LONG_SPEC = { ...TINY_SPEC, ctx: 4096 };

async function withServer(body: (s: TestServer) => Promise<void>) {
  const server = await startTestServer({
    modelPath: await tinyModelPath(LONG_SPEC),
    ctx: 4096,
    slots: 1,
    queueSize: 4,
  });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return condition();
}

const longRequest = (stream: boolean) =>
  JSON.stringify({ model: "tiny", prompt: "Once", max_tokens: 4000, temperature: 1, seed: 1, stream });

Deno.test("closing a streaming connection cancels the sequence and frees its slot", async () => {
  await withServer(async (server) => {
    const response = await fetch(`${server.url}/v1/completions`, { method: "POST", body: longRequest(true) });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    assert.equal(server.served.scheduler.stats().active, 1);
    await reader.cancel();
    assert.ok(await waitFor(() => server.served.scheduler.stats().active === 0, 1000), "slot freed");
    const generated = server.metrics.generatedTokens.get();
    assert.ok(generated < 4000, `stopped early (${generated} tokens)`);
    // the slot serves the next request
    const next = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny", prompt: "x", max_tokens: 3 }),
    });
    assert.equal(next.status, 200);
    assert.equal((await next.json()).usage.completion_tokens, 3);
  });
});

Deno.test("aborting a non-streaming request cancels its sequence", async () => {
  await withServer(async (server) => {
    const controller = new AbortController();
    const pending = fetch(`${server.url}/v1/completions`, {
      method: "POST",
      body: longRequest(false),
      signal: controller.signal,
    }).catch((error) => error);
    assert.ok(await waitFor(() => server.served.scheduler.stats().active === 1, 1000), "running");
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    assert.equal((await pending).name, "AbortError");
    assert.ok(await waitFor(() => server.served.scheduler.stats().active === 0, 1000), "slot freed");
    assert.ok(server.served.scheduler.stats().decodeTokens < 3000, "generation stopped early");
    assert.ok(
      await waitFor(
        () => server.metrics.requests.get({ endpoint: "/v1/completions", status: "499" }) === 1,
        1000,
      ),
    );
  });
});
