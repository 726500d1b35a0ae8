/**
 * Choosing and creating the compute backend of a node (`--backend`).
 *
 * `auto` picks the fastest backend this host can run: today the plain-TS reference is the only one
 * wired in; the wasm (CPU SIMD) and WebGPU backends join this choice as they land.
 */
import type { Backend, BackendName } from "./backend.ts";
import { createReferenceBackend } from "./reference/reference_backend.ts";

/** Values `--backend` accepts. */
export const BACKEND_CHOICES = ["auto", "reference", "wasm", "webgpu"] as const;
export type BackendChoice = typeof BACKEND_CHOICES[number];

/** Options for backend creation. */
export interface BackendOptions {
  /** CPU threads for the wasm backend (default: all cores) */
  readonly threads?: number;
}

/** A backend that this build or host cannot provide. */
export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
  constructor(readonly backend: BackendName, reason: string) {
    super(`backend ${backend} is not available: ${reason}`);
  }
}

/** Creates the backend named by `choice`. */
export function createBackend(choice: BackendChoice, _options: BackendOptions = {}): Promise<Backend> {
  switch (choice) {
    case "auto":
    case "reference":
      return Promise.resolve(createReferenceBackend());
    case "wasm":
    case "webgpu":
      return Promise.reject(new BackendUnavailableError(choice, "not built into this version yet"));
  }
}
