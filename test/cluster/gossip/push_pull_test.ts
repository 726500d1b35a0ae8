import assert from "node:assert/strict";
import { ProtocolVersionError } from "../../../cluster/gossip/errors.ts";
import { MemberStatus, MessageType, type PushPullMsg } from "../../../cluster/gossip/messages.ts";
import { LOCAL_VERSIONS, verifyPushPull } from "../../../cluster/gossip/push_pull.ts";

const v = (min: number, max: number, cur: number) => ({ min, max, cur });
const member = (name: string, vsn = v(1, 1, 1), status = MemberStatus.Alive) => ({
  name,
  addr: `${name}:1`,
  meta: new Uint8Array(0),
  incarnation: 1,
  status,
  vsn,
});
const pushPull = (vsn = LOCAL_VERSIONS, nodes = [member("b")]): PushPullMsg => ({
  type: MessageType.PushPull,
  join: true,
  vsn,
  nodes,
});

Deno.test("push-pull is accepted when version ranges overlap and everyone speaks inside them", () => {
  verifyPushPull(pushPull(), [member("a")]);
  verifyPushPull(pushPull(v(1, 3, 1), [member("b", v(1, 3, 1))]), [member("a")]);
});

Deno.test("push-pull is refused when the peer's protocol range does not overlap ours", () => {
  assert.throws(() => verifyPushPull(pushPull(v(2, 3, 2)), [member("a")]), ProtocolVersionError);
  assert.throws(() => verifyPushPull(pushPull(v(0, 0, 0)), [member("a")]), ProtocolVersionError);
});

Deno.test("push-pull is refused when an alive member speaks outside the ring's common range", () => {
  // b understands 1..3 but speaks 3, which a (max 1) cannot understand.
  assert.throws(
    () => verifyPushPull(pushPull(v(1, 3, 1), [member("b", v(1, 3, 3))]), [member("a")]),
    (e) => e instanceof ProtocolVersionError && /member b speaks protocol 3/.test(e.message),
  );
  // A dead member's version does not matter.
  verifyPushPull(pushPull(v(1, 3, 1), [member("c", v(3, 3, 3), MemberStatus.Dead)]), [member("a")]);
});
