/**
 * What the HTTP app serves: the node's status and, once loaded, its model and scheduler. The serve
 * command binds the port while the model is still loading (so `/health` answers "loading" during a
 * download), then fills in the model and flips the status.
 */
import type { SchedulerStats, SequenceStream } from "../engine/scheduler.ts";
import type { SequenceRequest } from "../engine/sequence.ts";
import type { Tokenizer } from "../tokenizer/mod.ts";
import type { ChatTemplate } from "./chat_template.ts";

/** Lifecycle of a node, as `/health` reports it. */
export type NodeStatus = "loading" | "ready" | "draining";

/** Whatever runs a request: the local Scheduler, or the layer pipeline's entry engine, which has the
 * same `submit` (src/engine/scheduler.ts documents the errors it throws). */
export interface SubmitTarget {
  submit(request: SequenceRequest): SequenceStream;
}

/** The node's own request runner: the local Scheduler, or on a node too small to hold the model, the
 * entry that forwards to `ServedModel.target` (served_model.ts `createEntryServedModel`). */
export interface ServedScheduler extends SubmitTarget {
  stats(): SchedulerStats;
  /** Refuses new requests, lets running ones finish for up to `graceMs`, then cancels the rest. */
  drain(graceMs: number): Promise<void>;
  /** Cancels every running request. */
  close(): Promise<void>;
}

/** A model being served. */
export interface ServedModel {
  /** id in `/v1/models` and in requests' `model` field */
  readonly id: string;
  /** Unix seconds when it was loaded */
  readonly created: number;
  readonly scheduler: ServedScheduler;
  readonly tokenizer: Tokenizer;
  readonly chatTemplate: ChatTemplate;
  /** context per sequence, tokens */
  readonly ctx: number;
  /** Where requests go when not to `scheduler`: the serve command points it at the pipeline engine
   * while the cluster's plan splits the model across nodes, and clears it when this node serves alone. */
  target?: SubmitTarget;
}

/** Mutable state shared by the app and the serve command. */
export class NodeState {
  status: NodeStatus = "loading";
  model?: ServedModel;

  /** A ready node serving `model`. */
  static ready(model: ServedModel): NodeState {
    const state = new NodeState();
    state.model = model;
    state.status = "ready";
    return state;
  }
}
