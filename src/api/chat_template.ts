/**
 * Chat messages → prompt text, with the model's own Jinja chat template (`tokenizer.chat_template` in
 * the GGUF) run by @huggingface/jinja, the same engine transformers.js uses for these templates.
 *
 * Fallback: a model without a template (or with one the engine cannot parse) gets ChatML
 * (`<|im_start|>role\ncontent<|im_end|>\n` … `<|im_start|>assistant\n`), llama.cpp's default as well. On a
 * model never trained on ChatML the markers are plain text, so answers are only as good as the model's
 * guess; `--print-config`'s startup line says which template is in use.
 */
import { Template } from "@huggingface/jinja";
import type { GgufKv } from "../gguf/types.ts";
import type { Tokenizer } from "../tokenizer/mod.ts";
import { ApiError } from "./api_error.ts";
import type { ChatMessage } from "./request_schemas.ts";

/** ChatML, used when the model brings no usable template. */
export const FALLBACK_CHAT_TEMPLATE = "{% for message in messages %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** GGUF key of the template. */
export const CHAT_TEMPLATE_KEY = "tokenizer.chat_template";
/** Longest rendered prompt, characters: a template looping over hostile input must not eat memory. */
export const MAX_RENDERED_CHARS = 16 << 20;

/** A parsed chat template with the special tokens it may refer to. */
export class ChatTemplate {
  private constructor(
    private readonly template: Template,
    /** "model" when the GGUF's template is used, "fallback" for ChatML */
    readonly origin: "model" | "fallback",
    private readonly bosToken: string,
    private readonly eosToken: string,
    /** why the model's template was not used, if it was not */
    readonly fallbackReason?: string,
  ) {}

  /**
   * The model's template, or ChatML with the reason.
   *
   * @example
   * ```ts
   * const t = ChatTemplate.fromMetadata(file.header.metadata, tokenizer);
   * t.render([{ role: "user", content: "Hi" }]); // "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
   * ```
   */
  static fromMetadata(meta: ReadonlyMap<string, GgufKv>, tokenizer: Tokenizer): ChatTemplate {
    const special = (id: number) => (id >= 0 && id < tokenizer.vocabSize ? tokenizer.tokenText(id) : "");
    const bos = special(tokenizer.bosId);
    const eos = special(tokenizer.eosId);
    const value = meta.get(CHAT_TEMPLATE_KEY)?.value;
    if (typeof value !== "string" || value.trim() === "") {
      return new ChatTemplate(
        new Template(FALLBACK_CHAT_TEMPLATE),
        "fallback",
        bos,
        eos,
        "the model has no chat template",
      );
    }
    try {
      return new ChatTemplate(new Template(value), "model", bos, eos);
    } catch (error) {
      const reason = `the model's chat template does not parse: ${(error as Error).message ?? error}`;
      return new ChatTemplate(new Template(FALLBACK_CHAT_TEMPLATE), "fallback", bos, eos, reason);
    }
  }

  /** Renders `messages` with the generation prompt appended. A template's raise_exception → 400. */
  render(messages: readonly ChatMessage[]): string {
    const plain = messages.map((m) => {
      const content = typeof m.content === "string"
        ? m.content
        : Array.isArray(m.content)
        ? m.content.map((part) => part.text).join("\n")
        : "";
      return { role: m.role, content, ...(m.name !== undefined ? { name: m.name } : {}) };
    });
    let text: string;
    try {
      text = this.template.render({
        messages: plain,
        add_generation_prompt: true,
        bos_token: this.bosToken,
        eos_token: this.eosToken,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ApiError(
        400,
        `the model's chat template rejected the messages: ${message.slice(0, 300)}`,
        "invalid_request_error",
        "invalid_messages",
        "messages",
      );
    }
    if (text.length > MAX_RENDERED_CHARS) {
      throw new ApiError(
        400,
        "the rendered chat prompt is too long",
        "invalid_request_error",
        "invalid_messages",
        "messages",
      );
    }
    return text;
  }

  /** True when `text` starts with the BOS token's text (the template added it: do not add another). */
  startsWithBos(text: string): boolean {
    return this.bosToken !== "" && text.startsWith(this.bosToken);
  }
}
