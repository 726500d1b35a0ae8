/**
 * The project-wide conformance suite (test/backend/conformance.ts) run against the wasm backend with two
 * threads, so that every op also goes through the worker pool.
 */
import { registerConformance } from "../conformance.ts";
import { createWasmBackend } from "../../../src/backend/wasm/mod.ts";

registerConformance("wasm", () => createWasmBackend({ threads: 2 }));
