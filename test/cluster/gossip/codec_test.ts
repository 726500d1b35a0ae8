import assert from "node:assert/strict";
import { Encoder } from "@msgpack/msgpack";
import {
  decodeCompound,
  decodeMessage,
  decodePacket,
  encodeCompound,
  encodeMessage,
} from "../../../cluster/gossip/codec.ts";
import { UnknownMessageTypeError, WireDecodeError, WireEncodeError } from "../../../cluster/gossip/errors.ts";
import { MemberStatus, type Message, MessageType } from "../../../cluster/gossip/messages.ts";

const v = { min: 1, max: 1, cur: 1 };
const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((h) => parseInt(h, 16)));

const samples: Message[] = [
  { type: MessageType.Ping, seq: 1, node: "b", sourceNode: "a" },
  { type: MessageType.Ping, seq: 0xffff_ffff, node: "", sourceNode: "" },
  { type: MessageType.IndirectPing, seq: 9, node: "c", addr: "10.0.0.3:7946", nack: true, sourceNode: "a" },
  { type: MessageType.Ack, seq: 2, payload: new Uint8Array([1, 2, 3]) },
  { type: MessageType.Nack, seq: 3 },
  { type: MessageType.Suspect, incarnation: 4, node: "b", from: "a" },
  {
    type: MessageType.Alive,
    incarnation: 5,
    node: "b",
    addr: "h:1",
    meta: new Uint8Array(512).fill(7),
    vsn: v,
  },
  { type: MessageType.Dead, incarnation: 6, node: "b", from: "b" },
  {
    type: MessageType.PushPull,
    join: false,
    vsn: v,
    nodes: [
      {
        name: "a",
        addr: "h:1",
        meta: new Uint8Array([9]),
        incarnation: 1,
        status: MemberStatus.Alive,
        vsn: v,
      },
      {
        name: "ü",
        addr: "h:2",
        meta: new Uint8Array(0),
        incarnation: 2,
        status: MemberStatus.Suspect,
        vsn: v,
      },
    ],
  },
  { type: MessageType.User, node: "b", incarnation: 7, seq: 3, payload: new Uint8Array(256).fill(1) },
  { type: MessageType.Error, message: "protocol version 9 unsupported" },
];

Deno.test("every message type survives an encode/decode round trip", () => {
  for (const m of samples) assert.deepEqual(decodeMessage(encodeMessage(m)), m, MessageType[m.type]);
});

Deno.test("compound messages carry several parts in one datagram", () => {
  const parts = samples.slice(0, 6).map(encodeMessage);
  const packet = encodeCompound(parts);
  const { messages, errors } = decodePacket(packet);
  assert.equal(errors.length, 0);
  assert.deepEqual(messages, samples.slice(0, 6));
  const { parts: split, truncated } = decodeCompound(packet.subarray(0, packet.length - 3));
  assert.equal(truncated, 1, "a cut-off last part is reported as truncated");
  assert.equal(split.length, 5);
});

Deno.test("a bad part of a compound does not spoil the good ones", () => {
  const good = encodeMessage({ type: MessageType.Nack, seq: 1 });
  const packet = encodeCompound([good, new Uint8Array([MessageType.Nack, 0xc1]), good]);
  const { messages, errors } = decodePacket(packet);
  assert.equal(messages.length, 2);
  assert.equal(errors.length, 1);
});

Deno.test("frames written by protocol version 1 still decode", () => {
  // Frozen bytes from the first release of the wire format; a change here breaks old peers.
  assert.deepEqual(decodeMessage(hex("0495ce6553f100a26e31ad31302e302e302e313a37393436c402010293010101")), {
    type: MessageType.Alive,
    incarnation: 1700000000,
    node: "n1",
    addr: "10.0.0.1:7946",
    meta: new Uint8Array([1, 2]),
    vsn: v,
  });
  assert.deepEqual(decodePacket(hex("070200090009009307a26e32a26e31039303a26e32a26e31")).messages, [
    { type: MessageType.Ping, seq: 7, node: "n2", sourceNode: "n1" },
    { type: MessageType.Suspect, incarnation: 3, node: "n2", from: "n1" },
  ]);
  assert.deepEqual(decodeMessage(hex("0693c3930101019196a26e31a3613a31c400050393010101")), {
    type: MessageType.PushPull,
    join: true,
    vsn: v,
    nodes: [{
      name: "n1",
      addr: "a:1",
      meta: new Uint8Array(0),
      incarnation: 5,
      status: MemberStatus.Left,
      vsn: v,
    }],
  });
});

Deno.test("trailing fields from a newer version are ignored", () => {
  const body = new Encoder().encode([3, "b", "a", "future field", 42]);
  const bytes = new Uint8Array([MessageType.Suspect, ...body]);
  assert.deepEqual(decodeMessage(bytes), { type: MessageType.Suspect, incarnation: 3, node: "b", from: "a" });
});

Deno.test("unknown message types are reported as such", () => {
  for (const t of [11, 99, 255]) {
    assert.throws(() => decodeMessage(new Uint8Array([t, 0x90])), UnknownMessageTypeError, `type ${t}`);
  }
});

Deno.test("malformed messages raise WireDecodeError naming the problem", () => {
  const enc = new Encoder();
  const frame = (t: number, body: unknown) => new Uint8Array([t, ...enc.encode(body)]);
  const table: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["type only", new Uint8Array([MessageType.Ping])],
    ["bad msgpack", new Uint8Array([MessageType.Ping, 0xc1])],
    ["not an array", frame(MessageType.Ping, { seq: 1 })],
    ["missing field", frame(MessageType.Ping, [1, "b"])],
    ["negative seq", frame(MessageType.Ping, [-1, "b", "a"])],
    ["seq too large", frame(MessageType.Nack, [2 ** 32])],
    ["float seq", frame(MessageType.Nack, [1.5])],
    ["name not a string", frame(MessageType.Suspect, [1, 5, "a"])],
    ["empty node name", frame(MessageType.Dead, [1, "", "a"])],
    ["name too long", frame(MessageType.Dead, [1, "x".repeat(129), "a"])],
    ["meta too large", frame(MessageType.Alive, [1, "b", "h:1", new Uint8Array(513), [1, 1, 1]])],
    ["meta not bytes", frame(MessageType.Alive, [1, "b", "h:1", "meta", [1, 1, 1]])],
    ["short versions", frame(MessageType.Alive, [1, "b", "h:1", new Uint8Array(0), [1, 1]])],
    [
      "bad status",
      frame(MessageType.PushPull, [false, [1, 1, 1], [["a", "h:1", new Uint8Array(0), 1, 9, [1, 1, 1]]]]),
    ],
    ["nack not boolean", frame(MessageType.IndirectPing, [1, "b", "h:1", 1, "a"])],
    ["nested compound", encodeCompound([encodeCompound([])])],
    ["truncated length table", new Uint8Array([MessageType.Compound, 3, 0])],
  ];
  for (const [what, bytes] of table) {
    assert.throws(
      () => {
        const r = decodePacket(bytes);
        if (r.errors.length > 0) throw r.errors[0];
      },
      WireDecodeError,
      what,
    );
  }
});

Deno.test("encoding refuses fields past the wire limits", () => {
  assert.throws(
    () =>
      encodeMessage({
        type: MessageType.Alive,
        incarnation: 1,
        node: "b",
        addr: "h:1",
        meta: new Uint8Array(513),
        vsn: v,
      }),
    WireEncodeError,
  );
  assert.throws(() => encodeCompound(Array.from({ length: 256 }, () => new Uint8Array(1))), WireEncodeError);
});

Deno.test("a user state over 256 bytes is refused at both ends", () => {
  const big = {
    type: MessageType.User,
    node: "b",
    incarnation: 1,
    seq: 1,
    payload: new Uint8Array(257),
  } as const;
  assert.throws(() => encodeMessage(big), WireEncodeError);
  const frame = new Uint8Array([MessageType.User, ...new Encoder().encode(["b", 1, 1, new Uint8Array(257)])]);
  assert.throws(() => decodeMessage(frame), WireDecodeError);
});
