/**
 * The layer pipeline between nodes: the binary frames stages exchange, their codec and the stream
 * framer; authenticated connections; the stage server that runs one layer range; the entry-side
 * engine that streams tokens through a route and replays sequences when a stage dies; and weights
 * fetched from a peer.
 *
 * How a node uses it (`edgering serve`):
 *
 * @example
 * ```ts
 * // every node that holds a share of the model in the current plan runs a stage
 * const stage = await StageServer.start({
 *   nodeId: config.name, model: modelPath, range: myStage, backend, keyring,
 *   hostname: "0.0.0.0", port: config.pipelinePort ?? 0, advertiseHost: publicHost,
 *   epochs: [plan.epoch],
 * });
 * capabilities.pipelineAddr = stage.address; // gossip tells peers where to dial
 *
 * // every node is an entry: the API submits to the engine as it would to the local Scheduler
 * const engine = new PipelineEngine({
 *   nodeId: config.name, cfg, tokenizer, keyring,
 *   resolveRoute: ({ avoid }) => {
 *     const plan = planCluster({ epoch, members: members.filter((m) => !avoid.has(m.id)), model });
 *     const r = routeRequest(plan, liveQueueDepths);
 *     return r && routeFromReplica(plan.epoch, plan.replicas[r.replica], (id) => addressOf(id));
 *   },
 * });
 * const stream = engine.submit(request); // NoPipelineError → HTTP 503
 * gossip.on("dead", (id) => engine.reportDead(id));
 * ```
 *
 * @module
 */
export * from "./frames.ts";
export * from "./frames_encode.ts";
export * from "./frames_decode.ts";
export * from "./frames_reader.ts";
export * from "./pipeline_errors.ts";
export * from "./route.ts";
export * from "./connection_crypto.ts";
export * from "./pipeline_connection.ts";
export * from "./stage_io.ts";
export * from "./stage_runner.ts";
export * from "./stage_server.ts";
export * from "./stage_server_options.ts";
export * from "./next_hops.ts";
export * from "./stage_ranges.ts";
export { EntrySequence } from "./entry_sequence.ts";
export * from "./pipeline_engine.ts";
export * from "./peer_weights.ts";
export * from "./pipeline_engine_options.ts";
