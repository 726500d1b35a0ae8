/**
 * The project-wide conformance suite (test/backend/conformance.ts) run against the wasm backend with two
 * threads, so that every op also goes through the worker pool. Its default per-type tolerances already
 * allow for the int8 quantisation of activations in products with Q8_0, Q4_0, Q4_K and Q6_K weights.
 */
import { registerConformance } from "../conformance.ts";
import { createWasmBackend } from "../../../src/backend/wasm/mod.ts";

registerConformance("wasm", () => createWasmBackend({ threads: 2 }));
