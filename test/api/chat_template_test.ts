import assert from "node:assert/strict";
import { ApiError } from "../../src/api/api_error.ts";
import { CHAT_TEMPLATE_KEY, ChatTemplate } from "../../src/api/chat_template.ts";
import { openGguf } from "../../src/gguf/mod.ts";
import { type GgufKv, GgufValueType } from "../../src/gguf/types.ts";
import { Tokenizer } from "../../src/tokenizer/mod.ts";
import { STORIES_MODEL } from "./test_model.ts";

const PHI3_VOCAB = "../shared/tokenizers/ggml-vocab-phi-3.gguf";

async function load(path: string) {
  const file = await openGguf(path);
  try {
    return { meta: file.header.metadata, tokenizer: Tokenizer.fromMetadata(file.header.metadata) };
  } finally {
    file.close();
  }
}

function withTemplate(meta: ReadonlyMap<string, GgufKv>, template: string): Map<string, GgufKv> {
  const copy = new Map(meta);
  copy.set(CHAT_TEMPLATE_KEY, { type: GgufValueType.STRING, value: template });
  return copy;
}

Deno.test("the model's own template renders messages (phi-3, from the GGUF), with its BOS", async () => {
  const { meta, tokenizer } = await load(PHI3_VOCAB);
  const template = ChatTemplate.fromMetadata(meta, tokenizer);
  assert.equal(template.origin, "model");
  const text = template.render([
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello!" },
    { role: "user", content: [{ type: "text", text: "How" }, { type: "text", text: "are you?" }] },
  ]);
  assert.equal(
    text,
    "<s><|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nHow\nare you?<|end|>\n<|assistant|>\n",
  );
  assert.equal(template.startsWithBos(text), true);
});

Deno.test("a model without a template falls back to ChatML and says why", async () => {
  const { meta, tokenizer } = await load(STORIES_MODEL);
  const template = ChatTemplate.fromMetadata(meta, tokenizer);
  assert.equal(template.origin, "fallback");
  assert.match(template.fallbackReason!, /no chat template/);
  assert.equal(
    template.render([{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }]),
    "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
  );
  assert.equal(template.startsWithBos("<|im_start|>"), false);
});

Deno.test("a template that does not parse falls back to ChatML", async () => {
  const { meta, tokenizer } = await load(STORIES_MODEL);
  const template = ChatTemplate.fromMetadata(
    withTemplate(meta, "{% for m in messages %}{{ m.content "),
    tokenizer,
  );
  assert.equal(template.origin, "fallback");
  assert.match(template.fallbackReason!, /does not parse/);
});

Deno.test("raise_exception in a template becomes a 400 about the messages", async () => {
  const { meta, tokenizer } = await load(STORIES_MODEL);
  const source =
    "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}" +
    "{% endif %}{{ m.content }}{% endfor %}";
  const template = ChatTemplate.fromMetadata(withTemplate(meta, source), tokenizer);
  assert.equal(template.origin, "model");
  assert.equal(template.render([{ role: "user", content: "ok" }]), "ok");
  assert.throws(
    () => template.render([{ role: "system", content: "x" }]),
    (error: unknown) =>
      error instanceof ApiError && error.status === 400 && error.param === "messages" &&
      /System role not supported/.test(error.message),
  );
});
