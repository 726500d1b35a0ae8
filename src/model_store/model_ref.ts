/**
 * What `--model` may name, parsed once: a local file, an http(s) URL, or a Hugging Face file
 * `hf:OWNER/REPO/PATH.gguf` (optionally `hf:OWNER/REPO@REVISION/PATH.gguf`), and where each lives in
 * the local cache.
 */
import { ModelStoreError } from "./model_store_error.ts";

/** A model source named by the user. */
export type ModelRef =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "url"; readonly url: string }
  | {
    readonly kind: "hf";
    readonly owner: string;
    readonly repo: string;
    /** branch, tag or commit */
    readonly revision: string;
    /** path inside the repository */
    readonly file: string;
  };

/** Hugging Face endpoint; `HF_ENDPOINT` overrides it (mirrors, and tests with a local server). */
export const DEFAULT_HF_ENDPOINT = "https://huggingface.co";

/** The model served when nothing else is configured: a small real instruct model (about 145 MB). */
export const DEFAULT_MODEL = "hf:HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/smollm2-135m-instruct-q8_0.gguf";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const PATH_SEGMENT = /^[A-Za-z0-9._+-]{1,255}$/;

function checkPathSegments(file: string, original: string): void {
  for (const segment of file.split("/")) {
    if (!PATH_SEGMENT.test(segment) || segment === "." || segment === "..") {
      throw new ModelStoreError(
        `bad model reference "${original}": path segment "${segment}" is not allowed`,
      );
    }
  }
}

/**
 * Parses a `--model` value.
 *
 * @example
 * ```ts
 * parseModelRef("hf:HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/smollm2-135m-instruct-q8_0.gguf").kind; // "hf"
 * parseModelRef("./models/x.gguf"); // { kind: "file", path: "./models/x.gguf" }
 * ```
 */
export function parseModelRef(text: string): ModelRef {
  if (text.startsWith("hf:")) {
    const parts = text.slice(3).split("/");
    if (parts.length < 3) {
      throw new ModelStoreError(`bad model reference "${text}": expected hf:OWNER/REPO/FILE.gguf`);
    }
    const [owner, repoAt, ...rest] = parts;
    const [repo, revision = "main", ...extra] = repoAt.split("@");
    if (!NAME.test(owner) || !NAME.test(repo) || extra.length > 0 || !PATH_SEGMENT.test(revision)) {
      throw new ModelStoreError(`bad model reference "${text}": expected hf:OWNER/REPO[@REVISION]/FILE.gguf`);
    }
    const file = rest.join("/");
    checkPathSegments(file, text);
    return { kind: "hf", owner, repo, revision, file };
  }
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ModelStoreError(`bad model URL "${text}"`);
    }
    return { kind: "url", url: url.href };
  }
  if (text === "") throw new ModelStoreError("empty model reference");
  return { kind: "file", path: text };
}

/** The download URL of a remote reference. */
export function modelUrl(ref: Exclude<ModelRef, { kind: "file" }>, hfEndpoint = DEFAULT_HF_ENDPOINT): string {
  if (ref.kind === "url") return ref.url;
  const base = hfEndpoint.replace(/\/+$/, "");
  const file = ref.file.split("/").map(encodeURIComponent).join("/");
  return `${base}/${ref.owner}/${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/${file}`;
}

function safeSegment(segment: string): string {
  const cleaned = segment.replace(/[^A-Za-z0-9._+-]/g, "_").replace(/^\.+/, "_");
  return cleaned === "" ? "_" : cleaned.slice(0, 200);
}

/**
 * Where a remote reference is stored under `cacheDir`:
 * `models/hf/OWNER/REPO/REVISION/FILE` or `models/url/HOST/PATH` (each segment made file-system safe).
 *
 * @example
 * ```ts
 * cachePath(parseModelRef("hf:a/b/c.gguf"), "/cache"); // "/cache/models/hf/a/b/main/c.gguf"
 * ```
 */
export function cachePath(ref: Exclude<ModelRef, { kind: "file" }>, cacheDir: string): string {
  const root = `${cacheDir.replace(/\/+$/, "")}/models`;
  if (ref.kind === "hf") {
    return [
      root,
      "hf",
      ref.owner,
      ref.repo,
      safeSegment(ref.revision),
      ...ref.file.split("/").map(safeSegment),
    ].join("/");
  }
  const url = new URL(ref.url);
  const segments = url.pathname.split("/").filter((s) => s !== "").map(safeSegment);
  if (segments.length === 0) segments.push("model.gguf");
  return [root, "url", safeSegment(url.host), ...segments].join("/");
}

/** A short human name for logs: the reference as the user wrote it, without credentials. */
export function describeRef(ref: ModelRef): string {
  switch (ref.kind) {
    case "file":
      return ref.path;
    case "hf":
      return `hf:${ref.owner}/${ref.repo}${ref.revision === "main" ? "" : `@${ref.revision}`}/${ref.file}`;
    case "url": {
      const url = new URL(ref.url);
      url.username = "";
      url.password = "";
      return url.href;
    }
  }
}
