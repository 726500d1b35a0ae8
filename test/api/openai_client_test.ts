import assert from "node:assert/strict";
import OpenAI from "openai";
import { startTestServer, type TestServer } from "./test_server.ts";
import { STORIES_MODEL } from "./test_model.ts";

async function withServer(body: (server: TestServer, client: OpenAI) => Promise<void>): Promise<void> {
  const server = await startTestServer({ modelPath: STORIES_MODEL, id: "stories260K", ctx: 512 });
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  try {
    await body(server, client);
  } finally {
    await server.close();
  }
}

Deno.test("openai client: a greedy completion continues the story as the engine does", async () => {
  await withServer(async (_server, client) => {
    const completion = await client.completions.create({
      model: "stories260K",
      prompt: "Once upon a time",
      max_tokens: 32,
      temperature: 0,
    });
    assert.equal(completion.object, "text_completion");
    assert.equal(completion.model, "stories260K");
    assert.match(completion.id, /^cmpl-/);
    const choice = completion.choices[0];
    // llama.cpp's greedy continuation of this prompt (../shared/models/README.md)
    assert.equal(
      choice.text,
      ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw",
    );
    assert.equal(choice.finish_reason, "length");
    assert.deepEqual(completion.usage, { prompt_tokens: 5, completion_tokens: 32, total_tokens: 37 });
  });
});

Deno.test("openai client: a stop string ends the completion with finish_reason stop and is not emitted", async () => {
  await withServer(async (_server, client) => {
    const completion = await client.completions.create({
      model: "stories260K",
      prompt: "Once upon a time",
      max_tokens: 32,
      temperature: 0,
      stop: ["Lily"],
    });
    assert.equal(completion.choices[0].text, ", there was a little girl named ");
    assert.equal(completion.choices[0].finish_reason, "stop");
    assert.ok(completion.usage!.completion_tokens < 32);
  });
});

Deno.test("openai client: a streamed completion has the same text, then usage, then ends", async () => {
  await withServer(async (_server, client) => {
    const stream = await client.completions.create({
      model: "stories260K",
      prompt: "Once upon a time",
      max_tokens: 32,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let chunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        text += choice.text;
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
    assert.equal(
      text,
      ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw",
    );
    assert.ok(chunks > 10, `streamed in ${chunks} chunks`);
    assert.equal(finish, "length");
    assert.deepEqual(usage, { prompt_tokens: 5, completion_tokens: 32, total_tokens: 37 });
  });
});

Deno.test("openai client: chat completion with and without streaming agree for the same seed", async () => {
  await withServer(async (_server, client) => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: "system", content: "You tell stories." },
      { role: "user", content: "Tell me about a cat." },
    ];
    const whole = await client.chat.completions.create({
      model: "stories260K",
      messages,
      max_completion_tokens: 20,
      temperature: 0.7,
      seed: 42,
    });
    assert.equal(whole.object, "chat.completion");
    const message = whole.choices[0].message;
    assert.equal(message.role, "assistant");
    assert.ok((message.content ?? "").length > 0);
    assert.ok(["stop", "length"].includes(whole.choices[0].finish_reason));
    const usage = whole.usage!;
    assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
    assert.ok(usage.prompt_tokens > 10, "the template wrapped the messages");
    assert.ok(usage.completion_tokens >= 1 && usage.completion_tokens <= 20);

    const stream = await client.chat.completions.create({
      model: "stories260K",
      messages,
      max_completion_tokens: 20,
      temperature: 0.7,
      seed: 42,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = "";
    let role: string | undefined;
    let finish: string | null = null;
    let streamedUsage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      assert.equal(chunk.object, "chat.completion.chunk");
      if (chunk.usage) streamedUsage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      role ??= choice.delta.role;
      content += choice.delta.content ?? "";
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(role, "assistant");
    assert.equal(content, message.content);
    assert.equal(finish, whole.choices[0].finish_reason);
    assert.deepEqual(streamedUsage, usage);
  });
});

Deno.test("openai client: models list names the served model; unknown models are 404", async () => {
  await withServer(async (_server, client) => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    assert.deepEqual(models, ["stories260K"]);
    assert.equal((await client.models.retrieve("stories260K")).id, "stories260K");
    await assert.rejects(
      client.completions.create({ model: "gpt-4", prompt: "hi", max_tokens: 1 }),
      (error: unknown) => error instanceof OpenAI.NotFoundError && /gpt-4/.test(error.message),
    );
  });
});
