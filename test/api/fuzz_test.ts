/**
 * Thousands of malformed and hostile requests, generated from a fixed seed: every one must get a 4xx
 * with an OpenAI error body (no 5xx, no stack trace), and the node must still serve afterwards.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { chatRequestSchema } from "../../src/api/request_schemas.ts";
import { startTestServer } from "./test_server.ts";

interface HostileRequest {
  readonly label: string;
  readonly path: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array<ArrayBuffer>>;
}

const SEED = 20_240_601;
const LIMIT = 64 << 10; // the server's body limit in this test, bytes
const encoder = new TextEncoder();

const validCompletion = { model: "tiny", prompt: "Once upon a time", max_tokens: 4 };
const validChat = { model: "tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: 4 };

/** Values of the wrong type or out of range for each field. */
const BAD_VALUES: Record<string, unknown[]> = {
  model: [null, 5, "", "x".repeat(300), ["tiny"], { id: "tiny" }, "no-such-model"],
  prompt: [null, 5, true, {}, [], [[]], [-1], [1.5], [1e20], ["a", "b"], [[1], [2]], [null], [
    Number.MAX_SAFE_INTEGER,
  ]],
  max_tokens: [-1, 0, 1.5, "16", 1e20, 2 ** 53, -(2 ** 53), true, [], {}],
  temperature: [-0.1, 2.5, "1", 1e308, -1e308, [], {}, true],
  top_p: [-1, 1.5, "0.9", {}],
  top_k: [-1, 0.5, "40", 2 ** 40],
  min_p: [-0.5, 2, "x"],
  seed: [0.5, "7", 1e30, -1e30, {}, []],
  stop: [5, [5], Array(10_000).fill("x"), ["x".repeat(10_000)], { a: 1 }, [null], true],
  presence_penalty: [-3, 3, "0", 1e300],
  frequency_penalty: [-2.5, 9, []],
  repetition_penalty: [0, -1, 11, "1.1"],
  stream: ["yes", 1, {}, []],
  stream_options: [true, "x", { include_usage: "yes" }, { include_usage: true, extra: 1 }, []],
  n: [0, 2, 100, -1, "1"],
  logit_bias: [{ "5": 100 }, [], "x"],
  echo: [true, "yes"],
  logprobs: [5, true],
  user: [5, "u".repeat(1000)],
};

const CHAT_BAD_VALUES: Record<string, unknown[]> = {
  messages: [
    [],
    null,
    "hello",
    [{}],
    [{ role: "user", content: 5 }],
    [{ role: "wizard", content: "x" }],
    [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://x" } }] }],
    [{ role: "user", content: [{ type: "text" }] }],
    [{ role: "user", content: "x", extra: true }],
    [{ content: "no role" }],
    Array(5000).fill({ role: "user", content: "x" }),
    [null],
  ],
  max_completion_tokens: [-5, 0, "10", 1e21],
  tools: [[{ type: "function" }], "x"],
  response_format: [{ type: "json_object" }, "json"],
  tool_choice: ["auto", { type: "function" }],
};

/** Whether a corrupted body is still a valid chat request for the test model. */
function stillValid(bytes: Uint8Array): boolean {
  try {
    const value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return chatRequestSchema.safeParse(value).success && value.model === "tiny";
  } catch {
    return false;
  }
}

function* hostileRequests(): Generator<HostileRequest> {
  // 1. wrong type or range, field by field, on both endpoints
  for (const [field, values] of Object.entries(BAD_VALUES)) {
    for (const value of values) {
      yield {
        label: `completion ${field}`,
        path: "/v1/completions",
        body: JSON.stringify({ ...validCompletion, [field]: value }),
      };
      if (field !== "prompt" && field !== "echo" && field !== "logprobs") {
        yield {
          label: `chat ${field}`,
          path: "/v1/chat/completions",
          body: JSON.stringify({ ...validChat, [field]: value }),
        };
      }
    }
  }
  for (const [field, values] of Object.entries(CHAT_BAD_VALUES)) {
    for (const value of values) {
      yield {
        label: `chat ${field}`,
        path: "/v1/chat/completions",
        body: JSON.stringify({ ...validChat, [field]: value }),
      };
    }
  }
  // 2. unknown fields, random names
  const names = fc.sample(fc.string({ minLength: 1, maxLength: 20 }), { seed: SEED, numRuns: 200 });
  for (const name of names) {
    if (name in validCompletion || name in BAD_VALUES) continue;
    yield {
      label: "unknown field",
      path: "/v1/completions",
      body: JSON.stringify({ ...validCompletion, [name]: 1 }),
    };
  }
  // 3. random JSON documents (objects, arrays, scalars), with and without a model
  const docs = fc.sample(fc.jsonValue({ maxDepth: 4 }), { seed: SEED + 1, numRuns: 800 });
  for (const [i, doc] of docs.entries()) {
    const path = i % 2 === 0 ? "/v1/completions" : "/v1/chat/completions";
    const body = i % 3 === 0 && doc !== null && typeof doc === "object" && !Array.isArray(doc)
      ? JSON.stringify({ model: "tiny", ...doc, prompt: undefined, messages: undefined, [`x${i}`]: doc })
      : JSON.stringify(doc);
    yield { label: "random JSON", path, body };
  }
  // 4. truncated and corrupted valid bodies
  const valid = JSON.stringify(validChat);
  for (let cut = 0; cut < valid.length - 1; cut++) {
    yield { label: "truncated JSON", path: "/v1/chat/completions", body: valid.slice(0, cut) };
  }
  const flips = fc.sample(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
    seed: SEED + 2,
    numRuns: 600,
  });
  for (const [at, byte] of flips) {
    const bytes = encoder.encode(valid);
    bytes[at] = byte;
    if (stillValid(bytes)) continue; // e.g. "Hi" → "Hj": a fine request, not a hostile one
    yield { label: "corrupted byte", path: "/v1/chat/completions", body: bytes };
  }
  // 5. invalid UTF-8
  for (
    const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]]
  ) {
    const head = encoder.encode('{"model":"tiny","prompt":"');
    const tail = encoder.encode('"}');
    yield {
      label: "invalid UTF-8",
      path: "/v1/completions",
      body: new Uint8Array([...head, ...bad, ...tail]),
    };
  }
  const garbage = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 200 }), {
    seed: SEED + 3,
    numRuns: 300,
  });
  for (const bytes of garbage) yield { label: "random bytes", path: "/v1/completions", body: bytes };
  // 6. huge bodies: declared, and streamed without a length
  yield {
    label: "huge declared",
    path: "/v1/completions",
    body: JSON.stringify({ ...validCompletion, prompt: "x".repeat(LIMIT * 4) }),
  };
  for (let i = 0; i < 5; i++) {
    let sent = 0;
    const chunk = encoder.encode("x".repeat(16 << 10)) as Uint8Array<ArrayBuffer>;
    yield {
      label: "huge streamed",
      path: i % 2 ? "/v1/completions" : "/v1/chat/completions",
      body: new ReadableStream<Uint8Array<ArrayBuffer>>({
        pull(controller) {
          if (sent > LIMIT * 8) return controller.close();
          sent += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    };
  }
  yield { label: "deep nesting", path: "/v1/completions", body: "[".repeat(20_000) + "]".repeat(20_000) };
  yield {
    label: "deep object",
    path: "/v1/completions",
    body: '{"a":'.repeat(5_000) + "1" + "}".repeat(5_000),
  };
  // 7. huge numbers written as JSON text
  for (
    const text of ["1e999", "-1e999", "123456789012345678901234567890", "0.0000000000000000000001", "-0"]
  ) {
    yield {
      label: "huge number",
      path: "/v1/completions",
      body: `{"model":"tiny","prompt":"a","max_tokens":${text}}`,
    };
  }
  // 8. methods, paths and headers
  for (
    const path of [
      "/",
      "/v1",
      "/v1/complete",
      "/v1/completions/x",
      "/v1/chat",
      "/%00",
      "/v1/models/%2e%2e",
      "/a".repeat(500),
    ]
  ) {
    yield { label: "unknown path", path, method: "POST", body: "{}" };
  }
  for (const method of ["GET", "PUT", "DELETE", "PATCH"]) {
    yield { label: "wrong method", path: "/v1/chat/completions", method };
  }
  yield { label: "no body", path: "/v1/completions" };
  yield {
    label: "text body",
    path: "/v1/completions",
    headers: { "content-type": "text/plain" },
    body: "hello",
  };
  yield {
    label: "form body",
    path: "/v1/completions",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "model=tiny",
  };
  yield {
    label: "bad length",
    path: "/v1/completions",
    headers: { "content-length": "99999999999" },
    body: "{}",
  };
}

Deno.test("2,000+ malformed and hostile requests get only 4xx OpenAI errors and the node keeps serving", async () => {
  const server = await startTestServer({ maxBodyBytes: LIMIT, slots: 2, queueSize: 64 });
  try {
    const requests = [...hostileRequests()];
    assert.ok(requests.length >= 2000, `${requests.length} requests`);
    let sent = 0;
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    const CONCURRENCY = 16;
    const one = async (r: HostileRequest) => {
      let response: Response;
      try {
        response = await fetch(`${server.url}${r.path}`, {
          method: r.method ?? "POST",
          headers: r.headers,
          body: r.body,
        });
      } catch (error) {
        // a streamed huge body may be cut off by the server's early 413; that is a refusal too
        if (r.label === "huge streamed" || r.label === "bad length") return;
        failures.push(`${r.label}: fetch failed: ${error}`);
        return;
      }
      sent++;
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const text = await response.text();
      if (response.status < 400 || response.status >= 500) {
        failures.push(`${r.label}: HTTP ${response.status} ${text.slice(0, 120)}`);
      }
      let body: { error?: { message?: unknown; type?: unknown } };
      try {
        body = JSON.parse(text);
      } catch {
        failures.push(`${r.label}: not JSON: ${text.slice(0, 80)}`);
        return;
      }
      if (typeof body.error?.message !== "string" || typeof body.error?.type !== "string") {
        failures.push(`${r.label}: not an OpenAI error: ${text.slice(0, 80)}`);
      }
      if (/\n\s+at /.test(text)) failures.push(`${r.label}: stack trace in body`);
    };
    for (let i = 0; i < requests.length; i += CONCURRENCY) {
      await Promise.all(requests.slice(i, i + CONCURRENCY).map(one));
    }
    assert.deepEqual(failures.slice(0, 10), []);
    assert.ok(sent >= 2000, `sent ${sent} requests`);
    assert.equal([...statuses.keys()].some((s) => s >= 500), false);

    const after = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify(validCompletion),
    });
    assert.equal(after.status, 200);
    const body = await after.json();
    assert.equal(body.choices[0].finish_reason, "length");
    assert.equal(server.served.scheduler.stats().active, 0);
  } finally {
    await server.close();
  }
});
