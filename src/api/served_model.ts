/** Wiring a loaded model into something the API can serve: scheduler, chat template and model id. */
import type { LoadedModel } from "../engine/loaded_model.ts";
import { Scheduler, type SchedulerOptions } from "../engine/scheduler.ts";
import { ChatTemplate } from "./chat_template.ts";
import type { ServedModel } from "./node_state.ts";

/** The default model id of a file: its name without folders and without `.gguf`. */
export function modelIdFromPath(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return name.replace(/\.gguf$/i, "") || "model";
}

/**
 * Creates the scheduler and chat template of `loaded`.
 *
 * @example
 * ```ts
 * const loaded = await loadModel(path, backend, { slots: 8, maxBatch: 64 });
 * const served = createServedModel(loaded, { queueSize: 64, prefillChunk: 32 });
 * served.id; // "stories260K"
 * ```
 */
export function createServedModel(
  loaded: LoadedModel,
  options: SchedulerOptions & { readonly id?: string },
): ServedModel {
  return {
    id: options.id ?? modelIdFromPath(loaded.source),
    created: Math.floor(Date.now() / 1000),
    scheduler: new Scheduler(loaded, options),
    tokenizer: loaded.tokenizer,
    chatTemplate: ChatTemplate.fromMetadata(loaded.file.header.metadata, loaded.tokenizer),
    ctx: loaded.ctx,
  };
}
