/**
 * The glue between a serving node and the gossip ring (`cluster/gossip`): settings, state directory,
 * key ring decisions, live load, capabilities, the status document and its table.
 *
 * @example
 * ```ts
 * import { ClusterNode, resolveClusterSettings } from "./mod.ts";
 * const settings = resolveClusterSettings(config, { hostname: Deno.hostname(), env: Deno.env.toObject() });
 * const cluster = await ClusterNode.start({ settings, version, apiAddr, engine, log });
 * ```
 *
 * @module
 */
export * from "./cluster_control.ts";
export * from "./cluster_errors.ts";
export { ClusterNode, type ClusterNodeOptions } from "./cluster_node.ts";
export * from "./cluster_settings.ts";
export * from "./cluster_status.ts";
export * from "./join_retry.ts";
export * from "./key_fingerprint.ts";
export { KeyRingMirror } from "./key_ring_mirror.ts";
export * from "./keyring_plan.ts";
export * from "./load_meter.ts";
export * from "./node_api_client.ts";
export * from "./node_capabilities.ts";
export * from "./pipeline_status.ts";
export * from "./rtt_meter.ts";
export * from "./state_dir.ts";
export * from "./status_table.ts";
export * from "./throughput_probe.ts";
