/**
 * Deterministic in-process simulator for the gossip ring: virtual clock, seeded network with loss,
 * latency, reordering, duplication, partitions, node pause/slowness/crash, byte counters.
 *
 * @module
 */

export {
  type ObservedEvent,
  quantile,
  SimCluster,
  type SimClusterOptions,
  type SimMember,
} from "./sim_cluster.ts";
export {
  type LinkConditions,
  SIM_DEFAULT_OVERHEAD,
  type SimCounters,
  SimNetwork,
  SimTransport,
} from "./sim_network.ts";
export { NodeClock, VirtualScheduler } from "./virtual_clock.ts";
