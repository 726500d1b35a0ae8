/**
 * The pipeline wire format: binary frames that carry activations, tokens and control between stages.
 *
 * Every frame on a pipeline connection is `[length u32][type u8][payload]`, little-endian, where
 * `length` counts the type byte and the payload. Frame types are numbers that are never reused; a new
 * version only adds frame types, flag bits or fields appended at the end of a payload (decoders skip
 * bytes after the fields they know), so frames written by version 1 decode forever
 * (test/cluster/pipeline/frames_golden_test.ts pins them). The protocol version is agreed once per
 * connection, in the HELLO each side sends first ({@link negotiateVersion}).
 *
 * Decoding never trusts a length: every count is checked against a named limit and against the bytes
 * actually present before anything is allocated, and any malformed input throws {@link FrameError}.
 *
 * Payloads (version 1):
 * ```
 * HELLO   minVersion u16 · maxVersion u16 · planEpoch u32 · idLen u8 · nodeId utf8 · authLen u8 · auth
 * FORWARD planEpoch u32 · dtype u8 · segments u16 · dim u32
 *         · segments × { seqId u64 · chunk u32 · rows u16 · flags u8 }
 *         · positions [n] i32 · hidden [n, dim] f16|f32        (n = Σ rows)
 * TOKEN   seqId u64 · planEpoch u32 · chunk u32 · flags u8 · position i32 · count u16 · tokens [count] i32
 * CANCEL  seqId u64 · reason u8
 * ERROR   code u16 · seqId u64 (0: the whole connection) · msgLen u16 · message utf8
 * ```
 *
 * Version 2 adds two frame types (layouts in frames_open.ts and connection_crypto.ts):
 * ```
 * OPEN    seqId u64 · planEpoch u32 · hop u8 · wireDtype u8 · stageCount u8
 *         · stages × { start u32 · end u32 · flags u8 (1 embedding, 2 head) · addrLen u8 · address utf8 }
 *         · replyLen u8 · replyTo utf8 · sampling (9 fields, see frames_open.ts) · drawsDone u32
 *         · historyCount u32 · history [historyCount] i32
 * RECORD  data: one or more whole frames, AES-GCM sealed with the connection's session key
 * FETCH   reqId u32 · kind u8 (0 manifest, 1 bytes) · offset u64 · length u32
 * DATA    reqId u32 · status u8 (0 ok, 1 refused) · length u32 · bytes (status 1: a UTF-8 reason)
 * ```
 * and the error code NextHopUnreachable.
 *
 * Version 3 appends one field to OPEN, written only when non-zero: `feedUntil u32` — the last stage
 * feeds each token it samples for a position below `feedUntil` straight to the first stage as the next
 * decode input, so a decode step no longer waits for the round trip through the entry. An entry asks
 * for it only on a connection to the last stage that agreed version 3 or later.
 *
 * This file holds the types and limits; frames_encode.ts and frames_decode.ts the codec,
 * frames_reader.ts the stream framer; mod.ts exports them all.
 *
 * @example
 * ```ts
 * const bytes = encodeFrame({ type: FrameType.Cancel, seqId: 42, reason: CancelReason.Client });
 * decodeFrame(bytes); // { type: FrameType.Cancel, seqId: 42, reason: 1 }
 * ```
 *
 * @module
 */
import type { SamplingParams } from "../../src/engine/sampler.ts";

/** Protocol versions this build speaks. */
export const PROTOCOL_VERSION_MIN = 1;
export const PROTOCOL_VERSION_MAX = 3;
/** The pipeline runtime (OPEN, RECORD) needs version 2; version 1 peers only ever exchanged frames. */
export const RUNTIME_PROTOCOL_VERSION = 2;
/** The last stage feeds tokens to the first (OPEN's feedUntil) from version 3 on. */
export const FEED_PROTOCOL_VERSION = 3;

/** Frame type numbers. Append-only: a number, once used, keeps its meaning. */
export enum FrameType {
  Hello = 1,
  Forward = 2,
  Token = 3,
  Cancel = 4,
  Error = 5,
  /** v2: starts (or restarts) a sequence on every stage of its route */
  Open = 6,
  /** v2: a batch of frames, sealed after the authenticated handshake */
  Record = 7,
  /** v2: asks a peer for its model file's manifest or a byte range of it (weights from a peer) */
  Fetch = 8,
  /** v2: the answer to a FETCH */
  Data = 9,
}

/** Element type of hidden states on the wire. */
export enum WireDtype {
  F32 = 0,
  /** IEEE half, round to nearest even: half the bytes, ~3 significant digits */
  F16 = 1,
}

/** Why a sequence is cancelled; receivers treat unknown reasons like `Error`. */
export enum CancelReason {
  /** generation ended normally (stop condition): free the KV cache */
  Finished = 0,
  /** the client went away */
  Client = 1,
  /** the sequence is replayed on another plan */
  Failover = 2,
  Error = 3,
}

/** Error codes of ERROR frames; receivers keep unknown codes as numbers. */
export enum WireErrorCode {
  BadFrame = 1,
  VersionMismatch = 2,
  /** the frame's plan epoch is not one this stage serves */
  EpochMismatch = 3,
  UnknownSequence = 4,
  Overloaded = 5,
  Unauthorized = 6,
  Internal = 7,
  /** v2: the stage could not reach the next stage of the route; the message is that stage's address */
  NextHopUnreachable = 8,
}

/** Bytes before the payload: length u32 + type u8. */
export const FRAME_HEADER_BYTES = 5;
/**
 * Largest `length` accepted, bytes (type + payload). A 512-token prefill chunk of an 8192-wide model
 * in f32 is 16 MiB; twice that leaves room without letting a lying length reserve gigabytes.
 */
export const FRAME_MAX_BYTES = 32 * 1024 * 1024;
/** Longest node id, UTF-8 bytes (as gossip node names). */
export const NODE_ID_MAX_BYTES = 128;
/** Longest opaque authentication proof carried by HELLO, bytes (an HMAC-SHA256 is 32). */
export const HELLO_AUTH_MAX_BYTES = 64;
/** Most token rows in one FORWARD (a prefill chunk or a batch of decode steps). */
export const FORWARD_MAX_ROWS = 4096;
/** Most sequences batched in one FORWARD. */
export const FORWARD_MAX_SEGMENTS = 1024;
/** Widest hidden state, values per row (the largest models today are 16384 wide). */
export const HIDDEN_DIM_MAX = 65536;
/** Most tokens in one TOKEN frame (a prefill chunk). */
export const TOKEN_MAX_COUNT = 4096;
/** Longest ERROR message, UTF-8 bytes; longer messages are truncated by the encoder. */
export const ERROR_MESSAGE_MAX_BYTES = 1024;
/** Sequence ids are u64 on the wire but numbers here, so at most 2^53 − 1; 0 means "no sequence". */
export const SEQUENCE_ID_MAX = Number.MAX_SAFE_INTEGER;

/** Most stages in one OPEN route. */
export const ROUTE_MAX_STAGES = 64;
/** Longest stage address ("host:port") or reply id in an OPEN, UTF-8 bytes. */
export const ADDRESS_MAX_BYTES = 255;
/** Most history tokens in an OPEN (prompt plus tokens already generated, for penalties): 4 MiB of ids. */
export const OPEN_HISTORY_MAX = 1 << 20;

/** Most bytes one DATA frame carries: a FETCH for more is answered in part (the reader asks again). */
export const FETCH_MAX_BYTES = 16 * 1024 * 1024;

/** Bytes per FORWARD segment header: seqId u64 + chunk u32 + rows u16 + flags u8. */
export const SEGMENT_BYTES = 15;
/** Flag bits of FORWARD segments and TOKEN frames: sample, reset. */
export const FLAG_SAMPLE = 1;
export const FLAG_RESET = 2;
export const KNOWN_FLAGS: number = FLAG_SAMPLE | FLAG_RESET;

/** Malformed or out-of-limit frame bytes (decode), or a frame that cannot be encoded. */
export class FrameError extends Error {
  override name = "FrameError";
  constructor(
    readonly code: "truncated" | "too-large" | "unknown-type" | "bad-field",
    message: string,
  ) {
    super(message);
  }
}

/** First frame on a connection, each way: who I am, which versions I speak, which plan I follow. */
export interface HelloFrame {
  readonly type: FrameType.Hello;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly planEpoch: number;
  readonly nodeId: string;
  /** opaque to the codec: the connection layer's proof of the cluster key, ≤ HELLO_AUTH_MAX_BYTES */
  readonly auth: Uint8Array;
}

/** The rows of one sequence inside a FORWARD frame. */
export interface ForwardSegment {
  /** cluster-unique sequence id, 1..SEQUENCE_ID_MAX, chosen by the entry node */
  readonly seqId: number;
  /** index of this prefill chunk within the sequence's prompt (0 for the first chunk and decode) */
  readonly chunk: number;
  /** consecutive rows of the frame that belong to this sequence, ≥ 1 */
  readonly rows: number;
  /** the last stage samples a token from this segment's last row (decode steps, final prefill chunk) */
  readonly sample: boolean;
  /** drop any KV cache held for seqId first (a replayed sequence starts over) */
  readonly reset: boolean;
}

/** Hidden states of a batch of token rows, from one stage to the next. */
export interface ForwardFrame {
  readonly type: FrameType.Forward;
  readonly planEpoch: number;
  /** element type on the wire; decoded hidden states are always f32 */
  readonly dtype: WireDtype;
  /** model width: values per row */
  readonly dim: number;
  readonly segments: readonly ForwardSegment[];
  /** [n] position of each row in its sequence, n = Σ segments[i].rows */
  readonly positions: Int32Array;
  /** [n, dim] residual stream rows */
  readonly hidden: Float32Array;
}

/** Token ids of one sequence: prompt or decode input to the first stage, or a sampled token back to the entry. */
export interface TokenFrame {
  readonly type: FrameType.Token;
  readonly seqId: number;
  readonly planEpoch: number;
  readonly chunk: number;
  /** position of tokens[0]; tokens[i] is at position + i */
  readonly position: number;
  /** [count] token ids, 1 ≤ count ≤ TOKEN_MAX_COUNT */
  readonly tokens: Int32Array;
  readonly sample: boolean;
  readonly reset: boolean;
}

/** Ends a sequence on every stage it passes: the KV cache is freed. */
export interface CancelFrame {
  readonly type: FrameType.Cancel;
  readonly seqId: number;
  /** a CancelReason; unknown values are kept */
  readonly reason: number;
}

/** A failure reported to the peer: for one sequence, or for the connection when seqId is 0. */
export interface ErrorFrame {
  readonly type: FrameType.Error;
  /** a WireErrorCode; unknown values are kept */
  readonly code: number;
  readonly seqId: number;
  readonly message: string;
}

/** One stage of a sequence's route, as OPEN carries it. */
export interface OpenStage {
  /** first layer */
  readonly start: number;
  /** one past the last layer */
  readonly end: number;
  readonly embedding: boolean;
  readonly head: boolean;
  /** "host:port" of the stage's pipeline endpoint */
  readonly address: string;
}

/**
 * Sampling parameters of one sequence, applied by the last stage: the sampler's own SamplingParams with
 * every field present on the wire (seed: an integer, |seed| ≤ 2^53 − 1).
 */
export type WireSampling = Required<SamplingParams>;

/**
 * Starts a sequence: travels the route ahead of the sequence's first FORWARD (so every stage knows it
 * before its rows arrive), each stage taking a KV slot and passing it on with `hop` + 1.
 */
export interface OpenFrame {
  readonly type: FrameType.Open;
  readonly seqId: number;
  readonly planEpoch: number;
  /** index into `route` of the stage receiving this frame */
  readonly hop: number;
  /** element type of the hidden states this sequence's FORWARDs carry */
  readonly wireDtype: WireDtype;
  readonly route: readonly OpenStage[];
  /** node id of the entry's connection to every stage: where TOKEN and ERROR go back */
  readonly replyTo: string;
  readonly sampling: WireSampling;
  /** RNG draws the sequence already made (a replayed sequence continues its random stream) */
  readonly drawsDone: number;
  /** [n] prompt and tokens already generated: the penalties' history */
  readonly history: Int32Array;
  /**
   * Version 3: the last stage sends each token it samples for a position p < feedUntil to the first
   * stage as the decode input at p (the entry only listens, and CANCELs the sequence when it ends
   * earlier: on EOS or a stop string the stages may have run a step or two more). Absent or 0: the
   * entry feeds every token back itself.
   */
  readonly feedUntil?: number;
}

/** A batch of whole frames, sealed (see connection_crypto.ts): the only frame after a keyed handshake. */
export interface RecordFrame {
  readonly type: FrameType.Record;
  readonly data: Uint8Array;
}

/** What a FETCH asks for. */
export enum FetchKind {
  /** the model file's header and per-tensor SHA-256 list (see peer_weights.ts) */
  Manifest = 0,
  /** `length` bytes of the model file at `offset` */
  Bytes = 1,
}

/** A request for model bytes, answered by DATA with the same reqId. */
export interface FetchFrame {
  readonly type: FrameType.Fetch;
  readonly reqId: number;
  /** a FetchKind; unknown kinds are refused by the server */
  readonly kind: number;
  readonly offset: number;
  /** bytes wanted, ≤ FETCH_MAX_BYTES */
  readonly length: number;
}

/** The answer to a FETCH: the bytes, or (status 1) why not. */
export interface DataFrame {
  readonly type: FrameType.Data;
  readonly reqId: number;
  /** 0 = ok, 1 = refused (bytes hold the reason, UTF-8) */
  readonly status: number;
  readonly bytes: Uint8Array;
}

export type Frame =
  | HelloFrame
  | ForwardFrame
  | TokenFrame
  | CancelFrame
  | ErrorFrame
  | OpenFrame
  | RecordFrame
  | FetchFrame
  | DataFrame;

/** Bytes per hidden-state value on the wire. */
export function wireDtypeBytes(dtype: WireDtype): number {
  return dtype === WireDtype.F16 ? 2 : 4;
}

/**
 * The protocol version two peers use: the highest both speak, or undefined when their ranges do not overlap.
 *
 * @example
 * ```ts
 * negotiateVersion({ minVersion: 1, maxVersion: 3 }, { minVersion: 1, maxVersion: 1 }); // 1
 * ```
 */
export function negotiateVersion(
  a: { readonly minVersion: number; readonly maxVersion: number },
  b: { readonly minVersion: number; readonly maxVersion: number },
): number | undefined {
  const v = Math.min(a.maxVersion, b.maxVersion);
  return v >= Math.max(a.minVersion, b.minVersion) ? v : undefined;
}
