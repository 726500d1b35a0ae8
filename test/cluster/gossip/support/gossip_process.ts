/**
 * A gossip node as its own OS process, for the multi-process tests: real UDP/TCP on loopback,
 * member events printed as JSON lines on stdout.
 *
 *   deno run -A gossip_process.ts <name> <lan|local> <base64 key> [seed host:port]
 *
 * Prints {"ready": "127.0.0.1:PORT"} once listening, then {"t": ms, "type": …, "subject": …} per
 * event. The seed is retried with backoff until it answers (it may not be up yet).
 *
 * @module
 */

import { type GossipProfile, resolveConfig } from "../../../../cluster/gossip/config.ts";
import { GossipNode } from "../../../../cluster/gossip/gossip_node.ts";
import { Keyring, parseClusterKey } from "../../../../cluster/gossip/keyring.ts";
import { NetTransport } from "../../../../cluster/gossip/net_transport.ts";

const [name, profile, key, seed] = Deno.args;
const enc = new TextEncoder();
const print = (o: unknown) => Deno.stdout.writeSync(enc.encode(JSON.stringify(o) + "\n"));

const transport = NetTransport.listen({
  hostname: "127.0.0.1",
  port: 0,
  label: "multi-process",
  keyring: await Keyring.create([parseClusterKey(key)]),
});
const node = new GossipNode({
  config: resolveConfig(profile as GossipProfile, { name }),
  transport,
  onEvent: (e) => print({ t: Date.now(), type: e.type, subject: e.member.name }),
});
node.start();
print({ ready: transport.address });

if (seed) {
  for (let delay = 100;; delay = Math.min(delay * 2, 2_000)) {
    try {
      await node.join([seed]);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
