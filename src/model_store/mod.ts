/**
 * Model resolution and downloads: `--model FILE|URL|hf:OWNER/REPO/FILE.gguf`, the local cache, the
 * default model; resumable, verified, atomic downloads with progress.
 *
 * @example
 * ```ts
 * import { resolveModel } from "./src/model_store/mod.ts";
 * const { path } = await resolveModel({ cacheDir: "/tmp/edgering-cache", offline: true, model: "m.gguf" });
 * ```
 */
export * from "./model_store_error.ts";
export * from "./model_ref.ts";
export * from "./download.ts";
export * from "./progress_reporter.ts";
export * from "./resolve_model.ts";
