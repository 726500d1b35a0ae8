/**
 * The OPEN frame's payload codec (protocol version 2):
 *
 * ```
 * seqId u64 · planEpoch u32 · hop u8 · wireDtype u8 · stageCount u8
 * · stages × { start u32 · end u32 · flags u8 (1 embedding, 2 head) · addrLen u8 · address utf8 }
 * · replyLen u8 · replyTo utf8
 * · temperature f64 · topK u32 · topP f64 · minP f64 · repetitionPenalty f64 · frequencyPenalty f64
 *   · presencePenalty f64 · penaltyLastN i32 · seed f64
 * · drawsDone u32 · historyCount u32 · history [historyCount] i32
 * · (version 3, only when non-zero) feedUntil u32
 * ```
 *
 * Floats travel as f64 so the last stage samples with exactly the entry's parameters. The decoder
 * checks shapes (counts, lengths, a route whose hop exists, finite numbers); the meaning of the
 * sampling values is checked by the sampler at the stage that uses them.
 *
 * @module
 */

import { FrameCursor, FrameWriter } from "./frames_cursor.ts";
import {
  ADDRESS_MAX_BYTES,
  FrameError,
  FrameType,
  OPEN_HISTORY_MAX,
  type OpenFrame,
  type OpenStage,
  ROUTE_MAX_STAGES,
  SEQUENCE_ID_MAX,
  WireDtype,
  type WireSampling,
} from "./frames.ts";

const utf8 = new TextEncoder();
const FLAG_EMBEDDING = 1;
const FLAG_HEAD = 2;
/** Bytes of the fixed sampling block: 7 f64 + u32 + i32. */
const SAMPLING_BYTES = 7 * 8 + 4 + 4;

function check(ok: boolean, message: string): void {
  if (!ok) throw new FrameError("bad-field", `OPEN: ${message}`);
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

function checkSampling(s: WireSampling): void {
  for (
    const key of [
      "temperature",
      "topP",
      "minP",
      "repetitionPenalty",
      "frequencyPenalty",
      "presencePenalty",
    ] as const
  ) {
    check(Number.isFinite(s[key]), `sampling ${key} ${s[key]} is not finite`);
  }
  check(isU32(s.topK), `topK ${s.topK} is not a u32`);
  check(
    Number.isInteger(s.penaltyLastN) && s.penaltyLastN >= -1 && s.penaltyLastN <= 0x7fff_ffff,
    `penaltyLastN ${s.penaltyLastN}`,
  );
  check(Number.isSafeInteger(s.seed), `seed ${s.seed} is not a safe integer`);
}

/** The OPEN payload (no frame header). Throws FrameError for a field out of its limits. */
export function encodeOpenPayload(f: OpenFrame): Uint8Array {
  check(Number.isInteger(f.seqId) && f.seqId >= 1 && f.seqId <= SEQUENCE_ID_MAX, `seqId ${f.seqId}`);
  check(isU32(f.planEpoch), `planEpoch ${f.planEpoch}`);
  check(f.route.length >= 1 && f.route.length <= ROUTE_MAX_STAGES, `route of ${f.route.length} stages`);
  check(Number.isInteger(f.hop) && f.hop >= 0 && f.hop < f.route.length, `hop ${f.hop} outside the route`);
  check(f.wireDtype === WireDtype.F16 || f.wireDtype === WireDtype.F32, `wire dtype ${f.wireDtype}`);
  const addresses = f.route.map((s) => utf8.encode(s.address));
  f.route.forEach((s, i) => {
    check(isU32(s.start) && isU32(s.end) && s.start <= s.end, `stage ${i} layers ${s.start}..${s.end}`);
    check(addresses[i].length >= 1 && addresses[i].length <= ADDRESS_MAX_BYTES, `stage ${i} address length`);
  });
  const reply = utf8.encode(f.replyTo);
  check(reply.length >= 1 && reply.length <= ADDRESS_MAX_BYTES, `replyTo of ${reply.length} bytes`);
  checkSampling(f.sampling);
  check(isU32(f.drawsDone), `drawsDone ${f.drawsDone}`);
  check(f.history.length <= OPEN_HISTORY_MAX, `history of ${f.history.length} tokens`);
  for (const t of f.history) check(t >= 0, `negative history token ${t}`);
  const feedUntil = f.feedUntil ?? 0;
  check(isU32(feedUntil), `feedUntil ${f.feedUntil}`);

  const size = 8 + 4 + 3 + addresses.reduce((sum, a) => sum + 10 + a.length, 0) + 1 + reply.length +
    SAMPLING_BYTES + 4 + 4 + f.history.length * 4 + (feedUntil > 0 ? 4 : 0);
  const w = new FrameWriter(size);
  w.u64(f.seqId);
  w.u32(f.planEpoch);
  w.u8(f.hop);
  w.u8(f.wireDtype);
  w.u8(f.route.length);
  f.route.forEach((s, i) => {
    w.u32(s.start);
    w.u32(s.end);
    w.u8((s.embedding ? FLAG_EMBEDDING : 0) | (s.head ? FLAG_HEAD : 0));
    w.u8(addresses[i].length);
    w.raw(addresses[i]);
  });
  w.u8(reply.length);
  w.raw(reply);
  const p = f.sampling;
  w.f64(p.temperature);
  w.u32(p.topK);
  w.f64(p.topP);
  w.f64(p.minP);
  w.f64(p.repetitionPenalty);
  w.f64(p.frequencyPenalty);
  w.f64(p.presencePenalty);
  w.i32(p.penaltyLastN);
  w.f64(p.seed);
  w.u32(f.drawsDone);
  w.u32(f.history.length);
  for (const t of f.history) w.i32(t);
  if (feedUntil > 0) w.u32(feedUntil);
  return w.bytes;
}

/** Decodes an OPEN payload; bytes after the known fields are ignored. Throws FrameError. */
export function decodeOpenPayload(payload: Uint8Array): OpenFrame {
  const r = new FrameCursor(payload, "OPEN");
  const seqId = r.u64("seqId");
  check(seqId !== 0, "sequence id 0");
  const planEpoch = r.u32("planEpoch");
  const hop = r.u8("hop");
  const wireDtype = r.u8("wireDtype");
  check(wireDtype === WireDtype.F16 || wireDtype === WireDtype.F32, `unknown wire dtype ${wireDtype}`);
  const count = r.u8("stage count");
  check(count >= 1 && count <= ROUTE_MAX_STAGES, `route of ${count} stages`);
  check(hop < count, `hop ${hop} outside a route of ${count} stages`);
  const route: OpenStage[] = [];
  for (let i = 0; i < count; i++) {
    const start = r.u32("stage start");
    const end = r.u32("stage end");
    check(start <= end, `stage ${i} layers ${start}..${end}`);
    const flags = r.u8("stage flags");
    check((flags & ~(FLAG_EMBEDDING | FLAG_HEAD)) === 0, `unknown stage flag bits 0x${flags.toString(16)}`);
    const length = r.u8("address length");
    check(length >= 1, `stage ${i} has an empty address`);
    const address = r.text(length, "address");
    route.push({
      start,
      end,
      embedding: (flags & FLAG_EMBEDDING) !== 0,
      head: (flags & FLAG_HEAD) !== 0,
      address,
    });
  }
  const replyLength = r.u8("replyTo length");
  check(replyLength >= 1, "empty replyTo");
  const replyTo = r.text(replyLength, "replyTo");
  r.need(SAMPLING_BYTES, "sampling");
  const sampling: WireSampling = {
    temperature: r.f64("temperature"),
    topK: r.u32("topK"),
    topP: r.f64("topP"),
    minP: r.f64("minP"),
    repetitionPenalty: r.f64("repetitionPenalty"),
    frequencyPenalty: r.f64("frequencyPenalty"),
    presencePenalty: r.f64("presencePenalty"),
    penaltyLastN: r.i32("penaltyLastN"),
    seed: r.f64("seed"),
  };
  checkSampling(sampling);
  const drawsDone = r.u32("drawsDone");
  const n = r.u32("history count");
  check(n <= OPEN_HISTORY_MAX, `history of ${n} tokens exceeds OPEN_HISTORY_MAX ${OPEN_HISTORY_MAX}`);
  r.need(n * 4, "history");
  const history = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    history[i] = r.i32("history token");
    check(history[i] >= 0, `negative history token ${history[i]}`);
  }
  // version 3 appends feedUntil; a version-2 OPEN ends here
  const feedUntil = r.at + 4 <= payload.length ? r.u32("feedUntil") : 0;
  return {
    type: FrameType.Open,
    seqId,
    planEpoch,
    hop,
    wireDtype,
    route,
    replyTo,
    sampling,
    drawsDone,
    history,
    ...(feedUntil > 0 ? { feedUntil } : {}),
  };
}
