import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./test_server.ts";
import { TINY_SPEC, tinyModelPath } from "./test_model.ts";

async function withServer(
  options: Parameters<typeof startTestServer>[0],
  body: (s: TestServer) => Promise<void>,
) {
  const server = await startTestServer(options);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

interface ErrorReply {
  status: number;
  headers: Headers;
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function send(
  server: TestServer,
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<ErrorReply> {
  const headers = new Headers(init.headers);
  if (init.json !== undefined) headers.set("content-type", "application/json");
  const response = await fetch(`${server.url}${path}`, {
    method: init.method ?? "POST",
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
  });
  const body = await response.json();
  assert.equal(typeof body.error?.message, "string", JSON.stringify(body));
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  return { status: response.status, headers: response.headers, error: body.error };
}

Deno.test("schema violations are 400s whose message and param name the field", async () => {
  await withServer({}, async (server) => {
    const cases: Array<[unknown, string]> = [
      [{ model: "tiny", prompt: "hi", max_tokens: -1 }, "max_tokens"],
      [{ model: "tiny", prompt: "hi", temperature: "hot" }, "temperature"],
      [{ model: "tiny", prompt: 7 }, "prompt"],
      [{ model: "tiny" }, "prompt"],
      [{ prompt: "hi" }, "model"],
      [{ model: "tiny", prompt: "hi", stop: Array(10_000).fill("x") }, "stop"],
      [{ model: "tiny", prompt: "hi", stream_options: { include_usage: 1 } }, "stream_options.include_usage"],
      [{ model: "tiny", prompt: "hi", frobnicate: true }, "frobnicate"],
      [{ model: "tiny", prompt: "hi", n: 3 }, "n"],
    ];
    for (const [json, param] of cases) {
      const reply = await send(server, "/v1/completions", { json });
      assert.equal(reply.status, 400, JSON.stringify(json).slice(0, 80));
      assert.equal(reply.error.type, "invalid_request_error");
      assert.equal(reply.error.param, param);
      assert.ok(reply.error.message.includes(param), reply.error.message);
    }
    const chat = await send(server, "/v1/chat/completions", { json: { model: "tiny", messages: [] } });
    assert.equal(chat.status, 400);
    assert.equal(chat.error.param, "messages");
    const role = await send(server, "/v1/chat/completions", {
      json: { model: "tiny", messages: [{ role: "wizard", content: "x" }] },
    });
    assert.equal(role.error.param, "messages[0].role");
  });
});

Deno.test("bad JSON, invalid UTF-8 and non-object bodies are 400s", async () => {
  await withServer({}, async (server) => {
    for (const body of ['{"model":', "[]", "null", "", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])]) {
      const reply = await send(server, "/v1/completions", {
        body,
        headers: { "content-type": "application/json" },
      });
      assert.equal(reply.status, 400, String(body));
    }
  });
});

Deno.test("a body over the limit is 413", async () => {
  await withServer({ maxBodyBytes: 4096 }, async (server) => {
    const reply = await send(server, "/v1/completions", {
      json: { model: "tiny", prompt: "x".repeat(10_000) },
    });
    assert.equal(reply.status, 413);
    assert.equal(reply.error.code, "request_too_large");
  });
});

Deno.test("a prompt longer than the context is 400 with both token counts", async () => {
  await withServer({ ctx: 64 }, async (server) => {
    const reply = await send(server, "/v1/completions", {
      json: { model: "tiny", prompt: Array(100).fill(5) },
    });
    assert.equal(reply.status, 400);
    assert.equal(reply.error.code, "context_length_exceeded");
    assert.match(reply.error.message, /64 tokens/);
    assert.match(reply.error.message, /100 tokens/);
  });
});

Deno.test("token ids outside the vocabulary are 400", async () => {
  await withServer({}, async (server) => {
    const reply = await send(server, "/v1/completions", { json: { model: "tiny", prompt: [1, 999_999] } });
    assert.equal(reply.status, 400);
    assert.equal(reply.error.param, "prompt");
  });
});

Deno.test("a full queue answers 429 with Retry-After", async () => {
  // a long context and budget, so the busy stream runs for seconds (a 200-token one on this tiny model
  // could end, by EOS or its budget, before the second request arrived)
  const modelPath = await tinyModelPath({ ...TINY_SPEC, ctx: 4096 });
  await withServer({ modelPath, ctx: 4096, slots: 1, queueSize: 0 }, async (server) => {
    const busy = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "tiny",
        prompt: "a",
        max_tokens: 4000,
        temperature: 1,
        seed: 1,
        stream: true,
      }),
    });
    const reader = busy.body!.getReader();
    await reader.read(); // streaming: the only slot is taken
    assert.equal(server.served.scheduler.stats().active, 1);
    const reply = await send(server, "/v1/completions", {
      json: { model: "tiny", prompt: "b", max_tokens: 1 },
    });
    assert.equal(reply.status, 429);
    assert.equal(reply.headers.get("retry-after"), "2");
    assert.equal(reply.error.code, "queue_full");
    await reader.cancel();
  });
});

Deno.test("a draining node answers 503 and /health says draining", async () => {
  await withServer({}, async (server) => {
    server.state.status = "draining";
    const reply = await send(server, "/v1/chat/completions", {
      json: { model: "tiny", messages: [{ role: "user", content: "x" }] },
    });
    assert.equal(reply.status, 503);
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { status: "draining", model: "tiny" });
  });
});

Deno.test("with API keys, a missing or wrong bearer token is 401 and the right one passes", async () => {
  await withServer({ apiKeys: ["k-one", "k-two"] }, async (server) => {
    const json = { model: "tiny", prompt: "a", max_tokens: 2 };
    assert.equal((await send(server, "/v1/completions", { json })).status, 401);
    const wrong = await send(server, "/v1/completions", {
      json,
      headers: { authorization: "Bearer k-three" },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get("www-authenticate"), "Bearer");
    assert.equal(
      (await send(server, "/metrics", { method: "GET", headers: { authorization: "Basic k-one" } })).status,
      401,
    );
    const ok = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { authorization: "Bearer k-two" },
      body: JSON.stringify(json),
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const health = await fetch(`${server.url}/health`); // open for load balancers
    assert.equal(health.status, 200);
    await health.body?.cancel();
  });
});

Deno.test("unknown routes are 404 and wrong methods 405, both as OpenAI errors", async () => {
  await withServer({}, async (server) => {
    assert.equal((await send(server, "/v2/everything", { method: "GET" })).status, 404);
    assert.equal((await send(server, "/v1/completions", { method: "GET" })).status, 405);
    assert.equal((await send(server, "/v1/models/nope", { method: "GET" })).status, 404);
  });
});

Deno.test("metrics count requests by status and tokens, in Prometheus text", async () => {
  await withServer({}, async (server) => {
    const ok = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny", prompt: "a b c", max_tokens: 5, temperature: 0 }),
    });
    const body = await ok.json();
    await send(server, "/v1/completions", { json: { model: "tiny" } });
    const response = await fetch(`${server.url}/metrics`);
    assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.match(text, /edgering_requests_total\{endpoint="\/v1\/completions",status="200"\} 1/);
    assert.match(text, /edgering_requests_total\{endpoint="\/v1\/completions",status="400"\} 1/);
    assert.ok(text.includes(`edgering_generated_tokens_total ${body.usage.completion_tokens}`));
    assert.ok(text.includes(`edgering_prompt_tokens_total ${body.usage.prompt_tokens}`));
    assert.match(text, /edgering_time_to_first_token_seconds_count 1/);
    assert.match(text, /edgering_inter_token_latency_seconds_count \d+/);
    assert.match(text, /edgering_queue_depth 0/);
    assert.match(text, /edgering_engine_readbacks_total [1-9]\d*/); // CPU sampling: one per step
    assert.match(text, /edgering_engine_gpu_submits_total 0/);
    assert.match(text, /edgering_active_sequences 0/);
    assert.match(text, /edgering_kv_cache_capacity_tokens 1024/);
  });
});
