/**
 * Weights from a peer: a node that lacks the model file reads its stage's tensors from a peer's
 * pipeline port instead of the disk or the model URL, each tensor checked against a SHA-256.
 *
 * The trust anchor is the model's manifest: the file's GGUF header bytes, its size, and the SHA-256 of
 * every tensor's bytes in header order. Its digest (SHA-256 of its encoding, hex) names one exact file;
 * a node that has the file computes it ({@link buildManifest}) and can advertise it, and a node
 * fetching from a peer passes the digest it expects. The fetched manifest must hash to it, and every
 * tensor read through {@link openPeerModel}'s byte source must hash to the manifest's entry, so a peer
 * with another or a damaged file is caught before a single weight is used. (Without an expected digest
 * the manifest is trusted on first use and its digest returned for the caller to check.)
 *
 * ```
 * manifest = fileSize u64 · headerLen u32 · header [headerLen] · tensorCount u32 · sha256 [tensorCount × 32]
 * ```
 *
 * The returned GgufFile reads only the header (from the manifest) and whole tensors, which is all that
 * loadModelWeights asks for: a stage of layers 10–19 fetches exactly those tensors.
 *
 * @example
 * ```ts
 * const { file } = await openPeerModel("10.0.0.5:7700", { nodeId: "node-c", keyring, expectedDigest });
 * const stage = await StageServer.start({ ...options, model: file }); // loads only its range
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { ByteSource } from "../../src/gguf/byte_source.ts";
import { GgufFile, parseGgufHeaderBytes } from "../../src/gguf/mod.ts";
import type { GgufTensorInfo } from "../../src/gguf/types.ts";
import { type DataFrame, FETCH_MAX_BYTES, type FetchFrame, FetchKind, FrameType } from "./frames.ts";
import { type ConnectionOptions, PipelineConnection } from "./pipeline_connection.ts";
import { PipelineError } from "./pipeline_errors.ts";

/** Longest wait for one FETCH answer, ms: a peer hashes its whole file before the first manifest. */
export const FETCH_TIMEOUT_MS = 120_000;
/** Largest GGUF header accepted in a manifest: tokenizer vocabularies make headers of a few MB. */
export const MANIFEST_HEADER_MAX_BYTES = 64 * 1024 * 1024;
const HASH_BYTES = 32;
const utf8 = new TextEncoder();

/** Weights from a peer could not be fetched or failed verification. */
export class WeightFetchError extends PipelineError {
  override name = "WeightFetchError";
}

/** A model file's identity: see the module doc. */
export interface ModelManifest {
  readonly fileSize: number;
  /** the file's bytes [0, dataOffset): the GGUF header */
  readonly header: Uint8Array;
  /** SHA-256 of each tensor's bytes, in header order */
  readonly tensorHashes: readonly Uint8Array[];
}

export function encodeManifest(m: ModelManifest): Uint8Array {
  const out = new Uint8Array(8 + 4 + m.header.length + 4 + m.tensorHashes.length * HASH_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, m.fileSize % 0x1_0000_0000, true);
  view.setUint32(4, Math.floor(m.fileSize / 0x1_0000_0000), true);
  view.setUint32(8, m.header.length, true);
  out.set(m.header, 12);
  let at = 12 + m.header.length;
  view.setUint32(at, m.tensorHashes.length, true);
  at += 4;
  for (const h of m.tensorHashes) {
    out.set(h, at);
    at += HASH_BYTES;
  }
  return out;
}

/** Decodes a manifest; throws WeightFetchError for malformed bytes. */
export function decodeManifest(bytes: Uint8Array): ModelManifest {
  const fail = (why: string): never => {
    throw new WeightFetchError(`malformed model manifest: ${why}`);
  };
  if (bytes.length < 16) fail(`${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fileSize = view.getUint32(0, true) + view.getUint32(4, true) * 0x1_0000_0000;
  const headerLength = view.getUint32(8, true);
  if (headerLength > MANIFEST_HEADER_MAX_BYTES || 12 + headerLength + 4 > bytes.length) {
    fail(`header of ${headerLength} bytes`);
  }
  const header = bytes.slice(12, 12 + headerLength);
  const count = view.getUint32(12 + headerLength, true);
  const at = 16 + headerLength;
  if (bytes.length !== at + count * HASH_BYTES) fail(`${count} tensor hashes in ${bytes.length - at} bytes`);
  const tensorHashes = Array.from(
    { length: count },
    (_, i) => bytes.slice(at + i * HASH_BYTES, at + (i + 1) * HASH_BYTES),
  );
  return { fileSize, header, tensorHashes };
}

/** The manifest's digest: SHA-256 of its encoding, hex. */
export function manifestDigest(m: ModelManifest): string {
  return createHash("sha256").update(encodeManifest(m)).digest("hex");
}

/** Builds the manifest of an open file, hashing every tensor (reads the whole data section once). */
export async function buildManifest(file: GgufFile): Promise<ModelManifest> {
  const header = await file.source.read(0, file.header.dataOffset);
  const tensorHashes: Uint8Array[] = [];
  for (const t of file.header.tensors) {
    const hash = createHash("sha256");
    for (let at = 0; at < t.byteSize; at += FETCH_MAX_BYTES) {
      hash.update(
        await file.source.read(
          file.header.dataOffset + t.offset + at,
          Math.min(FETCH_MAX_BYTES, t.byteSize - at),
        ),
      );
    }
    tensorHashes.push(new Uint8Array(hash.digest()));
  }
  return { fileSize: file.source.size, header, tensorHashes };
}

/** The answer a node holding `file` gives to a FETCH (manifest built once, by `manifest`). */
export async function answerFetch(
  file: GgufFile,
  manifest: () => Promise<Uint8Array>,
  f: FetchFrame,
): Promise<DataFrame> {
  const refuse = (why: string): DataFrame => ({
    type: FrameType.Data,
    reqId: f.reqId,
    status: 1,
    bytes: utf8.encode(why),
  });
  try {
    if (f.kind === FetchKind.Manifest) {
      const bytes = await manifest();
      if (bytes.length > FETCH_MAX_BYTES) {
        return refuse(`manifest of ${bytes.length} bytes exceeds FETCH_MAX_BYTES`);
      }
      return { type: FrameType.Data, reqId: f.reqId, status: 0, bytes };
    }
    if (f.kind !== FetchKind.Bytes) return refuse(`unknown fetch kind ${f.kind}`);
    if (f.offset + f.length > file.source.size) {
      return refuse(
        `bytes ${f.offset}..${f.offset + f.length} pass the end of the file (${file.source.size})`,
      );
    }
    return {
      type: FrameType.Data,
      reqId: f.reqId,
      status: 0,
      bytes: await file.source.read(f.offset, f.length),
    };
  } catch (error) {
    return refuse((error as Error).message);
  }
}

/** Sends FETCHes over one connection and matches the DATA answers. */
class FetchClient {
  readonly #waiting = new Map<number, { resolve: (d: DataFrame) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  bytesFetched = 0;

  constructor(readonly conn: PipelineConnection, readonly address: string) {
    conn.start({
      frame: (f) => {
        if (f.type !== FrameType.Data) return;
        const w = this.#waiting.get(f.reqId);
        this.#waiting.delete(f.reqId);
        w?.resolve(f);
      },
      closed: (reason) => {
        for (const w of this.#waiting.values()) {
          w.reject(new WeightFetchError(`peer ${address} closed: ${reason.message}`));
        }
        this.#waiting.clear();
      },
    });
  }

  async fetch(kind: FetchKind, offset: number, length: number): Promise<Uint8Array> {
    const reqId = this.#nextId++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = new Promise<DataFrame>((resolve, reject) => {
      this.#waiting.set(reqId, { resolve, reject });
      timer = setTimeout(() => {
        this.#waiting.delete(reqId);
        reject(new WeightFetchError(`peer ${this.address} did not answer within ${FETCH_TIMEOUT_MS} ms`));
      }, FETCH_TIMEOUT_MS);
    });
    if (!this.conn.send({ type: FrameType.Fetch, reqId, kind, offset, length })) {
      clearTimeout(timer);
      this.#waiting.delete(reqId);
      throw new WeightFetchError(`connection to ${this.address} is closed`);
    }
    try {
      const data = await answer;
      if (data.status !== 0) {
        throw new WeightFetchError(`peer ${this.address} refused: ${new TextDecoder().decode(data.bytes)}`);
      }
      this.bytesFetched += data.bytes.length;
      return data.bytes;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A ByteSource over a peer's file: the header from the manifest, whole tensors verified by hash. */
class PeerByteSource implements ByteSource {
  readonly size: number;
  readonly name: string;
  readonly #tensorAt = new Map<number, { info: GgufTensorInfo; hash: Uint8Array }>();

  constructor(
    private readonly client: FetchClient,
    private readonly manifest: ModelManifest,
    tensors: readonly GgufTensorInfo[],
    dataOffset: number,
  ) {
    this.size = manifest.fileSize;
    this.name = `peer ${client.address}`;
    tensors.forEach((info, i) =>
      this.#tensorAt.set(dataOffset + info.offset, { info, hash: manifest.tensorHashes[i] })
    );
  }

  get bytesFetched(): number {
    return this.client.bytesFetched;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const header = this.manifest.header;
    if (offset >= 0 && offset + length <= header.length) return header.slice(offset, offset + length);
    const tensor = this.#tensorAt.get(offset);
    if (!tensor || tensor.info.byteSize !== length) {
      throw new WeightFetchError(
        `${this.name}: only whole tensors can be read (asked ${length} bytes at ${offset})`,
      );
    }
    const out = new Uint8Array(length);
    const hash = createHash("sha256");
    for (let at = 0; at < length; at += FETCH_MAX_BYTES) {
      const n = Math.min(FETCH_MAX_BYTES, length - at);
      const part = await this.client.fetch(FetchKind.Bytes, offset + at, n);
      if (part.length !== n) throw new WeightFetchError(`${this.name}: asked ${n} bytes, got ${part.length}`);
      out.set(part, at);
      hash.update(part);
    }
    const got = new Uint8Array(hash.digest());
    if (got.some((b, i) => b !== tensor.hash[i])) {
      throw new WeightFetchError(
        `${this.name}: tensor ${tensor.info.name} does not match its SHA-256 in the manifest`,
      );
    }
    return out;
  }

  close(): void {
    this.client.conn.close();
  }
}

/** What {@link openPeerModel} returns. */
export interface PeerModel {
  /** reads go to the peer; close it once the weights are loaded (it closes the connection) */
  readonly file: GgufFile;
  /** the manifest's digest (equal to the expected one when given) */
  readonly digest: string;
  /** bytes fetched so far, manifest included */
  readonly bytesFetched: () => number;
}

/**
 * Opens a peer's model file over its pipeline port: fetches and checks the manifest, then serves the
 * header and whole tensors (each verified) to GgufFile readers. Throws WeightFetchError (unreachable,
 * refused, wrong digest) or HandshakeError (cluster key).
 */
export async function openPeerModel(
  address: string,
  options: ConnectionOptions & { readonly expectedDigest?: string },
): Promise<PeerModel> {
  const conn = await PipelineConnection.connect(address, options);
  const client = new FetchClient(conn, address);
  try {
    const manifest = decodeManifest(await client.fetch(FetchKind.Manifest, 0, 0));
    const digest = manifestDigest(manifest);
    if (options.expectedDigest !== undefined && digest !== options.expectedDigest.toLowerCase()) {
      throw new WeightFetchError(`peer ${address} holds model ${digest}, expected ${options.expectedDigest}`);
    }
    const header = parseGgufHeaderBytes(manifest.header, manifest.fileSize, `peer ${address}`);
    if (
      header.tensors.length !== manifest.tensorHashes.length || header.dataOffset !== manifest.header.length
    ) {
      throw new WeightFetchError(
        `peer ${address}: manifest lists ${manifest.tensorHashes.length} hashes for ${header.tensors.length} tensors`,
      );
    }
    const source = new PeerByteSource(client, manifest, header.tensors, header.dataOffset);
    return { file: new GgufFile(header, source), digest, bytesFetched: () => client.bytesFetched };
  } catch (error) {
    conn.close();
    throw error;
  }
}
