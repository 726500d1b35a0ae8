/**
 * Wire codec: one message = [type u8][msgpack array body]; a compound message packs several into
 * one datagram as [7][count u8][len u16 BE × count][parts…]. Decoding validates every field (types,
 * integer ranges, byte lengths) and throws {@link WireDecodeError}, so malformed network input is
 * counted and dropped by the caller instead of reaching the protocol. Extra trailing array fields
 * are ignored: that is how a newer version adds fields without breaking older decoders.
 *
 * @example
 * ```ts
 * const bytes = encodeMessage({ type: MessageType.Nack, seq: 7 });
 * decodeMessage(bytes); // { type: MessageType.Nack, seq: 7 }
 * ```
 *
 * @module
 */

import { Decoder, Encoder } from "@msgpack/msgpack";
import { UnknownMessageTypeError, WireDecodeError, WireEncodeError } from "./errors.ts";
import {
  ACK_PAYLOAD_MAX_BYTES,
  ADDRESS_MAX_BYTES,
  ERROR_TEXT_MAX_BYTES,
  MemberStatus,
  type Message,
  MessageType,
  META_MAX_BYTES,
  NODE_NAME_MAX_BYTES,
  type ProtocolVersions,
  PUSH_PULL_MAX_NODES,
  type PushNodeState,
  USER_STATE_MAX_BYTES,
} from "./messages.ts";

/** Bytes a compound header adds before the length table: type + count. */
export const COMPOUND_HEADER_OVERHEAD = 2;
/** Bytes each part adds to a compound message: its u16 length. */
export const COMPOUND_PART_OVERHEAD = 2;
/** A compound message holds at most this many parts (the count is one byte). */
export const COMPOUND_MAX_PARTS = 255;

const encoder = new Encoder();
const decoder = new Decoder({
  maxStrLength: ERROR_TEXT_MAX_BYTES,
  maxBinLength: META_MAX_BYTES,
  maxArrayLength: PUSH_PULL_MAX_NODES,
  maxMapLength: 0,
  maxExtLength: 0,
});
const utf8 = new TextEncoder();

function versionsArray(v: ProtocolVersions): number[] {
  return [v.min, v.max, v.cur];
}

function checkBytes(field: string, value: Uint8Array, max: number): void {
  if (value.length > max) throw new WireEncodeError(`${field} is ${value.length} bytes, limit ${max}`);
}

function checkText(field: string, value: string, max: number): void {
  const n = utf8.encode(value).length;
  if (n > max) throw new WireEncodeError(`${field} is ${n} bytes, limit ${max}`);
}

function body(msg: Message): unknown[] {
  switch (msg.type) {
    case MessageType.Ping:
      return [msg.seq, msg.node, msg.sourceNode];
    case MessageType.IndirectPing:
      return [msg.seq, msg.node, msg.addr, msg.nack, msg.sourceNode];
    case MessageType.Ack:
      checkBytes("ack payload", msg.payload, ACK_PAYLOAD_MAX_BYTES);
      return [msg.seq, msg.payload];
    case MessageType.Nack:
      return [msg.seq];
    case MessageType.Suspect:
    case MessageType.Dead:
      return [msg.incarnation, msg.node, msg.from];
    case MessageType.Alive:
      checkBytes("meta", msg.meta, META_MAX_BYTES);
      checkText("node", msg.node, NODE_NAME_MAX_BYTES);
      return [msg.incarnation, msg.node, msg.addr, msg.meta, versionsArray(msg.vsn)];
    case MessageType.PushPull:
      if (msg.nodes.length > PUSH_PULL_MAX_NODES) {
        throw new WireEncodeError(`push-pull of ${msg.nodes.length} members, limit ${PUSH_PULL_MAX_NODES}`);
      }
      return [
        msg.join,
        versionsArray(msg.vsn),
        msg.nodes.map((n) => {
          checkBytes("meta", n.meta, META_MAX_BYTES);
          return [n.name, n.addr, n.meta, n.incarnation, n.status, versionsArray(n.vsn)];
        }),
      ];
    case MessageType.User:
      checkBytes("user state", msg.payload, USER_STATE_MAX_BYTES);
      checkText("node", msg.node, NODE_NAME_MAX_BYTES);
      return [msg.node, msg.incarnation, msg.seq, msg.payload];
    case MessageType.Error:
      return [msg.message.slice(0, ERROR_TEXT_MAX_BYTES / 4)];
  }
}

/** Encodes one message as [type][msgpack body]. Throws {@link WireEncodeError} past a field limit. */
export function encodeMessage(msg: Message): Uint8Array {
  const b = encoder.encode(body(msg));
  const out = new Uint8Array(1 + b.length);
  out[0] = msg.type;
  out.set(b, 1);
  return out;
}

/** Packs already-encoded messages into one compound message. */
export function encodeCompound(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length > COMPOUND_MAX_PARTS) {
    throw new WireEncodeError(`compound of ${parts.length} parts, limit ${COMPOUND_MAX_PARTS}`);
  }
  let total = COMPOUND_HEADER_OVERHEAD;
  for (const p of parts) {
    if (p.length > 0xffff) throw new WireEncodeError(`compound part of ${p.length} bytes, limit 65535`);
    total += COMPOUND_PART_OVERHEAD + p.length;
  }
  const out = new Uint8Array(total);
  out[0] = MessageType.Compound;
  out[1] = parts.length;
  let off = COMPOUND_HEADER_OVERHEAD;
  for (const p of parts) {
    out[off++] = p.length >>> 8;
    out[off++] = p.length & 0xff;
  }
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Splits a compound message (type byte included). `truncated` counts parts cut off at the end. */
export function decodeCompound(bytes: Uint8Array): { parts: Uint8Array[]; truncated: number } {
  if (bytes.length < COMPOUND_HEADER_OVERHEAD || bytes[0] !== MessageType.Compound) {
    throw new WireDecodeError("compound message: missing header");
  }
  const count = bytes[1];
  let off = COMPOUND_HEADER_OVERHEAD;
  if (bytes.length < off + count * COMPOUND_PART_OVERHEAD) {
    throw new WireDecodeError(`compound message: length table of ${count} parts truncated`);
  }
  const lengths: number[] = [];
  for (let i = 0; i < count; i++, off += 2) lengths.push((bytes[off] << 8) | bytes[off + 1]);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if (off + lengths[i] > bytes.length) return { parts, truncated: count - i };
    parts.push(bytes.subarray(off, off + lengths[i]));
    off += lengths[i];
  }
  return { parts, truncated: 0 };
}

/**
 * Decodes a datagram into its messages. A compound datagram yields each well-formed part; bad
 * parts are reported in `errors` (nested compounds are refused: one level is all we send).
 */
export function decodePacket(bytes: Uint8Array): { messages: Message[]; errors: WireDecodeError[] } {
  if (bytes.length > 0 && bytes[0] === MessageType.Compound) {
    const { parts, truncated } = decodeCompound(bytes);
    const messages: Message[] = [];
    const errors: WireDecodeError[] = [];
    if (truncated > 0) errors.push(new WireDecodeError(`compound message: ${truncated} parts truncated`));
    for (const p of parts) {
      try {
        messages.push(decodeMessage(p));
      } catch (e) {
        errors.push(e instanceof WireDecodeError ? e : new WireDecodeError(String(e)));
      }
    }
    return { messages, errors };
  }
  return { messages: [decodeMessage(bytes)], errors: [] };
}

/** Decodes one [type][body] message. Throws {@link WireDecodeError} (or its subclass
 * {@link UnknownMessageTypeError} for a code this version does not know). */
export function decodeMessage(bytes: Uint8Array): Message {
  if (bytes.length < 2) throw new WireDecodeError(`message of ${bytes.length} bytes is too short`);
  const type = bytes[0];
  if (type === MessageType.Compound) throw new WireDecodeError("nested compound message");
  if (!(type in MessageType)) throw new UnknownMessageTypeError(type);
  let raw: unknown;
  try {
    raw = decoder.decode(bytes.subarray(1));
  } catch (e) {
    throw new WireDecodeError(`message type ${type}: bad msgpack body (${(e as Error).message})`);
  }
  const f = new Fields(raw, `message type ${type}`);
  switch (type as MessageType) {
    case MessageType.Ping:
      return { type: MessageType.Ping, seq: f.u32(0), node: f.name(1, true), sourceNode: f.name(2, true) };
    case MessageType.IndirectPing:
      return {
        type: MessageType.IndirectPing,
        seq: f.u32(0),
        node: f.name(1, true),
        addr: f.text(2, ADDRESS_MAX_BYTES, false),
        nack: f.bool(3),
        sourceNode: f.name(4, true),
      };
    case MessageType.Ack:
      return { type: MessageType.Ack, seq: f.u32(0), payload: f.bin(1, ACK_PAYLOAD_MAX_BYTES) };
    case MessageType.Nack:
      return { type: MessageType.Nack, seq: f.u32(0) };
    case MessageType.Suspect:
      return { type: MessageType.Suspect, incarnation: f.u32(0), node: f.name(1), from: f.name(2) };
    case MessageType.Dead:
      return { type: MessageType.Dead, incarnation: f.u32(0), node: f.name(1), from: f.name(2) };
    case MessageType.Alive:
      return {
        type: MessageType.Alive,
        incarnation: f.u32(0),
        node: f.name(1),
        addr: f.text(2, ADDRESS_MAX_BYTES, false),
        meta: f.bin(3, META_MAX_BYTES),
        vsn: f.versions(4),
      };
    case MessageType.PushPull: {
      const list = f.array(2, PUSH_PULL_MAX_NODES);
      const nodes: PushNodeState[] = list.map((item, i) => {
        const n = new Fields(item, `push-pull member ${i}`);
        return {
          name: n.name(0),
          addr: n.text(1, ADDRESS_MAX_BYTES, false),
          meta: n.bin(2, META_MAX_BYTES),
          incarnation: n.u32(3),
          status: n.status(4),
          vsn: n.versions(5),
        };
      });
      return { type: MessageType.PushPull, join: f.bool(0), vsn: f.versions(1), nodes };
    }
    case MessageType.User:
      return {
        type: MessageType.User,
        node: f.name(0),
        incarnation: f.u32(1),
        seq: f.u32(2),
        payload: f.bin(3, USER_STATE_MAX_BYTES),
      };
    case MessageType.Error:
      return { type: MessageType.Error, message: f.text(0, ERROR_TEXT_MAX_BYTES, true) };
    default:
      throw new UnknownMessageTypeError(type);
  }
}

/** Typed accessors over a decoded msgpack array; every failure names the field. */
class Fields {
  readonly #items: unknown[];
  constructor(raw: unknown, readonly what: string) {
    if (!Array.isArray(raw)) throw new WireDecodeError(`${what}: body is not an array`);
    this.#items = raw;
  }

  #get(i: number): unknown {
    if (i >= this.#items.length) throw new WireDecodeError(`${this.what}: missing field ${i}`);
    return this.#items[i];
  }

  #fail(i: number, expected: string, v: unknown): never {
    const shown = typeof v === "string" ? JSON.stringify(v.slice(0, 40)) : String(v).slice(0, 40);
    throw new WireDecodeError(`${this.what}: field ${i} should be ${expected}, got ${shown}`);
  }

  u32(i: number): number {
    const v = this.#get(i);
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      this.#fail(i, "a u32", v);
    }
    return v;
  }

  bool(i: number): boolean {
    const v = this.#get(i);
    if (typeof v !== "boolean") this.#fail(i, "a boolean", v);
    return v;
  }

  text(i: number, maxBytes: number, allowEmpty: boolean): string {
    const v = this.#get(i);
    if (typeof v !== "string") this.#fail(i, "a string", v);
    if (!allowEmpty && v.length === 0) this.#fail(i, "a non-empty string", v);
    if (v.length > maxBytes || utf8.encode(v).length > maxBytes) this.#fail(i, `≤ ${maxBytes} bytes`, v);
    return v;
  }

  name(i: number, allowEmpty = false): string {
    return this.text(i, NODE_NAME_MAX_BYTES, allowEmpty);
  }

  bin(i: number, maxBytes: number): Uint8Array {
    const v = this.#get(i);
    if (!(v instanceof Uint8Array)) this.#fail(i, "bytes", v);
    if (v.length > maxBytes) this.#fail(i, `≤ ${maxBytes} bytes`, `${v.length} bytes`);
    return v.slice(); // the decoder may return a view into the datagram buffer
  }

  array(i: number, maxItems: number): unknown[] {
    const v = this.#get(i);
    if (!Array.isArray(v)) this.#fail(i, "an array", v);
    if (v.length > maxItems) this.#fail(i, `≤ ${maxItems} items`, v.length);
    return v;
  }

  status(i: number): MemberStatus {
    const v = this.u32(i);
    if (v > MemberStatus.Left) this.#fail(i, "a member status 0..3", v);
    return v;
  }

  versions(i: number): ProtocolVersions {
    const a = this.array(i, 16);
    if (a.length < 3) this.#fail(i, "[pmin, pmax, pcur]", a);
    const [min, max, cur] = a;
    for (const v of [min, max, cur]) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) this.#fail(i, "u8 versions", a);
    }
    return { min: min as number, max: max as number, cur: cur as number };
  }
}
