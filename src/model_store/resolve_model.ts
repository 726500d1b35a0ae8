/**
 * Which model file a node serves, in this order:
 *
 *   1. the configured model (`--model`, `EDGERING_MODEL` or `model` in the config file): a local file is
 *      used in place; a URL or `hf:` reference is taken from the cache, or downloaded into it;
 *   2. the most recently used complete model in the local cache;
 *   3. the default instruct model ({@link DEFAULT_MODEL}), downloaded into the cache.
 *
 * Nothing found (e.g. offline with an empty cache) is a {@link NoModelError} whose one-line message lists
 * what was tried and how to pass `--model`.
 */
import { downloadFile, type DownloadProgress } from "./download.ts";
import {
  cachePath,
  DEFAULT_HF_ENDPOINT,
  DEFAULT_MODEL,
  describeRef,
  modelUrl,
  parseModelRef,
} from "./model_ref.ts";
import { DownloadError, ModelStoreError, NoModelError } from "./model_store_error.ts";

/** How the model was found. */
export type ModelOrigin = "configured" | "cache" | "default";

/** The model file to load. */
export interface ResolvedModel {
  /** local path of the GGUF file */
  readonly path: string;
  readonly origin: ModelOrigin;
  /** the reference as configured (or the default's), for logs */
  readonly description: string;
  /** whether this call downloaded it */
  readonly downloaded: boolean;
}

/** Inputs of {@link resolveModel}. */
export interface ResolveModelOptions {
  /** configured model reference, if any */
  readonly model?: string;
  /** where `model` came from, for messages ("--model", "EDGERING_MODEL", "config file") */
  readonly modelSource?: string;
  /** expected sha256 of a download */
  readonly sha256?: string;
  /** cache root (`<cacheDir>/models/...`) */
  readonly cacheDir: string;
  /** never download */
  readonly offline: boolean;
  /** Hugging Face endpoint (default: `HF_ENDPOINT` semantics, {@link DEFAULT_HF_ENDPOINT}) */
  readonly hfEndpoint?: string;
  /** the default model reference (tests override it) */
  readonly defaultModel?: string;
  readonly fetch?: typeof fetch;
  readonly onProgress?: (label: string) => ((p: DownloadProgress) => void) | undefined;
  readonly onDownloadDone?: () => void;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** retry settings passed to downloads */
  readonly retries?: number;
  readonly retryDelayMs?: number;
}

/** Deepest folder level searched in the cache (models/hf/OWNER/REPO/REV/dir/file). */
const MAX_CACHE_DEPTH = 8;

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) return false;
    throw error;
  }
}

/** Complete `.gguf` files under `<cacheDir>/models`, most recently used first. */
export async function listCachedModels(
  cacheDir: string,
): Promise<{ path: string; mtimeMs: number; size: number }[]> {
  const found: { path: string; mtimeMs: number; size: number }[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_CACHE_DEPTH) return;
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) return;
      throw error;
    }
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path, depth + 1);
      else if (entry.isFile && entry.name.toLowerCase().endsWith(".gguf")) {
        const info = await Deno.stat(path);
        found.push({ path, mtimeMs: info.mtime?.getTime() ?? 0, size: info.size });
      }
    }
  };
  await walk(`${cacheDir.replace(/\/+$/, "")}/models`, 0);
  return found.sort((a, b) => b.mtimeMs - a.mtimeMs || a.path.localeCompare(b.path));
}

/** Marks a cached model as just used, so step 2 picks it next time. Best effort. */
async function touch(path: string): Promise<void> {
  const now = new Date();
  await Deno.utime(path, now, now).catch(() => {});
}

async function fetchRemote(
  reference: string,
  options: ResolveModelOptions,
): Promise<{ path: string; downloaded: boolean }> {
  const ref = parseModelRef(reference);
  if (ref.kind === "file") throw new ModelStoreError(`internal: ${reference} is not remote`);
  const path = cachePath(ref, options.cacheDir);
  if (await isFile(path)) {
    await touch(path);
    return { path, downloaded: false };
  }
  if (options.offline) {
    throw new ModelStoreError(
      `${describeRef(ref)} is not in the cache (${path}) and downloads are off (offline)`,
    );
  }
  const url = modelUrl(ref, options.hfEndpoint ?? DEFAULT_HF_ENDPOINT);
  options.log?.(`downloading ${describeRef(ref)} from ${url} to ${path}`);
  try {
    const result = await downloadFile(url, path, {
      fetch: options.fetch,
      sha256: options.sha256,
      onProgress: options.onProgress?.(path.slice(path.lastIndexOf("/") + 1)),
      signal: options.signal,
      retries: options.retries,
      retryDelayMs: options.retryDelayMs,
    });
    options.onDownloadDone?.();
    options.log?.(
      `downloaded ${result.bytes} bytes, sha256 ${result.sha256} (${
        result.verified ? "verified" : "not published, not verified"
      })` +
        (result.resumedFrom > 0 ? `, resumed from byte ${result.resumedFrom}` : ""),
    );
    return { path, downloaded: true };
  } catch (error) {
    options.onDownloadDone?.();
    throw error;
  }
}

/**
 * Finds (and if needed downloads) the model to serve.
 *
 * @example
 * ```ts
 * const model = await resolveModel({ model: "hf:HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/smollm2-135m-instruct-q8_0.gguf",
 *   cacheDir: "/home/ada/.cache/edgering", offline: false });
 * model.path; // "/home/ada/.cache/edgering/models/hf/HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/main/smollm2-…gguf"
 * ```
 */
export async function resolveModel(options: ResolveModelOptions): Promise<ResolvedModel> {
  if (options.model !== undefined) {
    const ref = parseModelRef(options.model);
    const source = options.modelSource ?? "--model";
    if (ref.kind === "file") {
      if (!(await isFile(ref.path))) {
        throw new ModelStoreError(`model file ${ref.path} (from ${source}) not found`);
      }
      return { path: ref.path, origin: "configured", description: ref.path, downloaded: false };
    }
    try {
      const { path, downloaded } = await fetchRemote(options.model, options);
      return { path, origin: "configured", description: describeRef(ref), downloaded };
    } catch (error) {
      if (error instanceof DownloadError) {
        throw new ModelStoreError(`cannot get model ${describeRef(ref)} (from ${source}): ${error.message}`);
      }
      throw error;
    }
  }
  const tried = ["no model configured (--model, EDGERING_MODEL, config file)"];
  const cached = await listCachedModels(options.cacheDir);
  if (cached.length > 0) {
    await touch(cached[0].path);
    options.log?.(`no model configured; using the most recently used cached model ${cached[0].path}`);
    return { path: cached[0].path, origin: "cache", description: cached[0].path, downloaded: false };
  }
  tried.push(`no model in the cache ${options.cacheDir}/models`);
  const fallback = options.defaultModel ?? DEFAULT_MODEL;
  if (options.offline) {
    tried.push(`default model ${fallback} not downloaded (offline)`);
    throw new NoModelError(tried);
  }
  try {
    const { path, downloaded } = await fetchRemote(fallback, options);
    return { path, origin: "default", description: fallback, downloaded };
  } catch (error) {
    if (error instanceof ModelStoreError) {
      tried.push(`downloading the default model ${fallback} failed (${error.message})`);
      throw new NoModelError(tried);
    }
    throw error;
  }
}
