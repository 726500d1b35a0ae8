/**
 * Which node a stage's ERROR for a sequence points at: the node the entry engine's failover then avoids.
 *
 * Separate from the engine (pipeline_engine.ts) because it is a pure decision on the frame and the
 * route — the engine only acts on it — and the rule is easier to read (and check) on its own: a stage
 * that could not reach its next hop names that hop's address in the message; a retired epoch blames
 * nobody, since the next plan fixes it; any other refusal blames the stage that sent it.
 *
 * @module
 */

import { type ErrorFrame, WireErrorCode } from "./frames.ts";
import type { PipelineRoute } from "./route.ts";

/**
 * The node id to avoid after `frame` came from the stage at address `from` on `route`; undefined when
 * nobody is to blame or the address is not on the route.
 *
 * @example
 * ```ts
 * const culprit = errorCulprit(frame, "10.0.0.2:7000", route);
 * failover(sequence, culprit, `stage error ${frame.code}: ${frame.message}`);
 * ```
 */
export function errorCulprit(frame: ErrorFrame, from: string, route?: PipelineRoute): string | undefined {
  const nodeAt = (address: string) => route?.stages.find((st) => st.address === address)?.nodeId;
  return frame.code === WireErrorCode.NextHopUnreachable
    ? nodeAt(frame.message)
    : frame.code === WireErrorCode.EpochMismatch
    ? undefined
    : nodeAt(from);
}
