/** Typed errors of model resolution and downloads. Each message says what was attempted and why it failed. */

/** A model cannot be named, found, downloaded or verified. */
export class ModelStoreError extends Error {
  override name = "ModelStoreError";
}

/** A download failed for good (HTTP error, retries used up, network unreachable). */
export class DownloadError extends ModelStoreError {
  override name = "DownloadError";
  constructor(readonly url: string, message: string, readonly status?: number) {
    super(message);
  }
}

/** A downloaded file does not match its expected size or sha256; the partial file has been removed. */
export class IntegrityError extends ModelStoreError {
  override name = "IntegrityError";
}

/** No model could be found anywhere; the message lists what was tried and how to pass `--model`. */
export class NoModelError extends ModelStoreError {
  override name = "NoModelError";
  constructor(readonly tried: readonly string[]) {
    super(
      `no model to serve: ${tried.join("; ")}. Pass --model FILE.gguf, --model https://HOST/FILE.gguf or ` +
        `--model hf:OWNER/REPO/FILE.gguf (or set EDGERING_MODEL)`,
    );
  }
}
