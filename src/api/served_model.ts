/** Wiring a loaded model into something the API can serve: scheduler, chat template and model id. */
import { NoPipelineError } from "../../cluster/pipeline/pipeline_errors.ts";
import type { LoadedModel } from "../engine/loaded_model.ts";
import {
  Scheduler,
  type SchedulerOptions,
  type SchedulerStats,
  type SequenceStream,
} from "../engine/scheduler.ts";
import { DrainingError } from "../engine/scheduler_errors.ts";
import type { SequenceRequest } from "../engine/sequence.ts";
import type { GgufFile } from "../gguf/mod.ts";
import type { Tokenizer } from "../tokenizer/mod.ts";
import { ChatTemplate } from "./chat_template.ts";
import type { ServedModel, ServedScheduler, SubmitTarget } from "./node_state.ts";

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

/** The parts of a model a node serves without holding its weights: the pipeline does the compute. */
export interface EntryModel {
  /** path or URL: the default model id */
  readonly source: string;
  readonly file: GgufFile;
  readonly tokenizer: Tokenizer;
  /** context per sequence, tokens */
  readonly ctx: number;
}

/** Poll interval of {@link EntryScheduler.drain}, ms. */
const DRAIN_POLL_MS = 50;

/** The scheduler of a node that holds no whole model: it runs nothing itself, submits to the served
 * model's `target` (the pipeline engine) and tracks the streams it handed out, to drain and close. */
class EntryScheduler implements ServedScheduler {
  readonly #running = new Set<SequenceStream>();
  #draining = false;
  #submitted = 0;

  constructor(readonly target: () => SubmitTarget | undefined) {}

  submit(request: SequenceRequest): SequenceStream {
    if (this.#draining) throw new DrainingError();
    const target = this.target();
    if (!target) throw new NoPipelineError("this node cannot hold the model and no pipeline serves it now");
    const stream = target.submit(request);
    this.#submitted++;
    this.#running.add(stream);
    stream.done.then(() => this.#running.delete(stream));
    return stream;
  }

  stats(): SchedulerStats {
    // no slots, KV or steps here: those live on the pipeline's stages
    return {
      queued: 0,
      active: this.#running.size,
      slots: 0,
      kvTokens: 0,
      kvCapacity: 0,
      steps: 0,
      prefillTokens: 0,
      decodeTokens: 0,
      draining: this.#draining,
    };
  }

  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    const deadline = performance.now() + graceMs;
    while (this.#running.size > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    await this.close();
  }

  async close(): Promise<void> {
    this.#draining = true;
    const running = [...this.#running];
    for (const s of running) s.cancel();
    await Promise.all(running.map((s) => s.done));
  }
}

/**
 * A served model with no local scheduler, for a node that cannot hold the model: requests go to
 * `target` once the pipeline node sets it, and fail with NoPipelineError (HTTP 503) until then.
 *
 * @example
 * ```ts
 * const served = createEntryServedModel({ source: path, file, tokenizer, ctx: 256 }, { id: "stories260K" });
 * served.target = pipelineEngine;
 * ```
 */
export function createEntryServedModel(
  model: EntryModel,
  options: { readonly id?: string } = {},
): ServedModel {
  const served: ServedModel = {
    id: options.id ?? modelIdFromPath(model.source),
    created: Math.floor(Date.now() / 1000),
    scheduler: new EntryScheduler(() => served.target),
    tokenizer: model.tokenizer,
    chatTemplate: ChatTemplate.fromMetadata(model.file.header.metadata, model.tokenizer),
    ctx: model.ctx,
  };
  return served;
}
